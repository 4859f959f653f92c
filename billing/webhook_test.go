package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// post sends one webhook delivery to the site, with sig as its
// Stripe-Signature header (none when empty), and returns the status.
func post(t *testing.T, s *site, payload []byte, sig string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, billing.WebhookPath, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	res, err := s.App.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func TestWebhookSignatures(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-sig", tenants.KindGPPractice)
	e.link(gp, "cus_sig1")
	s := e.site(t)
	payload := func(id string) []byte {
		return event(id, "customer.subscription.updated", subscriptionObject("sub_sig1", "cus_sig1", nil))
	}
	nothing := func(what string) {
		t.Helper()
		if n := e.count(`SELECT count(*) FROM billing_events`); n != 0 {
			t.Errorf("%s: %d events stored", what, n)
		}
		if st := e.status(gp); st.State != billing.StateTrialing || st.SubscriptionID != "" {
			t.Errorf("%s: billing changed: %+v", what, st)
		}
	}

	cases := []struct {
		name string
		sig  func(p []byte) string
	}{
		{"no signature", func([]byte) string { return "" }},
		{"garbage", func([]byte) string { return "t=abc,v1=zz" }},
		{"wrong secret", func(p []byte) string { return sign(p, "whsec_someone_else", time.Time{}) }},
		{"stale timestamp", func(p []byte) string { return sign(p, secret, time.Now().Add(-6*time.Minute)) }},
		{"stale, previous secret", func(p []byte) string { return sign(p, oldSecret, time.Now().Add(-6*time.Minute)) }},
		{"signature of another body", func([]byte) string { return sign(payload("evt_other"), secret, time.Time{}) }},
	}
	for _, c := range cases {
		p := payload("evt_sig_bad")
		if got := post(t, s, p, c.sig(p)); got != http.StatusBadRequest {
			t.Errorf("%s: status %d; want 400", c.name, got)
		}
		nothing(c.name)
	}
	// Another API version than stripe-go v76's is refused, signed or not.
	other := eventVersion("evt_sig_version", "customer.subscription.updated", "2024-06-20", subscriptionObject("sub_sig1", "cus_sig1", nil))
	if got := post(t, s, other, sign(other, secret, time.Time{})); got != http.StatusBadRequest {
		t.Errorf("API version 2024-06-20: status %d; want 400", got)
	}
	nothing("another API version")

	// During a roll both secrets work.
	p := payload("evt_sig_previous")
	if got := post(t, s, p, sign(p, oldSecret, time.Time{})); got != http.StatusOK {
		t.Fatalf("previous secret: status %d; want 200", got)
	}
	p = payload("evt_sig_current")
	if got := post(t, s, p, sign(p, secret, time.Now().Add(-4*time.Minute))); got != http.StatusOK {
		t.Fatalf("current secret, four minutes old: status %d; want 200", got)
	}
	if n := e.count(`SELECT count(*) FROM billing_events WHERE event_id IN ('evt_sig_previous', 'evt_sig_current')`); n != 2 {
		t.Errorf("%d of the 2 good deliveries stored", n)
	}
	// Stripe sends a v1 signature for each secret during a roll: either may match.
	p = payload("evt_sig_both")
	both := sign(p, "whsec_someone_else", time.Time{}) + "," + strings.Split(sign(p, secret, time.Time{}), ",")[1]
	if got := post(t, s, p, both); got != http.StatusOK {
		t.Errorf("two signatures, one good: status %d", got)
	}
}

func TestCheckoutCompletedTakesInTheSubscriptionAsStripeHoldsIt(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-pine", tenants.KindGPPractice)
	admin := e.Staff(gp, "admin@pine.example", "Ada Admin", "practice_admin")
	if _, err := e.svc.ChoosePlan(ctx(gp, admin), "practice", nonceA); err != nil {
		t.Fatal(err)
	}
	cus := e.status(gp).CustomerID
	// The event's own copy says nothing of the plan or state: those come
	// from the subscription fetched from stripe-mock (active, at the
	// fixture price, which is the practice plan's here).
	e.mustDeliver(event("evt_pine_1", "checkout.session.completed", checkoutObject("cs_pine", cus, "sub_pine1", gp.ID.String())))
	st := e.status(gp)
	if st.Plan.Key != "practice" || st.State != billing.StateActive || st.SubscriptionID != "sub_pine1" ||
		st.SubscriptionStatus != "active" || st.ReadOnly || st.LastEventID != "evt_pine_1" || st.Seats != 1 {
		t.Fatalf("after checkout: %+v", st)
	}
	if got := e.rec.sent("GET", "/v1/subscriptions/sub_pine1"); len(got) != 1 {
		t.Errorf("the subscription was fetched %d times; want 1", len(got))
	}
	ev := e.LastEvent(gp, "billing.stripe_event")
	if ev.Detail["state"] != "active" || ev.Detail["event"] != "evt_pine_1" || ev.Detail["subscription"] != "sub_pine1" || ev.Detail["changed"] != "yes" {
		t.Errorf("audit: %+v", ev)
	}
	// Another event about it that changes nothing is recorded as such.
	e.mustDeliver(event("evt_pine_2", "invoice.paid", invoiceObject("in_pine", cus, "sub_pine1")))
	if ev := e.LastEvent(gp, "billing.stripe_event"); ev.Detail["event"] != "evt_pine_2" || ev.Detail["changed"] != "no" {
		t.Errorf("audit of an event that changed nothing: %+v", ev)
	}
	if st := e.status(gp); st.LastEventID != "evt_pine_2" || st.LastEventType != "invoice.paid" {
		t.Errorf("last event: %+v", st)
	}
}

func TestAWebhookLinksTheCustomerOfItsOwnCheckoutOnly(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-yew", tenants.KindGPPractice)
	other := e.Tenant("gp-holly", tenants.KindGPPractice)
	e.link(other, "cus_holly")
	// The customer was made but not stored here (say the database failed
	// after Stripe answered): the session names the tenant.
	e.mustDeliver(event("evt_yew_1", "checkout.session.completed", checkoutObject("cs_yew", "cus_yew_new", "sub_yew1", gp.ID.String())))
	if st := e.status(gp); st.CustomerID != "cus_yew_new" || st.State != billing.StateActive {
		t.Fatalf("after the linking event: %+v", st)
	}
	// A tenant that has a customer is never given another by reference.
	e.mustDeliver(event("evt_holly_1", "checkout.session.completed", checkoutObject("cs_x", "cus_intruder", "sub_x1", other.ID.String())))
	if st := e.status(other); st.CustomerID != "cus_holly" || st.State != billing.StateTrialing {
		t.Errorf("a second customer was linked: %+v", st)
	}
	if n := e.count(`SELECT count(*) FROM billing_events WHERE event_id = 'evt_holly_1'`); n != 0 {
		t.Errorf("an event of an unknown customer was stored")
	}
}

func TestUnknownCustomersAndEventTypesAreAcknowledged(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-fir", tenants.KindGPPractice)
	e.link(gp, "cus_fir")
	s := e.site(t)
	for _, p := range [][]byte{
		event("evt_unknown_cus", "customer.subscription.updated", subscriptionObject("sub_nobody", "cus_nobody", nil)),
		event("evt_unknown_type", "customer.created", map[string]any{"id": "cus_fir", "object": "customer"}),
		event("evt_charge", "charge.succeeded", map[string]any{"id": "ch_1", "object": "charge", "customer": "cus_fir"}),
	} {
		if got := post(t, s, p, sign(p, secret, time.Time{})); got != http.StatusOK {
			t.Errorf("%s: status %d; want 200", p, got)
		}
	}
	if n := e.count(`SELECT count(*) FROM billing_events`); n != 0 {
		t.Errorf("%d ignored events stored", n)
	}
	if st := e.status(gp); st.LastEventID != "" || st.State != billing.StateTrialing {
		t.Errorf("an ignored event changed billing: %+v", st)
	}
	if n := len(e.rec.sent("GET", "/v1/subscriptions")); n != 0 {
		t.Errorf("%d subscriptions fetched for ignored events", n)
	}
}

func TestTheSameEventDeliveredAHundredTimesHasOneEffect(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-bay", tenants.KindGPPractice)
	e.link(gp, "cus_bay")
	s := e.site(t)
	p := event("evt_bay_dup", "customer.subscription.created", subscriptionObject("sub_bay1", "cus_bay", nil))
	statuses := make(chan int, 100)
	var wg sync.WaitGroup
	// Five waves of twenty at once.
	for range 5 {
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- post(t, s, p, sign(p, secret, time.Time{}))
			}()
		}
		wg.Wait()
	}
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK {
			t.Errorf("a delivery answered %d; want 200 for every one", st)
		}
	}
	if n := e.count(`SELECT count(*) FROM billing_events WHERE event_id = 'evt_bay_dup'`); n != 1 {
		t.Errorf("event stored %d times", n)
	}
	// Each application is audited: one audit event means one effect.
	if n := e.actions(gp, "billing.stripe_event"); n != 1 {
		t.Errorf("the event took effect %d times; want 1", n)
	}
	if st := e.status(gp); st.State != billing.StateActive || st.SubscriptionID != "sub_bay1" {
		t.Errorf("after: %+v", st)
	}
	// Once applied, a replay changes nothing even when our state has moved
	// on since (here by hand): it is not applied again.
	if err := e.DB.Gorm.Exec(`UPDATE billing_accounts SET state = 'past_due', past_due_since = now() WHERE billed_tenant = ?`, gp.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got := post(t, s, p, sign(p, secret, time.Time{})); got != http.StatusOK {
		t.Fatalf("a replay: status %d", got)
	}
	if st := e.status(gp); st.State != billing.StatePastDue {
		t.Errorf("a replay took effect: %+v", st)
	}
	if n := e.actions(gp, "billing.stripe_event"); n != 1 {
		t.Errorf("%d effects after the replay; want 1", n)
	}
}

