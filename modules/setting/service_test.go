package setting_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/setting"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

type booker struct{ svc *training.Service }

func (b booker) Book(ctx context.Context, sessionID, holderID uuid.UUID) (careplan.Booking, error) {
	bk, err := b.svc.Book(ctx, sessionID, holderID)
	if err != nil {
		return careplan.Booking{}, err
	}
	return careplan.Booking{ID: bk.ID, SessionID: bk.SessionID, HolderID: bk.HolderID, HolderName: bk.HolderName,
		Waiting: bk.Status == training.Waiting}, nil
}

// The clock is in June 2027: the academic year 2026 to 2027 is current and
// 2027 to 2028 is the coming one.
var start = time.Date(2027, 6, 14, 9, 0, 0, 0, time.UTC)

type fixture struct {
	*moduletest.Env
	clock    *moduletest.Clock
	training *training.Service
	plans    *careplan.Service
	svc      *setting.Service
	trust    tenants.Tenant
	admin    uuid.UUID
	comps    map[string]uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	cats := catalogue.NewService(f.Scoped, f.Log, clock.Now)
	records := record.NewService(record.Deps{DB: f.Scoped, Specs: cats, Finder: cats, Accounts: f.Accounts, Authz: enf, Audit: f.Log},
		record.Config{Now: clock.Now})
	f.training = training.NewService(f.Scoped, f.Log, records, nil, clock.Now)
	f.plans = careplan.NewService(f.Scoped, f.Log, booker{f.training}, clock.Now)
	f.svc = setting.NewService(f.Scoped, f.Log, f.plans, booker{f.training}, clock.Now)
	f.trust = f.Tenant("trust", tenants.KindPaediatricTrust)
	f.admin = f.Staff(f.trust, "educator@trust.example", "Pat Educator", "tenant_admin")
	f.comps = f.Catalogue(f.trust, "pcc",
		moduletest.Competency{Code: "PCC-SUCTION"}, moduletest.Competency{Code: "PCC-FEED"},
		moduletest.Competency{Code: "PCC-TRACH", Specificity: "person", Params: []string{"Tube size"}})
	return f
}

func (f *fixture) ctx() context.Context { return moduletest.As(f.trust, f.admin) }

