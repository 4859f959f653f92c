package billing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/tenants"
)

// These tests drive the rules that turn a subscription, as Stripe holds it
// now, into a tenant's billing: plain data in, plain data out.

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func testRules(now time.Time) rules {
	prices := map[string]string{"price_practice": "practice", "price_care": "care_home", "price_trust": "trust"}
	return rules{now: now, planForPrice: func(id string) (Plan, bool) { return PlanByKey(prices[id]) }}
}

func sub(id, status string, created time.Time, price string) Subscription {
	return Subscription{ID: id, CustomerID: "cus_1", Status: status, Created: created, PriceID: price, ItemID: "si_" + id, Quantity: 1}
}

func gpAccount() account {
	return account{kind: tenants.KindGPPractice, tenantCreated: t0}.withDefaults(30)
}

func TestRules(t *testing.T) {
	r := testRules(t0)
	older, newer := t0.Add(-48*time.Hour), t0.Add(-time.Hour)

	// A first live subscription is taken in, with its plan and status.
	a, changed, err := r.next(gpAccount(), sub("sub_a", "active", older, "price_trust"), nil)
	if err != nil || !changed || a.subscription != "sub_a" || a.state != StateActive || a.plan != "trust" || a.trialEndsAt != nil {
		t.Fatalf("first subscription: %+v %v %v", a, changed, err)
	}
	// The same again changes nothing.
	if _, changed, _ := r.next(a, sub("sub_a", "active", older, "price_trust"), nil); changed {
		t.Error("the same subscription again changed the account")
	}
	// Another live subscription needs the current one's state to decide.
	if _, _, err := r.next(a, sub("sub_b", "active", newer, "price_practice"), nil); !errors.Is(err, errNeedCurrent) {
		t.Errorf("another live subscription without the current: %v", err)
	}
	// A newer live one replaces a live current one; an older one does not.
	curA := sub("sub_a", "active", older, "price_trust")
	b, changed, err := r.next(a, sub("sub_b", "active", newer, "price_practice"), &curA)
	if err != nil || !changed || b.subscription != "sub_b" || b.plan != "practice" {
		t.Errorf("a newer live subscription: %+v %v", b, err)
	}
	curB := sub("sub_b", "active", newer, "price_practice")
	if got, changed, _ := r.next(b, sub("sub_a", "active", older, "price_trust"), &curB); changed || got.subscription != "sub_b" {
		t.Errorf("an older live subscription took over: %+v", got)
	}
	// An older live one replaces a current one that has ended.
	endedB := sub("sub_b", "canceled", newer, "price_practice")
	if got, _, _ := r.next(b, sub("sub_a", "active", older, "price_trust"), &endedB); got.subscription != "sub_a" {
		t.Errorf("a live subscription did not replace an ended one: %+v", got)
	}
	// A subscription that is not live matters only when it is the current one.
	if _, changed, _ := r.next(b, sub("sub_c", "canceled", t0, "price_trust"), nil); changed {
		t.Error("another ended subscription changed the account")
	}
	for _, st := range []string{"incomplete", "incomplete_expired"} {
		if _, changed, _ := r.next(gpAccount(), sub("sub_d", st, t0, "price_trust"), nil); changed {
			t.Errorf("an %s subscription was taken in", st)
		}
	}
	// Cancelled: a GP practice is cancelled; a charity falls back to the free plan.
	c, _, _ := r.next(b, sub("sub_b", "canceled", newer, "price_practice"), nil)
	if c.state != StateCancelled || c.subscription != "sub_b" || !c.status(t0, 14*24*time.Hour).ReadOnly {
		t.Errorf("a cancelled practice: %+v", c)
	}
	charity := account{kind: tenants.KindCarersCharity, tenantCreated: t0}.withDefaults(30)
	charity, _, _ = r.next(charity, sub("sub_e", "active", older, "price_practice"), nil)
	charity, _, _ = r.next(charity, sub("sub_e", "canceled", older, "price_practice"), nil)
	if charity.plan != "community" || charity.state != StateActive || charity.subscription != "" || charity.seats != 0 {
		t.Errorf("a charity whose subscription ended: %+v", charity)
	}
	// Unpaid and paused are read-only at once.
	for _, st := range []string{"unpaid", "paused"} {
		u, _, _ := r.next(b, sub("sub_b", st, newer, "price_practice"), nil)
		if s := u.status(t0, time.Hour); u.state != StateUnpaid || !s.ReadOnly {
			t.Errorf("%s: %+v", st, s)
		}
	}
	// An unknown price keeps the plan, unless the metadata names one.
	odd := sub("sub_b", "active", newer, "price_unknown")
	if got, _, _ := r.next(b, odd, nil); got.plan != "practice" {
		t.Errorf("an unknown price changed the plan to %s", got.plan)
	}
	odd.Metadata = map[string]string{"plan": "trust"}
	if got, _, _ := r.next(b, odd, nil); got.plan != "trust" {
		t.Errorf("metadata plan ignored: %s", got.plan)
	}
	odd.Metadata = map[string]string{"plan": "community"}
	if got, _, _ := r.next(b, odd, nil); got.plan != "practice" {
		t.Errorf("a paid subscription moved to the free plan: %s", got.plan)
	}
}

