package stats_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/stats"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

var london, _ = time.LoadLocation("Europe/London")

type fixture struct {
	*moduletest.Env
	clock *moduletest.Clock
	svc   *stats.Service
	seq   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(time.Date(2026, 3, 15, 12, 0, 0, 0, london))
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	f.svc = stats.NewService(f.Scoped, f.Log, clock.Now, stats.Config{PerMinute: 1000, PerSecond: 1000})
	return f
}

func (f *fixture) tenant(slug string, kind tenants.Kind, region string) tenants.Tenant {
	f.T.Helper()
	tn := f.Tenant(slug, kind)
	if err := f.DB.Gorm.Exec(`UPDATE tenants SET region = ? WHERE id = ?`, region, tn.ID).Error; err != nil {
		f.T.Fatal(err)
	}
	return tn
}

func (f *fixture) exec(tn tenants.Tenant, sql string, args ...any) {
	f.T.Helper()
	f.In(tn, func(tx *gorm.DB) error { return tx.Exec(sql, args...).Error })
}

// passports issues n carer passports of tn at when, valid for a year unless
// state says otherwise, each confirmed by checks verifications.
func (f *fixture) passports(tn tenants.Tenant, n int, when time.Time, state string, checks int) {
	f.T.Helper()
	scheme := uuid.Must(uuid.NewV7())
	f.seq++
	f.exec(tn, `INSERT INTO schemes (tenant_id, id, name, audience, validity_kind, validity_days, created_at, updated_at)
		VALUES (?, ?, ?, 'adult_carer', 'days', 365, now(), now())`, tn.ID, scheme, fmt.Sprintf("Scheme %d", f.seq))
	reason := ""
	if state == "revoked" {
		reason = "no_longer_caring"
	}
	for i := 0; i < n; i++ {
		f.seq++
		h := f.Holder(tn, "Carer", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
		id := uuid.Must(uuid.NewV7())
		f.exec(tn, `INSERT INTO carer_passports (tenant_id, id, holder_id, person_id, scheme_id, code, holder_name, scheme_name,
				cared_for_name, relationship, valid_from, valid_until, state, revoked_reason, status_index, kid, qr, created_at, updated_at)
			SELECT ?, ?, h.id, h.person_id, ?, ?, 'A Carer', 'Carer passport', 'Someone', 'Parent', ?, ?, ?, ?, ?, 'k1', 'qr', ?, ?
			FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, id, scheme, fmt.Sprintf("CODE%012d", f.seq), when, when.AddDate(1, 0, 0), state, reason, f.seq, when, when, tn.ID, h)
		for j := 0; j < checks; j++ {
			f.exec(tn, `INSERT INTO passport_checks (id, at, passport_tenant, passport_id, channel, outcome) VALUES (?, ?, ?, ?, 'qr', 'confirmed')`,
				uuid.Must(uuid.NewV7()), when.Add(time.Hour), tn.ID, id)
		}
	}
}

// signOffs records n sign-offs in tn at when.
func (f *fixture) signOffs(tn tenants.Tenant, n int, when time.Time) {
	f.T.Helper()
	f.seq++
	comp := f.Catalogue(tn, fmt.Sprintf("cat-%d", f.seq), moduletest.Competency{Code: "SKILL"})["SKILL"]
	for i := 0; i < n; i++ {
		f.seq++
		h := f.Holder(tn, "Signed", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
		rec := f.Record(tn, h, comp, moduletest.Record{State: "competent", SignedOff: &when, Assessor: "Ada"})
		f.exec(tn, `INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at) VALUES (?, ?, ?, 'supervised_practice', 'competent', ?)`,
			tn.ID, uuid.Must(uuid.NewV7()), rec, when)
	}
}

func TestSuppressionInTheDatabase(t *testing.T) {
	f := newFixture(t)
	// Whole numbers are never half-way between two multiples of 5: a
	// remainder of 1 or 2 rounds down, 3 or 4 up.
	for n, want := range map[int64]string{0: "<5", 1: "<5", 2: "<5", 4: "<5", 5: "5", 6: "5", 7: "5", 8: "10", 10: "10",
		12: "10", 13: "15", 17: "15", 18: "20", 22: "20", 23: "25", 99: "100", 1002: "1000", 1003: "1005"} {
		var got string
		if err := f.DB.Gorm.Raw(`SELECT stats_suppress(?)`, n).Row().Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("stats_suppress(%d) = %q, want %q", n, got, want)
		}
	}
}

func row(snap stats.Snapshot, kind tenants.Kind, region *string) stats.Row {
	for _, r := range snap.Rows {
		if r.Kind == kind && ((r.Region == nil && region == nil) || (r.Region != nil && region != nil && *r.Region == *region)) {
			return r
		}
	}
	return stats.Row{}
}

func ptr(s string) *string { return &s }

func TestFiguresCoverEveryTenantWhileTheAppRoleStillSeesNone(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	leeds := f.tenant("leeds-care", tenants.KindCareHome, "West Yorkshire")
	york := f.tenant("york-care", tenants.KindCareHome, "North Yorkshire")
	trust := f.tenant("wren-trust", tenants.KindPaediatricTrust, "West Yorkshire")
	charity := f.tenant("lantern", tenants.KindCarersCharity, "")

	f.passports(leeds, 7, now.AddDate(0, -2, 0), "active", 1)   // 7 active, 7 verifications
	f.passports(leeds, 1, now.AddDate(0, -2, 0), "revoked", 0)  // issued, not active
	f.passports(leeds, 1, now.AddDate(-2, 0, 0), "active", 0)   // lapsed: issued, not active
	f.passports(york, 3, now.AddDate(0, -1, 0), "active", 0)    // 3
	f.passports(trust, 13, now.AddDate(0, -1, -3), "active", 0) // 13
	f.signOffs(trust, 12, now.AddDate(0, -1, 0))
	f.signOffs(charity, 8, now.AddDate(0, 0, -3))

	// Directly, with no tenant set, the app role sees none of it.
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM carer_passports`); n != 0 {
		t.Fatalf("the app role sees %d passports outside any tenant", n)
	}
	snap, err := f.svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  stats.Row
		want stats.Row
	}{
		{"West Yorkshire care homes", row(snap, tenants.KindCareHome, ptr("West Yorkshire")),
			stats.Row{Organisations: "<5", PassportsActive: "5", PassportsIssued: "10", SignedOff: "<5", Verifications: "5"}},
		{"North Yorkshire care homes", row(snap, tenants.KindCareHome, ptr("North Yorkshire")),
			stats.Row{Organisations: "<5", PassportsActive: "<5", PassportsIssued: "<5", SignedOff: "<5", Verifications: "<5"}},
		// 7 + 3 active, 9 + 3 issued: the subtotal is rounded from the exact total.
		{"care homes", row(snap, tenants.KindCareHome, nil),
			stats.Row{Organisations: "<5", PassportsActive: "10", PassportsIssued: "10", SignedOff: "<5", Verifications: "5"}},
		{"trusts", row(snap, tenants.KindPaediatricTrust, ptr("West Yorkshire")),
			stats.Row{Organisations: "<5", PassportsActive: "15", PassportsIssued: "15", SignedOff: "10", Verifications: "<5"}},
		{"charities, no region", row(snap, tenants.KindCarersCharity, ptr("")),
			stats.Row{Organisations: "<5", PassportsActive: "<5", PassportsIssued: "<5", SignedOff: "10", Verifications: "<5"}},
		// 23 active, 25 issued, 20 signed off, 7 verifications.
		{"everything", row(snap, "", nil),
			stats.Row{Organisations: "<5", PassportsActive: "25", PassportsIssued: "25", SignedOff: "20", Verifications: "5"}},
	} {
		c.got.Kind, c.got.Region = "", nil
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if len(snap.Months) != 12 || snap.Months[0].Month.Format("2006-01") != "2025-04" || snap.Months[11].Month.Format("2006-01") != "2026-03" {
		t.Fatalf("months %+v", snap.Months)
	}
	jan, feb, mar := snap.Months[9], snap.Months[10], snap.Months[11]
	if jan.PassportsIssued != "10" || feb.PassportsIssued != "15" || mar.SignedOff != "10" || jan.Verifications != "5" || feb.SignedOff != "10" {
		t.Errorf("January %+v, February %+v, March %+v", jan, feb, mar)
	}

	// The function puts the caller's scope back: in a tenant's transaction,
	// after it, the tenant still sees only its own rows.
	err = f.Scoped.Tx(moduletest.As(york, uuid.Nil), func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT * FROM platform_statistics(now())`).Error; err != nil {
			return err
		}
		var n int64
		var setting string
		if err := tx.Raw(`SELECT count(*), current_setting('app.tenant_id') FROM carer_passports`).Row().Scan(&n, &setting); err != nil {
			return err
		}
		if n != 3 || setting != york.ID.String() {
			t.Errorf("after the function, York sees %d passports with app.tenant_id %q", n, setting)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// And outside any tenant, still none.
	err = f.Scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM (SELECT * FROM platform_statistics(now())) s`).Row().Scan(&n); err != nil {
			return err
		}
		return tx.Raw(`SELECT count(*) FROM carer_passports`).Row().Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM record_events`); n != 0 {
		t.Errorf("the app role sees %d record events outside any tenant", n)
	}
}

func TestFiguresAreCachedForTheirTTL(t *testing.T) {
	f := newFixture(t)
	tn := f.tenant("leeds-care", tenants.KindCareHome, "West Yorkshire")
	f.passports(tn, 5, f.clock.Now().AddDate(0, 0, -1), "active", 0)
	first, err := f.svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.passports(tn, 5, f.clock.Now().AddDate(0, 0, -1), "active", 0)
	f.clock.Advance(4 * time.Minute)
	again, _ := f.svc.Snapshot(context.Background())
	if got := row(again, "", nil).PassportsActive; got != "5" || !again.ComputedAt.Equal(first.ComputedAt) {
		t.Errorf("within five minutes: %s computed %s, want the cached 5", got, again.ComputedAt)
	}
	f.clock.Advance(time.Minute)
	later, _ := f.svc.Snapshot(context.Background())
	if got := row(later, "", nil).PassportsActive; got != "10" || !later.ComputedAt.Equal(f.clock.Now().UTC().Truncate(time.Second)) {
		t.Errorf("after five minutes: %s computed %s, want 10 computed now", got, later.ComputedAt)
	}
}

// site is the web application with the statistics mounted, an operator and
// a tenant administrator.
func site(t *testing.T, f *fixture) (*webtest.Site, uuid.UUID, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	enf := f.Enforcers()
	operator := f.Account("operator@carepass.example", "Olu Operator")
	err := f.Scoped.Platform(ctx, func(tx *gorm.DB) error {
		if err := policy.ApplyPlatform(ctx, tx); err != nil {
			return err
		}
		return policy.AssignRole(ctx, tx, policy.PlatformDomain, operator.String(), policy.OperatorRole)
	})
	if err != nil {
		t.Fatal(err)
	}
	enf.Invalidate(policy.PlatformDomain)
	tn := f.tenant("some-trust", tenants.KindPaediatricTrust, "=HYPERLINK(\"http://evil.example\")")
	admin := f.Staff(tn, "admin@trust.example", "Ada Admin", "tenant_admin")
	s := webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{tn}, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "stats", FS: stats.Templates}},
		func(srv *web.Server) {
			stats.Routes(stats.Routers{Operator: srv.Operator, Public: srv.Public, API: srv.API}, f.svc, enf)
		})
	f.passports(tn, 7, f.clock.Now().AddDate(0, -1, 0), "active", 2)
	f.signOffs(tn, 13, f.clock.Now().AddDate(0, 0, -2))
	return s, operator, admin
}

func TestOnlyOperatorsSeePlatformStatisticsAndPublishThem(t *testing.T) {
	f := newFixture(t)
	s, operator, admin := site(t, f)
	anon := s.Client(t, uuid.Nil)
	staff := s.Client(t, admin)
	op := s.Client(t, operator)

	// Off by default: nobody reaches the public page, its CSV or its JSON.
	for _, c := range []*webtest.Client{anon, staff, op} {
		for _, p := range []string{"/statistics", "/statistics.csv", "/api/v1/statistics"} {
			if r := c.Get(p); r.Status != 404 {
				t.Errorf("GET %s while unpublished: %d, want 404", p, r.Status)
			}
		}
	}
	if r := anon.Get("/operator/statistics"); r.Status != 302 {
		t.Errorf("signed out: %d, want a redirect to sign in", r.Status)
	}
	webtest.Expect(t, "tenant admin", staff.Get("/operator/statistics"), 403)
	webtest.Expect(t, "tenant admin", staff.Get("/operator/statistics.csv"), 403)
	staff.Get("/statistics")
	webtest.Expect(t, "tenant admin publishing", staff.PostForm("/operator/statistics/public", url.Values{"published": {"yes"}}), 403)

	r := op.Get("/operator/statistics")
	webtest.Expect(t, "operator", r, 200, "Platform statistics", "Not published", "Figures computed on 15 March 2026 at 12:00",
		`<td class="nhsuk-table__cell nhsuk-table__cell--numeric">5</td>`, `<td class="nhsuk-table__cell nhsuk-table__cell--numeric">15</td>`)
	webtest.Expect(t, "no choice", op.PostForm("/operator/statistics/public", nil), 422, "Select whether anyone may see the public statistics page")
	r = op.PostForm("/operator/statistics/public", url.Values{"published": {"yes"}})
	if r.Status != 303 || r.Location != "/operator/statistics" {
		t.Fatalf("publish: %d to %q", r.Status, r.Location)
	}
	webtest.Expect(t, "operator, published", op.Get("/operator/statistics"), 200, "Published", "is now published")

	page := anon.Get("/statistics")
	webtest.Expect(t, "public page", page, 200, "Carer passports in numbers", "Figures computed on 15 March 2026 at 12:00",
		`&lt;5`, `role="img"`, `Download these figures (CSV)`)
	if strings.Contains(page.Body, `name="published"`) {
		t.Error("the public page offers the operator's switch")
	}
	csvBody := anon.Get("/statistics.csv")
	webtest.Expect(t, "public CSV", csvBody, 200)
	if ct := csvBody.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV content type %q", ct)
	}
	js := anon.Get("/api/v1/statistics")
	webtest.Expect(t, "public JSON", js, 200, `"suppression"`)

	// No raw count leaves: 7 passports, 14 checks, 13 sign-offs appear only
	// as 5, 15 and 15 (and the page's, CSV's and JSON's figures are all
	// "<5" or multiples of 5).
	recs, err := csv.NewReader(strings.NewReader(csvBody.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "computed_at,figure,kind,region,month,value" {
		t.Errorf("CSV header %v", recs[0])
	}
	found := map[string]string{}
	for _, rec := range recs[1:] {
		checkFigure(t, "CSV "+strings.Join(rec, ","), rec[5])
		if rec[2] == "paediatric_trust" && rec[4] == "" && rec[3] != "all" {
			found[rec[1]] = rec[5]
			if !strings.HasPrefix(rec[3], "'=") {
				t.Errorf("formula in a CSV region not neutralised: %q", rec[3])
			}
		}
	}
	if found["passports_active"] != "5" || found["competencies_signed_off"] != "15" || found["verifications"] != "15" {
		t.Errorf("CSV figures %v", found)
	}
	var doc struct {
		ComputedAt string                     `json:"computed_at"`
		Rows       []map[string]*string       `json:"by_kind_and_region"`
		Months     []map[string]string        `json:"by_month"`
		Other      map[string]json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal([]byte(js.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ComputedAt != "2026-03-15T12:00:00Z" || len(doc.Rows) == 0 || len(doc.Months) != 12 {
		t.Errorf("JSON %s", js.Body)
	}
	for _, r := range doc.Rows {
		for _, k := range []string{"organisations", "passports_active", "passports_issued", "competencies_signed_off", "verifications"} {
			if r[k] == nil {
				t.Errorf("JSON row lacks %s", k)
				continue
			}
			checkFigure(t, "JSON "+k, *r[k])
		}
	}
	for _, m := range doc.Months {
		for _, k := range []string{"passports_issued", "competencies_signed_off", "verifications"} {
			checkFigure(t, "JSON month "+k, m[k])
		}
	}
	for _, cell := range regexp.MustCompile(`nhsuk-table__cell--numeric">([^<]*)<`).FindAllStringSubmatch(page.Body, -1) {
		checkFigure(t, "page", strings.ReplaceAll(cell[1], "&lt;", "<"))
	}
	for _, raw := range []string{">7<", ">13<", ">14<"} {
		if strings.Contains(page.Body, raw) {
			t.Errorf("a raw count %s is on the page", raw)
		}
	}
	for _, raw := range []string{`"7"`, `"13"`, `"14"`, ":7", ":13", ":14"} {
		if strings.Contains(js.Body, raw) {
			t.Errorf("a raw count %s is in the JSON", raw)
		}
	}

	// The switch is audited in the platform's trail.
	var actions []string
	if err := f.DB.Gorm.Raw(`SELECT action FROM platform_audit_events ORDER BY seq`).Scan(&actions).Error; err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, ",") != "statistics.public.enable" {
		t.Errorf("platform audit %v", actions)
	}

	// Unpublished again: gone.
	op.Get("/operator/statistics")
	op.PostForm("/operator/statistics/public", url.Values{"published": {"no"}})
	webtest.Expect(t, "unpublished", anon.Get("/statistics"), 404)
	webtest.Expect(t, "unpublished CSV", anon.Get("/statistics.csv"), 404)
}

// checkFigure fails unless v is a published figure: "<5" or a multiple of 5.
func checkFigure(t *testing.T, where, v string) {
	t.Helper()
	if v == "<5" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 5 || n%5 != 0 {
		t.Errorf("%s: %q is not a suppressed figure", where, v)
	}
}

func TestPublicStatisticsAreThrottled(t *testing.T) {
	f := newFixture(t)
	f.svc = stats.NewService(f.Scoped, f.Log, f.clock.Now, stats.Config{PerMinute: 2, PerSecond: 100})
	s, operator, _ := site(t, f)
	op := s.Client(t, operator)
	op.Get("/operator/statistics")
	op.PostForm("/operator/statistics/public", url.Values{"published": {"yes"}})
	anon := s.Client(t, uuid.Nil)
	webtest.Expect(t, "first", anon.Get("/statistics"), 200)
	webtest.Expect(t, "second", anon.Get("/statistics.csv"), 200)
	webtest.Expect(t, "third", anon.Get("/api/v1/statistics"), 429)
	f.clock.Advance(time.Minute)
	webtest.Expect(t, "a minute later", anon.Get("/statistics"), 200)
}
