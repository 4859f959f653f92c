package billing_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

type site = webtest.Site

func (e *env) site(t *testing.T) *site { return e.siteWith(t, e.svc) }

// siteWith is the real web application with billing mounted as the lead
// mounts it (Guard first on both tenant routers), plus stand-ins for
// other modules' routes: a tenant page and API route that change records,
// a check exempt from Guard, a holder's own page under /me and the public
// verification API.
func (e *env) siteWith(t *testing.T, svc *billing.Service) *site {
	t.Helper()
	enf := e.Enforcers()
	e.Invalidate = enf.Invalidate
	done := func(c *fiber.Ctx) error { return c.SendString("done") }
	return webtest.NewSite(t, e.Scoped, e.Accounts,
		web.Deps{Pool: e.DB.Pool, Members: webtest.Memberships{}, Tenants: e.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "billing", FS: billing.Templates}},
		func(srv *web.Server) {
			srv.Tenant.Use(svc.Guard())
			srv.TenantAPI.Use(svc.Guard())
			billing.Routes(srv.Tenant, svc, enf)
			billing.OperatorRoutes(srv.Operator, svc, enf)
			billing.WebhookRoutes(srv.Public, svc)
			srv.Stateless(billing.WebhookPath)

			srv.Tenant.Get("/notes", done)
			srv.Tenant.Post("/notes", done)
			srv.TenantAPI.Post("/notes", done)
			srv.Tenant.Post("/carers/check", done)
			srv.App.Group("/me").Post("/shares", policy.SignedIn, done)
			srv.Public.Post("/api/v1/verify", done)
			srv.Stateless("/api/v1/verify")
		})
}

// browser is a client of s signed in as id that has picked up a CSRF token.
func browser(t *testing.T, s *site, id uuid.UUID) *webtest.Client {
	t.Helper()
	b := s.Client(t, id)
	b.Get("/t/no-such-tenant-at-all")
	return b
}

