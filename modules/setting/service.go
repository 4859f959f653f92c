package setting

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Service runs settings, groups and class plans.
type Service struct {
	db      *tenants.DB
	audit   *audit.Log
	planner Planner
	booker  Booker
	now     func() time.Time
}

// NewService returns a Service.
func NewService(db *tenants.DB, log *audit.Log, planner Planner, booker Booker, now func() time.Time) *Service {
	return &Service{db: db, audit: log, planner: planner, booker: booker, now: now}
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func scope(ctx context.Context) (tenants.Tenant, *uuid.UUID, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return tenants.Tenant{}, nil, errors.New("setting: no tenant in context")
	}
	if a, ok := tenants.ActorFrom(ctx); ok && a != uuid.Nil {
		return t, &a, nil
	}
	return t, nil, nil
}

func storeErr(op string, err error) error { return pg.StoreErr("setting", op, err) }

// Now is the service's clock, for pages.
func (s *Service) Now() time.Time { return s.now() }

// Messages of things not found.
const (
	msgNoSetting = "No setting with that reference"
	msgNoGroup   = "No class or group with that reference"
	msgNoPlan    = "No class plan with that reference"
)

// CreateSetting adds a setting.
func (s *Service) CreateSetting(ctx context.Context, in SettingInput) (Setting, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Setting{}, err
	}
	if in, err = in.validate(); err != nil {
		return Setting{}, err
	}
	out := Setting{ID: newID(), Kind: in.Kind, Name: in.Name, Groups: []Group{}}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO care_settings (tenant_id, id, kind, name, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, out.ID, in.Kind, in.Name, s.now().UTC()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "name", Message: "The organisation already has a setting called " + in.Name})
		}
		if err != nil {
			return storeErr("create setting", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.create", ObjectType: "care_setting", ObjectID: out.ID.String(),
			Detail: map[string]string{"kind": in.Kind}})
	})
	return out, err
}

// Settings lists the tenant's settings with their groups.
func (s *Service) Settings(ctx context.Context) ([]Setting, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []Setting
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		out, err = s.settings(tx, t.ID, uuid.Nil)
		return err
	})
	return out, err
}

func (s *Service) settings(tx *gorm.DB, tenant, only uuid.UUID) ([]Setting, error) {
	q := `SELECT id, kind, name FROM care_settings WHERE tenant_id = ?`
	args := []any{tenant}
	if only != uuid.Nil {
		q += ` AND id = ?`
		args = append(args, only)
	}
	var out []Setting
	if err := tx.Raw(q+` ORDER BY lower(name)`, args...).Scan(&out).Error; err != nil {
		return nil, storeErr("list settings", err)
	}
	if len(out) == 0 {
		return []Setting{}, nil
	}
	var groups []Group
	if err := tx.Raw(`SELECT g.id, g.setting_id, g.name FROM care_groups g WHERE g.tenant_id = ? ORDER BY lower(g.name)`, tenant).
		Scan(&groups).Error; err != nil {
		return nil, storeErr("list groups", err)
	}
	for i := range out {
		out[i].Groups = []Group{}
		for _, g := range groups {
			if g.SettingID == out[i].ID {
				g.SettingName = out[i].Name
				out[i].Groups = append(out[i].Groups, g)
			}
		}
	}
	return out, nil
}

// Setting returns one setting with its groups.
func (s *Service) Setting(ctx context.Context, id uuid.UUID) (Setting, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Setting{}, err
	}
	var out Setting
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		list, err := s.settings(tx, t.ID, id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return errs.E(errs.NotFound, msgNoSetting)
		}
		out = list[0]
		return nil
	})
	return out, err
}

// CreateGroup adds a group (a class) to a setting.
func (s *Service) CreateGroup(ctx context.Context, settingID uuid.UUID, in GroupInput) (Group, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Group{}, err
	}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > 80 {
		return Group{}, errs.Validation(errs.FieldError{Field: "name", Message: "Enter the class or group's name, up to 80 characters"})
	}
	out := Group{ID: newID(), SettingID: settingID, Name: in.Name}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT name FROM care_settings WHERE tenant_id = ? AND id = ?`, t.ID, settingID).Row().Scan(&out.SettingName); err != nil {
			return errs.E(errs.NotFound, msgNoSetting)
		}
		err := tx.Exec(`INSERT INTO care_groups (tenant_id, id, setting_id, name, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, out.ID, settingID, in.Name, s.now().UTC()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "name", Message: "The setting already has a class or group called " + in.Name})
		}
		if err != nil {
			return storeErr("create group", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.group_create", ObjectType: "care_group", ObjectID: out.ID.String()})
	})
	return out, err
}

