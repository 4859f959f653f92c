package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// clock is a settable clock for the whole application.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// billedApp is testApp with billing on, against stripe-mock, and a clock the
// test moves.
func billedApp(t *testing.T) (*app, *web.Server, *clock) {
	t.Helper()
	base := os.Getenv("STRIPE_API_BASE")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STRIPE_API_BASE is not set: make test starts stripe-mock and sets it")
		}
		t.Skip("STRIPE_API_BASE is not set (make test-go starts stripe-mock)")
	}
	db := testdb.New(t)
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"CAREPASS_ENV": "development", "DATABASE_URL": db.AppURL, "VERIFY_PER_MINUTE": "100000",
			"STRIPE_SECRET_KEY": "sk_test_wiring", "STRIPE_API_BASE": base, "STRIPE_WEBHOOK_SECRET": "whsec_wiring",
			"STRIPE_PRICE_PRACTICE": "price_practice", "STRIPE_PRICE_CARE_HOME": "price_care_home",
			"STRIPE_PRICE_TRUST": "price_trust"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	a, err := assemble(context.Background(), cfg, slog.New(slog.NewJSONHandler(testLogOut(), nil)), db.Pool, db.Gorm, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seedDemo(context.Background(), a); err != nil {
		t.Fatalf("seed: %v", err)
	}
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	return a, srv, clk
}

// countHolders counts the tenant's holders in its own scope.
func countHolders(t *testing.T, a *app, slug string) int64 {
	t.Helper()
	ctx := context.Background()
	tn, err := a.tenants.BySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := a.db.Tx(tenants.WithTenant(ctx, tn), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM holders WHERE tenant_id = ?`, tn.ID).Scan(&n).Error
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBillingReadOnlyNeverHarmsCarers runs a trust past the end of its
// trial: its staff can still read, export and check passports, but not add
// or change; everyone in it is told why on every page; the holder's own
// passport and public verification of its carer passports are untouched;
// and people outside the trust learn nothing of its billing.
func TestBillingReadOnlyNeverHarmsCarers(t *testing.T) {
	a, srv, clk := billedApp(t)
	ctx := context.Background()
	const trust = "wrenford-childrens"
	// Sessions end as the clock moves on: sign in afresh after each move.
	educatorNow := func() *webtest.Client {
		c := webtest.NewClient(t, srv)
		signIn(t, c, demoEmail("practice_educator", "trust"))
		c.Get("/t/" + trust + "/holders/new")
		return c
	}
	educator := educatorNow()
	holderForm := url.Values{"given_name": {"Nia"}, "family_name": {"Bright"}, "dob_day": {"2"}, "dob_month": {"4"},
		"dob_year": {"1990"}, "role_in_care": {"parent"}}

	r := educator.Get("/t/" + trust + "/")
	webtest.Expect(t, "dashboard during the trial", r, http.StatusOK)
	if strings.Contains(r.Body, "read-only") {
		t.Fatal("a tenant in its trial must not be told it is read-only")
	}
	clk.add(25 * 24 * time.Hour)
	educator = educatorNow()
	webtest.Expect(t, "banner as the trial's end nears", educator.Get("/t/"+trust+"/"), http.StatusOK, "trial")

	clk.add(15 * 24 * time.Hour) // 40 days: the 30-day trial has ended
	educator = educatorNow()
	before := countHolders(t, a, trust)
	r = educator.PostForm("/t/"+trust+"/holders", holderForm)
	webtest.Expect(t, "adding a holder when read-only", r, http.StatusForbidden, "read-only", "Billing page")
	if after := countHolders(t, a, trust); after != before {
		t.Fatalf("holders %d → %d: a refused change stored something", before, after)
	}
	webtest.Expect(t, "reading holders when read-only", educator.Get("/t/"+trust+"/holders"), http.StatusOK)
	webtest.Expect(t, "every page says why", educator.Get("/t/"+trust+"/training"), http.StatusOK, "read-only")
	webtest.Expect(t, "checking a passport is exempt", educator.PostForm("/t/"+trust+"/check", url.Values{"code": {"NOT-A-CODE"}}),
		http.StatusOK)

	// The holder's own passport, and public checks of the trust's carer
	// passports, do not depend on the trust's billing.
	holder := webtest.NewClient(t, srv)
	signIn(t, holder, holderEmail)
	webtest.Expect(t, "the holder's own passport", holder.Get("/me/passport"), http.StatusOK)
	tn, err := a.tenants.BySlug(ctx, trust)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	if err := a.db.Tx(tenants.WithTenant(ctx, tn), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT code FROM carer_passports WHERE tenant_id = ? AND state = 'active' LIMIT 1`, tn.ID).Scan(&code).Error
	}); err != nil || code == "" {
		t.Fatalf("no active carer passport at the trust to check: %q %v", code, err)
	}
	anyone := webtest.NewClient(t, srv)
	webtest.Expect(t, "public verification", anyone.Get("/verify/"+code), http.StatusOK, "Registered carer")

	// Someone from another tenant is answered as if nothing were there.
	outsider := webtest.NewClient(t, srv)
	signIn(t, outsider, demoEmail("home_manager", "carehome"))
	outsider.Get("/account")
	r = outsider.PostForm("/t/"+trust+"/holders", holderForm)
	if r.Status != http.StatusNotFound || strings.Contains(r.Body, "read-only") {
		t.Fatalf("outsider adding a holder: %d, must be 404 without billing news", r.Status)
	}

	// Choosing a plan on the billing page lifts nothing by itself, but the
	// page itself stays open to the administrator.
	admin := webtest.NewClient(t, srv)
	signIn(t, admin, demoEmail("tenant_admin", "trust"))
	webtest.Expect(t, "billing page when read-only", admin.Get("/t/"+trust+"/billing"), http.StatusOK, "Trust")
}

