// Package scheme keeps the carer passport schemes a tenant issues passports
// under: who a scheme is for, who is eligible, the offer of support that
// comes with its passports, how long they last, and whether the cared-for
// person's consent is needed. It ships ready-made schemes for each kind of
// tenant so that a new organisation can start in minutes, and gives the
// passport module the one active scheme it issues under. Every change is
// audited.
package scheme

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// Audience is who a scheme's passports are for.
type Audience string

// Audiences.
const (
	AdultCarer  Audience = "adult_carer"
	YoungCarer  Audience = "young_carer"
	ParentCarer Audience = "parent_carer"
)

// Audiences lists every audience in the order forms show them.
var Audiences = []Audience{AdultCarer, YoungCarer, ParentCarer}

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool {
	for _, v := range Audiences {
		if v == a {
			return true
		}
	}
	return false
}

// Label is the human name of the audience.
func (a Audience) Label() string {
	switch a {
	case AdultCarer:
		return "Adult carers"
	case YoungCarer:
		return "Young carers (under 18)"
	case ParentCarer:
		return "Parent carers"
	}
	return string(a)
}

// Hint explains the audience on forms.
func (a Audience) Hint() string {
	switch a {
	case AdultCarer:
		return "Adults who look after a family member, partner or friend without being paid to"
	case YoungCarer:
		return "Children and young people who help to look after someone in their family"
	case ParentCarer:
		return "Parents and main carers of a child who needs extra care, including during a hospital stay"
	}
	return ""
}

// ValidityKind is how a scheme decides when its passports end.
type ValidityKind string

// Validity kinds.
const (
	// ValidForDays: each passport lasts a fixed number of days from issue.
	ValidForDays ValidityKind = "days"
	// ValidUntilDate: every passport ends on the same date.
	ValidUntilDate ValidityKind = "until_date"
	// ValidUntilDischarge: a passport lasts for one named stay and ends
	// when the cared-for person is discharged, at most a number of days
	// after issue.
	ValidUntilDischarge ValidityKind = "until_discharge"
)

// ValidityKinds lists every validity kind in the order forms show them.
var ValidityKinds = []ValidityKind{ValidForDays, ValidUntilDate, ValidUntilDischarge}

// Valid reports whether k is a known validity kind.
func (k ValidityKind) Valid() bool {
	for _, v := range ValidityKinds {
		if v == k {
			return true
		}
	}
	return false
}

// Label is the human name of the validity kind.
func (k ValidityKind) Label() string {
	switch k {
	case ValidForDays:
		return "A number of days from issue"
	case ValidUntilDate:
		return "Until a fixed date"
	case ValidUntilDischarge:
		return "Until the end of a hospital stay"
	}
	return string(k)
}

// Hint explains the validity kind on forms.
func (k ValidityKind) Hint() string {
	switch k {
	case ValidForDays:
		return "For example, 365 days for a yearly passport"
	case ValidUntilDate:
		return "Every passport ends on the same date, for example the end of a funded project"
	case ValidUntilDischarge:
		return "A passport for one named stay, ended when the person cared for is discharged"
	}
	return ""
}

// usesDays reports whether k needs a number of days: the length of a
// passport, or the longest a stay passport may last.
func (k ValidityKind) usesDays() bool { return k == ValidForDays || k == ValidUntilDischarge }

// Status is whether new passports may be issued under a scheme.
type Status string

// Statuses.
const (
	Active  Status = "active"
	Retired Status = "retired"
)

// Label is the human name of the status.
func (s Status) Label() string {
	switch s {
	case Active:
		return "Active"
	case Retired:
		return "Retired"
	}
	return string(s)
}

// Limits of a scheme's fields.
const (
	MaxNameLen        = 120
	MaxEligibilityLen = 2000
	MaxBenefits       = 20
	MaxBenefitLen     = 200
	MaxValidityDays   = 3660
)