func TestADatabaseFailureAsksStripeToRetry(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-oakley", tenants.KindGPPractice)
	e.link(gp, "cus_oakley")
	pool, gdb, err := pg.Open(context.Background(), e.DB.AppURL, pg.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	broken := billing.New(tenants.NewDB(gdb), e.Log, billing.NewStripe("sk_test_x", stripeBase, nil), e.cfg)
	p := event("evt_oakley_1", "customer.subscription.updated", subscriptionObject("sub_oakley1", "cus_oakley", nil))
	err = broken.HandleWebhook(context.Background(), p, sign(p, secret, time.Time{}))
	if err == nil || errs.Is(err, errs.Invalid) {
		t.Fatalf("with the database down: %v; want an error that makes Stripe retry", err)
	}
	// Over HTTP: a 5xx.
	s := e.siteWith(t, broken)
	if got := post(t, s, p, sign(p, secret, time.Time{})); got < 500 {
		t.Errorf("status %d; want 5xx", got)
	}
	// Stripe's retry, once the database is back, applies it.
	e.mustDeliver(p)
	if st := e.status(gp); st.State != billing.StateActive || st.LastEventID != "evt_oakley_1" {
		t.Errorf("after the retry: %+v", st)
	}
}

// truth is a deterministic, in-memory source of subscriptions as Stripe
// holds them now, used ONLY in place of fetching a subscription: stripe-mock
// answers every fetch with the same fixture, so it cannot show a
// subscription whose state has moved on. Everything else these tests send
// to Stripe goes to stripe-mock.
type truth struct {
	mu   sync.Mutex
	subs map[string]billing.Subscription
}

func (tr *truth) set(s billing.Subscription) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.subs == nil {
		tr.subs = map[string]billing.Subscription{}
	}
	tr.subs[s.ID] = s
}

