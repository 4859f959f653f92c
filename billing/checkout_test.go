package billing_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

const nonceA, nonceB = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"

func TestCheckoutCreatesTheCustomerOnceAndReusesIt(t *testing.T) {
	e := newEnv(t)
	gp := e.NamedTenant("gp-oak", "Oak Surgery", tenants.KindGPPractice)
	admin := e.Staff(gp, "admin@oak.example", "Ada Admin", "practice_admin")
	c := ctx(gp, admin)

	ch, err := e.svc.ChoosePlan(c, "practice", nonceA)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.RedirectURL, "https://checkout.stripe.com/") {
		t.Fatalf("redirect to %q; want Stripe Checkout", ch.RedirectURL)
	}
	customers := e.rec.sent("POST", "/v1/customers")
	sessions := e.rec.sent("POST", "/v1/checkout/sessions")
	if len(customers) != 1 || len(sessions) != 1 {
		t.Fatalf("%d customers and %d sessions created; want 1 and 1", len(customers), len(sessions))
	}
	day := e.clock.Now().UTC().Truncate(24 * time.Hour).Format("20060102T150405")
	if got, want := customers[0].Key, billing.IdempotencyKey("customer", gp.ID.String(), day); got != want {
		t.Errorf("customer key %q; want %q", got, want)
	}
	if customers[0].Form.Get("metadata[tenant_id]") != gp.ID.String() || customers[0].Form.Get("name") != "Oak Surgery" {
		t.Errorf("customer created with %v", customers[0].Form)
	}
	st := e.status(gp)
	if !strings.HasPrefix(st.CustomerID, "cus_") {
		t.Fatalf("no customer stored: %+v", st)
	}
	s := sessions[0]
	if got, want := s.Key, billing.IdempotencyKey("checkout", gp.ID.String(), "practice", "nonce:"+nonceA); got != want {
		t.Errorf("checkout key %q; want %q", got, want)
	}
	for field, want := range map[string]string{
		"mode":                                   "subscription",
		"customer":                               st.CustomerID,
		"client_reference_id":                    gp.ID.String(),
		"metadata[tenant_id]":                    gp.ID.String(),
		"metadata[plan]":                         "practice",
		"subscription_data[metadata][tenant_id]": gp.ID.String(),
		"line_items[0][price]":                   fixture.Price,
		"line_items[0][quantity]":                "1",
		"success_url":                            publicURL + "/t/gp-oak/billing?checkout=done",
		"cancel_url":                             publicURL + "/t/gp-oak/billing?checkout=cancelled",
	} {
		if got := s.Form.Get(field); got != want {
			t.Errorf("checkout %s = %q; want %q", field, got, want)
		}
	}
	// The rest of the trial carries over into Stripe's.
	if got := s.Form.Get("subscription_data[trial_end]"); got == "" || got != formatUnix(*st.TrialEndsAt) {
		t.Errorf("trial_end %q; want the local trial's end %v", got, st.TrialEndsAt)
	}
	if ev := e.LastEvent(gp, "billing.checkout"); ev.Detail["plan"] != "practice" || ev.Detail["customer"] != st.CustomerID {
		t.Errorf("audit: %+v", ev)
	}

	// A double click sends the same request again: the same key.
	if _, err := e.svc.ChoosePlan(c, "practice", nonceA); err != nil {
		t.Fatal(err)
	}
	// Another visit to the page: a new nonce, a new session, the same customer.
	if _, err := e.svc.ChoosePlan(c, "trust", nonceB); !errs.Is(err, errs.Invalid) {
		t.Errorf("a GP practice choosing the trust plan: %v; want refused", err)
	}
	if _, err := e.svc.ChoosePlan(c, "practice", nonceB); err != nil {
		t.Fatal(err)
	}
	if n := len(e.rec.sent("POST", "/v1/customers")); n != 1 {
		t.Errorf("%d customers created over three checkouts; want 1", n)
	}
	sessions = e.rec.sent("POST", "/v1/checkout/sessions")
	if len(sessions) != 3 {
		t.Fatalf("%d checkout requests; want 3", len(sessions))
	}
	if sessions[1].Key != sessions[0].Key {
		t.Errorf("a double click sent keys %q and %q", sessions[0].Key, sessions[1].Key)
	}
	if sessions[2].Key == sessions[0].Key {
		t.Error("a new page's checkout reused the old key")
	}
	for i, s := range sessions {
		if s.Form.Get("customer") != st.CustomerID {
			t.Errorf("checkout %d for customer %q; want %q", i, s.Form.Get("customer"), st.CustomerID)
		}
	}
	if got := e.status(gp).CustomerID; got != st.CustomerID {
		t.Errorf("customer changed from %s to %s", st.CustomerID, got)
	}
	// Without a nonce, the key still repeats within ten minutes.
	e.svc.ChoosePlan(c, "practice", "")
	e.svc.ChoosePlan(c, "practice", "not a nonce")
	sessions = e.rec.sent("POST", "/v1/checkout/sessions")
	if sessions[3].Key != sessions[4].Key || sessions[3].Key == sessions[0].Key {
		t.Errorf("keys without a nonce: %q %q", sessions[3].Key, sessions[4].Key)
	}
}

