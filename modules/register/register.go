// Package register keeps a GP practice's carer register: which of its
// patients are unpaid carers, recorded with a SNOMED CT concept, with
// their consent to share, when their carer status is due for review, who
// they care for, and, when an entry is closed, when and why they stopped
// being a carer. Reception can check a carer passport and add its holder
// to the register. The register exports as CSV and as a FHIR R4 Bundle
// shaped by UK Core. Every read and change is audited.
package register

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/fhir"
)

// Concept is a SNOMED CT concept the register records carers with.
type Concept struct {
	Code    string
	Display string
}

// Concepts are the unpaid-carer concepts, in the order forms offer them.
var Concepts = []Concept{
	{"302767002", "Cares for a relative"},
	{"224485002", "Cares for a friend"},
	{"224486001", "Cares for a neighbour"},
	{"276040005", "Looks after someone"},
	{"224484003", "Patient themselves providing care"},
	{"407542009", "Informal caregiver"},
	{"407543004", "Primary caregiver"},
	{"824401000000105", "Carer of person with dementia"},
	{"248611000000108", "Carer of a person with a terminal illness"},
}

// PaidCaregiver is SNOMED CT 229774002 "Caregiver", the paid occupation. It
// is never offered and never accepted: the register is of unpaid carers.
const PaidCaregiver = "229774002"

// MsgPaidCaregiver is the answer to a request that records PaidCaregiver.
const MsgPaidCaregiver = "229774002 Caregiver is the concept for a paid caregiver (an occupation), not an unpaid carer. Choose one of the unpaid carer concepts"

// ConceptDisplay returns the display of an unpaid-carer concept, or "" when
// code is not one.
func ConceptDisplay(code string) string {
	for _, c := range Concepts {
		if c.Code == code {
			return c.Display
		}
	}
	return ""
}

// Statuses of an entry.
const (
	StatusActive = "active"
	StatusClosed = "closed"
)

// Reason is why someone is no longer a carer.
type Reason struct {
	Key   string
	Label string
}

// CloseReasons are the reasons an entry is closed, in the order forms offer
// them.
var CloseReasons = []Reason{
	{"no_longer_caring", "No longer caring"},
	{"cared_for_died", "The person they cared for has died"},
	{"cared_for_moved_into_care", "The person they cared for has moved into residential care"},
	{"left_practice", "Has left the practice"},
	{"recorded_in_error", "Recorded in error"},
	{"other", "Another reason"},
}

// ReasonLabel returns the words for a close reason key.
func ReasonLabel(key string) string {
	for _, r := range CloseReasons {
		if r.Key == key {
			return r.Label
		}
	}
	return key
}

// Source is the carer passport an entry was added from: what the check
// confirmed when it was added.
type Source struct {
	Issuer     string
	Scheme     string
	VerifiedAt time.Time
	CodeLast4  string // the last four characters of the passport code
}