func (tr *truth) Get(_ context.Context, id string) (billing.Subscription, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s, ok := tr.subs[id]
	if !ok {
		return billing.Subscription{}, errs.E(errs.NotFound, "no such subscription")
	}
	return s, nil
}

func (tr *truth) ForCustomer(_ context.Context, customer string) ([]billing.Subscription, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []billing.Subscription
	for _, s := range tr.subs {
		if s.CustomerID == customer {
			out = append(out, s)
		}
	}
	return out, nil
}

// permutations returns every order of n items, as index lists.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// final is what a test compares of a tenant's billing after its events.
type final struct {
	Plan, State, Subscription, SubStatus string
	Seats                                int
	PastDueSince                         string
	ReadOnly                             bool
}

func finalOf(st billing.Status) final {
	f := final{Plan: st.Plan.Key, State: string(st.Effective), Subscription: st.SubscriptionID, SubStatus: st.SubscriptionStatus,
		Seats: st.Seats, ReadOnly: st.ReadOnly}
	if st.PastDueSince != nil {
		f.PastDueSince = st.PastDueSince.UTC().Format(time.RFC3339Nano)
	}
	return f
}

func TestEveryOrderOfASubscriptionsEventsEndsInTheSameState(t *testing.T) {
	tr := &truth{}
	e := newEnv(t, func(c *billing.Config) { c.Subscriptions = tr })
	now := e.clock.Now()
	type step struct{ typ, sub, kind string }
	// current makes sub the tenant's current subscription, as last seen live.
	current := func(tn tenants.Tenant, plan, sub string) {
		err := e.DB.Gorm.Exec(`UPDATE billing_accounts SET plan = ?, state = 'active', stripe_subscription = ?,
			subscription_status = 'active', subscription_created = ?, trial_ends_at = NULL WHERE billed_tenant = ?`,
			plan, sub, now.Add(-40*24*time.Hour), tn.ID).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	scenarios := []struct {
		name  string
		kind  tenants.Kind
		seed  func(tn tenants.Tenant, p string)
		subs  func(p string) []billing.Subscription
		steps []step
		want  func(p string) final
	}{{
		// Sub A went past due and was cancelled; the practice then took
		// out sub B, which is paid.
		name: "replaced", kind: tenants.KindGPPractice,
		seed: func(tn tenants.Tenant, p string) { current(tn, "practice", "sub_"+p+"_a") },
		subs: func(p string) []billing.Subscription {
			return []billing.Subscription{
				{ID: "sub_" + p + "_a", CustomerID: "cus_" + p, Status: "canceled", Created: now.Add(-40 * 24 * time.Hour), PriceID: fixture.Price, ItemID: "si_" + p + "_a", Quantity: 1},
				{ID: "sub_" + p + "_b", CustomerID: "cus_" + p, Status: "active", Created: now.Add(-24 * time.Hour), PriceID: fixture.Price, ItemID: "si_" + p + "_b", Quantity: 1},
			}
		},
		steps: []step{{"customer.subscription.created", "a", "sub"}, {"invoice.payment_failed", "a", "inv"},
			{"customer.subscription.deleted", "a", "sub"}, {"customer.subscription.created", "b", "sub"}, {"invoice.paid", "b", "inv"}},
		want: func(p string) final {
			return final{Plan: "practice", State: "active", Subscription: "sub_" + p + "_b", SubStatus: "active", Seats: 1}
		},
	}, {
		// A charity's paid subscription ended: it falls back to the free plan.
		name: "charity cancelled", kind: tenants.KindCarersCharity,
		seed: func(tn tenants.Tenant, p string) { current(tn, "practice", "sub_"+p+"_a") },
		subs: func(p string) []billing.Subscription {
			return []billing.Subscription{{ID: "sub_" + p + "_a", CustomerID: "cus_" + p, Status: "canceled", Created: now.Add(-40 * 24 * time.Hour), PriceID: fixture.Price, ItemID: "si_" + p, Quantity: 1}}
		},
		steps: []step{{"customer.subscription.created", "a", "sub"}, {"customer.subscription.updated", "a", "sub"},
			{"invoice.paid", "a", "inv"}, {"invoice.payment_failed", "a", "inv"}, {"customer.subscription.deleted", "a", "sub"}},
		want: func(string) final { return final{Plan: "community", State: "active"} },
	}, {
		// A care home whose payment failed: past due, seats as Stripe bills them.
		name: "past due", kind: tenants.KindCareHome,
		subs: func(p string) []billing.Subscription {
			return []billing.Subscription{{ID: "sub_" + p + "_a", CustomerID: "cus_" + p, Status: "past_due", Created: now.Add(-40 * 24 * time.Hour), PriceID: carePrice, ItemID: "si_" + p, Quantity: 12}}
		},
		steps: []step{{"customer.subscription.created", "a", "sub"}, {"invoice.paid", "a", "inv"},
			{"customer.subscription.updated", "a", "sub"}, {"invoice.payment_failed", "a", "inv"}},
		want: func(p string) final {
			return final{Plan: "care_home", State: "past_due", Subscription: "sub_" + p + "_a", SubStatus: "past_due", Seats: 12,
				PastDueSince: now.UTC().Format(time.RFC3339Nano)}
		},
	}}
	for si, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			orders := permutations(len(sc.steps))
			var mu sync.Mutex
			var wg sync.WaitGroup
			sem := make(chan struct{}, 6)
			for oi, order := range orders {
				p := fmt.Sprintf("s%do%d", si, oi)
				tn := e.Tenant("t-"+strings.ReplaceAll(p, "_", "-"), sc.kind)
				e.link(tn, "cus_"+p)
				if sc.seed != nil {
					sc.seed(tn, p)
				}
				for _, s := range sc.subs(p) {
					tr.set(s)
				}
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					for n, i := range order {
						st := sc.steps[i]
						sub := "sub_" + p + "_" + st.sub
						obj := subscriptionObject(sub, "cus_"+p, nil)
						if st.kind == "inv" {
							obj = invoiceObject(fmt.Sprintf("in_%s_%d", p, i), "cus_"+p, sub)
						}
						payload := event(fmt.Sprintf("evt_%s_%d", p, n), st.typ, obj)
						if err := e.svc.HandleWebhook(context.Background(), payload, sign(payload, secret, time.Time{})); err != nil {
							mu.Lock()
							t.Errorf("order %v, step %d: %v", order, n, err)
							mu.Unlock()
							return
						}
					}
					st, err := e.svc.Status(context.Background(), tn.ID)
					if got, want := finalOf(st), sc.want(p); err != nil || got != want {
						mu.Lock()
						t.Errorf("order %v ends in %+v (%v); want %+v", order, got, err, want)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
		})
	}
}
