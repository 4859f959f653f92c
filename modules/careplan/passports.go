package careplan

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/record"
)

// What the passports say about required competencies, read inside the
// caller's tenant transaction and judged at read time with the record
// module's own rules: a record is valid at an instant when it is stored as
// competent and, once signed off, that instant is before its expiry date
// (record.ExpiresAt) and it awaits no re-assessment against a changed care
// prescription. The same competency in an older or newer version of the
// same catalogue counts. A competency recognised from another tenant is the
// tenant's own competent record and counts like any other; one shared by a
// live share but not recognised yet is reported as such and does not count
// until the tenant has accepted it.

// Requirement is a competency required, for one child when it is
// specific to one person.
type Requirement struct {
	CompetencyID   uuid.UUID  `json:"competency_id"`
	Code           string     `json:"code"`
	Title          string     `json:"title"`
	PersonSpecific bool       `json:"person_specific"`
	CaredForID     *uuid.UUID `json:"cared_for_id,omitempty"` // the child, when person-specific
	// Parameters are the child's current care prescription for a
	// person-specific competency; empty when none has been set yet.
	Parameters []record.Parameter `json:"prescription,omitempty"`
	identity   string
	std        *uuid.UUID
}

// Key identifies the requirement for one child.
func (r Requirement) Key() string {
	if r.CaredForID != nil {
		return r.identity + "@" + r.CaredForID.String()
	}
	return r.identity
}

// Statuses of a holder against a requirement, best first.
const (
	Valid           = "valid"             // competent and current at the date that matters
	ExpiresBefore   = "expires_before"    // current now, but lapses before the date that matters
	Shared          = "shared"            // current in a passport shared from another tenant, not recognised here
	AwaitingSignOff = "awaiting_sign_off" // supervised practice complete, awaiting an assessor
	InTraining      = "in_training"       // enrolled, trained or in supervised practice
	Lapsed          = "lapsed"            // expired, awaiting re-assessment, suspended or not yet competent
	Missing         = "missing"           // no record at all
)

var statusRank = map[string]int{Valid: 0, ExpiresBefore: 1, Shared: 2, AwaitingSignOff: 3, InTraining: 4, Lapsed: 5, Missing: 6}

// Holding is one holder's standing in one requirement.
type Holding struct {
	Status  string    `json:"status"`
	Label   string    `json:"label"`
	Detail  string    `json:"detail,omitempty"`
	Booked  []Booked  `json:"booked,omitempty"`
	Expires time.Time `json:"-"`
}

// Counts reports whether the holding counts as competent.
func (h Holding) Counts() bool { return h.Status == Valid }

// Tag is the NHS.UK tag modifier for the status.
func (h Holding) Tag() string {
	switch h.Status {
	case Valid:
		return "nhsuk-tag--green"
	case ExpiresBefore, Lapsed:
		return "nhsuk-tag--red"
	case Shared, AwaitingSignOff:
		return "nhsuk-tag--yellow"
	case InTraining:
		return "nhsuk-tag--blue"
	}
	return "nhsuk-tag--grey"
}

// Booked is an upcoming session a holder has a place on (or is waiting
// for) whose course trains the competency.
type Booked struct {
	SessionID   uuid.UUID `json:"session_id"`
	CourseTitle string    `json:"course_title"`
	StartsAt    time.Time `json:"starts_at"`
	Waiting     bool      `json:"waiting"`
}

// Day is the session's date as people read it.
func (b Booked) Day() string { return b.StartsAt.In(London).Format("Mon 2 Jan 2006, 15:04") }

// ownRow is one of the tenant's own records of a holder.
type ownRow struct {
	HolderID      uuid.UUID
	CaredForID    *uuid.UUID
	State         string
	PracticesDone int
	SignedOffAt   *time.Time
	Reassess      bool
	Identity      string
	Months        int
	Practices     int
}

// sharedRow is a competent record of a holder's person in another tenant,
// visible through a live share.
type sharedRow struct {
	HolderID    uuid.UUID
	Issuer      string
	Std         uuid.UUID
	SignedOffAt *time.Time
	Months      int
}

// bookedRow is a holder's live booking on an upcoming session.
type bookedRow struct {
	HolderID    uuid.UUID
	SessionID   uuid.UUID
	CourseTitle string
	StartsAt    time.Time
	Status      string
	Identity    string
}

