// Package setting keeps the care settings a tenant supports or runs (a
// special school, a hospice, a respite unit), their groups (classes) of
// children and the staff attached to each, and annual class planning: from
// the children's care needs, which staff (and, when chosen, which parents
// and named carers) need which competencies, what they already hold, and
// bulk booking of the training they need.
package setting

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/errs"
)

// Kinds of setting.
const (
	SpecialSchool = "special_school"
	Hospice       = "hospice"
	RespiteUnit   = "respite_unit"
	Other         = "other"
)

// Kind is one kind of setting.
type Kind struct {
	Key   string
	Label string
}

// Kinds lists the kinds of setting in form order.
var Kinds = []Kind{{SpecialSchool, "Special school"}, {Hospice, "Hospice"}, {RespiteUnit, "Respite unit"}, {Other, "Other"}}

// KindLabel names a kind.
func KindLabel(k string) string {
	for _, v := range Kinds {
		if v.Key == k {
			return v.Label
		}
	}
	return k
}

// Setting is a care setting with its groups.
type Setting struct {
	ID     uuid.UUID `json:"id"`
	Kind   string    `json:"kind"`
	Name   string    `json:"name"`
	Groups []Group   `json:"groups" gorm:"-"`
}

// KindLabel names the setting's kind.
func (s Setting) KindLabel() string { return KindLabel(s.Kind) }

// Group is a group (class) of a setting.
type Group struct {
	ID          uuid.UUID `json:"id"`
	SettingID   uuid.UUID `json:"setting_id"`
	SettingName string    `json:"setting_name"`
	Name        string    `json:"name"`
	Children    []Person  `json:"children" gorm:"-"`
	Staff       []Person  `json:"staff" gorm:"-"`
	Plans       []Summary `json:"class_plans" gorm:"-"`
}

// Person is a child or a member of staff of a group.
type Person struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// Summary names a class plan.
type Summary struct {
	ID             uuid.UUID `json:"id"`
	AcademicYear   int       `json:"academic_year"`
	Label          string    `json:"label"`
	IncludeParents bool      `json:"include_parents"`
}

// SettingInput makes a setting.
type SettingInput struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (in SettingInput) validate() (SettingInput, error) {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	var fe []errs.FieldError
	if KindLabel(in.Kind) == in.Kind {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "Select the kind of setting: special school, hospice, respite unit or other"})
	}
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 120 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "Enter the setting's name, from 2 to 120 characters"})
	}
	if len(fe) > 0 {
		return in, errs.Validation(fe...)
	}
	return in, nil
}

// GroupInput makes a group.
type GroupInput struct {
	Name string `json:"name"`
}

// MemberInput adds children or staff to a group.
type MemberInput struct {
	IDs []uuid.UUID `json:"ids"`
}

// PlanInput makes a class plan.
type PlanInput struct {
	// AcademicYear is the year the academic year starts (2027 for
	// 1 September 2027 to 31 August 2028).
	AcademicYear   int  `json:"academic_year"`
	IncludeParents bool `json:"include_parents"`
}

// Academic years run from 1 September to 31 August.

// YearLabel names an academic year: "2027 to 2028".
func YearLabel(start int) string {
	return time.Date(start, 9, 1, 0, 0, 0, 0, time.UTC).Format("2006") + " to " + time.Date(start+1, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")
}

// YearStart is the start, in London, of the academic year starting in year.
func YearStart(year int) time.Time { return time.Date(year, 9, 1, 0, 0, 0, 0, careplan.London) }

// CurrentYear is the academic year that the day of t falls in.
func CurrentYear(t time.Time) int {
	y, m, _ := t.In(careplan.London).Date()
	if m >= time.September {
		return y
	}
	return y - 1
}

// Messages of refused class plans.
const (
	MsgPastYear = "The academic year %s has ended: plan for the current or the coming academic year"
	MsgFarYear  = "Plans can be made for the current or the coming academic year only"
)

// Planner is what class planning needs of discharge planning, inside the
// caller's tenant transaction; *careplan.Service is one.
type Planner interface {
	ChildNeeds(ctx context.Context, tx *gorm.DB, children []uuid.UUID) ([]careplan.ChildNeeds, error)
	LoadPassports(tx *gorm.DB, tenant uuid.UUID, holders []uuid.UUID) (*careplan.Passports, error)
	Suggestions(tx *gorm.DB, tenant uuid.UUID, reqs []careplan.Requirement, deadline time.Time) (map[string][]careplan.Suggestion, error)
}

// Booker books a holder onto a training session in its own transaction;
// the training service's staff booking is one (wired in cmd).
type Booker interface {
	Book(ctx context.Context, sessionID, holderID uuid.UUID) (careplan.Booking, error)
}