func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestIdempotencyKeysAreDeterministic(t *testing.T) {
	a := billing.IdempotencyKey("checkout", "t1", "practice", "nonce:x")
	if a != billing.IdempotencyKey("checkout", "t1", "practice", "nonce:x") {
		t.Error("the same inputs gave different keys")
	}
	for _, other := range []string{
		billing.IdempotencyKey("checkout", "t2", "practice", "nonce:x"),
		billing.IdempotencyKey("checkout", "t1", "trust", "nonce:x"),
		billing.IdempotencyKey("checkout", "t1", "practice", "nonce:y"),
		billing.IdempotencyKey("portal", "t1", "practice", "nonce:x"),
		billing.IdempotencyKey("checkout", "t1practice", "", "nonce:x"),
	} {
		if other == a {
			t.Errorf("different inputs gave the same key %s", a)
		}
	}
	if len(a) > 255 || !strings.HasPrefix(a, "carepass-checkout-") {
		t.Errorf("key %q", a)
	}
}

func TestPortalNeedsACustomerAndReturnsToBilling(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-elm", tenants.KindGPPractice)
	admin := e.Staff(gp, "admin@elm.example", "Ada Admin", "practice_admin")
	c := ctx(gp, admin)
	if _, err := e.svc.Portal(c, nonceA); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "Choose a plan first") {
		t.Fatalf("portal without a customer: %v", err)
	}
	e.link(gp, "cus_elm1")
	url, err := e.svc.Portal(c, nonceA)
	if err != nil || url == "" {
		t.Fatalf("portal: %q %v", url, err)
	}
	calls := e.rec.sent("POST", "/v1/billing_portal/sessions")
	if len(calls) != 1 {
		t.Fatalf("%d portal sessions", len(calls))
	}
	if calls[0].Form.Get("customer") != "cus_elm1" || calls[0].Form.Get("return_url") != publicURL+"/t/gp-elm/billing" {
		t.Errorf("portal session with %v", calls[0].Form)
	}
	if want := billing.IdempotencyKey("portal", gp.ID.String(), "cus_elm1", "nonce:"+nonceA); calls[0].Key != want {
		t.Errorf("portal key %q; want %q", calls[0].Key, want)
	}
	if n := e.actions(gp, "billing.portal"); n != 1 {
		t.Errorf("%d portal audit events", n)
	}
}