// Passports is what the passports of some holders say about some
// requirements, loaded once and judged in memory.
type Passports struct {
	now    time.Time
	own    map[uuid.UUID][]ownRow
	shared map[uuid.UUID][]sharedRow
	booked map[uuid.UUID][]bookedRow
}

// identitySQL names a competency across the versions of its catalogue.
const identitySQL = `k.key || '/' || c.code`

// Resolve fills in the code, title, kind and identity of requirements
// from the tenant's catalogues, and the child's current prescription of
// person-specific ones.
func Resolve(tx *gorm.DB, tenant uuid.UUID, reqs []Requirement) ([]Requirement, error) {
	if len(reqs) == 0 {
		return reqs, nil
	}
	ids := make([]uuid.UUID, 0, len(reqs))
	for _, r := range reqs {
		ids = append(ids, r.CompetencyID)
	}
	type specRow struct {
		ID          uuid.UUID
		Code, Title string
		Identity    string
		Std         *uuid.UUID
		Specificity string
	}
	var specs []specRow
	if err := tx.Raw(`SELECT c.id, c.code, c.title, `+identitySQL+` AS identity, c.std_competency_id AS std, c.specificity
		FROM competencies c JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
		WHERE c.tenant_id = ? AND c.id IN ?`, tenant, ids).Scan(&specs).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read required competencies", err)
	}
	by := map[uuid.UUID]specRow{}
	for _, s := range specs {
		by[s.ID] = s
	}
	var children []uuid.UUID
	out := make([]Requirement, 0, len(reqs))
	for _, r := range reqs {
		s, ok := by[r.CompetencyID]
		if !ok {
			continue
		}
		r.Code, r.Title, r.identity, r.std = s.Code, s.Title, s.Identity, s.Std
		r.PersonSpecific = s.Specificity == "person"
		if !r.PersonSpecific {
			r.CaredForID = nil
		} else if r.CaredForID != nil {
			children = append(children, *r.CaredForID)
		}
		out = append(out, r)
	}
	if len(children) == 0 {
		return out, nil
	}
	var rx []struct {
		CaredForID   uuid.UUID
		CompetencyID uuid.UUID
		Parameters   string
	}
	if err := tx.Raw(`SELECT DISTINCT ON (cared_for_id, competency_id) cared_for_id, competency_id, parameters::text AS parameters
		FROM prescriptions WHERE tenant_id = ? AND cared_for_id IN ?
		ORDER BY cared_for_id, competency_id, version DESC`, tenant, children).Scan(&rx).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read prescriptions", err)
	}
	for i := range out {
		for _, p := range rx {
			if out[i].CaredForID != nil && *out[i].CaredForID == p.CaredForID && out[i].CompetencyID == p.CompetencyID {
				out[i].Parameters = parseParams(p.Parameters)
			}
		}
	}
	return out, nil
}

// LoadPassports reads, in tx, the tenant's records of holders, their
// competent records shared with the tenant by other tenants (row-level
// security shows only those of a live share) and their live bookings on
// sessions starting after now.
func LoadPassports(tx *gorm.DB, tenant uuid.UUID, holders []uuid.UUID, now time.Time) (*Passports, error) {
	p := &Passports{now: now, own: map[uuid.UUID][]ownRow{}, shared: map[uuid.UUID][]sharedRow{}, booked: map[uuid.UUID][]bookedRow{}}
	holders = uniq(holders)
	if len(holders) == 0 {
		return p, nil
	}
	var own []ownRow
	if err := tx.Raw(`SELECT r.holder_id, r.cared_for_id, r.state, r.practices_done, r.signed_off_at,
			r.reassessment_required AS reassess, `+identitySQL+` AS identity, c.reassess_months AS months,
			c.supervised_practices AS practices
		FROM competency_records r
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
		WHERE r.tenant_id = ? AND r.holder_id IN ?`, tenant, holders).Scan(&own).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read records", err)
	}
	for _, r := range own {
		p.own[r.HolderID] = append(p.own[r.HolderID], r)
	}
	var shared []sharedRow
	if err := tx.Raw(`SELECT h.id AS holder_id, t.name AS issuer, c.std_competency_id AS std, r.signed_off_at, c.reassess_months AS months
		FROM holders h
		JOIN competency_records r ON r.person_id = h.person_id AND r.tenant_id <> h.tenant_id
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		JOIN tenants t ON t.id = r.tenant_id
		WHERE h.tenant_id = ? AND h.id IN ? AND r.state = 'competent' AND NOT r.reassessment_required
			AND c.specificity <> 'person' AND c.std_competency_id IS NOT NULL`, tenant, holders).Scan(&shared).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read shared records", err)
	}
	for _, r := range shared {
		p.shared[r.HolderID] = append(p.shared[r.HolderID], r)
	}
	var booked []bookedRow
	if err := tx.Raw(`SELECT b.holder_id, s.id AS session_id, co.title AS course_title, s.starts_at, b.status, `+identitySQL+` AS identity
		FROM bookings b
		JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id
		JOIN courses co ON co.tenant_id = s.tenant_id AND co.id = s.course_id
		JOIN course_competencies cc ON cc.tenant_id = co.tenant_id AND cc.course_id = co.id
		JOIN competencies c ON c.tenant_id = cc.tenant_id AND c.id = cc.competency_id
		JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
		WHERE b.tenant_id = ? AND b.holder_id IN ? AND b.status IN ('booked', 'waiting')
			AND s.status = 'scheduled' AND s.starts_at > ?
		ORDER BY s.starts_at`, tenant, holders, now.UTC()).Scan(&booked).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read bookings", err)
	}
	for _, b := range booked {
		p.booked[b.HolderID] = append(p.booked[b.HolderID], b)
	}
	return p, nil
}