// Group returns a group with its children, staff and class plans.
func (s *Service) Group(ctx context.Context, id uuid.UUID) (Group, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Group{}, err
	}
	var out Group
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if out, err = s.group(tx, t.ID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.group_read", ObjectType: "care_group", ObjectID: id.String()})
	})
	return out, err
}

func (s *Service) group(tx *gorm.DB, tenant, id uuid.UUID) (Group, error) {
	var g []Group
	if err := tx.Raw(`SELECT g.id, g.setting_id, st.name AS setting_name, g.name FROM care_groups g
		JOIN care_settings st ON st.tenant_id = g.tenant_id AND st.id = g.setting_id
		WHERE g.tenant_id = ? AND g.id = ?`, tenant, id).Scan(&g).Error; err != nil {
		return Group{}, storeErr("read group", err)
	}
	if len(g) == 0 {
		return Group{}, errs.E(errs.NotFound, msgNoGroup)
	}
	out := g[0]
	out.Children, out.Staff, out.Plans = []Person{}, []Person{}, []Summary{}
	if err := tx.Raw(`SELECT cf.id, cf.given_name || ' ' || cf.family_name AS name FROM care_group_children gc
		JOIN cared_for cf ON cf.tenant_id = gc.tenant_id AND cf.id = gc.cared_for_id
		WHERE gc.tenant_id = ? AND gc.group_id = ? ORDER BY lower(cf.family_name), lower(cf.given_name)`, tenant, id).
		Scan(&out.Children).Error; err != nil {
		return Group{}, storeErr("read children", err)
	}
	if err := tx.Raw(`SELECT h.id, h.given_name || ' ' || h.family_name AS name FROM care_group_staff gs
		JOIN holders h ON h.tenant_id = gs.tenant_id AND h.id = gs.holder_id
		WHERE gs.tenant_id = ? AND gs.group_id = ? AND h.status = 'active' ORDER BY lower(h.family_name), lower(h.given_name)`, tenant, id).
		Scan(&out.Staff).Error; err != nil {
		return Group{}, storeErr("read staff", err)
	}
	if err := tx.Raw(`SELECT id, academic_year, include_parents FROM class_plans WHERE tenant_id = ? AND group_id = ?
		ORDER BY academic_year DESC`, tenant, id).Scan(&out.Plans).Error; err != nil {
		return Group{}, storeErr("read plans", err)
	}
	for i := range out.Plans {
		out.Plans[i].Label = YearLabel(out.Plans[i].AcademicYear)
	}
	return out, nil
}

// AddChildren puts cared-for children of the tenant in a group.
func (s *Service) AddChildren(ctx context.Context, groupID uuid.UUID, in MemberInput) error {
	return s.addMembers(ctx, groupID, in, "cared_for", "care_group_children", "cared_for_id", "child_ids",
		"Choose children cared for by the organisation")
}

// AddStaff attaches current holders of the tenant to a group as staff.
func (s *Service) AddStaff(ctx context.Context, groupID uuid.UUID, in MemberInput) error {
	return s.addMembers(ctx, groupID, in, "holders", "care_group_staff", "holder_id", "staff_ids",
		"Choose staff recorded by the organisation")
}

