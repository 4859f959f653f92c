package dashboard_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/dashboard"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

func TestWindowIsTheLastTwelveUKMonths(t *testing.T) {
	// 00:30 on 1 April 2026 in London is still 31 March in UTC.
	w := dashboard.WindowAt(time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC))
	if got := w.Months[0].Format("2006-01"); got != "2025-05" {
		t.Errorf("first month %s, want 2025-05", got)
	}
	if got := w.Months[11].Format("2006-01"); got != "2026-04" || len(w.Months) != 12 {
		t.Errorf("last month %s of %d, want 2026-04 of 12", got, len(w.Months))
	}
	if !w.To.Equal(at(2026, 5, 1, 0, 0)) || !w.From.Equal(at(2025, 5, 1, 0, 0)) {
		t.Errorf("window %s to %s", w.From, w.To)
	}
}

func monthOf(w dashboard.Window, y int, m time.Month) int {
	for i, s := range w.Months {
		if s.Year() == y && s.Month() == m {
			return i
		}
	}
	return -1
}

func TestFiguresCountByUKMonthWithinTheTenant(t *testing.T) {
	f := newFixture(t)
	home := f.Tenant("home", tenants.KindCareHome)
	other := f.Tenant("other", tenants.KindCareHome)
	comps := f.Catalogue(home, "care", moduletest.Competency{Code: "MOVE"}, moduletest.Competency{Code: "LONG", Months: 60})
	comp, long := comps["MOVE"], comps["LONG"]
	otherComp := f.Catalogue(other, "care", moduletest.Competency{Code: "MOVE"})["MOVE"]

	// Sign-offs of a five-yearly competency, so that none is expiring soon.
	// 00:30 on 1 October 2025, British Summer Time, is 23:30 on 30 September in UTC.
	f.signOffs(home, long, 2, time.Date(2025, 9, 30, 23, 30, 0, 0, time.UTC))
	f.signOffs(home, long, 1, at(2026, 3, 1, 9, 0))
	// Before the window (23:30 on 31 March 2025, London) and after now's month.
	f.signOffs(home, long, 1, at(2025, 3, 31, 23, 30))
	f.signOffs(home, long, 1, at(2026, 4, 1, 0, 0))
	// Another tenant's sign-offs in the same month are not counted.
	f.signOffs(other, otherComp, 3, at(2026, 3, 2, 9, 0))

	f.passports(home, 3, at(2026, 1, 10, 10, 0), 2, at(2026, 2, 3, 10, 0))
	f.passports(other, 4, at(2026, 1, 10, 10, 0), 1, at(2026, 2, 3, 10, 0))
	// A check that found nothing is not a verification.
	f.exec(home, `INSERT INTO passport_checks (id, at, passport_tenant, channel, outcome) VALUES (?, ?, ?, 'code', 'not_confirmed')`,
		uuid.Must(uuid.NewV7()), at(2026, 2, 4, 10, 0), home.ID)

	f.session(home, at(2025, 12, 3, 10, 0), "completed", "attended", "attended", "absent", "cancelled")
	f.session(home, at(2025, 12, 10, 10, 0), "scheduled", "booked", "waiting")
	f.session(home, at(2025, 12, 17, 10, 0), "cancelled", "cancelled")

	today := at(2026, 3, 15, 0, 0)
	for _, c := range []struct {
		day  time.Time
		left bool
	}{
		{today, false},                   // expires today: already expired, not expiring
		{today.AddDate(0, 0, 1), false},  // 30
		{today.AddDate(0, 0, 30), false}, // 30
		{today.AddDate(0, 0, 31), false}, // 60
		{today.AddDate(0, 0, 60), false}, // 60
		{today.AddDate(0, 0, 61), false}, // 90
		{today.AddDate(0, 0, 90), false}, // 90
		{today.AddDate(0, 0, 91), false}, // beyond
		{today.AddDate(0, 0, 5), true},   // a leaver's
	} {
		f.expiringOn(home, comp, c.day, c.left)
	}

	got, err := f.service().Figures(moduletest.As(home, uuid.Nil), dashboard.Want{SignOffs: true, Expiring: true, Passports: true, Training: true})
	if err != nil {
		t.Fatal(err)
	}
	w := got.Window
	oct, mar, jan, feb, dec := monthOf(w, 2025, 10), monthOf(w, 2026, 3), monthOf(w, 2026, 1), monthOf(w, 2026, 2), monthOf(w, 2025, 12)
	wantSign := make([]int64, 12)
	wantSign[oct], wantSign[mar] = 2, 1
	if !slices.Equal(got.SignOffs, wantSign) {
		t.Errorf("sign-offs %v, want %v", got.SignOffs, wantSign)
	}
	if got.Issued[jan] != 3 || got.Verified[feb] != 6 || sum(got.Issued) != 3 || sum(got.Verified) != 6 {
		t.Errorf("issued %v, verified %v; want 3 in January, 6 in February", got.Issued, got.Verified)
	}
	want := dashboard.TrainingMonth{Sessions: 2, Booked: 4, Attended: 2, Absent: 1}
	if got.Training[dec] != want {
		t.Errorf("December's training %+v, want %+v", got.Training[dec], want)
	}
	if e := (dashboard.Expiring{In30: 2, In60: 4, In90: 6}); got.Expiring != e {
		t.Errorf("expiring %+v, want %+v", got.Expiring, e)
	}
}

