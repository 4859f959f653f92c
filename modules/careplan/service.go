package careplan

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
)

// Booking is the outcome of booking a carer onto a session.
type Booking struct {
	ID         uuid.UUID `json:"id"`
	SessionID  uuid.UUID `json:"session_id"`
	HolderID   uuid.UUID `json:"holder_id"`
	HolderName string    `json:"holder_name"`
	Waiting    bool      `json:"waiting"` // on the waiting list: the session was full
}

// Booker books a holder of the tenant in ctx onto a training session, in
// its own transaction, auditing the booking; the training service's staff
// booking is one (wired in cmd).
type Booker interface {
	Book(ctx context.Context, sessionID, holderID uuid.UUID) (Booking, error)
}

// Service runs care plans and the readiness board.
type Service struct {
	db     *tenants.DB
	audit  *audit.Log
	booker Booker
	now    func() time.Time
}

// NewService returns a Service; now is the clock readiness is judged by.
func NewService(db *tenants.DB, log *audit.Log, booker Booker, now func() time.Time) *Service {
	return &Service{db: db, audit: log, booker: booker, now: now}
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func scope(ctx context.Context) (tenants.Tenant, *uuid.UUID, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return tenants.Tenant{}, nil, errors.New("careplan: no tenant in context")
	}
	if a, ok := tenants.ActorFrom(ctx); ok && a != uuid.Nil {
		return t, &a, nil
	}
	return t, nil, nil
}

func storeErr(op string, err error) error { return pg.StoreErr("careplan", op, err) }

// Now is the service's clock, for pages.
func (s *Service) Now() time.Time { return s.now() }

const msgNoPlan = "No care plan with that reference"

// CreatePlan makes a care plan for a cared-for child of the tenant; a child
// has one plan.
func (s *Service) CreatePlan(ctx context.Context, in PlanInput) (Plan, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Plan{}, err
	}
	in, day, err := in.validate(DayStart(s.now()))
	if err != nil {
		return Plan{}, err
	}
	var out Plan
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM cared_for WHERE tenant_id = ? AND id = ?`, t.ID, in.CaredForID).Row().Scan(&n); err != nil {
			return storeErr("check child", err)
		}
		if n == 0 {
			return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: MsgChooseChild})
		}
		now := s.now().UTC()
		id := newID()
		err := tx.Exec(`INSERT INTO care_plans (tenant_id, id, cared_for_id, ward, expected_discharge, required_carers, created_by,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, id, in.CaredForID, in.Ward, day.Format(time.DateOnly), *in.RequiredCarers, actor, now, now).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: "This child already has a care plan: open it from the board"})
		}
		if err != nil {
			return storeErr("create plan", err)
		}
		if out, err = s.plan(tx, t.ID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.create", ObjectType: "care_plan", ObjectID: id.String(),
			Detail: map[string]string{"cared_for": in.CaredForID.String(), "required_carers": fmt.Sprint(*in.RequiredCarers)}})
	})
	return out, err
}

