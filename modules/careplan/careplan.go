// Package careplan plans a cared-for child's discharge: the ward or team,
// the expected discharge date, the care needs and the competencies each
// requires, how many competent carers the child needs and who the named
// carers are. Readiness is derived from the carers' passports at read time
// and never stored; gaps come with suitable upcoming training sessions,
// bookable from the plan.
package careplan

import (
	"strings"
	"time"
	_ "time/tzdata" // discharge dates are London dates even where the host has no zoneinfo
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// Defaults and limits.
const (
	// DefaultRequiredCarers is how many competent carers a child needs when
	// the plan does not say.
	DefaultRequiredCarers = 2
	// MaxRequiredCarers bounds the number a plan may ask for.
	MaxRequiredCarers = 10
	// NotReadyWithinDays is how close the expected discharge date must be
	// (in days, today included; overdue counts) for a child with gaps to be
	// flagged "not ready".
	NotReadyWithinDays = 7
	// SuggestionsPerGap bounds the sessions suggested for one gap.
	SuggestionsPerGap = 3
	// maxWard, maxNeed and maxRelationship are input limits in characters.
	maxWard         = 120
	maxNeed         = 120
	maxRelationship = 60
)

// London is the zone discharge dates are London calendar dates in.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("careplan: no Europe/London time zone: " + err.Error())
	}
	return loc
}()

// DayStart returns the start, in London, of the calendar date of t there.
func DayStart(t time.Time) time.Time {
	y, m, d := t.In(London).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, London)
}

// Plan is a cared-for child's care plan.
type Plan struct {
	ID                uuid.UUID `json:"id"`
	CaredForID        uuid.UUID `json:"cared_for_id"`
	ChildName         string    `json:"child_name"`
	Ward              string    `json:"ward"`
	ExpectedDischarge time.Time `json:"expected_discharge"` // start of the date, London time
	RequiredCarers    int       `json:"required_carers"`
	Needs             []Need    `json:"needs"`
	Carers            []Carer   `json:"carers"`
	CreatedAt         time.Time `json:"created_at"`
}

// DischargeDate is the expected discharge date as people read it.
func (p Plan) DischargeDate() string { return p.ExpectedDischarge.In(London).Format("2 January 2006") }

// Need is one care need and the competencies it requires.
type Need struct {
	ID           uuid.UUID     `json:"id"`
	Name         string        `json:"name"`
	Competencies []Requirement `json:"competencies"`
	CreatedAt    time.Time     `json:"created_at"`
}

// Carer is a holder named on a plan.
type Carer struct {
	HolderID     uuid.UUID `json:"holder_id"`
	Name         string    `json:"name"`
	Relationship string    `json:"relationship,omitempty"`
	Left         bool      `json:"left"` // has left the organisation: counts as no one
}

// PlanInput makes a care plan.
type PlanInput struct {
	CaredForID        uuid.UUID `json:"cared_for_id"`
	Ward              string    `json:"ward"`
	ExpectedDischarge string    `json:"expected_discharge"` // YYYY-MM-DD, a London date
	// RequiredCarers is the number of competent carers required; nil for
	// DefaultRequiredCarers.
	RequiredCarers *int `json:"required_carers"`
}

// Messages of refused input, shared with the pages.
const (
	MsgRequiredCarers = "The number of competent carers required must be at least 1"
	MsgRequiredMax    = "The number of competent carers required must be 10 or fewer"
	MsgChooseChild    = "Choose the child the plan is for"
	MsgCompetencies   = "Choose at least one competency the care need requires"
	MsgOutsideCatalog = "is not a competency of the organisation's published catalogues"
)

func (in PlanInput) validate(today time.Time) (PlanInput, time.Time, error) {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	in.Ward = strings.Join(strings.Fields(in.Ward), " ")
	if in.CaredForID == uuid.Nil {
		add("cared_for_id", MsgChooseChild)
	}
	switch n := utf8.RuneCountInString(in.Ward); {
	case n == 0:
		add("ward", "Enter the ward or team")
	case n > maxWard:
		add("ward", "The ward or team must be 120 characters or fewer")
	}
	day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.ExpectedDischarge), London)
	switch {
	case strings.TrimSpace(in.ExpectedDischarge) == "":
		add("expected_discharge", "Enter the expected discharge date")
	case err != nil:
		add("expected_discharge", "Enter the expected discharge date as a real date, for example 2027-05-14")
	case day.Before(today.AddDate(-1, 0, 0)) || day.After(today.AddDate(2, 0, 0)):
		add("expected_discharge", "The expected discharge date must be within a year before and two years after today")
	}
	if in.RequiredCarers == nil {
		n := DefaultRequiredCarers
		in.RequiredCarers = &n
	}
	if m := checkRequired(*in.RequiredCarers); m != "" {
		add("required_carers", m)
	}
	if len(fe) > 0 {
		return in, time.Time{}, errs.Validation(fe...)
	}
	return in, day, nil
}

func checkRequired(n int) string {
	switch {
	case n < 1:
		return MsgRequiredCarers
	case n > MaxRequiredCarers:
		return MsgRequiredMax
	}
	return ""
}

// PlanChanges changes a plan's ward, date or number of carers required;
// nil fields are left as they are.
type PlanChanges struct {
	Ward              *string `json:"ward"`
	ExpectedDischarge *string `json:"expected_discharge"`
	RequiredCarers    *int    `json:"required_carers"`
}

// NeedInput records a care need.
type NeedInput struct {
	Name         string      `json:"name"`
	Competencies []uuid.UUID `json:"competency_ids"`
}

func (in NeedInput) validate() (NeedInput, error) {
	var fe []errs.FieldError
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		fe = append(fe, errs.FieldError{Field: "name", Message: "Enter the care need, for example Tracheostomy care"})
	case n > maxNeed:
		fe = append(fe, errs.FieldError{Field: "name", Message: "The care need must be 120 characters or fewer"})
	}
	in.Competencies = uniq(in.Competencies)
	if len(in.Competencies) == 0 {
		fe = append(fe, errs.FieldError{Field: "competency_ids", Message: MsgCompetencies})
	}
	if len(fe) > 0 {
		return in, errs.Validation(fe...)
	}
	return in, nil
}

// CarerInput names a carer on a plan.
type CarerInput struct {
	HolderID     uuid.UUID `json:"holder_id"`
	Relationship string    `json:"relationship"`
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if id != uuid.Nil && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Overdue is how many days the expected discharge date has passed.
func (r Readiness) Overdue() int { return -r.DaysToDischarge }