func sum(v []int64) (n int64) {
	for _, x := range v {
		n += x
	}
	return n
}

func TestComplianceTakesEachMonthsLastPoint(t *testing.T) {
	f := newFixture(t)
	h := history{
		{Day: at(2026, 1, 5, 0, 0), Percent: 50, Valid: 5, Required: 10},
		{Day: at(2026, 1, 31, 0, 0), Percent: 80, Valid: 8, Required: 10},
		{Day: at(2026, 3, 14, 0, 0), Percent: 92.5, Valid: 37, Required: 40},
	}
	ends, ok, err := f.service(dashboard.WithCompliance(h)).Compliance(context.Background())
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	jan, feb := monthOf(dashboard.WindowAt(f.clock.Now()), 2026, 1), monthOf(dashboard.WindowAt(f.clock.Now()), 2026, 2)
	if p := ends[jan].Point; p == nil || p.Percent != 80 {
		t.Errorf("January %+v, want the point of 31 January", p)
	}
	if ends[feb].Point != nil {
		t.Errorf("February has a point: %+v", ends[feb].Point)
	}
	if p := ends[11].Point; p == nil || p.Valid != 37 {
		t.Errorf("March %+v", p)
	}
	if _, ok, _ := f.service().Compliance(context.Background()); ok {
		t.Error("compliance without a history")
	}
}

// site is the web application with the dashboard mounted.
func site(t *testing.T, f *fixture, svc *dashboard.Service) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	return webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{}, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "dashboard", FS: dashboard.Templates}},
		func(srv *web.Server) {
			dashboard.Routes(srv.Tenant, srv.TenantAPI, enf, holderCount{}, svc)
		})
}

type holderCount struct{}

func (holderCount) Count(context.Context) (int64, error) { return 42, nil }

func row(label string, cells ...string) string {
	var b strings.Builder
	b.WriteString(`<th scope="row" class="nhsuk-table__header">` + label + `</th>`)
	for _, c := range cells {
		b.WriteString(`<td class="nhsuk-table__cell nhsuk-table__cell--numeric">` + c + `</td>`)
	}
	return b.String()
}