func TestBillingPage(t *testing.T) {
	e := newEnv(t)
	home := e.NamedTenant("rose-homes", "Rose Homes", tenants.KindCareHome)
	admin := e.Staff(home, "admin@rose.example", "Ada Admin", "provider_admin")
	carer := e.Staff(home, "carer@rose.example", "Cal Carer", "care_staff")
	e.holders(home, 3)
	s := e.site(t)
	b := browser(t, s, admin)

	r := b.Get("/t/rose-homes/billing")
	webtest.Expect(t, "the billing page", r, http.StatusOK, "<h1>Billing</h1>", "Care home", "Free trial",
		"Active passport holders", ">3<", "No limit", "Team members: up to 100", "Choose a plan", `value="care_home"`, `value="trust"`,
		"Billed for each active holder", "(your plan)", `name="nonce"`, "Single sign-on: not included")
	if strings.Contains(r.Body, `value="community"`) || strings.Contains(r.Body, `value="practice"`) {
		t.Error("plans for other kinds are offered")
	}
	if strings.Contains(r.Body, "Manage payment details") {
		t.Error("the portal is offered before there is a customer")
	}
	webtest.Expect(t, "staff without billing:manage", browser(t, s, carer).Get("/t/rose-homes/billing"), http.StatusForbidden)
	webtest.Expect(t, "staff without billing:manage", browser(t, s, carer).PostForm("/t/rose-homes/billing/plan",
		url.Values{"plan": {"care_home"}}), http.StatusForbidden)
	if r := s.Client(t, uuid.Nil).Get("/t/rose-homes/billing"); r.Status != http.StatusFound {
		t.Errorf("signed out: %d; want a redirect to sign in", r.Status)
	}

	r = b.PostForm("/t/rose-homes/billing/plan", url.Values{"nonce": {nonceA}})
	webtest.Expect(t, "no plan chosen", r, http.StatusUnprocessableEntity, "There is a problem", `href="#plan"`, "Choose a plan",
		"nhsuk-form-group--error")
	r = b.PostForm("/t/rose-homes/billing/plan", url.Values{"plan": {"practice"}, "nonce": {nonceA}})
	webtest.Expect(t, "a plan for another kind", r, http.StatusUnprocessableEntity, "Choose a plan")

	r = b.PostForm("/t/rose-homes/billing/plan", url.Values{"plan": {"care_home"}, "nonce": {nonceA}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "https://checkout.stripe.com/") {
		t.Fatalf("choosing the care-home plan: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	s0 := e.rec.sent("POST", "/v1/checkout/sessions")
	if len(s0) != 1 || s0[0].Form.Get("line_items[0][quantity]") != "3" || s0[0].Form.Get("line_items[0][price]") != carePrice {
		t.Errorf("a per-seat checkout for 3 holders sent %+v", s0)
	}

	r = b.Get("/t/rose-homes/billing?checkout=done")
	webtest.Expect(t, "back from Stripe", r, http.StatusOK, "Stripe has taken your details", "Manage payment details and invoices")
	r = b.PostForm("/t/rose-homes/billing/portal", url.Values{"nonce": {nonceB}})
	if r.Status != http.StatusSeeOther || r.Location == "" {
		t.Errorf("portal: %d %q", r.Status, r.Location)
	}

	// Stripe out of reach: the page again, saying so.
	down := browser(t, e.siteWith(t, e.service("http://127.0.0.1:1")), admin)
	down.Get("/t/rose-homes/billing")
	r = down.PostForm("/t/rose-homes/billing/plan", url.Values{"plan": {"trust"}, "nonce": {nonceB}})
	webtest.Expect(t, "Stripe down", r, http.StatusServiceUnavailable, "There is a problem", "could not reach Stripe",
		"nothing has been changed", "<h1>Billing</h1>")
}

func TestOperatorSeesEveryTenantsBilling(t *testing.T) {
	e := newEnv(t)
	gp := e.NamedTenant("gp-lime", "Lime Surgery", tenants.KindGPPractice)
	e.NamedTenant("carers-lime", "Lime Carers", tenants.KindCarersCharity)
	e.link(gp, "cus_lime")
	e.mustDeliver(event("evt_lime_1", "customer.subscription.created", subscriptionObject("sub_lime1", "cus_lime", nil)))
	admin := e.Staff(gp, "admin@lime.example", "Ada Admin", "practice_admin")
	operator := e.Account("operator@carepass.example", "Olu Operator")
	err := e.Scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		if err := policy.ApplyPlatform(context.Background(), tx); err != nil {
			return err
		}
		return policy.AssignRole(context.Background(), tx, policy.PlatformDomain, operator.String(), policy.OperatorRole)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := e.site(t)
	r := browser(t, s, operator).Get("/operator/billing")
	webtest.Expect(t, "the operator's view", r, http.StatusOK, "Billing of every organisation", "2 organisations",
		"Lime Surgery", "Lime Carers", "Practice", "Community", "cus_lime", "customer.subscription.created", "evt_lime_1", "Active")
	webtest.Expect(t, "a tenant's administrator", browser(t, s, admin).Get("/operator/billing"), http.StatusForbidden)
}

func TestPastDueGivesGraceThenOnlyStaffChangesAreRefused(t *testing.T) {
	tr := &truth{}
	e := newEnv(t, func(c *billing.Config) {
		c.Subscriptions = tr
		c.Exempt = []string{"/carers/check"}
	})
	gp := e.NamedTenant("gp-cedar", "Cedar Surgery", tenants.KindGPPractice)
	e.link(gp, "cus_cedar")
	admin := e.Staff(gp, "admin@cedar.example", "Ada Admin", "practice_admin")
	holder := e.Account("holder@cedar.example", "Hana Holder")
	e.Holder(gp, "Hana", "Holder", holder)
	s := e.site(t)
	staff, own, public := browser(t, s, admin), browser(t, s, holder), browser(t, s, uuid.Nil)

	sub := billing.Subscription{ID: "sub_cedar1", CustomerID: "cus_cedar", Status: "past_due", Created: e.clock.Now().Add(-60 * 24 * time.Hour),
		PriceID: fixture.Price, ItemID: "si_cedar1", Quantity: 1}
	tr.set(sub)
	e.mustDeliver(event("evt_cedar_1", "invoice.payment_failed", invoiceObject("in_cedar1", "cus_cedar", "sub_cedar1")))
	start := e.clock.Now()
	st := e.status(gp)
	if st.State != billing.StatePastDue || st.ReadOnly || st.GraceEndsAt == nil || !st.GraceEndsAt.Equal(start.Add(14*24*time.Hour)) {
		t.Fatalf("past due: %+v", st)
	}
	b, _ := e.svc.Banner(context.Background(), gp.ID)
	if !strings.Contains(b, "Payment for Carepass is overdue") || !strings.Contains(b, st.GraceEndsAt.In(londonTZ(t)).Format("2 January 2006")) {
		t.Errorf("banner: %q", b)
	}

	changes := func(want int, what string) {
		t.Helper()
		if r := staff.PostForm("/t/gp-cedar/notes", nil); r.Status != want {
			t.Errorf("%s: a staff change answered %d; want %d\n%s", what, r.Status, want, r.Body)
		}
	}
	e.clock.Set(start.Add(14*24*time.Hour - time.Second))
	changes(http.StatusOK, "a second before the grace period ends")

	e.clock.Set(start.Add(14 * 24 * time.Hour))
	st = e.status(gp)
	if !st.ReadOnly || st.Effective != billing.StateUnpaid || st.State != billing.StatePastDue {
		t.Fatalf("after the grace period: %+v", st)
	}
	r := staff.PostForm("/t/gp-cedar/notes", nil)
	webtest.Expect(t, "a staff change when read-only", r, http.StatusForbidden,
		"Cedar Surgery is read-only because payment for Carepass is overdue", "viewed and exported")
	r = staff.API(http.MethodPost, "/api/v1/t/gp-cedar/notes", `{}`)
	webtest.Expect(t, "an API change when read-only", r, http.StatusForbidden, `"code":"read_only"`)
	webtest.Expect(t, "reading", staff.Get("/t/gp-cedar/notes"), http.StatusOK, "done")
	webtest.Expect(t, "an exempt check", staff.PostForm("/t/gp-cedar/carers/check", nil), http.StatusOK, "done")
	if r := staff.PostForm("/t/gp-cedar/billing/portal", url.Values{"nonce": {nonceA}}); r.Status != http.StatusSeeOther {
		t.Errorf("the billing portal when read-only: %d; want a redirect to Stripe", r.Status)
	}
	// Guard is on the tenant routers only: a holder's own pages and
	// public verification carry on.
	webtest.Expect(t, "a holder's own page", own.PostForm("/me/shares", nil), http.StatusOK, "done")
	webtest.Expect(t, "public verification", public.API(http.MethodPost, "/api/v1/verify", `{}`), http.StatusOK, "done")
	err := e.Scoped.Tx(ctx(gp, uuid.Nil), func(tx *gorm.DB) error {
		return e.svc.Allow(ctx(gp, uuid.Nil), tx, billing.LimitHolders, 1)
	})
	if err == nil {
		t.Error("Allow let a read-only tenant add a holder")
	}

	// Paid: changes are allowed again.
	sub.Status = "active"
	tr.set(sub)
	e.mustDeliver(event("evt_cedar_2", "invoice.paid", invoiceObject("in_cedar2", "cus_cedar", "sub_cedar1")))
	if st := e.status(gp); st.State != billing.StateActive || st.ReadOnly || st.PastDueSince != nil {
		t.Fatalf("after payment: %+v", st)
	}
	changes(http.StatusOK, "after payment")
	if b, _ := e.svc.Banner(context.Background(), gp.ID); b != "" {
		t.Errorf("banner after payment: %q", b)
	}
}

func TestGuardWithoutBillingLetsEverythingThrough(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-birch", tenants.KindGPPractice)
	admin := e.Staff(gp, "admin@birch.example", "Ada Admin", "practice_admin")
	st := e.status(gp)
	e.clock.Set(st.TrialEndsAt.Add(time.Hour)) // the trial has ended
	off := billing.New(e.Scoped, e.Log, nil, e.cfg)
	webtest.Expect(t, "billing disabled", browser(t, e.siteWith(t, off), admin).PostForm("/t/gp-birch/notes", nil), http.StatusOK)
	webtest.Expect(t, "billing enabled", browser(t, e.site(t), admin).PostForm("/t/gp-birch/notes", nil), http.StatusForbidden,
		"its free trial of Carepass has ended")
	r := browser(t, e.siteWith(t, off), admin).Get("/t/gp-birch/billing")
	webtest.Expect(t, "the billing page, billing disabled", r, http.StatusOK, "Billing is not set up")
}

func londonTZ(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