// Entry is one entry of the carer register.
type Entry struct {
	ID                   uuid.UUID
	GivenName            string
	FamilyName           string
	DateOfBirth          *time.Time
	NHSNumber            string // "" when not known
	SNOMEDCode           string
	RecordedOn           time.Time
	ConsentToShare       bool
	ConsentOn            *time.Time
	ReviewDue            *time.Time
	CaredForName         string
	CaredForRelationship string
	CaredForKnown        *bool // whether the cared-for person is a patient here; nil when not recorded
	Source               *Source
	Status               string
	ClosedOn             *time.Time
	ClosedReason         string
	CreatedBy            *uuid.UUID
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Name is the carer's full name.
func (e Entry) Name() string { return e.GivenName + " " + e.FamilyName }

// Closed reports whether the entry is closed: the person is no longer a carer.
func (e Entry) Closed() bool { return e.Status == StatusClosed }

// ConceptDisplay is the display of the entry's SNOMED CT concept.
func (e Entry) ConceptDisplay() string { return ConceptDisplay(e.SNOMEDCode) }

// ClosedReasonLabel is the reason the entry was closed, in words.
func (e Entry) ClosedReasonLabel() string { return ReasonLabel(e.ClosedReason) }

// NHSNumberSpaced is the NHS number as people read it: 999 000 0018.
func (e Entry) NHSNumberSpaced() string {
	if len(e.NHSNumber) != 10 {
		return e.NHSNumber
	}
	return e.NHSNumber[:3] + " " + e.NHSNumber[3:6] + " " + e.NHSNumber[6:]
}

// ReviewOverdue reports whether an active entry's review date has passed at now.
func (e Entry) ReviewOverdue(now time.Time) bool {
	return !e.Closed() && e.ReviewDue != nil && e.ReviewDue.Before(today(now))
}

// FHIR returns the entry as the FHIR builders take it.
func (e Entry) FHIR() fhir.CarerEntry {
	out := fhir.CarerEntry{ID: e.ID, GivenName: e.GivenName, FamilyName: e.FamilyName, DateOfBirth: e.DateOfBirth,
		NHSNumber: e.NHSNumber, SNOMEDCode: e.SNOMEDCode, SNOMEDDisplay: e.ConceptDisplay(), RecordedOn: e.RecordedOn,
		Active: !e.Closed(), ClosedOn: e.ClosedOn, CaredForName: e.CaredForName,
		CaredForRelationship: e.CaredForRelationship, UpdatedAt: e.UpdatedAt}
	if e.Closed() {
		out.ClosedReason = e.ClosedReasonLabel()
	}
	return out
}

// london is where calendar dates are reckoned.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// today is the date at now in London, as midnight UTC (how dates are kept).
func today(now time.Time) time.Time {
	y, m, d := now.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Date is a date as a person types it into the three boxes of a date input.
type Date struct {
	Day, Month, Year string
}

// DateFromISO splits an ISO 8601 date (2024-03-31) into its parts; a
// date-time's date part is used. Anything else becomes a Date that fails
// validation; "" becomes an empty Date.
func DateFromISO(s string) Date {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}
	}
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return Date{Day: "x", Month: "x", Year: s}
	}
	return Date{Day: parts[2], Month: parts[1], Year: parts[0]}
}

// DateOf returns t as a Date (empty for nil).
func DateOf(t *time.Time) Date {
	if t == nil {
		return Date{}
	}
	return Date{Day: strconv.Itoa(t.Day()), Month: strconv.Itoa(int(t.Month())), Year: strconv.Itoa(t.Year())}
}

// Empty reports whether no part of the date was given.
func (d Date) Empty() bool {
	return strings.TrimSpace(d.Day) == "" && strings.TrimSpace(d.Month) == "" && strings.TrimSpace(d.Year) == ""
}

// parse returns the date d names (midnight UTC), or the message for its
// field, which label names ("Date of birth").
func (d Date) parse(label string) (time.Time, string) {
	var missing []string
	for _, p := range []struct{ v, name string }{{d.Day, "day"}, {d.Month, "month"}, {d.Year, "year"}} {
		if strings.TrimSpace(p.v) == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return time.Time{}, label + " must include a " + strings.Join(missing, " and a ")
	}
	day, err1 := strconv.Atoi(strings.TrimSpace(d.Day))
	month, err2 := strconv.Atoi(strings.TrimSpace(d.Month))
	year, err3 := strconv.Atoi(strings.TrimSpace(d.Year))
	if err1 != nil || err2 != nil || err3 != nil || len(strings.TrimSpace(d.Year)) != 4 {
		return time.Time{}, label + " must be a real date, with a 4-digit year"
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return time.Time{}, label + " must be a real date"
	}
	if year < 1900 {
		return time.Time{}, label + " must be after 1900"
	}
	return t, ""
}

// NormaliseNHSNumber removes the spaces and hyphens people type in an NHS
// number.
func NormaliseNHSNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidNHSNumber reports whether s (normalised) is 10 digits whose last is
// the modulus 11 check digit of the first nine.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := (11 - sum%11) % 11
	return check != 10 && check == int(s[9]-'0')
}

