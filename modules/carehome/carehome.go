// Package carehome is staff compliance for a care-home provider: its homes,
// job roles and the competencies each role (and each home, in addition)
// requires, staff employed at a home in a role, and the compliance matrix
// of staff against what they must hold, derived at read time from their
// competency records with the same rules as the passport. It also imports
// staff from CSV, exports the matrix as CSV and as a PDF for an
// inspection, and keeps a daily history of compliance for dashboards.
package carehome

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // dates are London dates even where the host has no zoneinfo

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/record"
)

// London is the zone whose calendar dates employment and expiry follow.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("carehome: Europe/London: %v", err))
	}
	return loc
}()

// Home is one site of the provider.
type Home struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// Additions are competencies everyone at the home must hold on top
	// of their role's.
	Additions []Competency `json:"additions"`
}

// Role is a job role and the competencies it requires.
type Role struct {
	ID           uuid.UUID    `json:"id"`
	Name         string       `json:"name"`
	Requirements []Competency `json:"requirements"`
}

// Competency is a competency of the tenant's published catalogues as the
// matrix names it. Key is what identifies it across catalogue versions: a
// record signed off against an earlier version of the same catalogue
// still counts.
type Competency struct {
	ID     uuid.UUID `json:"id"`
	Code   string    `json:"code"`
	Title  string    `json:"title"`
	Months int       `json:"reassess_months"`
	key    string    // catalogue key + "/" + code
	std    *uuid.UUID
}

// Employment is a holder employed at a home in a role.
type Employment struct {
	ID        uuid.UUID  `json:"id"`
	HolderID  uuid.UUID  `json:"holder_id"`
	Name      string     `json:"name"`
	HomeID    uuid.UUID  `json:"home_id"`
	HomeName  string     `json:"home"`
	RoleID    uuid.UUID  `json:"role_id"`
	RoleName  string     `json:"role"`
	StartedOn time.Time  `json:"started_on"`
	EndedOn   *time.Time `json:"ended_on,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
}

// Current reports whether the employment has not ended.
func (e Employment) Current() bool { return e.EndedOn == nil }

// Status is the state of one cell of the matrix.
type Status string

// Cell statuses.
const (
	Valid   Status = "valid"          // signed off and current
	Due     Status = "due_for_update" // current, inside the update window
	Expired Status = "expired"        // the sign-off has lapsed
	Missing Status = "missing"        // no sign-off here at all
)

// Statuses lists the statuses a filter offers, in the order shown.
var Statuses = []Status{Valid, Due, Expired, Missing}

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case Valid:
		return "Valid"
	case Due:
		return "Due for update"
	case Expired:
		return "Expired"
	case Missing:
		return "Missing"
	}
	return string(s)
}

// Tag is the NHS.UK tag modifier class of the status.
func (s Status) Tag() string {
	switch s {
	case Valid:
		return "nhsuk-tag--green"
	case Due:
		return "nhsuk-tag--yellow"
	case Expired:
		return "nhsuk-tag--red"
	}
	return "nhsuk-tag--grey"
}

// Compliant reports whether the status counts towards compliance: the
// sign-off is current, as the passport reckons it.
func (s Status) Compliant() bool { return s == Valid || s == Due }

func validStatus(s Status) bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// Derive returns the passport's derived state of a competent sign-off at
// signedOff of a competency re-assessed every months months, at now, with
// the update window of windowDays days before expiry, and when it expires.
// It is the rule modules/record applies to a competent record: expired
// from the start (London time) of its expiry date, otherwise re-assessment
// required when marked so, otherwise due for update from windowDays before
// expiry, otherwise competent.
func Derive(signedOff time.Time, months int, reassess bool, now time.Time, windowDays int) (record.State, time.Time) {
	exp := record.ExpiresAt(signedOff, months)
	due := exp.AddDate(0, 0, -windowDays)
	switch {
	case !now.Before(exp):
		return record.Expired, exp
	case reassess:
		return record.ReassessmentRequired, exp
	case !now.Before(due):
		return record.DueForUpdate, exp
	}
	return record.Competent, exp
}

// statusOf maps a passport state to a matrix cell. A record marked for
// re-assessment against a changed care prescription is no longer a
// current sign-off: it shows as expired until re-assessed.
func statusOf(s record.State) Status {
	switch s {
	case record.Competent:
		return Valid
	case record.DueForUpdate:
		return Due
	case record.Expired, record.ReassessmentRequired:
		return Expired
	}
	return Missing
}

// Input limits.
const (
	maxName   = 120
	maxReason = 300
)

// cleanName normalises white space in a name and checks its length.
func cleanName(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	return s, s != "" && len([]rune(s)) <= maxName
}

// dayOf returns the London date of t as midnight UTC of that date, the
// form a SQL date scans into.
func dayOf(t time.Time) time.Time {
	y, m, d := t.In(London).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// showDate formats a date as people read it.
func showDate(t time.Time) string { return t.Format("2 January 2006") }

// ParseDate reads a date typed as YYYY-MM-DD or DD/MM/YYYY (the forms a
// spreadsheet writes), returning it as midnight UTC.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1900 && t.Year() <= 2200 {
			return t, true
		}
	}
	return time.Time{}, false
}
