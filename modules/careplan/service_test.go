package careplan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

// fixture is a trust with a published catalogue, a child with a care plan
// and three named carers, and the training, record and share services over
// the same database. Row-level security compares share expiry with the
// database's clock, so the clock starts at the real time.
type fixture struct {
	*moduletest.Env
	clock    *moduletest.Clock
	records  *record.Service
	training *training.Service
	shares   *share.Service
	svc      *careplan.Service
	trust    tenants.Tenant
	admin    uuid.UUID
	comps    map[string]uuid.UUID
	std      uuid.UUID
	child    uuid.UUID
	carers   []uuid.UUID // Ann, Ben, Cat
}

// booker books through the training service, as cmd wires it.
type booker struct{ svc *training.Service }

func (b booker) Book(ctx context.Context, sessionID, holderID uuid.UUID) (careplan.Booking, error) {
	bk, err := b.svc.Book(ctx, sessionID, holderID)
	if err != nil {
		return careplan.Booking{}, err
	}
	return careplan.Booking{ID: bk.ID, SessionID: bk.SessionID, HolderID: bk.HolderID, HolderName: bk.HolderName,
		Waiting: bk.Status == training.Waiting}, nil
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(time.Now().UTC().Truncate(time.Second))
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	cats := catalogue.NewService(f.Scoped, f.Log, clock.Now)
	f.records = record.NewService(record.Deps{DB: f.Scoped, Specs: cats, Finder: cats, Accounts: f.Accounts, Authz: enf, Audit: f.Log},
		record.Config{Now: clock.Now})
	f.training = training.NewService(f.Scoped, f.Log, f.records, nil, clock.Now)
	holders := holder.NewService(f.Scoped, f.Log, clock.Now)
	f.shares = share.NewService(f.Scoped, f.Store, holders, f.Log, clock.Now)
	f.svc = careplan.NewService(f.Scoped, f.Log, booker{f.training}, clock.Now)
	if err := f.DB.Gorm.Raw(`SELECT id FROM std_competencies WHERE kind = 'skill' ORDER BY code LIMIT 1`).Row().Scan(&f.std); err != nil {
		t.Fatal(err)
	}
	f.trust = f.Tenant("trust", tenants.KindPaediatricTrust)
	f.admin = f.Staff(f.trust, "coordinator@trust.example", "Dee Coordinator", "tenant_admin")
	f.comps = f.Catalogue(f.trust, "pcc",
		moduletest.Competency{Code: "PCC-SUCTION", Std: &f.std, Months: 12, Practices: 2},
		moduletest.Competency{Code: "PCC-FEED", Months: 12},
		moduletest.Competency{Code: "PCC-TRACH", Specificity: "person", Params: []string{"Tube size"}, Months: 12})
	f.child = f.caredFor(f.trust, "Mia", "Patel")
	for _, n := range []string{"Ann", "Ben", "Cat"} {
		f.carers = append(f.carers, f.Holder(f.trust, n, "Carer", uuid.Nil))
	}
	return f
}

func (f *fixture) ctx() context.Context { return moduletest.As(f.trust, f.admin) }

