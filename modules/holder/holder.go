// Package holder keeps the people a tenant records passports for. This is
// the foundation's slice: list, view (every read audited) and the JSON API.
package holder

import (
	"time"

	"github.com/google/uuid"
)

// Holder is a person with a passport, as one tenant knows them.
type Holder struct {
	ID          uuid.UUID  `json:"id"`
	PersonID    uuid.UUID  `json:"-"` // the platform-wide person; never shown to a tenant
	Status      string     `json:"status"`
	GivenName   string     `json:"given_name"`
	FamilyName  string     `json:"family_name"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"`
	Email       string     `json:"email,omitempty"`
	Phone       string     `json:"phone,omitempty"`
	RoleInCare  string     `json:"role_in_care"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Name is the holder's full name.
func (h Holder) Name() string { return h.GivenName + " " + h.FamilyName }

// RoleLabel is the human name of the holder's role in care.
func (h Holder) RoleLabel() string {
	switch h.RoleInCare {
	case "parent":
		return "Parent"
	case "unpaid_carer":
		return "Unpaid carer"
	case "paid_carer":
		return "Paid carer"
	case "staff":
		return "Staff member"
	case "trainer":
		return "Trainer"
	}
	return h.RoleInCare
}

type row struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	PersonID    uuid.UUID
	Status      string
	GivenName   string
	FamilyName  string
	DateOfBirth *time.Time
	Email       string
	Phone       string
	RoleInCare  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (row) TableName() string { return "holders" }

func (r row) holder() Holder {
	return Holder{ID: r.ID, PersonID: r.PersonID, Status: r.Status, GivenName: r.GivenName, FamilyName: r.FamilyName, DateOfBirth: r.DateOfBirth,
		Email: r.Email, Phone: r.Phone, RoleInCare: r.RoleInCare, CreatedAt: r.CreatedAt}
}
