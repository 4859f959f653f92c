// Package record keeps one holder's progress in each competency: the
// lifecycle from enrolment through training, observed practice and sign-off
// by an authorised assessor, with expiry derived at read time; the people
// cared for and their care prescriptions, against which person-specific
// competencies are signed off; and the passport page that shows it all.
package record

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // expiry dates are London dates even where the host has no zoneinfo

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/catalogue"
)

// State is where a record is in its lifecycle. Seven states are stored;
// three more (DueForUpdate, Expired, ReassessmentRequired) are derived from
// a Competent record at read time and never stored.
type State string

// Stored states.
const (
	Enrolled           State = "enrolled"
	TrainingAttended   State = "training_attended"
	SupervisedPractice State = "supervised_practice"
	Competent          State = "competent"
	NotYetCompetent    State = "not_yet_competent"
	Suspended          State = "suspended"
	Revoked            State = "revoked"
)

// Derived states: a Competent record as the clock and its prescription see it.
const (
	DueForUpdate         State = "due_for_update"
	Expired              State = "expired"
	ReassessmentRequired State = "reassessment_required"
)

// States lists every displayed state in lifecycle order (for filters).
var States = []State{Enrolled, TrainingAttended, SupervisedPractice, Competent, DueForUpdate, Expired,
	ReassessmentRequired, NotYetCompetent, Suspended, Revoked}

// Valid reports whether s is a known (stored or derived) state.
func (s State) Valid() bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// Label is the state as people read it.
func (s State) Label() string {
	switch s {
	case Enrolled:
		return "Enrolled"
	case TrainingAttended:
		return "Training attended"
	case SupervisedPractice:
		return "Supervised practice"
	case Competent:
		return "Competent"
	case DueForUpdate:
		return "Due for update"
	case Expired:
		return "Expired"
	case ReassessmentRequired:
		return "Re-assessment required"
	case NotYetCompetent:
		return "Not yet competent"
	case Suspended:
		return "Suspended"
	case Revoked:
		return "Revoked"
	}
	return string(s)
}

// phrase completes "This competency is …" in messages.
func (s State) phrase() string {
	switch s {
	case Enrolled:
		return "enrolled"
	case TrainingAttended:
		return "at the training-attended stage"
	case SupervisedPractice:
		return "in supervised practice"
	case Competent:
		return "competent and current"
	case DueForUpdate:
		return "due for update"
	case Expired:
		return "expired"
	case ReassessmentRequired:
		return "awaiting re-assessment"
	case NotYetCompetent:
		return "assessed as not yet competent"
	case Suspended:
		return "suspended"
	case Revoked:
		return "revoked"
	}
	return string(s)
}

// Tag is the NHS.UK tag modifier class for the state.
func (s State) Tag() string {
	switch s {
	case Competent:
		return "nhsuk-tag--green"
	case DueForUpdate:
		return "nhsuk-tag--yellow"
	case Expired, Revoked:
		return "nhsuk-tag--red"
	case ReassessmentRequired, Suspended, NotYetCompetent:
		return "nhsuk-tag--orange"
	case TrainingAttended, SupervisedPractice:
		return "nhsuk-tag--blue"
	}
	return "nhsuk-tag--grey"
}

// Current reports whether the state is a valid, current sign-off.
func (s State) Current() bool { return s == Competent || s == DueForUpdate }