// Scheme is one carer passport scheme of a tenant. A passport copies the
// scheme's name and benefits when it is issued, so changing a scheme
// changes only the passports issued after the change.
type Scheme struct {
	ID           uuid.UUID
	Name         string
	Audience     Audience
	Eligibility  string
	Benefits     []string
	ValidityKind ValidityKind
	// ValidityDays is how long a passport lasts (ValidForDays), or the
	// longest a stay passport may last (ValidUntilDischarge); 0 otherwise.
	ValidityDays int
	// ValidUntilDate is the date every passport ends (ValidUntilDate), as
	// midnight UTC of that calendar date; zero otherwise.
	ValidUntilDate  time.Time
	ConsentRequired bool
	Renewable       bool
	Status          Status
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Retired reports whether the scheme has been retired.
func (s Scheme) Retired() bool { return s.Status == Retired }

// EligibilityParagraphs is the scheme's eligibility split into its
// paragraphs, for pages.
func (s Scheme) EligibilityParagraphs() []string {
	var out []string
	for _, p := range strings.Split(s.Eligibility, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AudienceLabel is the human name of the scheme's audience.
func (s Scheme) AudienceLabel() string { return s.Audience.Label() }

// ValidityLabel describes how long the scheme's passports last, as pages
// show it.
func (s Scheme) ValidityLabel() string {
	return ValidityLabel(s.ValidityKind, s.ValidityDays, s.ValidUntilDate)
}

// ValidityLabel describes a validity rule: "30 days from issue", "365 days
// (1 year) from issue", "Until 31 March 2027", "Until discharge, at most 90
// days".
func ValidityLabel(kind ValidityKind, days int, until time.Time) string {
	switch kind {
	case ValidForDays:
		if days >= 365 && days%365 == 0 {
			return plural(days, "day") + " (" + plural(days/365, "year") + ") from issue"
		}
		return plural(days, "day") + " from issue"
	case ValidUntilDate:
		return "Until " + until.Format("2 January 2006")
	case ValidUntilDischarge:
		return "Until discharge, at most " + plural(days, "day")
	}
	return string(kind)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// london is where calendar days begin and end for passports.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// endOfDay returns the last second (23:59:59) of the calendar day y-m-d in
// London, in UTC. A passport is valid up to and including that second, and
// the instant reads as that date wherever it is shown in London time.
func endOfDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 0, london).UTC()
}

// ValidUntil returns the end of validity of a passport issued under s at
// from. Days are calendar days in Europe/London, and a passport ends at the
// last second (23:59:59) of its last day there, so the answer moves with
// the clocks in March and October:
//   - ValidForDays: the end of the day ValidityDays calendar days after
//     from's date (issued on 1 March for 30 days: the end of 31 March);
//   - ValidUntilDate: the end of ValidUntilDate; an Invalid error once that
//     is no later than from;
//   - ValidUntilDischarge: the end of the day ValidityDays after from's
//     date, the ceiling of a stay passport, which the passport module ends
//     earlier when the stay does.
//
// It does not look at the scheme's status: ForIssue refuses a retired one.
func (s Scheme) ValidUntil(from time.Time) (time.Time, error) {
	switch s.ValidityKind {
	case ValidForDays, ValidUntilDischarge:
		if s.ValidityDays < 1 || s.ValidityDays > MaxValidityDays {
			return time.Time{}, fmt.Errorf("scheme %s: validity of %d days: %w", s.ID, s.ValidityDays, errBadValidity)
		}
		y, m, d := from.In(london).Date()
		return endOfDay(y, m, d+s.ValidityDays), nil
	case ValidUntilDate:
		if s.ValidUntilDate.IsZero() {
			return time.Time{}, fmt.Errorf("scheme %s: no end date: %w", s.ID, errBadValidity)
		}
		y, m, d := s.ValidUntilDate.Date()
		end := endOfDay(y, m, d)
		if !end.After(from) {
			return time.Time{}, errs.E(errs.Invalid, "Passports under "+s.Name+" ended on "+
				s.ValidUntilDate.Format("2 January 2006")+". Change the scheme's end date before issuing a passport under it.")
		}
		return end, nil
	}
	return time.Time{}, fmt.Errorf("scheme %s: validity kind %q: %w", s.ID, s.ValidityKind, errBadValidity)
}

// errBadValidity is the cause of ValidUntil's failures on a scheme that
// could not have been stored.
var errBadValidity = errors.New("scheme: inconsistent validity")

// Date is a date as a person types it into the three boxes of a date input.
type Date struct {
	Day, Month, Year string
}

// DateFromISO splits an ISO 8601 date (2027-03-31) into its parts;
// anything else becomes a Date that fails validation.
func DateFromISO(s string) Date {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return Date{Day: "x", Month: "x", Year: s}
	}
	return Date{Day: parts[2], Month: parts[1], Year: parts[0]}
}

// dateOf returns a calendar date as a Date, empty for the zero time.
func dateOf(t time.Time) Date {
	if t.IsZero() {
		return Date{}
	}
	return Date{Day: strconv.Itoa(t.Day()), Month: strconv.Itoa(int(t.Month())), Year: strconv.Itoa(t.Year())}
}

func (d Date) empty() bool {
	return strings.TrimSpace(d.Day) == "" && strings.TrimSpace(d.Month) == "" && strings.TrimSpace(d.Year) == ""
}

// parse returns the date d names as midnight UTC, or the message for the
// field.
func (d Date) parse() (time.Time, string) {
	var missing []string
	for _, p := range []struct{ v, name string }{{d.Day, "day"}, {d.Month, "month"}, {d.Year, "year"}} {
		if strings.TrimSpace(p.v) == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return time.Time{}, "End date must include a " + strings.Join(missing, " and a ")
	}
	day, err1 := strconv.Atoi(strings.TrimSpace(d.Day))
	month, err2 := strconv.Atoi(strings.TrimSpace(d.Month))
	year, err3 := strconv.Atoi(strings.TrimSpace(d.Year))
	if err1 != nil || err2 != nil || err3 != nil || len(strings.TrimSpace(d.Year)) != 4 {
		return time.Time{}, "End date must be a real date, with a 4-digit year"
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return time.Time{}, "End date must be a real date"
	}
	return t, ""
}

// Input is what staff enter to create a scheme or to change one. Numbers
// and dates are kept as typed, so that a form can be shown again as it was.
type Input struct {
	Name         string
	Audience     string
	Eligibility  string
	Benefits     []string
	ValidityKind string
	// ValidityDays is a whole number of days as typed: the length of each
	// passport, or the longest a stay passport may last; empty for a
	// scheme whose passports end on a date.
	ValidityDays string
	// ValidUntilDate is the date every passport ends; empty unless the
	// validity kind is ValidUntilDate.
	ValidUntilDate Date
	// ConsentRequired and Renewable must be given: nil is "not answered".
	ConsentRequired *bool
	Renewable       *bool
}

// inputOf returns a scheme's current values as an Input.
func inputOf(s Scheme) Input {
	in := Input{Name: s.Name, Audience: string(s.Audience), Eligibility: s.Eligibility,
		Benefits: append([]string(nil), s.Benefits...), ValidityKind: string(s.ValidityKind),
		ValidUntilDate: dateOf(s.ValidUntilDate), ConsentRequired: ptr(s.ConsentRequired), Renewable: ptr(s.Renewable)}
	if s.ValidityDays > 0 {
		in.ValidityDays = strconv.Itoa(s.ValidityDays)
	}
	return in
}

func ptr[T any](v T) *T { return &v }

// Changes is a partial change of a scheme: nil fields stay as they are.
// Choosing another validity kind clears a number of days or an end date
// that the new kind does not use, unless the change gives it.
type Changes struct {
	Name            *string
	Audience        *string
	Eligibility     *string
	Benefits        *[]string
	ValidityKind    *string
	ValidityDays    *int
	ValidUntilDate  *string // ISO 8601 date (2027-03-31); "" clears it
	ConsentRequired *bool
	Renewable       *bool
}

// apply returns in with the changes made.
func (c Changes) apply(in Input) Input {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.Name, c.Name)
	set(&in.Audience, c.Audience)
	set(&in.Eligibility, c.Eligibility)
	if c.Benefits != nil {
		in.Benefits = append([]string(nil), (*c.Benefits)...)
	}
	if c.ValidityKind != nil && *c.ValidityKind != in.ValidityKind {
		in.ValidityKind = *c.ValidityKind
		k := ValidityKind(in.ValidityKind)
		if !k.usesDays() && c.ValidityDays == nil {
			in.ValidityDays = ""
		}
		if k != ValidUntilDate && c.ValidUntilDate == nil {
			in.ValidUntilDate = Date{}
		}
	}
	if c.ValidityDays != nil {
		in.ValidityDays = strconv.Itoa(*c.ValidityDays)
	}
	if c.ValidUntilDate != nil {
		in.ValidUntilDate = DateFromISO(*c.ValidUntilDate)
	}
	if c.ConsentRequired != nil {
		in.ConsentRequired = ptr(*c.ConsentRequired)
	}
	if c.Renewable != nil {
		in.Renewable = ptr(*c.Renewable)
	}
	return in
}