// UpdatePlan changes a plan's ward, expected discharge date or number of
// competent carers required.
func (s *Service) UpdatePlan(ctx context.Context, id uuid.UUID, ch PlanChanges) (Plan, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Plan{}, err
	}
	var out Plan
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		cur, err := s.plan(tx, t.ID, id)
		if err != nil {
			return err
		}
		in := PlanInput{CaredForID: cur.CaredForID, Ward: cur.Ward, ExpectedDischarge: cur.ExpectedDischarge.In(London).Format(time.DateOnly),
			RequiredCarers: &cur.RequiredCarers}
		if ch.Ward != nil {
			in.Ward = *ch.Ward
		}
		if ch.ExpectedDischarge != nil {
			in.ExpectedDischarge = *ch.ExpectedDischarge
		}
		if ch.RequiredCarers != nil {
			in.RequiredCarers = ch.RequiredCarers
		}
		in, day, err := in.validate(DayStart(s.now()))
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE care_plans SET ward = ?, expected_discharge = ?, required_carers = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`, in.Ward, day.Format(time.DateOnly), *in.RequiredCarers, s.now().UTC(), t.ID, id).Error; err != nil {
			return storeErr("update plan", err)
		}
		if out, err = s.plan(tx, t.ID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.update", ObjectType: "care_plan", ObjectID: id.String(),
			Detail: map[string]string{"ward": in.Ward, "expected_discharge": in.ExpectedDischarge, "required_carers": fmt.Sprint(*in.RequiredCarers)}})
	})
	return out, err
}

// plan reads one plan with its needs and carers.
func (s *Service) plan(tx *gorm.DB, tenant, id uuid.UUID) (Plan, error) {
	plans, err := s.plans(tx, tenant, "p.id = ?", id)
	if err != nil {
		return Plan{}, err
	}
	if len(plans) == 0 {
		return Plan{}, errs.E(errs.NotFound, msgNoPlan)
	}
	return plans[0], nil
}

// plans reads the tenant's plans matching where, with needs and carers,
// in four queries whatever their number.
func (s *Service) plans(tx *gorm.DB, tenant uuid.UUID, where string, args ...any) ([]Plan, error) {
	var rows []struct {
		ID                uuid.UUID
		CaredForID        uuid.UUID
		ChildName         string
		Ward              string
		ExpectedDischarge time.Time
		RequiredCarers    int
		CreatedAt         time.Time
	}
	q := `SELECT p.id, p.cared_for_id, cf.given_name || ' ' || cf.family_name AS child_name, p.ward, p.expected_discharge,
			p.required_carers, p.created_at
		FROM care_plans p JOIN cared_for cf ON cf.tenant_id = p.tenant_id AND cf.id = p.cared_for_id
		WHERE p.tenant_id = ?`
	if where != "" {
		q += " AND " + where
	}
	if err := tx.Raw(q+` ORDER BY p.expected_discharge, lower(cf.family_name), p.id`, append([]any{tenant}, args...)...).
		Scan(&rows).Error; err != nil {
		return nil, storeErr("read plans", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Plan, len(rows))
	index := map[uuid.UUID]int{}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		y, m, d := r.ExpectedDischarge.Date()
		out[i] = Plan{ID: r.ID, CaredForID: r.CaredForID, ChildName: r.ChildName, Ward: r.Ward, RequiredCarers: r.RequiredCarers,
			ExpectedDischarge: time.Date(y, m, d, 0, 0, 0, 0, London), CreatedAt: r.CreatedAt.UTC(), Needs: []Need{}, Carers: []Carer{}}
		index[r.ID] = i
		ids[i] = r.ID
	}
	var needs []struct {
		ID, PlanID   uuid.UUID
		Name         string
		CreatedAt    time.Time
		CompetencyID *uuid.UUID
	}
	if err := tx.Raw(`SELECT n.id, n.plan_id, n.name, n.created_at, nc.competency_id
		FROM care_needs n LEFT JOIN care_need_competencies nc ON nc.tenant_id = n.tenant_id AND nc.need_id = n.id
		WHERE n.tenant_id = ? AND n.plan_id IN ? ORDER BY n.created_at, n.id`, tenant, ids).Scan(&needs).Error; err != nil {
		return nil, storeErr("read needs", err)
	}
	var reqs []Requirement
	for _, n := range needs {
		if n.CompetencyID != nil {
			reqs = append(reqs, Requirement{CompetencyID: *n.CompetencyID})
		}
	}
	resolved, err := Resolve(tx, tenant, uniqReqs(reqs))
	if err != nil {
		return nil, err
	}
	specs := map[uuid.UUID]Requirement{}
	for _, r := range resolved {
		specs[r.CompetencyID] = r
	}
	for _, n := range needs {
		p := &out[index[n.PlanID]]
		if len(p.Needs) == 0 || p.Needs[len(p.Needs)-1].ID != n.ID {
			p.Needs = append(p.Needs, Need{ID: n.ID, Name: n.Name, CreatedAt: n.CreatedAt.UTC()})
		}
		if n.CompetencyID != nil {
			if r, ok := specs[*n.CompetencyID]; ok {
				if r.PersonSpecific {
					child := p.CaredForID
					r.CaredForID = &child
				}
				last := &p.Needs[len(p.Needs)-1]
				last.Competencies = append(last.Competencies, r)
			}
		}
	}
	// The child's prescriptions for person-specific requirements.
	for i := range out {
		var person []Requirement
		for _, n := range out[i].Needs {
			for _, r := range n.Competencies {
				if r.PersonSpecific {
					person = append(person, r)
				}
			}
		}
		if len(person) == 0 {
			continue
		}
		withRx, err := Resolve(tx, tenant, person)
		if err != nil {
			return nil, err
		}
		for ni := range out[i].Needs {
			for ri, r := range out[i].Needs[ni].Competencies {
				for _, w := range withRx {
					if r.PersonSpecific && w.CompetencyID == r.CompetencyID {
						out[i].Needs[ni].Competencies[ri].Parameters = w.Parameters
					}
				}
			}
		}
	}
	var carers []struct {
		PlanID, HolderID uuid.UUID
		Name             string
		Relationship     string
		Status           string
	}
	if err := tx.Raw(`SELECT pc.plan_id, pc.holder_id, h.given_name || ' ' || h.family_name AS name, pc.relationship, h.status
		FROM care_plan_carers pc JOIN holders h ON h.tenant_id = pc.tenant_id AND h.id = pc.holder_id
		WHERE pc.tenant_id = ? AND pc.plan_id IN ? ORDER BY pc.created_at, h.family_name, h.given_name`, tenant, ids).
		Scan(&carers).Error; err != nil {
		return nil, storeErr("read carers", err)
	}
	for _, c := range carers {
		p := &out[index[c.PlanID]]
		p.Carers = append(p.Carers, Carer{HolderID: c.HolderID, Name: c.Name, Relationship: c.Relationship, Left: c.Status != "active"})
	}
	return out, nil
}

func uniqReqs(reqs []Requirement) []Requirement {
	seen := map[uuid.UUID]bool{}
	var out []Requirement
	for _, r := range reqs {
		if !seen[r.CompetencyID] {
			seen[r.CompetencyID] = true
			out = append(out, r)
		}
	}
	return out
}

// checkCatalogue refuses competencies that are not in the tenant's
// published catalogues, naming each.
func checkCatalogue(tx *gorm.DB, tenant uuid.UUID, ids []uuid.UUID) error {
	var found []struct {
		ID        uuid.UUID
		Code      string
		Published bool
	}
	if err := tx.Raw(`SELECT c.id, c.code, k.status = 'published' AS published
		FROM competencies c JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
		WHERE c.tenant_id = ? AND c.id IN ?`, tenant, ids).Scan(&found).Error; err != nil {
		return storeErr("check competencies", err)
	}
	by := map[uuid.UUID]int{}
	for i, f := range found {
		by[f.ID] = i
	}
	var fe []errs.FieldError
	for _, id := range ids {
		i, ok := by[id]
		switch {
		case !ok:
			fe = append(fe, errs.FieldError{Field: "competency_ids", Message: "Competency " + id.String() + " " + MsgOutsideCatalog})
		case !found[i].Published:
			fe = append(fe, errs.FieldError{Field: "competency_ids", Message: found[i].Code +
				" is in a catalogue version that is not published: choose competencies of the organisation's published catalogues"})
		}
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// NeedAdded is a recorded care need with the gaps it opened: for each
// named carer, the required competencies they do not yet hold, with
// sessions suggested for each.
type NeedAdded struct {
	Need Need         `json:"need"`
	Gaps []CarerGap   `json:"gaps"`
	View PlanReadings `json:"-"`
}

// CarerGap is one carer's gap in one requirement.
type CarerGap struct {
	HolderID    uuid.UUID    `json:"holder_id"`
	Name        string       `json:"name"`
	Requirement Requirement  `json:"competency"`
	Holding     Holding      `json:"holding"`
	Suggestions []Suggestion `json:"suggestions"`
}

// AddNeed records a care need of a plan with the competencies it requires
// (of the tenant's published catalogues; person-specific ones apply to the
// plan's child and its care prescription), and returns the gaps it opens
// for the named carers with suggested sessions.
func (s *Service) AddNeed(ctx context.Context, planID uuid.UUID, in NeedInput) (NeedAdded, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return NeedAdded{}, err
	}
	if in, err = in.validate(); err != nil {
		return NeedAdded{}, err
	}
	var out NeedAdded
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT 1 FROM care_plans WHERE tenant_id = ? AND id = ? FOR UPDATE`, t.ID, planID).Error; err != nil {
			return storeErr("lock plan", err)
		}
		if _, err := s.plan(tx, t.ID, planID); err != nil {
			return err
		}
		if err := checkCatalogue(tx, t.ID, in.Competencies); err != nil {
			return err
		}
		id := newID()
		err := tx.Exec(`INSERT INTO care_needs (tenant_id, id, plan_id, name, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, id, planID, in.Name, actor, s.now().UTC()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "name", Message: "The plan already has a care need called " + in.Name})
		}
		if err != nil {
			return storeErr("create need", err)
		}
		codes := make([]string, 0, len(in.Competencies))
		for _, cid := range in.Competencies {
			if err := tx.Exec(`INSERT INTO care_need_competencies (tenant_id, need_id, competency_id) VALUES (?, ?, ?)`,
				t.ID, id, cid).Error; err != nil {
				return storeErr("need competencies", err)
			}
		}
		view, err := s.read(tx, t.ID, planID)
		if err != nil {
			return err
		}
		for _, n := range view.Plan.Needs {
			if n.ID == id {
				out.Need = n
				for _, r := range n.Competencies {
					codes = append(codes, r.Code)
				}
			}
		}
		for _, c := range view.Carers {
			for _, h := range c.Holdings {
				if h.Holding.Counts() {
					continue
				}
				for _, r := range out.Need.Competencies {
					if r.Key() == h.Requirement.Key() {
						out.Gaps = append(out.Gaps, CarerGap{HolderID: c.HolderID, Name: c.Name, Requirement: h.Requirement,
							Holding: h.Holding, Suggestions: h.Suggestions})
					}
				}
			}
		}
		out.View = view
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.need_add", ObjectType: "care_plan", ObjectID: planID.String(),
			Detail: map[string]string{"need": in.Name, "competencies": strings.Join(codes, ","), "gaps": fmt.Sprint(len(out.Gaps))}})
	})
	return out, err
}

// AddCarer names one of the tenant's current holders as a carer on a plan.
func (s *Service) AddCarer(ctx context.Context, planID uuid.UUID, in CarerInput) error {
	t, _, err := scope(ctx)
	if err != nil {
		return err
	}
	in.Relationship = strings.Join(strings.Fields(in.Relationship), " ")
	var fe []errs.FieldError
	if in.HolderID == uuid.Nil {
		fe = append(fe, errs.FieldError{Field: "holder_id", Message: "Choose the carer"})
	}
	if len([]rune(in.Relationship)) > maxRelationship {
		fe = append(fe, errs.FieldError{Field: "relationship", Message: "The relationship must be 60 characters or fewer"})
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.plan(tx, t.ID, planID); err != nil {
			return err
		}
		var status string
		err := tx.Raw(`SELECT status FROM holders WHERE tenant_id = ? AND id = ?`, t.ID, in.HolderID).Row().Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Validation(errs.FieldError{Field: "holder_id", Message: "Choose someone recorded by the organisation"})
		}
		if err != nil {
			return storeErr("read holder", err)
		}
		if status != "active" {
			return errs.Validation(errs.FieldError{Field: "holder_id", Message: "This person has left the organisation"})
		}
		err = tx.Exec(`INSERT INTO care_plan_carers (tenant_id, plan_id, holder_id, relationship, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, planID, in.HolderID, in.Relationship, s.now().UTC()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "holder_id", Message: "This person is already a named carer on the plan"})
		}
		if err != nil {
			return storeErr("add carer", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.carer_add", ObjectType: "care_plan", ObjectID: planID.String(),
			Detail: map[string]string{"holder": in.HolderID.String()}})
	})
}