func (f *fixture) caredFor(tn tenants.Tenant, given, family string) uuid.UUID {
	f.T.Helper()
	id := uuid.Must(uuid.NewV7())
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO cared_for (tenant_id, id, given_name, family_name) VALUES (?, ?, ?, ?)`, tn.ID, id, given, family).Error
	})
	return id
}

// day is the London date days from the clock's today, as the forms take it.
func (f *fixture) day(days int) string {
	return careplan.DayStart(f.clock.Now()).AddDate(0, 0, days).Format(time.DateOnly)
}

// plan makes the child's plan, discharge in days, required carers, with
// all three carers named.
func (f *fixture) plan(days, required int) careplan.Plan {
	f.T.Helper()
	p, err := f.svc.CreatePlan(f.ctx(), careplan.PlanInput{CaredForID: f.child, Ward: "Ward 4 (Puffin)",
		ExpectedDischarge: f.day(days), RequiredCarers: &required})
	if err != nil {
		f.T.Fatalf("plan: %v", err)
	}
	for i, h := range f.carers {
		if err := f.svc.AddCarer(f.ctx(), p.ID, careplan.CarerInput{HolderID: h, Relationship: []string{"Mother", "Father", "Aunt"}[i]}); err != nil {
			f.T.Fatalf("carer: %v", err)
		}
	}
	return p
}

func (f *fixture) need(planID uuid.UUID, name string, codes ...string) careplan.NeedAdded {
	f.T.Helper()
	var ids []uuid.UUID
	for _, c := range codes {
		ids = append(ids, f.comps[c])
	}
	out, err := f.svc.AddNeed(f.ctx(), planID, careplan.NeedInput{Name: name, Competencies: ids})
	if err != nil {
		f.T.Fatalf("need: %v", err)
	}
	return out
}

// signedOff returns a sign-off time whose 12-month expiry falls days after
// the date of the clock's today plus offset.
func (f *fixture) expiringOn(days int) *time.Time {
	exp := careplan.DayStart(f.clock.Now()).AddDate(0, 0, days)
	at := exp.AddDate(-1, 0, 0).Add(10 * time.Hour)
	return &at
}

func (f *fixture) competent(h uuid.UUID, code string, expiresInDays int) {
	f.T.Helper()
	f.Record(f.trust, h, f.comps[code], moduletest.Record{State: "competent", SignedOff: f.expiringOn(expiresInDays), Assessor: "Assessor"})
}

func (f *fixture) read(id uuid.UUID) careplan.PlanReadings {
	f.T.Helper()
	v, err := f.svc.Plan(f.ctx(), id)
	if err != nil {
		f.T.Fatalf("plan: %v", err)
	}
	return v
}

func holdingOf(v careplan.PlanReadings, holder uuid.UUID, code string) careplan.ReqHolding {
	for _, c := range v.Carers {
		if c.HolderID != holder {
			continue
		}
		for _, h := range c.Holdings {
			if h.Requirement.Code == code {
				return h
			}
		}
	}
	return careplan.ReqHolding{}
}

func TestReadinessCountsNeedsTimesRequiredCarers(t *testing.T) {
	f := newFixture(t)
	p := f.plan(20, 2)
	f.need(p.ID, "Suction", "PCC-SUCTION")
	f.need(p.ID, "Feeding", "PCC-FEED")
	ann, ben := f.carers[0], f.carers[1]
	f.competent(ann, "PCC-SUCTION", 200)
	f.competent(ann, "PCC-FEED", 200)
	f.competent(ben, "PCC-SUCTION", 200)

	v := f.read(p.ID)
	// Suction: Ann and Ben (2 of 2); feeding: Ann only (1 of 2): 3 of 4 places.
	if r := v.Readiness; r.Percent != 75 || r.Ready || r.NeedsCovered != 1 || r.NeedsTotal != 2 || r.NotReady {
		t.Fatalf("readiness = %+v, want 75%%, 1 of 2 needs covered, not flagged 20 days out", r)
	}
	if !v.Needs[0].Covered || v.Needs[1].Covered || strings.Join(v.Needs[1].Competent, ",") != "Ann Carer" {
		t.Fatalf("needs = %+v", v.Needs)
	}
	// Cat is missing both, Ben feeding: what is missing for whom.
	var missing []string
	for _, m := range v.Readiness.Missing {
		missing = append(missing, m.Name+":"+m.Code)
	}
	if got := strings.Join(missing, " "); got != "Ben Carer:PCC-FEED Cat Carer:PCC-SUCTION Cat Carer:PCC-FEED" {
		t.Fatalf("missing = %q", got)
	}

	// One required carer: both needs covered by Ann.
	one := 1
	if _, err := f.svc.UpdatePlan(f.ctx(), p.ID, careplan.PlanChanges{RequiredCarers: &one}); err != nil {
		t.Fatal(err)
	}
	if r := f.read(p.ID).Readiness; r.Percent != 100 || !r.Ready {
		t.Fatalf("with one carer required: %+v", r)
	}
}

// A competency counts only if it is still valid on the expected discharge
// date: one expiring the day before (or on the day itself, when the record
// module already calls it expired) is a gap, shown as expiring too soon.
func TestExpiryIsJudgedAtTheDischargeDate(t *testing.T) {
	f := newFixture(t)
	one := 1
	p := f.plan(10, one)
	f.need(p.ID, "Feeding", "PCC-FEED")
	ann, ben, cat := f.carers[0], f.carers[1], f.carers[2]
	f.competent(ann, "PCC-FEED", 9)  // the day before discharge
	f.competent(ben, "PCC-FEED", 10) // the discharge day
	f.competent(cat, "PCC-FEED", 11) // the day after

	v := f.read(p.ID)
	for _, c := range []struct {
		who    uuid.UUID
		status string
	}{{ann, careplan.ExpiresBefore}, {ben, careplan.ExpiresBefore}, {cat, careplan.Valid}} {
		if h := holdingOf(v, c.who, "PCC-FEED"); h.Holding.Status != c.status {
			t.Errorf("holder %v: %s (%s), want %s", c.who, h.Holding.Status, h.Holding.Detail, c.status)
		}
	}
	if !v.Readiness.Ready {
		t.Fatal("Cat is competent past discharge: one carer required is covered")
	}
	// Moving the discharge later than Cat's expiry: nobody covers it.
	later := f.day(12)
	if _, err := f.svc.UpdatePlan(f.ctx(), p.ID, careplan.PlanChanges{ExpectedDischarge: &later}); err != nil {
		t.Fatal(err)
	}
	if r := f.read(p.ID).Readiness; r.Ready || r.Percent != 0 {
		t.Fatalf("all expire before discharge: %+v", r)
	}
	// On the clock: after Ann's expiry, she shows as expired, not "too soon".
	f.clock.Advance(10 * 24 * time.Hour)
	if h := holdingOf(f.read(p.ID), ann, "PCC-FEED"); h.Holding.Status != careplan.Lapsed || h.Holding.Label != "Expired" {
		t.Fatalf("after expiry: %+v", h.Holding)
	}
}

func TestNotReadyFlagWhenDischargeIsNearAndGapsRemain(t *testing.T) {
	for _, c := range []struct {
		name     string
		days     int
		covered  bool
		flagged  bool
		daysLeft int
	}{
		{"eight days out with gaps", careplan.NotReadyWithinDays + 1, false, false, 8},
		{"seven days out with gaps", careplan.NotReadyWithinDays, false, true, 7},
		{"overdue with gaps", -2, false, true, -2},
		{"three days out, ready", 3, true, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			one := 1
			p := f.plan(c.days, one)
			f.need(p.ID, "Feeding", "PCC-FEED")
			if c.covered {
				f.competent(f.carers[0], "PCC-FEED", 300)
			}
			r := f.read(p.ID).Readiness
			if r.NotReady != c.flagged || r.DaysToDischarge != c.daysLeft {
				t.Fatalf("readiness = %+v, want flagged %v, %d days", r, c.flagged, c.daysLeft)
			}
		})
	}
}

// A competency signed off at another trust and shared with this one shows
// as held elsewhere but does not count until recognised; once recognised
// it is the trust's own record and counts.
func TestSharedCompetencyCountsOnceRecognised(t *testing.T) {
	f := newFixture(t)
	one := 1
	p := f.plan(30, one)
	f.need(p.ID, "Suction", "PCC-SUCTION")
	ann := f.carers[0]

	other := f.Tenant("hospice", tenants.KindPaediatricTrust)
	otherAdmin := f.Staff(other, "admin@hospice.example", "Hal Admin", "tenant_admin")
	theirs := f.Catalogue(other, "hsp", moduletest.Competency{Code: "HSP-SUCTION", Std: &f.std, Months: 24})
	// Ann is the same person there.
	var person uuid.UUID
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?`, f.trust.ID, ann).Row().Scan(&person)
	})
	annThere := uuid.Must(uuid.NewV7())
	f.In(other, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care) VALUES (?, ?, ?, 'Ann', 'Carer', 'parent')`,
			other.ID, annThere, person).Error
	})
	signed := f.clock.Now().AddDate(0, -2, 0)
	rec := f.Record(other, annThere, theirs["HSP-SUCTION"], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "Hospice Assessor"})

	if h := holdingOf(f.read(p.ID), ann, "PCC-SUCTION"); h.Holding.Status != careplan.Missing {
		t.Fatalf("before any share: %+v", h.Holding)
	}
	created, err := f.shares.CreateForHolder(moduletest.As(other, otherAdmin), annThere,
		share.Grant{To: share.ToTenant, TenantSlug: f.trust.Slug}, share.Consent{GivenBy: "Ann Carer", Method: "in_person"})
	if err != nil {
		t.Fatal(err)
	}
	v := f.read(p.ID)
	if h := holdingOf(v, ann, "PCC-SUCTION"); h.Holding.Status != careplan.Shared || !strings.Contains(h.Holding.Detail, "Org hospice") {
		t.Fatalf("shared: %+v", h.Holding)
	}
	if v.Readiness.Ready {
		t.Fatal("a shared competency not yet recognised counts towards readiness")
	}
	if _, err := f.shares.Recognise(f.ctx(), created.Share.ID, share.Recognition{Record: rec, CompetencyID: f.comps["PCC-SUCTION"]}); err != nil {
		t.Fatal(err)
	}
	v = f.read(p.ID)
	if h := holdingOf(v, ann, "PCC-SUCTION"); h.Holding.Status != careplan.Valid {
		t.Fatalf("recognised: %+v", h.Holding)
	}
	if !v.Readiness.Ready || v.Readiness.Percent != 100 {
		t.Fatalf("recognised competency covers the need: %+v", v.Readiness)
	}
}

// Person-specific competencies count only for this child, and not once the
// care prescription changed (the record module's re-assessment rule).
func TestPersonSpecificCompetencyIsForThisChild(t *testing.T) {
	f := newFixture(t)
	one := 1
	p := f.plan(30, one)
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO prescriptions (tenant_id, id, cared_for_id, competency_id, version, parameters) VALUES (?, ?, ?, ?, 1, '{"Tube size": "4.0"}')`,
			f.trust.ID, uuid.Must(uuid.NewV7()), f.child, f.comps["PCC-TRACH"]).Error
	})
	added := f.need(p.ID, "Tracheostomy care", "PCC-TRACH")
	if ps := added.Need.Competencies[0].Parameters; len(ps) != 1 || ps[0].Value != "4.0" {
		t.Fatalf("the need shows the child's prescription: %+v", added.Need.Competencies)
	}
	ann, ben := f.carers[0], f.carers[1]
	otherChild := f.caredFor(f.trust, "Leo", "Other")
	signed := f.clock.Now().AddDate(0, -1, 0)
	v1 := 1
	f.Record(f.trust, ann, f.comps["PCC-TRACH"], moduletest.Record{State: "competent", SignedOff: &signed, CaredFor: &otherChild, Version: &v1})
	f.Record(f.trust, ben, f.comps["PCC-TRACH"], moduletest.Record{State: "competent", SignedOff: &signed, CaredFor: &f.child, Version: &v1, Reassess: true})
	v := f.read(p.ID)
	if h := holdingOf(v, ann, "PCC-TRACH"); h.Holding.Status != careplan.Missing {
		t.Fatalf("signed off for another child: %+v", h.Holding)
	}
	if h := holdingOf(v, ben, "PCC-TRACH"); h.Holding.Status != careplan.Lapsed || h.Holding.Label != "Re-assessment required" {
		t.Fatalf("prescription changed: %+v", h.Holding)
	}
	if v.Readiness.Ready {
		t.Fatal("no carer is current for this child")
	}
}