// fields are an Input's values once valid and normalised.
type fields struct {
	name            string
	audience        Audience
	eligibility     string
	benefits        []string
	validityKind    ValidityKind
	validityDays    int
	validUntilDate  time.Time
	consentRequired bool
	renewable       bool
}

// normaliseLine trims s and collapses runs of white space.
func normaliseLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// validate checks in at now and returns its normalised values, or every
// problem at once in the order the form asks. An end date must be after
// today in London, unless it equals keepDate: the date a scheme already
// has may stay when other fields change.
func (in Input) validate(now time.Time, keepDate time.Time) (fields, error) {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	f := fields{name: normaliseLine(in.Name), audience: Audience(strings.TrimSpace(in.Audience)),
		validityKind: ValidityKind(strings.TrimSpace(in.ValidityKind))}

	switch {
	case f.name == "":
		add("name", "Enter a name for the scheme")
	case utf8.RuneCountInString(f.name) > MaxNameLen:
		add("name", fmt.Sprintf("Name must be %d characters or fewer", MaxNameLen))
	case hasControl(f.name):
		add("name", "Enter the name without special characters")
	}

	if !f.audience.Valid() {
		add("audience", "Select who the scheme is for")
	}

	f.eligibility = strings.TrimSpace(strings.ReplaceAll(in.Eligibility, "\r\n", "\n"))
	switch {
	case utf8.RuneCountInString(f.eligibility) > MaxEligibilityLen:
		add("eligibility", fmt.Sprintf("Eligibility must be %d characters or fewer", MaxEligibilityLen))
	case strings.IndexFunc(f.eligibility, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		add("eligibility", "Enter the eligibility without special characters")
	}

	var err string
	if f.benefits, err = benefits(in.Benefits); err != "" {
		add("benefits", err)
	}

	days, date := strings.TrimSpace(in.ValidityDays), in.ValidUntilDate
	switch f.validityKind {
	case ValidForDays, ValidUntilDischarge:
		what := "how many days each passport lasts"
		if f.validityKind == ValidUntilDischarge {
			what = "the longest a stay passport may last, in days"
		}
		n, err := strconv.Atoi(days)
		switch {
		case days == "":
			add("validity_days", "Enter "+what)
		case err != nil:
			add("validity_days", "Number of days must be a whole number, like 90")
		case n < 1 || n > MaxValidityDays:
			add("validity_days", fmt.Sprintf("Number of days must be between 1 and %d", MaxValidityDays))
		default:
			f.validityDays = n
		}
		if !date.empty() {
			add("valid_until_date", "Leave the end date empty unless passports last until a fixed date")
		}
	case ValidUntilDate:
		if days != "" {
			add("validity_days", "Leave the number of days empty when passports last until a fixed date")
		}
		if date.empty() {
			add("valid_until_date", "Enter the date passports end")
			break
		}
		t, msg := date.parse()
		if msg == "" && !t.Equal(keepDate) {
			y, m, d := now.In(london).Date()
			today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			switch {
			case !t.After(today):
				msg = "End date must be in the future"
			case t.After(today.AddDate(0, 0, MaxValidityDays)):
				msg = "End date must be within 10 years"
			}
		}
		if msg != "" {
			add("valid_until_date", msg)
		}
		f.validUntilDate = t
	default:
		add("validity_kind", "Select how long passports last")
	}

	if in.ConsentRequired == nil {
		add("consent_required", "Select whether the consent of the person cared for is needed")
	} else {
		f.consentRequired = *in.ConsentRequired
	}
	if in.Renewable == nil {
		add("renewable", "Select whether passports can be renewed")
	} else {
		f.renewable = *in.Renewable
	}
	if len(fe) > 0 {
		return fields{}, errs.Validation(fe...)
	}
	return f, nil
}

// benefits trims each benefit, drops empty ones and repeats (ignoring
// case, keeping the first), and checks what is left; it returns the list or
// the message for the field.
func benefits(list []string) ([]string, string) {
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, b := range list {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if strings.ContainsAny(b, "\r\n") {
			return nil, "Enter each benefit on one line"
		}
		b = normaliseLine(b)
		if hasControl(b) {
			return nil, "Enter the benefits without special characters"
		}
		if key := strings.ToLower(b); !seen[key] {
			seen[key] = true
			out = append(out, b)
		}
	}
	switch {
	case len(out) == 0:
		return nil, "Enter at least one benefit of the scheme"
	case len(out) > MaxBenefits:
		return nil, fmt.Sprintf("Enter no more than %d benefits", MaxBenefits)
	}
	for i, b := range out {
		if utf8.RuneCountInString(b) > MaxBenefitLen {
			return nil, fmt.Sprintf("Benefit %d must be %d characters or fewer", i+1, MaxBenefitLen)
		}
	}
	return out, ""
}

// list is a list of strings stored as a JSON array.
type list []string

// Value stores the list as JSON.
func (l list) Value() (driver.Value, error) {
	if l == nil {
		l = list{}
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan reads the list from JSON.
func (l *list) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*l = nil
		return nil
	default:
		return errors.New("scheme: benefits are not JSON")
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// date is a nullable calendar date column, written as text so that no time
// zone can move it.
type date struct {
	t time.Time // midnight UTC; zero is NULL
}

// Value stores the date as YYYY-MM-DD, or NULL.
func (d date) Value() (driver.Value, error) {
	if d.t.IsZero() {
		return nil, nil
	}
	return d.t.Format(time.DateOnly), nil
}

// Scan reads a date column.
func (d *date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.t = time.Time{}
	case time.Time:
		y, m, day := v.Date()
		d.t = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	case string:
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fmt.Errorf("scheme: date: %w", err)
		}
		d.t = t
	case []byte:
		return d.Scan(string(v))
	default:
		return fmt.Errorf("scheme: date from %T", src)
	}
	return nil
}

// row is the schemes table.
type row struct {
	TenantID        uuid.UUID `gorm:"primaryKey"`
	ID              uuid.UUID `gorm:"primaryKey"`
	Name            string
	Audience        string
	Eligibility     string
	Benefits        list
	ValidityKind    string
	ValidityDays    *int
	ValidUntilDate  date
	ConsentRequired bool
	Renewable       bool
	Status          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (row) TableName() string { return "schemes" }

func (r row) scheme() Scheme {
	s := Scheme{ID: r.ID, Name: r.Name, Audience: Audience(r.Audience), Eligibility: r.Eligibility,
		Benefits: []string(r.Benefits), ValidityKind: ValidityKind(r.ValidityKind), ValidUntilDate: r.ValidUntilDate.t,
		ConsentRequired: r.ConsentRequired, Renewable: r.Renewable, Status: Status(r.Status),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if s.Benefits == nil {
		s.Benefits = []string{}
	}
	if r.ValidityDays != nil {
		s.ValidityDays = *r.ValidityDays
	}
	return s
}

// setFields puts valid values into r.
func (r *row) setFields(f fields) {
	r.Name, r.Audience, r.Eligibility = f.name, string(f.audience), f.eligibility
	r.Benefits, r.ValidityKind = list(f.benefits), string(f.validityKind)
	r.ValidityDays, r.ValidUntilDate = nil, date{t: f.validUntilDate}
	if f.validityDays > 0 {
		r.ValidityDays = ptr(f.validityDays)
	}
	r.ConsentRequired, r.Renewable = f.consentRequired, f.renewable
}