func (s *Service) addMembers(ctx context.Context, groupID uuid.UUID, in MemberInput, from, table, column, field, msg string) error {
	t, _, err := scope(ctx)
	if err != nil {
		return err
	}
	ids := uniq(in.IDs)
	if len(ids) == 0 {
		return errs.Validation(errs.FieldError{Field: field, Message: msg})
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.group(tx, t.ID, groupID); err != nil {
			return err
		}
		cond := ""
		if from == "holders" {
			cond = " AND status = 'active'"
		}
		var n int
		// from is one of two table names fixed above, never input.
		if err := tx.Raw(`SELECT count(*) FROM `+from+` WHERE tenant_id = ? AND id IN ?`+cond, t.ID, ids).Row().Scan(&n); err != nil {
			return storeErr("check members", err)
		}
		if n != len(ids) {
			return errs.Validation(errs.FieldError{Field: field, Message: msg})
		}
		for _, id := range ids {
			if err := tx.Exec(`INSERT INTO `+table+` (tenant_id, group_id, `+column+`) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				t.ID, groupID, id).Error; err != nil {
				return storeErr("add members", err)
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.members_add", ObjectType: "care_group", ObjectID: groupID.String(),
			Detail: map[string]string{"table": table, "added": fmt.Sprint(len(ids))}})
	})
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

// CreatePlan makes a group's class plan for an academic year: the
// current one or the coming one. A past year is refused.
func (s *Service) CreatePlan(ctx context.Context, groupID uuid.UUID, in PlanInput) (Summary, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Summary{}, err
	}
	cur := CurrentYear(s.now())
	switch {
	case in.AcademicYear == 0:
		return Summary{}, errs.Validation(errs.FieldError{Field: "academic_year", Message: "Choose the academic year to plan"})
	case in.AcademicYear < cur:
		return Summary{}, errs.Validation(errs.FieldError{Field: "academic_year", Message: fmt.Sprintf(MsgPastYear, YearLabel(in.AcademicYear))})
	case in.AcademicYear > cur+1:
		return Summary{}, errs.Validation(errs.FieldError{Field: "academic_year", Message: MsgFarYear})
	}
	out := Summary{ID: newID(), AcademicYear: in.AcademicYear, Label: YearLabel(in.AcademicYear), IncludeParents: in.IncludeParents}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.group(tx, t.ID, groupID); err != nil {
			return err
		}
		err := tx.Exec(`INSERT INTO class_plans (tenant_id, id, group_id, academic_year, include_parents, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, out.ID, groupID, in.AcademicYear, in.IncludeParents, actor, s.now().UTC()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "academic_year", Message: "This class already has a plan for " + out.Label})
		}
		if err != nil {
			return storeErr("create class plan", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.plan_create", ObjectType: "class_plan", ObjectID: out.ID.String(),
			Detail: map[string]string{"group": groupID.String(), "year": fmt.Sprint(in.AcademicYear)}})
	})
	return out, err
}

// ClassPlan is a class plan as derived at read time from the class's
// children, their care needs and the passports of the people who care
// for them.
type ClassPlan struct {
	Summary
	Group    Group                 `json:"group"`
	Children []careplan.ChildNeeds `json:"-"`
	People   []PersonNeeds         `json:"people"`
	Training []TrainingNeed        `json:"training_needed"`
	Needed   int                   `json:"competencies_needed"`
	Held     int                   `json:"competencies_held"`
}

// PersonNeeds is one person's needs in the plan.
type PersonNeeds struct {
	HolderID uuid.UUID `json:"holder_id"`
	Name     string    `json:"name"`
	Role     string    `json:"role"` // "Staff", or "Parent or carer of Mia Patel"
	Items    []Item    `json:"competencies"`
	Held     int       `json:"held"`
}

// Item is one competency a person needs, and their holding of it.
type Item struct {
	Requirement careplan.Requirement `json:"competency"`
	Child       string               `json:"for_child,omitempty"`
	Holding     careplan.Holding     `json:"holding"`
}

// TrainingNeed is one competency some people lack, with the sessions
// suggested for it.
type TrainingNeed struct {
	Key         string                `json:"key"`
	Requirement careplan.Requirement  `json:"competency"`
	Child       string                `json:"for_child,omitempty"`
	People      []Person              `json:"people"`
	Sessions    []careplan.Suggestion `json:"sessions"`
}

// Plan returns a class plan. Reading the people's passports is audited.
func (s *Service) Plan(ctx context.Context, id uuid.UUID) (ClassPlan, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return ClassPlan{}, err
	}
	var out ClassPlan
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if out, err = s.plan(ctx, tx, t.ID, id); err != nil {
			return err
		}
		ids := make([]string, len(out.People))
		for i, p := range out.People {
			ids[i] = p.HolderID.String()
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.plan_read", ObjectType: "class_plan", ObjectID: id.String(),
			Detail: map[string]string{"holders": strings.Join(ids, ",")}})
	})
	return out, err
}