// PlanReadings is a plan as its page shows it: readiness, each need's
// cover, and each carer's standing in every requirement with sessions
// suggested for the gaps.
type PlanReadings struct {
	Plan      Plan           `json:"plan"`
	Readiness Readiness      `json:"readiness"`
	Needs     []NeedCover    `json:"needs"`
	Carers    []CarerReading `json:"carers"`
}

// NeedCover is one need and who is competent in all its competencies.
type NeedCover struct {
	Need      Need     `json:"need"`
	Competent []string `json:"competent_carers"`
	Covered   bool     `json:"covered"`
}

// CarerReading is one named carer's standing.
type CarerReading struct {
	Carer
	Holdings []ReqHolding `json:"holdings"`
}

// ReqHolding is a carer's holding of one requirement, with suggestions
// when it is a gap.
type ReqHolding struct {
	Requirement Requirement  `json:"competency"`
	Holding     Holding      `json:"holding"`
	Suggestions []Suggestion `json:"suggestions,omitempty"`
}

// Readiness is how ready a child is for discharge, derived at read time.
//
// Percent is taken over needs × required carers: each need contributes
// min(carers competent in all its competencies, required) of its required
// places, so a plan with two needs and two required carers, one need fully
// covered and one carer competent in the other, is 3 of 4 = 75% ready. A
// need is covered when at least the required number of named carers are
// competent in all its competencies at the expected discharge date (or now,
// if that has passed). A plan with no needs is ready (100%).
type Readiness struct {
	Percent         int        `json:"percent"`
	NeedsCovered    int        `json:"needs_covered"`
	NeedsTotal      int        `json:"needs_total"`
	Ready           bool       `json:"ready"`
	NotReady        bool       `json:"not_ready_flag"` // discharge within NotReadyWithinDays (or overdue) and gaps remain
	DaysToDischarge int        `json:"days_to_discharge"`
	Missing         []Shortage `json:"missing"`
	Booked          []Shortage `json:"sessions_booked"`
	AwaitingSignOff []Shortage `json:"awaiting_sign_off"`
}