// Input is what staff enter to add an entry or change it.
type Input struct {
	GivenName            string
	FamilyName           string
	DateOfBirth          Date // optional
	NHSNumber            string
	SNOMEDCode           string
	RecordedOn           Date
	ConsentToShare       bool
	ConsentOn            Date // optional; the recorded date when consent is given without one
	ReviewDue            Date // optional
	CaredForName         string
	CaredForRelationship string
	CaredForKnown        string // "yes", "no", or "" when not recorded
}

// InputOf returns an entry's current details as an Input.
func InputOf(e Entry) Input {
	in := Input{GivenName: e.GivenName, FamilyName: e.FamilyName, DateOfBirth: DateOf(e.DateOfBirth), NHSNumber: e.NHSNumber,
		SNOMEDCode: e.SNOMEDCode, RecordedOn: DateOf(&e.RecordedOn), ConsentToShare: e.ConsentToShare,
		ConsentOn: DateOf(e.ConsentOn), ReviewDue: DateOf(e.ReviewDue), CaredForName: e.CaredForName,
		CaredForRelationship: e.CaredForRelationship}
	if e.CaredForKnown != nil {
		in.CaredForKnown = map[bool]string{true: "yes", false: "no"}[*e.CaredForKnown]
	}
	return in
}

// details are Input's values once valid and normalised.
type details struct {
	givenName, familyName string
	dateOfBirth           *time.Time
	nhsNumber             *string
	snomedCode            string
	recordedOn            time.Time
	consentToShare        bool
	consentOn             *time.Time
	reviewDue             *time.Time
	caredForName          string
	caredForRelationship  string
	caredForKnown         *bool
}

func normaliseText(s string) string { return strings.Join(strings.Fields(s), " ") }

// textProblem is the message for free text v of a field labelled label, at
// most max characters: "" when it is fine.
func textProblem(v, label string, max int) string {
	switch {
	case utf8.RuneCountInString(v) > max:
		return strings.ToUpper(label[:1]) + label[1:] + " must be " + strconv.Itoa(max) + " characters or fewer"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "Enter " + label + " without tabs or line breaks"
	}
	return ""
}