// TestBillingLimitsAndFeaturesReachTheServices checks that the plan's
// limits are asked by the services that add holders and team members, and
// that a plan without the API refuses the JSON API to members only.
func TestBillingLimitsAndFeaturesReachTheServices(t *testing.T) {
	a, srv, _ := billedApp(t)
	ctx := context.Background()
	const charity = "lanternfield-carers" // the free Community plan: 250 active holders, 10 team members, no API
	tn, err := a.tenants.BySlug(ctx, charity)
	if err != nil {
		t.Fatal(err)
	}
	have := countHolders(t, a, charity)
	// Fill the charity to one place below its limit.
	if err := a.db.Tx(tenants.WithTenant(ctx, tn), func(tx *gorm.DB) error {
		for i := have; i < 249; i++ {
			person := uuid.Must(uuid.NewV7())
			if err := tx.Exec(`INSERT INTO persons (id, created_at) VALUES (?, now())`, person).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care, status, created_at, updated_at)
				VALUES (?, ?, ?, 'Filler', ?, 'unpaid_carer', 'active', now(), now())`,
				tn.ID, uuid.Must(uuid.NewV7()), person, "Number"+uuid.NewString()[:8]).Error; err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	officer := webtest.NewClient(t, srv)
	signIn(t, officer, demoEmail("passport_officer", "charity"))
	officer.Get("/t/" + charity + "/holders/new")
	add := func(given string) webtest.Response {
		return officer.PostForm("/t/"+charity+"/holders", url.Values{"given_name": {given}, "family_name": {"Limitson"},
			"dob_day": {given[len(given)-1:]}, "dob_month": {"1"}, "dob_year": {"1970"}, "role_in_care": {"unpaid_carer"}})
	}
	if r := add("Ann1"); r.Status != http.StatusSeeOther {
		t.Fatalf("the 250th holder: %d %s", r.Status, r.Body)
	}
	r := add("Bea2")
	webtest.Expect(t, "the 251st holder", r, http.StatusUnprocessableEntity, "allows up to 250 active passport holders", "Billing page")
	if n := countHolders(t, a, charity); n != 250 {
		t.Fatalf("holders after the refusal: %d, want 250", n)
	}

	admin := webtest.NewClient(t, srv)
	signIn(t, admin, demoEmail("charity_admin", "charity"))
	webtest.Expect(t, "members page", admin.Get("/t/"+charity+"/members"), http.StatusOK)
	// The Community plan has one care setting, and the charity has its centre.
	webtest.Expect(t, "a second care setting", admin.PostForm("/t/"+charity+"/compliance/homes", url.Values{"home_name": {"Second centre"}}),
		http.StatusUnprocessableEntity, "allows up to 1 care setting")
	webtest.Expect(t, "the API on a plan without it", admin.API("GET", "/api/v1/t/"+charity+"/members", ""),
		http.StatusForbidden, "The Carepass API is not part of")
	outsider := webtest.NewClient(t, srv)
	signIn(t, outsider, demoEmail("home_manager", "carehome"))
	if r := outsider.API("GET", "/api/v1/t/"+charity+"/members", ""); r.Status != http.StatusNotFound {
		t.Fatalf("outsider on the charity's API: %d, want 404", r.Status)
	}
	// A practice has the API.
	gp := webtest.NewClient(t, srv)
	signIn(t, gp, demoEmail("practice_admin", "gp"))
	webtest.Expect(t, "the API on the Practice plan", gp.API("GET", "/api/v1/t/kestrel-lane-surgery/members", ""), http.StatusOK)
}
