// Package holder keeps the people a tenant records passports for: adding
// them (with a warning on a likely duplicate), changing their details,
// marking them as left, inviting them to claim an account so that their
// enrolments in every tenant become one person, and the holder's own view of
// their passport across tenants. Every read and change is audited.
package holder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/errs"
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
func (h Holder) RoleLabel() string { return RoleLabel(h.RoleInCare) }

// Left reports whether the holder has left the tenant.
func (h Holder) Left() bool { return h.Status == StatusLeft }

// Holder statuses.
const (
	StatusActive = "active"
	StatusLeft   = "left"
)

// RoleInCare is one of the roles a holder may have in relation to care.
type RoleInCare struct {
	Key   string
	Label string
}

// RolesInCare lists the roles in care, in the order forms show them.
var RolesInCare = []RoleInCare{
	{"parent", "Parent"},
	{"unpaid_carer", "Unpaid carer"},
	{"paid_carer", "Paid carer"},
	{"staff", "Staff member"},
	{"trainer", "Trainer"},
}

// RoleLabel returns the human name of a role-in-care key.
func RoleLabel(key string) string {
	for _, r := range RolesInCare {
		if r.Key == key {
			return r.Label
		}
	}
	return key
}

func validRole(key string) bool {
	for _, r := range RolesInCare {
		if r.Key == key {
			return true
		}
	}
	return false
}

// Date is a date as a person types it into the three boxes of a date input.
type Date struct {
	Day, Month, Year string
}

// DateFromISO splits an ISO 8601 date (2016-03-31) into its parts; anything
// else becomes a Date that fails validation.
func DateFromISO(s string) Date {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return Date{Year: s, Month: "x", Day: "x"}
	}
	return Date{Day: parts[2], Month: parts[1], Year: parts[0]}
}

// dateOf returns d as a Date.
func dateOf(t *time.Time) Date {
	if t == nil {
		return Date{}
	}
	return Date{Day: strconv.Itoa(t.Day()), Month: strconv.Itoa(int(t.Month())), Year: strconv.Itoa(t.Year())}
}

func (d Date) empty() bool {
	return strings.TrimSpace(d.Day) == "" && strings.TrimSpace(d.Month) == "" && strings.TrimSpace(d.Year) == ""
}

// parseBirthDate validates a date of birth at now and returns it, or the
// message for the field.
func parseBirthDate(d Date, now time.Time) (time.Time, string) {
	if d.empty() {
		return time.Time{}, "Enter their date of birth"
	}
	var missing []string
	for _, p := range []struct{ v, name string }{{d.Day, "day"}, {d.Month, "month"}, {d.Year, "year"}} {
		if strings.TrimSpace(p.v) == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return time.Time{}, "Date of birth must include a " + strings.Join(missing, " and a ")
	}
	day, err1 := strconv.Atoi(strings.TrimSpace(d.Day))
	month, err2 := strconv.Atoi(strings.TrimSpace(d.Month))
	year, err3 := strconv.Atoi(strings.TrimSpace(d.Year))
	if err1 != nil || err2 != nil || err3 != nil || len(strings.TrimSpace(d.Year)) != 4 {
		return time.Time{}, "Date of birth must be a real date, with a 4-digit year"
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return time.Time{}, "Date of birth must be a real date"
	}
	if !t.Before(now) {
		return time.Time{}, "Date of birth must be in the past"
	}
	if year < 1900 {
		return time.Time{}, "Date of birth must be after 1900"
	}
	return t, ""
}

// Input is what staff enter to add a holder or to change their details.
type Input struct {
	GivenName   string
	FamilyName  string
	DateOfBirth Date
	Email       string
	Phone       string
	RoleInCare  string
}

// details are Input's values once valid and normalised.
type details struct {
	givenName, familyName string
	dateOfBirth           time.Time
	email, phone          string
	roleInCare            string
}

// normaliseName trims a name and collapses runs of white space.
func normaliseName(s string) string { return strings.Join(strings.Fields(s), " ") }

func nameProblem(v, label string) string {
	switch {
	case v == "":
		return "Enter their " + label
	case utf8.RuneCountInString(v) > 100:
		return strings.ToUpper(label[:1]) + label[1:] + " must be 100 characters or fewer"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "Enter their " + label + " without tabs or line breaks"
	}
	return ""
}

// validPhone accepts UK and international numbers: digits with spaces,
// hyphens, brackets and a leading +, 10 to 15 digits in all.
func validPhone(s string) bool {
	if len(s) > 30 {
		return false
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '(' || r == ')':
		case r == '+' && i == 0:
		default:
			return false
		}
	}
	return digits >= 10 && digits <= 15
}