// validate checks in at now and returns its normalised values, or every
// problem at once in the order the form asks.
func (in Input) validate(now time.Time) (details, error) {
	var fe []errs.FieldError
	add := func(field, msg string) {
		if msg != "" {
			fe = append(fe, errs.FieldError{Field: field, Message: msg})
		}
	}
	d := details{givenName: normaliseText(in.GivenName), familyName: normaliseText(in.FamilyName),
		snomedCode: strings.TrimSpace(in.SNOMEDCode), consentToShare: in.ConsentToShare,
		caredForName: normaliseText(in.CaredForName), caredForRelationship: normaliseText(in.CaredForRelationship)}
	day := today(now)

	if d.givenName == "" {
		add("given_name", "Enter their first name")
	} else {
		add("given_name", textProblem(d.givenName, "their first name", 100))
	}
	if d.familyName == "" {
		add("family_name", "Enter their last name")
	} else {
		add("family_name", textProblem(d.familyName, "their last name", 100))
	}
	if !in.DateOfBirth.Empty() {
		t, msg := in.DateOfBirth.parse("Date of birth")
		if msg == "" && !t.Before(day) {
			msg = "Date of birth must be in the past"
		}
		add("date_of_birth", msg)
		if msg == "" {
			d.dateOfBirth = &t
		}
	}
	if n := NormaliseNHSNumber(in.NHSNumber); n != "" {
		switch {
		case len(n) != 10 || strings.IndexFunc(n, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
			add("nhs_number", "NHS number must be 10 digits")
		case !ValidNHSNumber(n):
			add("nhs_number", "Enter a valid NHS number: this one fails its check digit")
		default:
			d.nhsNumber = &n
		}
	}
	switch {
	case d.snomedCode == PaidCaregiver:
		add("snomed_code", MsgPaidCaregiver)
	case d.snomedCode == "":
		add("snomed_code", "Select how they care for someone")
	case ConceptDisplay(d.snomedCode) == "":
		add("snomed_code", "Select one of the unpaid carer concepts")
	}
	recorded, recordedOK := time.Time{}, false
	if in.RecordedOn.Empty() {
		add("recorded_on", "Enter the date their caring was recorded")
	} else {
		t, msg := in.RecordedOn.parse("Date recorded")
		if msg == "" && t.After(day) {
			msg = "Date recorded must be today or in the past"
		}
		if msg == "" && d.dateOfBirth != nil && t.Before(*d.dateOfBirth) {
			msg = "Date recorded must be after their date of birth"
		}
		add("recorded_on", msg)
		recorded, recordedOK = t, msg == ""
	}
	d.recordedOn = recorded
	if !in.ConsentOn.Empty() {
		t, msg := in.ConsentOn.parse("Date of consent")
		if msg == "" && t.After(day) {
			msg = "Date of consent must be today or in the past"
		}
		if msg == "" && !in.ConsentToShare {
			msg = "Remove the date of consent, or record that they consent to share"
		}
		add("consent_on", msg)
		if msg == "" {
			d.consentOn = &t
		}
	} else if in.ConsentToShare && recordedOK {
		d.consentOn = &recorded
	}
	if !in.ReviewDue.Empty() {
		t, msg := in.ReviewDue.parse("Review date")
		if msg == "" && recordedOK && !t.After(recorded) {
			msg = "Review date must be after the date recorded"
		}
		add("review_due", msg)
		if msg == "" {
			d.reviewDue = &t
		}
	}
	add("cared_for_name", textProblem(d.caredForName, "the name of the person they care for", 200))
	add("cared_for_relationship", textProblem(d.caredForRelationship, "their relationship", 100))
	switch strings.TrimSpace(in.CaredForKnown) {
	case "yes":
		d.caredForKnown = ptr(true)
	case "no":
		d.caredForKnown = ptr(false)
	case "":
	default:
		add("cared_for_known", "Select whether the person they care for is a patient here")
	}
	if len(fe) > 0 {
		return details{}, errs.Validation(fe...)
	}
	return d, nil
}

// Closure is when and why someone stopped being a carer.
type Closure struct {
	On     Date
	Reason string // one of CloseReasons
}

// validate checks c for an entry recorded on recorded, at now.
func (c Closure) validate(recorded, now time.Time) (time.Time, string, error) {
	var fe []errs.FieldError
	on, msg := time.Time{}, ""
	if c.On.Empty() {
		msg = "Enter the date they stopped being a carer"
	} else if on, msg = c.On.parse("Date they stopped being a carer"); msg == "" {
		switch {
		case on.After(today(now)):
			msg = "Date they stopped being a carer must be today or in the past"
		case on.Before(recorded):
			msg = "Date they stopped being a carer must be on or after the date recorded"
		}
	}
	if msg != "" {
		fe = append(fe, errs.FieldError{Field: "closed_on", Message: msg})
	}
	reason := strings.TrimSpace(c.Reason)
	valid := false
	for _, r := range CloseReasons {
		valid = valid || r.Key == reason
	}
	if !valid {
		fe = append(fe, errs.FieldError{Field: "closed_reason", Message: "Select why they are no longer a carer"})
	}
	if len(fe) > 0 {
		return time.Time{}, "", errs.Validation(fe...)
	}
	return on, reason, nil
}

// Filter narrows a listing of the register. The zero Filter lists every
// entry.
type Filter struct {
	Query   string // part of a name, or an NHS number (spaces allowed)
	Status  string // "", StatusActive or StatusClosed
	Concept string // a SNOMED CT code, or ""
	Consent string // "", "yes" or "no"
	// ReviewWithinDays, when positive, keeps active entries whose review is
	// due within that many days from today, overdue ones included.
	ReviewWithinDays int
	Limit            int // default 200, at most 1000
}

// Checker confirms a carer passport by its code or QR text on behalf of the practice.
type Checker interface {
	Check(ctx context.Context, codeOrQR string) (CheckResult, error)
}

// CheckResult is what a carer passport check confirmed.
type CheckResult struct {
	Confirmed  bool
	HolderName string
	IssuerName string
	SchemeName string
	ValidUntil time.Time
	Benefits   []string
	Code       string // canonical code when confirmed
}

func ptr[T any](v T) *T { return &v }