// validAt applies the record module's derived-state rules to a stored
// competent record: valid at t unless expired by then or awaiting
// re-assessment (a record never signed off has no expiry).
func validAt(signedOff *time.Time, reassess bool, months int, t time.Time) (bool, time.Time) {
	if signedOff == nil {
		return true, time.Time{}
	}
	exp := record.ExpiresAt(*signedOff, months)
	if !t.Before(exp) {
		return false, exp
	}
	return !reassess, exp
}

func londonDate(t time.Time) string { return t.In(London).Format("2 January 2006") }

// Holding judges holder against req at the instant at (the date that
// matters: the expected discharge, the start of an academic year; never
// before now).
func (p *Passports) Holding(holder uuid.UUID, req Requirement, at time.Time) Holding {
	if at.Before(p.now) {
		at = p.now
	}
	best := Holding{Status: Missing, Label: "Not started"}
	better := func(h Holding) {
		if statusRank[h.Status] < statusRank[best.Status] {
			best = h
		}
	}
	for _, r := range p.own[holder] {
		if r.Identity != req.identity {
			continue
		}
		if req.PersonSpecific && (r.CaredForID == nil || req.CaredForID == nil || *r.CaredForID != *req.CaredForID) {
			continue
		}
		switch record.State(r.State) {
		case record.Competent:
			okNow, exp := validAt(r.SignedOffAt, r.Reassess, r.Months, p.now)
			okAt, _ := validAt(r.SignedOffAt, r.Reassess, r.Months, at)
			switch {
			case okAt:
				h := Holding{Status: Valid, Label: "Competent", Expires: exp}
				if !exp.IsZero() {
					h.Detail = "Until " + londonDate(exp)
				}
				better(h)
			case okNow:
				better(Holding{Status: ExpiresBefore, Label: "Expires too soon", Detail: "Expires on " + londonDate(exp), Expires: exp})
			case r.Reassess && (exp.IsZero() || p.now.Before(exp)):
				better(Holding{Status: Lapsed, Label: "Re-assessment required", Detail: "The care prescription changed"})
			default:
				better(Holding{Status: Lapsed, Label: "Expired", Detail: "Expired on " + londonDate(exp)})
			}
		case record.TrainingAttended, record.SupervisedPractice:
			if r.PracticesDone >= r.Practices {
				better(Holding{Status: AwaitingSignOff, Label: "Awaiting sign-off",
					Detail: fmt.Sprintf("Supervised practice complete (%d of %d): awaiting an assessor", r.PracticesDone, r.Practices)})
			} else {
				better(Holding{Status: InTraining, Label: "In training",
					Detail: fmt.Sprintf("Observed practice: %d of %d done", r.PracticesDone, r.Practices)})
			}
		case record.Enrolled:
			better(Holding{Status: InTraining, Label: "Enrolled", Detail: "Training not attended yet"})
		case record.NotYetCompetent:
			better(Holding{Status: Lapsed, Label: "Not yet competent", Detail: "Further practice, then re-assessment"})
		case record.Suspended:
			better(Holding{Status: Lapsed, Label: "Suspended"})
		}
	}
	if best.Status != Valid && !req.PersonSpecific && req.std != nil {
		for _, s := range p.shared[holder] {
			if s.Std != *req.std {
				continue
			}
			if ok, exp := validAt(s.SignedOffAt, false, s.Months, at); ok {
				h := Holding{Status: Shared, Label: "Shared, not recognised", Detail: "Signed off at " + s.Issuer + ": recognise it from the shared passport"}
				if !exp.IsZero() {
					h.Detail += " (until " + londonDate(exp) + ")"
				}
				better(h)
			}
		}
	}
	if best.Status != Valid {
		for _, b := range p.booked[holder] {
			if b.Identity == req.identity {
				best.Booked = append(best.Booked, Booked{SessionID: b.SessionID, CourseTitle: b.CourseTitle, StartsAt: b.StartsAt, Waiting: b.Status == "waiting"})
			}
		}
	}
	return best
}