func TestEachKindsDashboardShowsItsChartsToThoseWhoMayReadThem(t *testing.T) {
	f := newFixture(t)
	home := f.Tenant("home", tenants.KindCareHome)
	trust := f.Tenant("trust", tenants.KindPaediatricTrust)
	gp := f.Tenant("gp-practice", tenants.KindGPPractice)
	comp := f.Catalogue(home, "care", moduletest.Competency{Code: "MOVE"})["MOVE"]
	trustComp := f.Catalogue(trust, "care", moduletest.Competency{Code: "SUCT"})["SUCT"]
	s := site(t, f, f.service(dashboard.WithCompliance(history{{Day: at(2026, 2, 28, 0, 0), Percent: 87.5, Valid: 35, Required: 40}})))
	f.signOffs(home, comp, 4, at(2026, 2, 10, 9, 0))
	f.signOffs(trust, trustComp, 7, at(2026, 3, 2, 9, 0))
	f.session(home, at(2026, 1, 20, 10, 0), "completed", "attended", "absent")
	f.passports(gp, 2, at(2026, 3, 1, 10, 0), 1, at(2026, 3, 2, 10, 0))
	f.expiringOn(home, comp, at(2026, 4, 1, 0, 0), false)

	manager := f.Staff(home, "manager@home.test", "Home Manager", "home_manager")
	carer := f.Staff(home, "carer@home.test", "Care Staff", "care_staff")
	admin := f.Staff(trust, "admin@trust.test", "Trust Admin", "tenant_admin")
	reception := f.Staff(gp, "reception@gp.test", "Reception", "reception")
	admin2 := f.Staff(gp, "admin@gp.test", "Practice Admin", "practice_admin")

	r := s.Client(t, manager).Get("/t/home/")
	webtest.Expect(t, "care-home manager", r, 200,
		`id="chart-compliance"`, `Staff compliance over time`, row("February 2026", "87.5%", "35", "40"), row("January 2026", "No data", "No data", "No data"),
		`id="chart-expiring"`, row("Within 30 days", "1"),
		`id="chart-signoffs"`, row("February 2026", "4"),
		`id="chart-training"`, row("January 2026", "1", "1", "2", "50%"),
		`id="chart-passports"`, `April 2025 to March 2026`)
	if i, j := strings.Index(r.Body, "chart-compliance"), strings.Index(r.Body, "chart-signoffs"); i > j {
		t.Error("a care home's dashboard starts with compliance")
	}

	r = s.Client(t, carer).Get("/t/home/")
	webtest.Expect(t, "care staff", r, 200, `id="chart-training"`, `id="chart-passports"`)
	for _, absent := range []string{`chart-compliance`, `chart-signoffs`, `chart-expiring`} {
		if strings.Contains(r.Body, absent) {
			t.Errorf("care staff, who may not read records or staff, see %s", absent)
		}
	}

	r = s.Client(t, admin).Get("/t/trust/")
	webtest.Expect(t, "trust admin", r, 200, `id="chart-signoffs"`, row("March 2026", "7"), `id="chart-training"`, `id="chart-passports"`)
	if strings.Contains(r.Body, "chart-compliance") {
		t.Error("a trust's dashboard shows care-home compliance")
	}

	r = s.Client(t, admin2).Get("/t/gp-practice/")
	webtest.Expect(t, "GP practice admin", r, 200, `id="chart-passports"`, row("March 2026", "2", "2"))
	if strings.Contains(r.Body, "chart-signoffs") || strings.Contains(r.Body, "chart-training") {
		t.Error("a GP practice's dashboard shows skills charts")
	}
	r = s.Client(t, reception).Get("/t/gp-practice/")
	webtest.Expect(t, "reception", r, 200)
	if strings.Contains(r.Body, "cp-chart") {
		t.Error("reception, who may not read passports, sees charts")
	}
}

func TestNoComplianceChartWithoutAHistory(t *testing.T) {
	f := newFixture(t)
	home := f.Tenant("home", tenants.KindCareHome)
	s := site(t, f, f.service())
	manager := f.Staff(home, "manager@home.test", "Home Manager", "home_manager")
	r := s.Client(t, manager).Get("/t/home/")
	webtest.Expect(t, "", r, 200, `id="chart-signoffs"`)
	if strings.Contains(r.Body, "chart-compliance") {
		t.Error("compliance chart without a history")
	}
}
