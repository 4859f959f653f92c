package billing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/tenants"
)

func TestReconcileBringsTenantsInLineWithStripe(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-recon", tenants.KindGPPractice)
	e.Tenant("gp-nocustomer", tenants.KindGPPractice)
	e.link(gp, "cus_recon")

	// stripe-mock lists one active subscription, at the fixture price.
	r, err := e.svc.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Checked != 1 || len(r.Changed) != 1 || !strings.HasPrefix(r.Changed[0], "gp-recon: practice trialing → practice active") || len(r.Failures) != 0 {
		t.Fatalf("report: %+v", r)
	}
	calls := e.rec.sent("GET", "/v1/subscriptions")
	if len(calls) != 1 {
		t.Fatalf("%d list calls", len(calls))
	}
	st := e.status(gp)
	if st.State != billing.StateActive || st.Plan.Key != "practice" || !strings.HasPrefix(st.SubscriptionID, "sub_") {
		t.Errorf("after reconcile: %+v", st)
	}
	if ev := e.LastEvent(gp, "billing.reconcile"); ev.Detail["state"] != "active" || ev.Detail["from_state"] != "trialing" {
		t.Errorf("audit: %+v", ev)
	}
	r, err = e.svc.Reconcile(context.Background())
	if err != nil || r.Checked != 1 || len(r.Changed) != 0 {
		t.Errorf("a second run: %+v %v", r, err)
	}
}

func TestSeatsFollowTheActiveHolders(t *testing.T) {
	e := newEnv(t, func(c *billing.Config) {
		// The fixture's price is the care-home plan's here.
		c.Prices = map[string]string{"practice": "price_practice_test", "care_home": fixture.Price, "trust": trustPrice}
	})
	home := e.Tenant("homes-seats", tenants.KindCareHome)
	e.link(home, "cus_seats")
	e.mustDeliver(event("evt_seats_1", "customer.subscription.created", subscriptionObject("sub_seats1", "cus_seats", nil)))
	st := e.status(home)
	if st.Plan.Key != "care_home" || !st.LiveSubscription() || st.Seats != 1 {
		t.Fatalf("subscribed: %+v", st)
	}
	e.holders(home, 3)
	n, err := e.svc.SyncSeats(context.Background(), home.ID)
	if err != nil || n != 3 {
		t.Fatalf("sync: %d %v", n, err)
	}
	updates := e.rec.sent("POST", "/v1/subscription_items/")
	if len(updates) != 1 {
		t.Fatalf("%d item updates", len(updates))
	}
	item := strings.TrimPrefix(updates[0].Path, "/v1/subscription_items/")
	if updates[0].Form.Get("quantity") != "3" {
		t.Errorf("quantity sent: %v", updates[0].Form)
	}
	if want := billing.IdempotencyKey("seats", home.ID.String(), item, "0", "3"); updates[0].Key != want {
		t.Errorf("seats key %q; want %q", updates[0].Key, want)
	}
	if n, err := e.svc.SyncSeats(context.Background(), home.ID); err != nil || n != 3 {
		t.Fatalf("a second sync: %d %v", n, err)
	}
	if got := len(e.rec.sent("POST", "/v1/subscription_items/")); got != 1 {
		t.Errorf("a sync with nothing to change sent an update (%d in all)", got)
	}
	e.holders(home, 2)
	if n, err := e.svc.SyncSeats(context.Background(), home.ID); err != nil || n != 5 {
		t.Fatalf("sync after two more: %d %v", n, err)
	}
	updates = e.rec.sent("POST", "/v1/subscription_items/")
	if len(updates) != 2 || updates[1].Key != billing.IdempotencyKey("seats", home.ID.String(), item, "1", "5") {
		t.Errorf("second update: %+v", updates)
	}
	if got := e.status(home).Seats; got != 5 {
		t.Errorf("seats stored: %d", got)
	}
	if n := e.actions(home, "billing.seats"); n != 2 {
		t.Errorf("%d seat audit events; want 2", n)
	}
	// A plan not priced per seat is left alone.
	gp := e.Tenant("gp-seats", tenants.KindGPPractice)
	if n, err := e.svc.SyncSeats(context.Background(), gp.ID); err != nil || n != 0 {
		t.Errorf("a practice: %d %v", n, err)
	}
}