// Suggestion is an upcoming session whose course trains a competency.
type Suggestion struct {
	SessionID   uuid.UUID `json:"session_id"`
	CourseTitle string    `json:"course_title"`
	StartsAt    time.Time `json:"starts_at"`
	Location    string    `json:"location"`
	Free        int       `json:"free"`
	Full        bool      `json:"full"`            // booking puts people on the waiting list
	InTime      bool      `json:"before_deadline"` // starts before the date that matters
}

// Day is the session's start as people read it.
func (s Suggestion) Day() string { return s.StartsAt.In(London).Format("Mon 2 Jan 2006, 15:04") }

// Suggestions lists, by requirement identity, the upcoming sessions open
// for booking (scheduled, before their cut-off; a full one takes people on
// its waiting list) whose course trains each required competency: those
// starting before deadline first, then those with places, then soonest.
func Suggestions(tx *gorm.DB, tenant uuid.UUID, reqs []Requirement, now, deadline time.Time) (map[string][]Suggestion, error) {
	out := map[string][]Suggestion{}
	var ids []string
	seen := map[string]bool{}
	for _, r := range reqs {
		if !seen[r.identity] {
			seen[r.identity] = true
			ids = append(ids, r.identity)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		Identity    string
		SessionID   uuid.UUID
		CourseTitle string
		StartsAt    time.Time
		Location    string
		Capacity    int
		Taken       int
	}
	if err := tx.Raw(`SELECT DISTINCT `+identitySQL+` AS identity, s.id AS session_id, co.title AS course_title, s.starts_at,
			CASE WHEN s.location = '' THEN 'Online' ELSE s.location END AS location, s.capacity,
			(SELECT count(*) FROM bookings b WHERE b.tenant_id = s.tenant_id AND b.session_id = s.id
				AND b.status IN ('booked', 'attended', 'absent')) AS taken
		FROM training_sessions s
		JOIN courses co ON co.tenant_id = s.tenant_id AND co.id = s.course_id
		JOIN course_competencies cc ON cc.tenant_id = co.tenant_id AND cc.course_id = co.id
		JOIN competencies c ON c.tenant_id = cc.tenant_id AND c.id = cc.competency_id
		JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
		WHERE s.tenant_id = ? AND s.status = 'scheduled' AND co.status = 'active'
			AND s.starts_at - make_interval(hours => s.cutoff_hours) > ?
			AND `+identitySQL+` IN ?
		ORDER BY s.starts_at LIMIT 500`, tenant, now.UTC(), ids).Scan(&rows).Error; err != nil {
		return nil, pg.StoreErr("careplan", "read sessions to suggest", err)
	}
	for _, r := range rows {
		out[r.Identity] = append(out[r.Identity], Suggestion{SessionID: r.SessionID, CourseTitle: r.CourseTitle, StartsAt: r.StartsAt.UTC(),
			Location: r.Location, Free: max(0, r.Capacity-r.Taken), Full: r.Taken >= r.Capacity, InTime: r.StartsAt.Before(deadline)})
	}
	for k, list := range out {
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.InTime != b.InTime {
				return a.InTime
			}
			if a.Full != b.Full {
				return !a.Full
			}
			return a.StartsAt.Before(b.StartsAt)
		})
		if len(list) > SuggestionsPerGap {
			list = list[:SuggestionsPerGap]
		}
		out[k] = list
	}
	return out, nil
}

// Identity is the requirement's competency across catalogue versions,
// the key of Suggestions.
func (r Requirement) Identity() string { return r.identity }
