// Package tenants holds the tenant type and kinds, provisioning, resolution
// from the URL, the request's tenant context and the tenant-scoped transaction
// that is the only way module code reaches tenant-owned rows.
package tenants

import (
	"time"

	"github.com/google/uuid"
)

// Kind is the kind of organisation a tenant is; it selects role templates.
type Kind string

// The tenant kinds the platform serves.
const (
	KindPaediatricTrust Kind = "paediatric_trust"
	KindCareHome        Kind = "care_home"
	KindGPPractice      Kind = "gp_practice"
	KindCarersCharity   Kind = "carers_charity"
)

// Kinds lists every tenant kind in display order.
var Kinds = []Kind{KindPaediatricTrust, KindCareHome, KindGPPractice, KindCarersCharity}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Label is the human name of the kind.
func (k Kind) Label() string {
	switch k {
	case KindPaediatricTrust:
		return "Paediatric NHS trust"
	case KindCareHome:
		return "Care-home provider"
	case KindGPPractice:
		return "GP practice"
	case KindCarersCharity:
		return "Carers' charity"
	}
	return string(k)
}

// Status is whether a tenant may make changes.
type Status string

// Tenant statuses.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
)

// Tenant is one organisation on the platform.
type Tenant struct {
	ID        uuid.UUID
	Slug      string
	Name      string
	Kind      Kind
	ODSCode   string
	Region    string
	Status    Status
	CreatedAt time.Time
}

// Suspended reports whether the tenant is suspended (read-only).
func (t Tenant) Suspended() bool { return t.Status == StatusSuspended }
