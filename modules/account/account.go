// Package account holds platform-wide identities: accounts, passwords,
// sessions, sign-in throttling, and the sign-in, sign-out and password pages.
package account

import (
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is whether an account may sign in.
type Status string

// Account statuses.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Account is a person's sign-in identity across every tenant they belong to.
type Account struct {
	ID        uuid.UUID
	Email     string
	Name      string
	Status    Status
	CreatedAt time.Time
}

// NormaliseEmail trims an email address and lower-cases it; it returns "" when
// the address is not a plain, valid one.
func NormaliseEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 || len(s) > 254 {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return ""
	}
	return s
}

// row is the accounts table as stored.
type row struct {
	ID                uuid.UUID
	Email             string
	Name              string
	PasswordHash      string
	Status            string
	PasswordChangedAt *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (row) TableName() string { return "accounts" }

func (r row) account() Account {
	return Account{ID: r.ID, Email: r.Email, Name: r.Name, Status: Status(r.Status), CreatedAt: r.CreatedAt}
}