func (s *Service) plan(ctx context.Context, tx *gorm.DB, tenant, id uuid.UUID) (ClassPlan, error) {
	var rows []struct {
		GroupID        uuid.UUID
		AcademicYear   int
		IncludeParents bool
	}
	if err := tx.Raw(`SELECT group_id, academic_year, include_parents FROM class_plans WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&rows).Error; err != nil {
		return ClassPlan{}, storeErr("read class plan", err)
	}
	if len(rows) == 0 {
		return ClassPlan{}, errs.E(errs.NotFound, msgNoPlan)
	}
	r := rows[0]
	out := ClassPlan{Summary: Summary{ID: id, AcademicYear: r.AcademicYear, Label: YearLabel(r.AcademicYear), IncludeParents: r.IncludeParents},
		People: []PersonNeeds{}, Training: []TrainingNeed{}}
	g, err := s.group(tx, tenant, r.GroupID)
	if err != nil {
		return ClassPlan{}, err
	}
	out.Group = g
	childIDs := make([]uuid.UUID, len(g.Children))
	for i, c := range g.Children {
		childIDs[i] = c.ID
	}
	if out.Children, err = s.planner.ChildNeeds(ctx, tx, childIDs); err != nil {
		return ClassPlan{}, err
	}
	type need struct {
		req   careplan.Requirement
		child string
	}
	var all []need
	for _, c := range out.Children {
		for _, q := range c.Requirements {
			all = append(all, need{q, c.Name})
		}
	}
	// Staff need every child's requirements; each child's parents and named
	// carers, when included, need that child's.
	var holders []uuid.UUID
	for _, st := range g.Staff {
		p := PersonNeeds{HolderID: st.ID, Name: st.Name, Role: "Staff"}
		for _, n := range all {
			p.Items = append(p.Items, Item{Requirement: n.req, Child: n.child})
		}
		out.People = append(out.People, p)
		holders = append(holders, st.ID)
	}
	if r.IncludeParents {
		for _, c := range out.Children {
			for _, cr := range c.Carers {
				if cr.Left {
					continue
				}
				p := PersonNeeds{HolderID: cr.HolderID, Name: cr.Name, Role: "Parent or carer of " + c.Name}
				for _, q := range c.Requirements {
					p.Items = append(p.Items, Item{Requirement: q, Child: c.Name})
				}
				out.People = append(out.People, p)
				holders = append(holders, cr.HolderID)
			}
		}
	}
	passports, err := s.planner.LoadPassports(tx, tenant, holders)
	if err != nil {
		return ClassPlan{}, err
	}
	at := YearStart(r.AcademicYear)
	lacking := map[string]*TrainingNeed{}
	var order []string
	for pi := range out.People {
		p := &out.People[pi]
		for ii := range p.Items {
			it := &p.Items[ii]
			it.Holding = passports.Holding(p.HolderID, it.Requirement, at)
			out.Needed++
			if it.Holding.Counts() {
				p.Held++
				out.Held++
				continue
			}
			k := it.Requirement.Key()
			tn, ok := lacking[k]
			if !ok {
				tn = &TrainingNeed{Key: k, Requirement: it.Requirement}
				if it.Requirement.PersonSpecific {
					tn.Child = it.Child
				}
				lacking[k] = tn
				order = append(order, k)
			}
			tn.People = append(tn.People, Person{ID: p.HolderID, Name: p.Name})
		}
	}
	var reqs []careplan.Requirement
	for _, k := range order {
		reqs = append(reqs, lacking[k].Requirement)
	}
	sugg, err := s.planner.Suggestions(tx, tenant, reqs, at)
	if err != nil {
		return ClassPlan{}, err
	}
	for _, k := range order {
		tn := lacking[k]
		tn.Sessions = sugg[tn.Requirement.Identity()]
		out.Training = append(out.Training, *tn)
	}
	sort.SliceStable(out.Training, func(i, j int) bool { return out.Training[i].Requirement.Code < out.Training[j].Requirement.Code })
	return out, nil
}

// Selection books people onto one session.
type Selection struct {
	SessionID uuid.UUID   `json:"session_id"`
	HolderIDs []uuid.UUID `json:"holder_ids"`
}

// BulkInput is a bulk booking: a session per competency gap, and the
// people to book on each.
type BulkInput struct {
	Selections []Selection `json:"selections"`
}

// Result statuses of one person's booking.
const (
	ResultBooked  = "booked"
	ResultWaiting = "waiting"
	ResultFailed  = "failed"
)

// BookingResult is the outcome for one person.
type BookingResult struct {
	HolderID  uuid.UUID `json:"holder_id"`
	Name      string    `json:"name"`
	SessionID uuid.UUID `json:"session_id"`
	Status    string    `json:"status"`
	Message   string    `json:"message"`
}

// MaxBulk bounds the bookings one bulk booking makes.
const MaxBulk = 200

// BookBulk books the selected people onto the selected sessions, each
// booking through the training service in its own transaction. It is not
// all-or-nothing, on purpose: bookings of different people are
// independent, places are first come first served, and one person's
// refusal (already booked, has left, bookings closed) must not cost the
// others their places. Each person's outcome is returned; people who are
// not in the plan are refused without a booking. The request as a whole
// is refused, booking nothing, when it names no one or no session.
func (s *Service) BookBulk(ctx context.Context, planID uuid.UUID, in BulkInput) ([]BookingResult, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, sel := range in.Selections {
		if sel.SessionID != uuid.Nil {
			total += len(uniq(sel.HolderIDs))
		}
	}
	if total == 0 {
		return nil, errs.Validation(errs.FieldError{Field: "selections", Message: "Choose a session and at least one person to book on it"})
	}
	if total > MaxBulk {
		return nil, errs.Validation(errs.FieldError{Field: "selections", Message: fmt.Sprintf("Book at most %d places at once", MaxBulk)})
	}
	var plan ClassPlan
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		plan, err = s.plan(ctx, tx, t.ID, planID)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := map[uuid.UUID]string{}
	for _, p := range plan.People {
		names[p.HolderID] = p.Name
	}
	var out []BookingResult
	for _, sel := range in.Selections {
		if sel.SessionID == uuid.Nil {
			continue
		}
		for _, h := range uniq(sel.HolderIDs) {
			r := BookingResult{HolderID: h, SessionID: sel.SessionID, Name: names[h]}
			if _, ok := names[h]; !ok {
				r.Status, r.Name, r.Message = ResultFailed, "Someone else", "Not one of the people in this class plan"
				out = append(out, r)
				continue
			}
			b, err := s.booker.Book(ctx, sel.SessionID, h)
			switch {
			case err != nil && errs.KindOf(err) == errs.Internal:
				return out, err
			case err != nil:
				r.Status, r.Message = ResultFailed, errs.MessageOf(err)
				if fe := errs.FieldsOf(err); len(fe) > 0 {
					r.Message = fe[0].Message
				}
			case b.Waiting:
				r.Status, r.Message = ResultWaiting, "The session is full: on the waiting list"
			default:
				r.Status, r.Message = ResultBooked, "Booked"
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Choices is what the class forms offer: the tenant's cared-for children
// and current holders, by name.
type Choices struct {
	Children []Person
	Holders  []Person
}

// Choices lists the children and holders the class forms offer; reading
// their names is audited.
func (s *Service) Choices(ctx context.Context) (Choices, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Choices{}, err
	}
	var out Choices
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT id, given_name || ' ' || family_name AS name FROM cared_for WHERE tenant_id = ?
			ORDER BY lower(family_name), lower(given_name) LIMIT 500`, t.ID).Scan(&out.Children).Error; err != nil {
			return storeErr("list children", err)
		}
		if err := tx.Raw(`SELECT id, given_name || ' ' || family_name AS name FROM holders WHERE tenant_id = ? AND status = 'active'
			ORDER BY lower(family_name), lower(given_name) LIMIT 1000`, t.ID).Scan(&out.Holders).Error; err != nil {
			return storeErr("list holders", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "setting.choices", ObjectType: "care_group",
			Detail: map[string]string{"children": fmt.Sprint(len(out.Children)), "holders": fmt.Sprint(len(out.Holders))}})
	})
	return out, err
}