func TestPastDueKeepsWhenItStarted(t *testing.T) {
	a, _, _ := testRules(t0).next(gpAccount(), sub("sub_a", "past_due", t0, "price_practice"), nil)
	if a.pastDueSince == nil || !a.pastDueSince.Equal(t0) {
		t.Fatalf("past due since %v", a.pastDueSince)
	}
	later := t0.Add(5 * 24 * time.Hour)
	a, _, _ = testRules(later).next(a, sub("sub_a", "past_due", t0, "price_practice"), nil)
	if !a.pastDueSince.Equal(t0) {
		t.Errorf("a second past-due event moved the start to %v", a.pastDueSince)
	}
	grace := 14 * 24 * time.Hour
	if s := a.status(t0.Add(grace-time.Second), grace); s.ReadOnly || s.Effective != StatePastDue {
		t.Errorf("within the grace period: %+v", s)
	}
	if s := a.status(t0.Add(grace), grace); !s.ReadOnly || s.Effective != StateUnpaid {
		t.Errorf("after the grace period: %+v", s)
	}
	a, _, _ = testRules(later).next(a, sub("sub_a", "active", t0, "price_practice"), nil)
	if a.pastDueSince != nil || a.state != StateActive {
		t.Errorf("paid: %+v", a)
	}
}

func TestChoose(t *testing.T) {
	subs := []Subscription{
		sub("sub_old", "canceled", t0.Add(-72*time.Hour), "p"),
		sub("sub_live1", "active", t0.Add(-48*time.Hour), "p"),
		sub("sub_live2", "past_due", t0.Add(-24*time.Hour), "p"),
		sub("sub_new", "incomplete", t0, "p"),
	}
	chosen, current := choose(subs, "sub_old")
	if chosen == nil || chosen.ID != "sub_live2" || current == nil || current.ID != "sub_old" {
		t.Errorf("choose: %v %v", chosen, current)
	}
	chosen, current = choose(subs[:1], "sub_old")
	if chosen == nil || chosen.ID != "sub_old" || current.ID != "sub_old" {
		t.Errorf("no live one: %v %v", chosen, current)
	}
	if chosen, _ := choose(subs[3:], ""); chosen != nil {
		t.Errorf("an incomplete subscription was chosen: %v", chosen)
	}
}

func TestGuardPaths(t *testing.T) {
	s := &Service{cfg: Config{Exempt: []string{"/carers/check", "exports/", "/carer-passports/*/revoke"}}}
	cases := map[string]bool{
		"/t/wren/billing": true, "/t/wren/billing/plan": true, "/api/v1/t/wren/billing": true,
		"/t/wren/carers/check": true, "/t/wren/exports/all.csv": true,
		"/t/wren/carer-passports/0190a/revoke": true, "/api/v1/t/wren/carer-passports/0190a/revoke": true,
		"/t/wren/carer-passports/0190a/renew": false, "/t/wren/carer-passports/revoke": false, "/t/wren/carers": false,
		"/t/wren/billingx": false, "/t/wren/holders": false, "/t/wrenfield/billing": false, "/api/v1/t/wren/holders": false,
	}
	for path, want := range cases {
		if got := s.exempt(underTenant(path, "wren")); got != want {
			t.Errorf("%s: exempt %v; want %v", path, got, want)
		}
	}
}

func TestNum(t *testing.T) {
	for n, want := range map[int]string{0: "0", 250: "250", 3000: "3,000", 1234567: "1,234,567", -1: "-1"} {
		if got := num(n); got != want {
			t.Errorf("num(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := FromEnv(env(nil))
	if err != nil || s.Enabled() || s.Client(nil) != nil || s.APIBase != DefaultAPIBase {
		t.Errorf("nothing set: %+v %v", s, err)
	}
	full := map[string]string{
		EnvSecretKey: "sk_test_abc", EnvWebhookSecret: "whsec_1", EnvWebhookSecretPrevious: "whsec_0",
		"STRIPE_PRICE_PRACTICE": "price_p", "STRIPE_PRICE_CARE_HOME": "price_c", "STRIPE_PRICE_TRUST": "price_t",
		EnvAPIBase: "http://127.0.0.1:12111", EnvGraceDays: "7",
	}
	s, err = FromEnv(env(full))
	if err != nil || !s.Enabled() || s.Live() || s.Config.Prices["care_home"] != "price_c" || s.Config.GraceDays != 7 ||
		s.Config.TrialDays != 0 || s.Config.WebhookSecretPrevious != "whsec_0" || s.Client(nil) == nil {
		t.Errorf("all set: %+v %v", s, err)
	}
	delete(full, "STRIPE_PRICE_TRUST")
	full[EnvWebhookSecret] = "oops"
	full[EnvTrialDays] = "0"
	_, err = FromEnv(env(full))
	for _, want := range []string{"STRIPE_PRICE_TRUST", EnvWebhookSecret, EnvTrialDays} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