// Shortage names a carer and a competency.
type Shortage struct {
	Name   string `json:"carer"`
	Code   string `json:"competency"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Assess computes readiness of plan from the passports at now. It is pure:
// the board, the plan page and tests share it.
func Assess(plan Plan, p *Passports, now time.Time) (Readiness, []NeedCover, []CarerReading) {
	at := plan.ExpectedDischarge
	if at.Before(now) {
		at = now
	}
	var reqs []Requirement
	for _, n := range plan.Needs {
		reqs = append(reqs, n.Competencies...)
	}
	reqs = uniqKeys(reqs)
	var carers []CarerReading
	held := map[uuid.UUID]map[string]bool{}
	r := Readiness{NeedsTotal: len(plan.Needs)}
	for _, c := range plan.Carers {
		cr := CarerReading{Carer: c}
		held[c.HolderID] = map[string]bool{}
		for _, q := range reqs {
			h := Holding{Status: Missing, Label: "Has left"}
			if !c.Left {
				h = p.Holding(c.HolderID, q, at)
			}
			cr.Holdings = append(cr.Holdings, ReqHolding{Requirement: q, Holding: h})
			held[c.HolderID][q.Key()] = h.Counts()
			if c.Left {
				continue
			}
			sh := Shortage{Name: c.Name, Code: q.Code, Status: h.Label, Detail: h.Detail}
			switch {
			case h.Counts():
			case h.Status == AwaitingSignOff:
				r.AwaitingSignOff = append(r.AwaitingSignOff, sh)
			default:
				r.Missing = append(r.Missing, sh)
			}
			for _, b := range h.Booked {
				r.Booked = append(r.Booked, Shortage{Name: c.Name, Code: q.Code, Status: map[bool]string{true: "Waiting list", false: "Booked"}[b.Waiting],
					Detail: b.CourseTitle + ", " + b.Day()})
			}
		}
		carers = append(carers, cr)
	}
	var covers []NeedCover
	places, filled := 0, 0
	for _, n := range plan.Needs {
		nc := NeedCover{Need: n, Competent: []string{}}
		for _, c := range plan.Carers {
			ok := !c.Left
			for _, q := range n.Competencies {
				ok = ok && held[c.HolderID][q.Key()]
			}
			if ok {
				nc.Competent = append(nc.Competent, c.Name)
			}
		}
		nc.Covered = len(nc.Competent) >= plan.RequiredCarers
		if nc.Covered {
			r.NeedsCovered++
		}
		places += plan.RequiredCarers
		filled += min(len(nc.Competent), plan.RequiredCarers)
		covers = append(covers, nc)
	}
	r.Percent = 100
	if places > 0 {
		r.Percent = filled * 100 / places
	}
	r.Ready = r.NeedsCovered == r.NeedsTotal
	// Whole London days (a day across a clock change has 23 or 25 hours).
	r.DaysToDischarge = int(math.Round(plan.ExpectedDischarge.Sub(DayStart(now)).Hours() / 24))
	r.NotReady = !r.Ready && r.DaysToDischarge <= NotReadyWithinDays
	return r, covers, carers
}

func uniqKeys(reqs []Requirement) []Requirement {
	seen := map[string]bool{}
	var out []Requirement
	for _, r := range reqs {
		if !seen[r.Key()] {
			seen[r.Key()] = true
			out = append(out, r)
		}
	}
	return out
}

// read assesses one plan inside tx, with suggestions for every gap.
func (s *Service) read(tx *gorm.DB, tenant, id uuid.UUID) (PlanReadings, error) {
	plan, err := s.plan(tx, tenant, id)
	if err != nil {
		return PlanReadings{}, err
	}
	now := s.now().UTC()
	holders := make([]uuid.UUID, len(plan.Carers))
	for i, c := range plan.Carers {
		holders[i] = c.HolderID
	}
	p, err := LoadPassports(tx, tenant, holders, now)
	if err != nil {
		return PlanReadings{}, err
	}
	out := PlanReadings{Plan: plan}
	out.Readiness, out.Needs, out.Carers = Assess(plan, p, now)
	var reqs []Requirement
	for _, n := range plan.Needs {
		reqs = append(reqs, n.Competencies...)
	}
	sugg, err := Suggestions(tx, tenant, reqs, now, plan.ExpectedDischarge)
	if err != nil {
		return PlanReadings{}, err
	}
	for ci := range out.Carers {
		for hi, h := range out.Carers[ci].Holdings {
			if h.Holding.Counts() || h.Holding.Status == AwaitingSignOff || out.Carers[ci].Left {
				continue
			}
			booked := map[uuid.UUID]bool{}
			for _, b := range h.Holding.Booked {
				booked[b.SessionID] = true
			}
			for _, sg := range sugg[h.Requirement.identity] {
				if !booked[sg.SessionID] {
					out.Carers[ci].Holdings[hi].Suggestions = append(out.Carers[ci].Holdings[hi].Suggestions, sg)
				}
			}
		}
	}
	return out, nil
}

// Plan returns a plan with its readiness, each carer's standing and
// suggested sessions. Reading the carers' passports is audited.
func (s *Service) Plan(ctx context.Context, id uuid.UUID) (PlanReadings, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return PlanReadings{}, err
	}
	var out PlanReadings
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if out, err = s.read(tx, t.ID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.read", ObjectType: "care_plan", ObjectID: id.String(),
			Detail: map[string]string{"carers": holderList(out.Plan.Carers)}})
	})
	return out, err
}

func holderList(cs []Carer) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.HolderID.String()
	}
	return strings.Join(ids, ",")
}

// BoardRow is one child on the readiness board.
type BoardRow struct {
	Plan      Plan      `json:"plan"`
	Readiness Readiness `json:"readiness"`
}

// Board is the readiness board of one ward (or every ward).
type Board struct {
	Ward  string     `json:"ward,omitempty"`
	Wards []string   `json:"wards"`
	Rows  []BoardRow `json:"children"`
}

// Board returns the readiness of every child on a ward (every ward when
// ward is empty), soonest discharge first, computed from the passports in
// one transaction with a fixed number of queries. The read is audited.
func (s *Service) Board(ctx context.Context, ward string) (Board, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Board{}, err
	}
	ward = strings.Join(strings.Fields(ward), " ")
	out := Board{Ward: ward, Wards: []string{}, Rows: []BoardRow{}}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT ward FROM care_plans WHERE tenant_id = ? GROUP BY ward ORDER BY lower(ward)`, t.ID).
			Scan(&out.Wards).Error; err != nil {
			return storeErr("list wards", err)
		}
		where, args := "", []any{}
		if ward != "" {
			where, args = "lower(p.ward) = lower(?)", []any{ward}
		}
		plans, err := s.plans(tx, t.ID, where, args...)
		if err != nil {
			return err
		}
		var holders []uuid.UUID
		for _, p := range plans {
			for _, c := range p.Carers {
				holders = append(holders, c.HolderID)
			}
		}
		now := s.now().UTC()
		pp, err := LoadPassports(tx, t.ID, holders, now)
		if err != nil {
			return err
		}
		for _, p := range plans {
			r, _, _ := Assess(p, pp, now)
			out.Rows = append(out.Rows, BoardRow{Plan: p, Readiness: r})
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.board", ObjectType: "care_plan",
			Detail: map[string]string{"ward": ward, "children": fmt.Sprint(len(plans)), "carers": fmt.Sprint(len(uniq(holders)))}})
	})
	return out, err
}