func (f *fixture) child(given string, parent uuid.UUID, codes ...string) uuid.UUID {
	f.T.Helper()
	id := uuid.Must(uuid.NewV7())
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO cared_for (tenant_id, id, given_name, family_name) VALUES (?, ?, ?, 'Child')`, f.trust.ID, id, given).Error
	})
	p, err := f.plans.CreatePlan(f.ctx(), careplan.PlanInput{CaredForID: id, Ward: "Community", ExpectedDischarge: "2027-07-01"})
	if err != nil {
		f.T.Fatal(err)
	}
	if parent != uuid.Nil {
		if err := f.plans.AddCarer(f.ctx(), p.ID, careplan.CarerInput{HolderID: parent, Relationship: "Parent"}); err != nil {
			f.T.Fatal(err)
		}
	}
	var ids []uuid.UUID
	for _, c := range codes {
		ids = append(ids, f.comps[c])
	}
	if _, err := f.plans.AddNeed(f.ctx(), p.ID, careplan.NeedInput{Name: "Needs of " + given, Competencies: ids}); err != nil {
		f.T.Fatal(err)
	}
	return id
}

func (f *fixture) competent(h uuid.UUID, code string, cf *uuid.UUID) {
	signed := start.AddDate(0, -1, 0)
	f.Record(f.trust, h, f.comps[code], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "A", CaredFor: cf})
}

// class makes a special school with a class of two children and two staff.
func (f *fixture) class() (setting.Group, map[string]uuid.UUID) {
	f.T.Helper()
	who := map[string]uuid.UUID{}
	for _, n := range []string{"Sam", "Tia", "Paula"} {
		who[n] = f.Holder(f.trust, n, "Holder", uuid.Nil)
	}
	who["Ava"] = f.child("Ava", who["Paula"], "PCC-SUCTION", "PCC-TRACH")
	who["Ben"] = f.child("Ben", uuid.Nil, "PCC-FEED")
	st, err := f.svc.CreateSetting(f.ctx(), setting.SettingInput{Kind: setting.SpecialSchool, Name: "Brookside School"})
	if err != nil {
		f.T.Fatal(err)
	}
	g, err := f.svc.CreateGroup(f.ctx(), st.ID, setting.GroupInput{Name: "Kestrel class"})
	if err != nil {
		f.T.Fatal(err)
	}
	if err := f.svc.AddChildren(f.ctx(), g.ID, setting.MemberInput{IDs: []uuid.UUID{who["Ava"], who["Ben"]}}); err != nil {
		f.T.Fatal(err)
	}
	if err := f.svc.AddStaff(f.ctx(), g.ID, setting.MemberInput{IDs: []uuid.UUID{who["Sam"], who["Tia"]}}); err != nil {
		f.T.Fatal(err)
	}
	return g, who
}

func TestClassPlanListsWhoNeedsWhatAndWhatTheyHold(t *testing.T) {
	f := newFixture(t)
	g, who := f.class()
	ava := who["Ava"]
	f.competent(who["Sam"], "PCC-SUCTION", nil)
	f.competent(who["Sam"], "PCC-TRACH", &ava)
	f.competent(who["Paula"], "PCC-TRACH", &ava)

	sum, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2027, IncludeParents: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Plan(f.ctx(), sum.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, pn := range p.People {
		var items []string
		for _, it := range pn.Items {
			items = append(items, it.Requirement.Code+"="+it.Holding.Status)
		}
		got[pn.Name+" ("+pn.Role+")"] = strings.Join(items, " ")
	}
	want := map[string]string{
		"Sam Holder (Staff)": "PCC-SUCTION=valid PCC-TRACH=valid PCC-FEED=missing",
		"Tia Holder (Staff)": "PCC-SUCTION=missing PCC-TRACH=missing PCC-FEED=missing",
		// Ava's parent needs Ava's competencies only.
		"Paula Holder (Parent or carer of Ava Child)": "PCC-SUCTION=missing PCC-TRACH=valid",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("people:\n got %v\nwant %v", got, want)
	}
	if p.Needed != 8 || p.Held != 3 {
		t.Fatalf("needed %d held %d, want 8 and 3", p.Needed, p.Held)
	}
	var training []string
	for _, tn := range p.Training {
		var names []string
		for _, x := range tn.People {
			names = append(names, strings.Fields(x.Name)[0])
		}
		training = append(training, tn.Requirement.Code+":"+strings.Join(names, ","))
	}
	if got := strings.Join(training, " "); got != "PCC-FEED:Sam,Tia PCC-SUCTION:Tia,Paula PCC-TRACH:Tia" {
		t.Fatalf("training needed = %q", got)
	}

	// Without parents, only staff are listed.
	g2, err := f.svc.CreateGroup(f.ctx(), g.SettingID, setting.GroupInput{Name: "Heron class"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddChildren(f.ctx(), g2.ID, setting.MemberInput{IDs: []uuid.UUID{ava}}); err != nil {
		t.Fatal(err)
	}
	sum2, err := f.svc.CreatePlan(f.ctx(), g2.ID, setting.PlanInput{AcademicYear: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if p2, err := f.svc.Plan(f.ctx(), sum2.ID); err != nil || len(p2.People) != 0 {
		t.Fatalf("no staff, no parents: %+v %v", p2.People, err)
	}
}

func TestBulkBookingReportsEachPerson(t *testing.T) {
	f := newFixture(t)
	g, who := f.class()
	sum, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2027, IncludeParents: true})
	if err != nil {
		t.Fatal(err)
	}
	course, err := f.training.CreateCourse(f.ctx(), training.CourseInput{Title: "Suction", Format: training.FormatManikin, DurationMinutes: 60,
		Audience: training.AudienceSchoolStaff, DefaultCapacity: 1, Competencies: []uuid.UUID{f.comps["PCC-SUCTION"]}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.training.CreateSessions(f.ctx(), training.SessionInput{CourseID: course.ID, Date: "2027-07-20", Start: "09:00", End: "10:00",
		Location: "School hall", Capacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	sess := list[0].ID
	p, err := f.svc.Plan(f.ctx(), sum.ID)
	if err != nil {
		t.Fatal(err)
	}
	var suction setting.TrainingNeed
	for _, tn := range p.Training {
		if tn.Requirement.Code == "PCC-SUCTION" {
			suction = tn
		}
	}
	if len(suction.Sessions) != 1 || suction.Sessions[0].SessionID != sess || !suction.Sessions[0].InTime {
		t.Fatalf("suggested sessions = %+v", suction.Sessions)
	}
	stranger := f.Holder(f.trust, "Stranger", "Holder", uuid.Nil)
	res, err := f.svc.BookBulk(f.ctx(), sum.ID, setting.BulkInput{Selections: []setting.Selection{
		{SessionID: sess, HolderIDs: []uuid.UUID{who["Tia"], who["Paula"], who["Tia"], stranger}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, strings.Fields(r.Name)[0]+"="+r.Status)
	}
	// One place: Tia gets it, Paula goes on the waiting list, Tia once
	// only, and someone outside the plan is refused without a booking.
	if strings.Join(got, " ") != "Tia=booked Paula=waiting Someone=failed" {
		t.Fatalf("results = %v", got)
	}
	// Again: Tia and Paula already have places, each told so; nothing else changes.
	res, err = f.svc.BookBulk(f.ctx(), sum.ID, setting.BulkInput{Selections: []setting.Selection{{SessionID: sess, HolderIDs: []uuid.UUID{who["Tia"], who["Sam"]}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != setting.ResultFailed || !strings.Contains(res[0].Message, "already has a place") || res[1].Status != setting.ResultWaiting {
		t.Fatalf("second run = %+v", res)
	}
	if n := f.Rows(f.trust, "bookings", "status <> 'cancelled'"); n != 3 {
		t.Fatalf("%d live bookings, want 3", n)
	}
	if _, err := f.svc.BookBulk(f.ctx(), sum.ID, setting.BulkInput{}); errs.FieldsOf(err) == nil {
		t.Fatalf("empty bulk booking: %v", err)
	}
}

func TestClassPlanForAPastYearIsRefused(t *testing.T) {
	f := newFixture(t)
	g, _ := f.class()
	_, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2025})
	if msg := errs.FieldsOf(err); len(msg) != 1 || msg[0].Message != fmt.Sprintf(setting.MsgPastYear, "2025 to 2026") {
		t.Fatalf("past year: %v", err)
	}
	if _, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2029}); errs.FieldsOf(err) == nil {
		t.Fatalf("two years ahead: %v", err)
	}
	if n := f.Rows(f.trust, "class_plans", ""); n != 0 {
		t.Fatalf("%d plans stored", n)
	}
	// On 1 September 2027 the year 2026 to 2027 has become past.
	f.clock.Set(time.Date(2027, 8, 31, 23, 30, 0, 0, time.UTC)) // 00:30 on 1 September in London
	if _, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2026}); errs.FieldsOf(err) == nil {
		t.Fatalf("plan for the year just ended: %v", err)
	}
	if _, err := f.svc.CreateSetting(f.ctx(), setting.SettingInput{Kind: "school", Name: "X"}); len(errs.FieldsOf(err)) != 2 {
		t.Fatalf("bad setting: %v", err)
	}
}

func TestAnotherTenantSeesNoSettings(t *testing.T) {
	f := newFixture(t)
	g, _ := f.class()
	sum, err := f.svc.CreatePlan(f.ctx(), g.ID, setting.PlanInput{AcademicYear: 2027})
	if err != nil {
		t.Fatal(err)
	}
	other := f.Tenant("elsewhere", tenants.KindPaediatricTrust)
	ctx := moduletest.As(other, f.Staff(other, "x@else.example", "X", "tenant_admin"))
	if _, err := f.svc.Group(ctx, g.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("group: %v", err)
	}
	if _, err := f.svc.Plan(ctx, sum.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("plan: %v", err)
	}
	if list, err := f.svc.Settings(ctx); err != nil || len(list) != 0 {
		t.Fatalf("settings: %v %v", list, err)
	}
}