func TestStripeUnreachableChangesNothing(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-ash", tenants.KindGPPractice)
	admin := e.Staff(gp, "admin@ash.example", "Ada Admin", "practice_admin")
	down := e.service("http://127.0.0.1:1") // nothing listens there
	before := len(e.Events(gp))

	_, err := down.ChoosePlan(ctx(gp, admin), "practice", nonceA)
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(errs.MessageOf(err), "could not reach Stripe") ||
		!strings.Contains(errs.MessageOf(err), "nothing has been changed") {
		t.Fatalf("checkout with Stripe down: %v", err)
	}
	if st := e.status(gp); st.CustomerID != "" || st.Stored {
		t.Errorf("something was stored: %+v", st)
	}
	if after := len(e.Events(gp)); after != before {
		t.Errorf("%d audit events were written", after-before)
	}
	// With a customer already: the checkout session fails, still nothing stored.
	e.link(gp, "cus_ash1")
	if _, err := down.ChoosePlan(ctx(gp, admin), "practice", nonceA); !errs.Is(err, errs.Unavailable) {
		t.Errorf("checkout: %v", err)
	}
	if _, err := down.Portal(ctx(gp, admin), nonceA); !errs.Is(err, errs.Unavailable) {
		t.Errorf("portal: %v", err)
	}
	if after := len(e.Events(gp)); after != before {
		t.Errorf("%d audit events were written", after-before)
	}
	if _, err := down.Reconcile(context.Background()); err != nil {
		t.Errorf("reconcile must report per tenant, not fail: %v", err)
	}
}

func TestAPlanTheUsageDoesNotFitIsRefused(t *testing.T) {
	e := newEnv(t)
	charity := e.NamedTenant("carers-east", "Carers East", tenants.KindCarersCharity)
	admin := e.Staff(charity, "admin@east.example", "Ada Admin", "charity_admin")
	// The charity grew on the practice plan and now has 260 holders.
	e.link(charity, "cus_east1")
	if err := e.DB.Gorm.Exec(`UPDATE billing_accounts SET plan = 'practice' WHERE billed_tenant = ?`, charity.ID).Error; err != nil {
		t.Fatal(err)
	}
	e.holders(charity, 260)

	_, err := e.svc.ChoosePlan(ctx(charity, admin), "community", nonceA)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("moving 260 holders to a plan of 250: %v", err)
	}
	fields := errs.FieldsOf(err)
	if len(fields) != 1 || fields[0].Field != "plan" ||
		!strings.Contains(fields[0].Message, "The Community plan allows up to 250 active passport holders, but Carers East has 260") {
		t.Errorf("refusal: %+v", fields)
	}
	if st := e.status(charity); st.Plan.Key != "practice" {
		t.Errorf("plan changed to %s", st.Plan.Key)
	}
	if n := len(e.rec.calls); n != 0 {
		t.Errorf("%d calls to Stripe for a refused change", n)
	}
}

func TestAFreePlanIsTakenAtOnceWithoutASubscription(t *testing.T) {
	e := newEnv(t)
	charity := e.NamedTenant("carers-west", "Carers West", tenants.KindCarersCharity)
	admin := e.Staff(charity, "admin@west.example", "Ada Admin", "charity_admin")
	e.link(charity, "cus_west1")
	if err := e.DB.Gorm.Exec(`UPDATE billing_accounts SET plan = 'practice' WHERE billed_tenant = ?`, charity.ID).Error; err != nil {
		t.Fatal(err)
	}
	ch, err := e.svc.ChoosePlan(ctx(charity, admin), "community", nonceA)
	if err != nil || ch.RedirectURL != "" || !strings.Contains(ch.Message, "now on the Community plan") {
		t.Fatalf("to the free plan: %+v %v", ch, err)
	}
	if st := e.status(charity); st.Plan.Key != "community" || st.State != billing.StateActive || st.CustomerID != "cus_west1" {
		t.Errorf("after: %+v", st)
	}
	if ev := e.LastEvent(charity, "billing.plan_change"); ev.Detail["from"] != "practice" || ev.Detail["plan"] != "community" {
		t.Errorf("audit: %+v", ev)
	}
	if _, err := e.svc.ChoosePlan(ctx(charity, admin), "community", nonceA); !errs.Is(err, errs.Invalid) {
		t.Errorf("choosing the plan it is on: %v", err)
	}
}