// Book books a named carer of a plan onto a session through the training
// service (a place, or the waiting list when it is full). Someone who is
// not a named carer of the plan is refused.
func (s *Service) Book(ctx context.Context, planID, holderID, sessionID uuid.UUID) (Booking, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Booking{}, err
	}
	if s.booker == nil {
		return Booking{}, errs.E(errs.Internal, "Booking is not available")
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.plan(tx, t.ID, planID); err != nil {
			return err
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM care_plan_carers WHERE tenant_id = ? AND plan_id = ? AND holder_id = ?`,
			t.ID, planID, holderID).Row().Scan(&n); err != nil {
			return storeErr("check carer", err)
		}
		if n == 0 {
			return errs.Validation(errs.FieldError{Field: "holder_id", Message: "Choose one of the plan's named carers"})
		}
		return nil
	})
	if err != nil {
		return Booking{}, err
	}
	if sessionID == uuid.Nil {
		return Booking{}, errs.Validation(errs.FieldError{Field: "session_id", Message: "Choose a session"})
	}
	return s.booker.Book(ctx, sessionID, holderID)
}

// Option is a choice of a form's list.
type Option struct {
	ID    uuid.UUID `json:"id"`
	Label string    `json:"label"`
	Hint  string    `json:"hint,omitempty"`
}

// Choices is what the plan forms offer.
type Choices struct {
	Children     []Option // cared-for children without a plan
	Competencies []Option // of the published catalogues
	Holders      []Option // current holders
}

// Choices lists what the forms offer. Names of cared-for children and
// holders are read, which is audited.
func (s *Service) Choices(ctx context.Context) (Choices, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Choices{}, err
	}
	var out Choices
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT cf.id, cf.given_name || ' ' || cf.family_name AS label FROM cared_for cf
			WHERE cf.tenant_id = ? AND NOT EXISTS (SELECT 1 FROM care_plans p WHERE p.tenant_id = cf.tenant_id AND p.cared_for_id = cf.id)
			ORDER BY lower(cf.family_name), lower(cf.given_name) LIMIT 500`, t.ID).Scan(&out.Children).Error; err != nil {
			return storeErr("list children", err)
		}
		if err := tx.Raw(`SELECT c.id, c.code || ' ' || c.title AS label,
				CASE WHEN c.specificity = 'person' THEN 'Specific to the child: assessed against their care prescription' ELSE '' END AS hint
			FROM competencies c JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
			WHERE c.tenant_id = ? AND k.status = 'published' AND c.kind = 'skill' ORDER BY lower(k.title), c.code`, t.ID).
			Scan(&out.Competencies).Error; err != nil {
			return storeErr("list competencies", err)
		}
		if err := tx.Raw(`SELECT id, given_name || ' ' || family_name AS label, role_in_care AS hint FROM holders
			WHERE tenant_id = ? AND status = 'active' ORDER BY lower(family_name), lower(given_name) LIMIT 1000`, t.ID).
			Scan(&out.Holders).Error; err != nil {
			return storeErr("list holders", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "careplan.choices", ObjectType: "care_plan",
			Detail: map[string]string{"children": fmt.Sprint(len(out.Children)), "holders": fmt.Sprint(len(out.Holders))}})
	})
	return out, err
}