// The validity careplan derives agrees with the record module's own
// derived states, record by record.
func TestValidityAgreesWithTheRecordModule(t *testing.T) {
	f := newFixture(t)
	one := 1
	p := f.plan(0, one)
	f.need(p.ID, "Feeding", "PCC-FEED")
	cases := []moduletest.Record{
		{State: "competent", SignedOff: f.expiringOn(1)},
		{State: "competent", SignedOff: f.expiringOn(0)},
		{State: "competent", SignedOff: f.expiringOn(30), Reassess: true},
		{State: "supervised_practice", Practices: 3},
		{State: "suspended", SignedOff: f.expiringOn(30)},
	}
	for i, rc := range cases {
		h := f.Holder(f.trust, "Case", string(rune('A'+i)), uuid.Nil)
		if err := f.svc.AddCarer(f.ctx(), p.ID, careplan.CarerInput{HolderID: h}); err != nil {
			t.Fatal(err)
		}
		rc.Assessor = "Assessor"
		f.Record(f.trust, h, f.comps["PCC-FEED"], rc)
		pp, err := f.records.Passport(f.ctx(), h, record.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		got := holdingOf(f.read(p.ID), h, "PCC-FEED").Holding.Counts()
		if want := pp.Entries[0].State.Current(); got != want {
			t.Errorf("case %d (%s): careplan counts %v, record says %s", i, rc.State, got, pp.Entries[0].State)
		}
	}
}

func TestNewCareNeedOpensGapsWithBookableSuggestions(t *testing.T) {
	f := newFixture(t)
	p := f.plan(14, 2)
	ann, ben := f.carers[0], f.carers[1]
	f.competent(ann, "PCC-FEED", 300)
	course, err := f.training.CreateCourse(f.ctx(), training.CourseInput{Title: "Feeding pumps", Format: training.FormatClassroom,
		DurationMinutes: 60, Audience: training.AudienceParentsCarers, DefaultCapacity: 1, Competencies: []uuid.UUID{f.comps["PCC-FEED"]}})
	if err != nil {
		t.Fatal(err)
	}
	session := func(days, capacity int) uuid.UUID {
		list, err := f.training.CreateSessions(f.ctx(), training.SessionInput{CourseID: course.ID, Date: f.day(days), Start: "10:00",
			End: "11:00", Location: "Ward 4", Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		return list[0].ID
	}
	late := session(20, 5) // after discharge
	soon := session(5, 1)  // before discharge, will be full
	early := session(3, 4) // before discharge, places
	_ = session(-0+400, 4) // far away: beyond the three suggested
	other := f.Holder(f.trust, "Someone", "Else", uuid.Nil)
	if _, err := f.training.Book(f.ctx(), soon, other); err != nil {
		t.Fatal(err)
	}

	added := f.need(p.ID, "Feeding", "PCC-FEED")
	var gaps []string
	for _, g := range added.Gaps {
		gaps = append(gaps, g.Name+":"+g.Requirement.Code)
	}
	if strings.Join(gaps, " ") != "Ben Carer:PCC-FEED Cat Carer:PCC-FEED" {
		t.Fatalf("gaps = %v (Ann is already competent)", gaps)
	}
	sugg := added.Gaps[0].Suggestions
	if len(sugg) != careplan.SuggestionsPerGap || sugg[0].SessionID != early || sugg[1].SessionID != soon || sugg[2].SessionID != late {
		t.Fatalf("suggestions = %+v; want before discharge with places, before discharge full, then after", sugg)
	}
	if !sugg[1].Full || sugg[0].Full || !sugg[0].InTime || sugg[2].InTime {
		t.Fatalf("flags = %+v", sugg)
	}
	if r := added.View.Readiness; r.Percent != 50 || r.Ready {
		t.Fatalf("readiness after the new need = %+v, want 50%%", r)
	}

	// Booking Ben from the plan, through the training service.
	b, err := f.svc.Book(f.ctx(), p.ID, ben, early)
	if err != nil || b.Waiting {
		t.Fatalf("book: %+v %v", b, err)
	}
	v := f.read(p.ID)
	h := holdingOf(v, ben, "PCC-FEED")
	if len(h.Holding.Booked) != 1 || h.Holding.Booked[0].SessionID != early {
		t.Fatalf("Ben's holding shows the booking: %+v", h.Holding)
	}
	for _, s := range h.Suggestions {
		if s.SessionID == early {
			t.Fatal("a session Ben is booked on is still suggested to him")
		}
	}
	if len(v.Readiness.Booked) != 1 || v.Readiness.Booked[0].Name != "Ben Carer" {
		t.Fatalf("board's sessions booked = %+v", v.Readiness.Booked)
	}
	// Someone who is not a named carer cannot be booked from the plan.
	if _, err := f.svc.Book(f.ctx(), p.ID, other, early); errs.FieldsOf(err) == nil {
		t.Fatalf("booking a non-carer from the plan: %v", err)
	}
	// Supervised practice complete: awaiting sign-off on the board.
	f.Record(f.trust, f.carers[2], f.comps["PCC-FEED"], moduletest.Record{State: "supervised_practice", Practices: 0})
	if r := f.read(p.ID).Readiness; len(r.AwaitingSignOff) != 1 || r.AwaitingSignOff[0].Name != "Cat Carer" {
		t.Fatalf("awaiting sign-off = %+v", r.AwaitingSignOff)
	}
}

func TestBadInputIsRefusedAndNothingIsStored(t *testing.T) {
	f := newFixture(t)
	zero := 0
	_, err := f.svc.CreatePlan(f.ctx(), careplan.PlanInput{CaredForID: f.child, Ward: "Ward 4", ExpectedDischarge: f.day(5), RequiredCarers: &zero})
	if got := fieldMsg(err, "required_carers"); got != careplan.MsgRequiredCarers {
		t.Fatalf("required carers 0: %q (%v)", got, err)
	}
	if n := f.Rows(f.trust, "care_plans", ""); n != 0 {
		t.Fatalf("%d plans stored", n)
	}
	p := f.plan(5, 2)
	if _, err := f.svc.UpdatePlan(f.ctx(), p.ID, careplan.PlanChanges{RequiredCarers: &zero}); fieldMsg(err, "required_carers") != careplan.MsgRequiredCarers {
		t.Fatalf("update to 0 carers: %v", err)
	}

	other := f.Tenant("elsewhere", tenants.KindPaediatricTrust)
	foreign := f.Catalogue(other, "ext", moduletest.Competency{Code: "EXT-01"})["EXT-01"]
	_, err = f.svc.AddNeed(f.ctx(), p.ID, careplan.NeedInput{Name: "Suction", Competencies: []uuid.UUID{f.comps["PCC-SUCTION"], foreign}})
	if got := fieldMsg(err, "competency_ids"); !strings.Contains(got, foreign.String()) || !strings.Contains(got, careplan.MsgOutsideCatalog) {
		t.Fatalf("competency of another tenant: %q", got)
	}
	if n := f.Rows(f.trust, "care_needs", ""); n != 0 {
		t.Fatalf("%d needs stored after a refusal", n)
	}
	_, err = f.svc.AddNeed(f.ctx(), p.ID, careplan.NeedInput{Name: "  "})
	if fieldMsg(err, "name") == "" || fieldMsg(err, "competency_ids") != careplan.MsgCompetencies {
		t.Fatalf("empty need: %v", err)
	}
}

func TestAnotherTenantSeesNothing(t *testing.T) {
	f := newFixture(t)
	p := f.plan(5, 2)
	f.need(p.ID, "Feeding", "PCC-FEED")
	other := f.Tenant("elsewhere", tenants.KindPaediatricTrust)
	them := f.Staff(other, "x@elsewhere.example", "X", "tenant_admin")
	ctx := moduletest.As(other, them)
	if _, err := f.svc.Plan(ctx, p.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("plan of another tenant: %v", err)
	}
	if _, err := f.svc.AddNeed(ctx, p.ID, careplan.NeedInput{Name: "X", Competencies: []uuid.UUID{f.comps["PCC-FEED"]}}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("need on another tenant's plan: %v", err)
	}
	b, err := f.svc.Board(ctx, "")
	if err != nil || len(b.Rows) != 0 || len(b.Wards) != 0 {
		t.Fatalf("board of another tenant: %+v %v", b, err)
	}
}

func fieldMsg(err error, field string) string {
	for _, fe := range errs.FieldsOf(err) {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}