// Record is one holder's progress in one competency (for one cared-for
// person when the competency is person-specific), with its derived state.
type Record struct {
	ID                   uuid.UUID  `json:"id"`
	HolderID             uuid.UUID  `json:"holder_id"`
	PersonID             uuid.UUID  `json:"-"` // the platform-wide person; never shown to a tenant
	CompetencyID         uuid.UUID  `json:"competency_id"`
	CaredForID           *uuid.UUID `json:"cared_for_id,omitempty"`
	StoredState          State      `json:"stored_state"`
	State                State      `json:"state"` // derived at read time
	StateLabel           string     `json:"state_label"`
	PracticesDone        int        `json:"practices_done"`
	SignedOffAt          *time.Time `json:"signed_off_at,omitempty"`
	SignedOffBy          *uuid.UUID `json:"signed_off_by,omitempty"`
	AssessorName         string     `json:"assessor_name,omitempty"`
	Setting              string     `json:"setting,omitempty"`
	PrescriptionVersion  *int       `json:"prescription_version,omitempty"`
	ReassessmentRequired bool       `json:"reassessment_required"`
	ExpiresAt            *time.Time `json:"expires_at,omitempty"` // start of the expiry date, London time
	DueFrom              *time.Time `json:"due_from,omitempty"`   // start of the update window
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// Event is one entry of a record's history; history is never changed.
type Event struct {
	ID          uuid.UUID  `json:"id"`
	RecordID    uuid.UUID  `json:"record_id"`
	FromState   State      `json:"from_state,omitempty"`
	ToState     State      `json:"to_state"`
	At          time.Time  `json:"at"`
	ByAccount   *uuid.UUID `json:"by_account,omitempty"`
	ByName      string     `json:"by_name"`
	Setting     string     `json:"setting,omitempty"`
	Notes       string     `json:"notes,omitempty"`
	EvidenceRef string     `json:"evidence_ref,omitempty"`
}

// Change describes the event for people: "Supervised practice → Competent".
func (e Event) Change() string {
	if e.FromState == "" {
		return e.ToState.Label()
	}
	if e.FromState == e.ToState {
		return e.ToState.Label() + " (unchanged)"
	}
	return e.FromState.Label() + " to " + e.ToState.Label()
}

// CompetencySummary is what a passport shows of a record's competency and
// the catalogue version it was assessed against.
type CompetencySummary struct {
	ID                  uuid.UUID             `json:"id"`
	Code                string                `json:"code"`
	Title               string                `json:"title"`
	Kind                catalogue.Kind        `json:"kind"`
	Tier                string                `json:"tier"`
	Specificity         catalogue.Specificity `json:"specificity"`
	CatalogueKey        string                `json:"catalogue_key"`
	CatalogueVersion    int                   `json:"catalogue_version"`
	SupervisedPractices int                   `json:"supervised_practices"`
	ReassessMonths      int                   `json:"reassess_months"`
	// PrescriptionParameters names what a person-specific competency's
	// care prescription sets.
	PrescriptionParameters []string `json:"prescription_parameters,omitempty"`
}

func summarise(c catalogue.Competency) CompetencySummary {
	return CompetencySummary{ID: c.ID, Code: c.Code, Title: c.Title, Kind: c.Kind, Tier: c.Tier, Specificity: c.Specificity,
		CatalogueKey: c.CatalogueKey, CatalogueVersion: c.CatalogueVersion,
		SupervisedPractices: c.SupervisedPractices, ReassessMonths: c.ReassessMonths,
		PrescriptionParameters: []string(c.PrescriptionParameters)}
}

// PersonRef names a cared-for person on a record.
type PersonRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// Entry is one record as the passport shows it: the record, its
// competency, the cared-for person, what is due next and its history.
type Entry struct {
	Record
	Competency CompetencySummary `json:"competency"`
	CaredFor   *PersonRef        `json:"cared_for,omitempty"`
	Next       string            `json:"next"`
	History    []Event           `json:"history"`
}

// HolderRef is the holder a passport belongs to.
type HolderRef struct {
	ID     uuid.UUID `json:"id"`
	Name   string    `json:"name"`
	Status string    `json:"status"`
}

// Filter narrows the entries a passport lists; empty fields match all.
type Filter struct {
	State State          `json:"state,omitempty"`
	Tier  string         `json:"tier,omitempty"`
	Kind  catalogue.Kind `json:"kind,omitempty"`
}

// Tiers and kinds offered by the passport filters.
var (
	Tiers = []string{"core", "additional", "specialist"}
	Kinds = []catalogue.Kind{catalogue.KindSkill, catalogue.KindAssessor, catalogue.KindTrainer}
)

// Clean drops filter values that are not known, so a hand-edited URL
// filters by nothing rather than failing.
func (f Filter) Clean() Filter {
	if !f.State.Valid() {
		f.State = ""
	}
	if !contains(Tiers, f.Tier) {
		f.Tier = ""
	}
	if !contains(Kinds, f.Kind) {
		f.Kind = ""
	}
	return f
}

func (f Filter) match(e Entry) bool {
	return (f.State == "" || e.State == f.State) && (f.Tier == "" || e.Competency.Tier == f.Tier) &&
		(f.Kind == "" || e.Competency.Kind == f.Kind)
}

// Active reports whether any filter is set.
func (f Filter) Active() bool { return f.State != "" || f.Tier != "" || f.Kind != "" }

// Summary counts a passport's records by what they need.
type Summary struct {
	Total                int `json:"total"`
	Current              int `json:"current"`
	DueForUpdate         int `json:"due_for_update"`
	Expired              int `json:"expired"`
	ReassessmentRequired int `json:"reassessment_required"`
	InProgress           int `json:"in_progress"`
}

// Passport is every record a tenant holds for one holder.
type Passport struct {
	Holder  HolderRef `json:"holder"`
	Summary Summary   `json:"summary"`
	// DueNext is the current competency that expires soonest, if any.
	DueNext *Entry  `json:"due_next,omitempty"`
	Filter  Filter  `json:"filter"`
	Entries []Entry `json:"records"` // those matching Filter
	// Matching counts the entries before paging (there is no paging yet).
	Matching int `json:"matching"`
}

// CaredFor is a person cared for, where competencies are person-specific.
type CaredFor struct {
	ID          uuid.UUID  `json:"id"`
	GivenName   string     `json:"given_name"`
	FamilyName  string     `json:"family_name"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Name is the cared-for person's full name.
func (c CaredFor) Name() string { return c.GivenName + " " + c.FamilyName }

// Parameter is one named value of a care prescription.
type Parameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Prescription is one version of a cared-for person's care prescription
// for one person-specific competency.
type Prescription struct {
	ID           uuid.UUID         `json:"id"`
	CaredForID   uuid.UUID         `json:"cared_for_id"`
	Competency   CompetencySummary `json:"competency"`
	Version      int               `json:"version"`
	Parameters   []Parameter       `json:"parameters"`
	SetBy        *uuid.UUID        `json:"set_by,omitempty"`
	SetAt        time.Time         `json:"set_at"`
	Reassessment int               `json:"reassessment_marked,omitempty"` // records marked for re-assessment by this version
}

// CaredForDetail is a cared-for person with every version of every
// prescription, newest first within each competency.
type CaredForDetail struct {
	CaredFor
	Prescriptions []Prescription `json:"prescriptions"`
}

// Current returns the newest version of each competency's prescription.
func (d CaredForDetail) Current() []Prescription {
	seen := map[uuid.UUID]bool{}
	var out []Prescription
	for _, p := range d.Prescriptions {
		if !seen[p.Competency.ID] {
			seen[p.Competency.ID] = true
			out = append(out, p)
		}
	}
	return out
}

// london is the zone whose calendar dates expiry follows.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("record: Europe/London: %v", err)) // embedded tzdata makes this unreachable
	}
	return loc
}()

// ExpiresAt returns when a sign-off at signedOff lapses after months
// calendar months: the start (London time) of the same day of the month,
// months later, as a London date; a day the later month lacks becomes its
// last day (31 January + 1 month = 28 February).
func ExpiresAt(signedOff time.Time, months int) time.Time {
	y, m, d := signedOff.In(london).Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, london)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, london)
}

// derive fills the record's displayed state, expiry and update window from
// its stored state, its competency's interval and the time now.
func (r *Record) derive(c catalogue.Competency, now time.Time, windowDays int) {
	r.State, r.ExpiresAt, r.DueFrom = r.StoredState, nil, nil
	// A sign-off stands while the record is competent or suspended; after a
	// new training cycle, a failed re-assessment or revocation only the
	// history shows it.
	signed := r.StoredState == Competent || r.StoredState == Suspended
	if signed && r.SignedOffAt != nil && c.ReassessMonths > 0 {
		exp := ExpiresAt(*r.SignedOffAt, c.ReassessMonths)
		due := exp.AddDate(0, 0, -windowDays)
		r.ExpiresAt, r.DueFrom = &exp, &due
	}
	if r.StoredState == Competent && r.ExpiresAt != nil {
		switch {
		case !now.Before(*r.ExpiresAt):
			r.State = Expired
		case r.ReassessmentRequired:
			r.State = ReassessmentRequired
		case !now.Before(*r.DueFrom):
			r.State = DueForUpdate
		}
	}
	r.StateLabel = r.State.Label()
}

// next says what the holder needs to do next in this competency.
func next(r Record, c CompetencySummary) string {
	left := c.SupervisedPractices - r.PracticesDone
	switch r.State {
	case Enrolled:
		return "Attend training"
	case TrainingAttended, SupervisedPractice:
		if left > 0 {
			return fmt.Sprintf("Observed practice: %d of %d done", r.PracticesDone, c.SupervisedPractices)
		}
		return "Ready for assessment and sign-off"
	case Competent:
		return "Re-assess before " + londonDate(r.ExpiresAt)
	case DueForUpdate:
		return "Update due: expires on " + londonDate(r.ExpiresAt)
	case Expired:
		return "Expired on " + londonDate(r.ExpiresAt) + ": re-train and re-assess"
	case ReassessmentRequired:
		return "Re-assess against the changed care prescription"
	case NotYetCompetent:
		return "Further practice, then re-assessment"
	case Suspended:
		return "Suspended: needs a decision to reinstate or revoke"
	}
	return "Nothing: this competency is revoked"
}

func londonDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(london).Format("2 January 2006")
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Input limits, in characters.
const (
	maxSetting  = 120
	maxNotes    = 2000
	maxEvidence = 300
	maxReason   = 500
	maxParam    = 200
)

// clean trims s and reports whether it fits in max characters.
func clean(s string, limit int) (string, bool) {
	s = strings.TrimSpace(s)
	return s, len([]rune(s)) <= limit
}