func TestChangingPlanWithALiveSubscriptionChangesItInStripe(t *testing.T) {
	e := newEnv(t, func(c *billing.Config) {
		// The fixture's price is the care-home plan's here.
		c.Prices = map[string]string{"practice": "price_practice_test", "care_home": fixture.Price, "trust": trustPrice}
	})
	home := e.Tenant("homes-change", tenants.KindCareHome)
	admin := e.Staff(home, "admin@change.example", "Ada Admin", "provider_admin")
	e.link(home, "cus_change")
	e.mustDeliver(event("evt_change_1", "customer.subscription.created", subscriptionObject("sub_change1", "cus_change", nil)))
	if st := e.status(home); st.Plan.Key != "care_home" || !st.LiveSubscription() {
		t.Fatalf("subscribed: %+v", st)
	}
	if _, err := e.svc.ChoosePlan(ctx(home, admin), "care_home", nonceA); !errs.Is(err, errs.Invalid) {
		t.Errorf("choosing the plan it pays for: %v", err)
	}
	ch, err := e.svc.ChoosePlan(ctx(home, admin), "trust", nonceA)
	if err != nil || ch.RedirectURL != "" || !strings.Contains(ch.Message, "changing to Trust") {
		t.Fatalf("to the trust plan: %+v %v", ch, err)
	}
	if n := len(e.rec.sent("POST", "/v1/checkout/sessions")); n != 0 {
		t.Errorf("%d checkout sessions for a plan change", n)
	}
	updates := e.rec.sent("POST", "/v1/subscription_items/")
	if len(updates) != 1 || updates[0].Form.Get("price") != trustPrice || updates[0].Form.Get("proration_behavior") != "create_prorations" {
		t.Fatalf("plan change sent %+v", updates)
	}
	item := strings.TrimPrefix(updates[0].Path, "/v1/subscription_items/")
	if want := billing.IdempotencyKey("change-plan", home.ID.String(), item, "trust", "nonce:"+nonceA); updates[0].Key != want {
		t.Errorf("change key %q; want %q", updates[0].Key, want)
	}
	// The plan here changes only when Stripe's webhook says so.
	if st := e.status(home); st.Plan.Key != "care_home" {
		t.Errorf("plan changed before Stripe confirmed: %s", st.Plan.Key)
	}
	if ev := e.LastEvent(home, "billing.plan_change"); ev.Detail["from"] != "care_home" || ev.Detail["plan"] != "trust" {
		t.Errorf("audit: %+v", ev)
	}
}

func TestAFreePlanWithALiveSubscriptionCancelsAtPeriodEnd(t *testing.T) {
	e := newEnv(t)
	charity := e.NamedTenant("carers-south", "Carers South", tenants.KindCarersCharity)
	admin := e.Staff(charity, "admin@south.example", "Ada Admin", "charity_admin")
	e.link(charity, "cus_south")
	e.mustDeliver(event("evt_south_1", "customer.subscription.created", subscriptionObject("sub_south1", "cus_south", nil)))
	if st := e.status(charity); st.Plan.Key != "practice" || !st.LiveSubscription() {
		t.Fatalf("subscribed: %+v", st)
	}
	ch, err := e.svc.ChoosePlan(ctx(charity, admin), "community", nonceA)
	if err != nil || !strings.Contains(ch.Message, "end of the period already paid for") {
		t.Fatalf("to the free plan: %+v %v", ch, err)
	}
	calls := e.rec.sent("POST", "/v1/subscriptions/sub_south1")
	if len(calls) != 1 || calls[0].Form.Get("cancel_at_period_end") != "true" ||
		calls[0].Key != billing.IdempotencyKey("cancel", charity.ID.String(), "sub_south1") {
		t.Fatalf("cancel sent %+v", calls)
	}
	if st := e.status(charity); st.Plan.Key != "practice" {
		t.Errorf("plan changed before the period ended: %s", st.Plan.Key)
	}
}