// ChildNeeds is what a child's care plan requires of the people who care
// for them, for planning elsewhere (a school class, say).
type ChildNeeds struct {
	CaredForID   uuid.UUID
	Name         string
	HasPlan      bool
	Needs        []Need
	Requirements []Requirement // the needs' competencies, once each
	Carers       []Carer       // the plan's named carers
}

// ChildNeeds returns, inside the caller's transaction tx in the tenant
// of ctx, each child's care needs, requirements and named carers; a child
// with no plan has none.
func (s *Service) ChildNeeds(ctx context.Context, tx *gorm.DB, children []uuid.UUID) ([]ChildNeeds, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	children = uniq(children)
	if len(children) == 0 {
		return nil, nil
	}
	plans, err := s.plans(tx, t.ID, "p.cared_for_id IN ?", children)
	if err != nil {
		return nil, err
	}
	by := map[uuid.UUID]Plan{}
	for _, p := range plans {
		by[p.CaredForID] = p
	}
	var names []struct {
		ID   uuid.UUID
		Name string
	}
	if err := tx.Raw(`SELECT id, given_name || ' ' || family_name AS name FROM cared_for WHERE tenant_id = ? AND id IN ?
		ORDER BY lower(family_name), lower(given_name)`, t.ID, children).Scan(&names).Error; err != nil {
		return nil, storeErr("read children", err)
	}
	out := make([]ChildNeeds, 0, len(names))
	for _, n := range names {
		cn := ChildNeeds{CaredForID: n.ID, Name: n.Name}
		if p, ok := by[n.ID]; ok {
			cn.HasPlan, cn.Needs, cn.Carers = true, p.Needs, p.Carers
			var reqs []Requirement
			for _, nd := range p.Needs {
				reqs = append(reqs, nd.Competencies...)
			}
			cn.Requirements = uniqKeys(reqs)
		}
		out = append(out, cn)
	}
	return out, nil
}

// LoadPassports is the package function of the same name, for modules
// that reach this one through an interface.
func (s *Service) LoadPassports(tx *gorm.DB, tenant uuid.UUID, holders []uuid.UUID) (*Passports, error) {
	return LoadPassports(tx, tenant, holders, s.now().UTC())
}

// Suggestions is the package function of the same name at the service's
// clock.
func (s *Service) Suggestions(tx *gorm.DB, tenant uuid.UUID, reqs []Requirement, deadline time.Time) (map[string][]Suggestion, error) {
	return Suggestions(tx, tenant, reqs, s.now().UTC(), deadline)
}

// parseParams reads a prescription's parameters, in name order.
func parseParams(raw string) []record.Parameter {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil
	}
	out := make([]record.Parameter, 0, len(m))
	for k, v := range m {
		out = append(out, record.Parameter{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