// validate checks in at now and returns its normalised values, or every
// problem at once in the order the form asks.
func (in Input) validate(now time.Time) (details, error) {
	var fe []errs.FieldError
	d := details{givenName: normaliseName(in.GivenName), familyName: normaliseName(in.FamilyName),
		phone: strings.TrimSpace(in.Phone), roleInCare: strings.TrimSpace(in.RoleInCare)}
	if msg := nameProblem(d.givenName, "first name"); msg != "" {
		fe = append(fe, errs.FieldError{Field: "given_name", Message: msg})
	}
	if msg := nameProblem(d.familyName, "last name"); msg != "" {
		fe = append(fe, errs.FieldError{Field: "family_name", Message: msg})
	}
	dob, msg := parseBirthDate(in.DateOfBirth, now)
	if msg != "" {
		fe = append(fe, errs.FieldError{Field: "date_of_birth", Message: msg})
	}
	d.dateOfBirth = dob
	if e := strings.TrimSpace(in.Email); e != "" {
		if d.email = account.NormaliseEmail(e); d.email == "" {
			fe = append(fe, errs.FieldError{Field: "email", Message: "Enter an email address in the correct format, like name@example.com"})
		}
	}
	if d.phone != "" && !validPhone(d.phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192"})
	}
	if !validRole(d.roleInCare) {
		fe = append(fe, errs.FieldError{Field: "role_in_care", Message: "Select their role in care"})
	}
	if len(fe) > 0 {
		return details{}, errs.Validation(fe...)
	}
	return d, nil
}

// inputOf returns a holder's current details as an Input.
func inputOf(h Holder) Input {
	return Input{GivenName: h.GivenName, FamilyName: h.FamilyName, DateOfBirth: dateOf(h.DateOfBirth),
		Email: h.Email, Phone: h.Phone, RoleInCare: h.RoleInCare}
}

// Changes is a partial change of a holder's details: nil fields stay as
// they are.
type Changes struct {
	GivenName   *string
	FamilyName  *string
	DateOfBirth *Date
	Email       *string
	Phone       *string
	RoleInCare  *string
	Status      *string
}

// apply returns in with the changes made.
func (c Changes) apply(in Input) Input {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.GivenName, c.GivenName)
	set(&in.FamilyName, c.FamilyName)
	set(&in.Email, c.Email)
	set(&in.Phone, c.Phone)
	set(&in.RoleInCare, c.RoleInCare)
	if c.DateOfBirth != nil {
		in.DateOfBirth = *c.DateOfBirth
	}
	return in
}

// DuplicateError carries the holders a new one may duplicate: same name
// (ignoring case) and date of birth in the same tenant.
type DuplicateError struct {
	Matches []Holder
}

// Error describes the warning for logs.
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("holder: %d possible duplicate(s)", len(e.Matches))
}

// MsgDuplicate is the message for a likely duplicate.
const MsgDuplicate = "This may be someone who is already a holder here: someone with the same name and date of birth is already recorded."

// Duplicates returns the possible matches carried by err, if err is a
// likely-duplicate warning.
func Duplicates(err error) ([]Holder, bool) {
	var d *DuplicateError
	if errors.As(err, &d) {
		return d.Matches, true
	}
	return nil, false
}

// DueWindowDays is how many days before its expiry a competency shows as
// due for update (the record module's default).
const DueWindowDays = 60

// london is where calendar dates are reckoned.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// AddMonths adds n calendar months to t, keeping the day of the month or,
// when the month is shorter, taking its last day (31 January + 1 month is
// 28 or 29 February).
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// Expiry returns when a competency signed off at signedOff, re-assessed
// every months, lapses: the start (London time) of the same day of the
// month, months later, as the staff passport reckons it; nil when it has
// not been signed off.
func Expiry(signedOff *time.Time, months int) *time.Time {
	if signedOff == nil || months <= 0 {
		return nil
	}
	y, m, d := signedOff.In(london).Date()
	e := AddMonths(time.Date(y, m, d, 0, 0, 0, 0, london), months)
	return &e
}

// EffectiveState is a record's state at now: a competent record past its
// expiry reads "expired", and within DueWindowDays of it "due_for_update".
func EffectiveState(state string, expires *time.Time, now time.Time) string {
	if state != "competent" || expires == nil {
		return state
	}
	switch {
	case !now.Before(*expires):
		return "expired"
	case !now.Before(expires.AddDate(0, 0, -DueWindowDays)):
		return "due_for_update"
	}
	return state
}

// StateLabel is the human name of a record state.
func StateLabel(state string) string {
	switch state {
	case "enrolled":
		return "Enrolled"
	case "training_attended":
		return "Training attended"
	case "supervised_practice":
		return "Supervised practice"
	case "competent":
		return "Competent"
	case "due_for_update":
		return "Due for update"
	case "expired":
		return "Expired"
	case "not_yet_competent":
		return "Not yet competent"
	case "suspended":
		return "Suspended"
	case "revoked":
		return "Revoked"
	}
	return state
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
