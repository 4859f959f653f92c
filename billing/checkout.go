package billing

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Change is what choosing a plan led to: a Stripe page to send the person
// to (Checkout), or a message to show when the change was made without one.
type Change struct {
	RedirectURL string
	Message     string
}

// nonceRe is the shape of the nonce the billing page puts in its forms.
var nonceRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// requestKey is what tells one person's request apart from another's in
// an idempotency key: the form's nonce, so a double click sends the same
// key; without one, the ten-minute period.
func (s *Service) requestKey(nonce string) string {
	if nonceRe.MatchString(nonce) {
		return "nonce:" + nonce
	}
	return "at:" + bucket(s.clock(), 10*time.Minute)
}

// msgDisabled is the answer to billing actions on a deployment without Stripe.
const msgDisabled = "Billing is not set up on this Carepass service, so there is nothing to pay."

// ChoosePlan moves the tenant in ctx to the plan called planKey, once it
// fits in the plan's limits. Without a paid subscription the person is sent
// to Stripe Checkout (the customer is created first, or reused); with one,
// the subscription's price is changed in Stripe and the webhook brings the
// change here; a free plan is taken at once, or at the end of the period a
// subscription has been paid for. nonce is the billing form's, so a double
// click makes one Checkout session. If Stripe cannot be reached the answer
// is an error of kind Unavailable and nothing is stored.
func (s *Service) ChoosePlan(ctx context.Context, planKey, nonce string) (Change, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Change{}, err
	}
	p, ok := PlanByKey(planKey)
	if !ok || !p.For(t.Kind) {
		return Change{}, errs.Validation(errs.FieldError{Field: "plan", Message: "Choose a plan"})
	}
	if !s.Enabled() {
		return Change{}, errs.E(errs.Conflict, msgDisabled)
	}
	st, err := s.Status(ctx, t.ID)
	if err != nil {
		return Change{}, err
	}
	var fits []Usage
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		fits, err = s.usage(ctx, tx, t.ID, p)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	if err := planFits(st, p, fits); err != nil {
		return Change{}, err
	}
	if st.Plan.Key == p.Key && (p.Free() || st.LiveSubscription()) {
		return Change{}, errs.Validation(errs.FieldError{Field: "plan", Message: fmt.Sprintf("%s is already on the %s plan", t.Name, p.Name)})
	}
	switch {
	case p.Free():
		return s.toFree(ctx, t, st, p)
	case st.LiveSubscription():
		return s.changePrice(ctx, t, st, p, fits, nonce)
	}
	return s.checkout(ctx, t, st, p, fits, nonce)
}

// planFits refuses a plan whose limits the tenant's usage is beyond.
func planFits(st Status, p Plan, usage []Usage) error {
	var fe []errs.FieldError
	for _, u := range usage {
		if u.Over() {
			fe = append(fe, errs.FieldError{Field: "plan", Message: fmt.Sprintf(
				"The %s plan allows up to %s %s, but %s has %s. Choose a larger plan, or make room first.",
				p.Name, num(u.Max), u.Label, st.TenantName, num(u.Used))})
		}
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// quantity is what a subscription to p is billed for: the active holders
// on a per-seat plan (at least one), else one.
func quantity(p Plan, usage []Usage) int64 {
	if !p.PerSeat {
		return 1
	}
	for _, u := range usage {
		if u.Limit == LimitHolders {
			return int64(max(u.Used, 1))
		}
	}
	return 1
}

// checkout creates (or reuses) the tenant's Stripe customer and a Checkout
// session in subscription mode, then records the customer and the attempt.
func (s *Service) checkout(ctx context.Context, t tenants.Tenant, st Status, p Plan, usage []Usage, nonce string) (Change, error) {
	price, ok := s.priceOf(p)
	if !ok {
		return Change{}, errs.Wrap(errs.Internal, "", fmt.Errorf("billing: plan %s has no Stripe price configured", p.Key))
	}
	customer := st.CustomerID
	if customer == "" {
		cp := &stripe.CustomerParams{Name: stripe.String(t.Name), Metadata: stripeMeta(t, ""),
			PreferredLocales: []*string{stripe.String("en-GB")}}
		cp.Context = ctx
		// One customer per tenant and day, however often this runs.
		cp.SetIdempotencyKey(IdempotencyKey("customer", t.ID.String(), bucket(s.clock(), 24*time.Hour)))
		c, err := s.api.Customers.New(cp)
		if err != nil {
			return Change{}, stripeErr("create customer", err)
		}
		customer = c.ID
	}
	base := s.cfg.PublicURL + "/t/" + t.Slug + "/billing"
	meta := stripeMeta(t, p.Key)
	sp := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customer),
		ClientReferenceID: stripe.String(t.ID.String()),
		SuccessURL:        stripe.String(base + "?checkout=done"),
		CancelURL:         stripe.String(base + "?checkout=cancelled"),
		Locale:            stripe.String("en-GB"),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(quantity(p, usage))}},
		Metadata:          meta,
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
	}
	// What is left of a trial of our own carries over into Stripe's, when
	// it is long enough for Stripe to accept (at least two days).
	if st.SubscriptionID == "" && st.Effective == StateTrialing && st.TrialEndsAt != nil &&
		st.TrialEndsAt.Sub(s.clock()) >= 49*time.Hour {
		sp.SubscriptionData.TrialEnd = stripe.Int64(st.TrialEndsAt.Unix())
	}
	sp.Context = ctx
	sp.SetIdempotencyKey(IdempotencyKey("checkout", t.ID.String(), p.Key, s.requestKey(nonce)))
	sess, err := s.api.CheckoutSessions.New(sp)
	if err != nil {
		return Change{}, stripeErr("create checkout session", err)
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := readAccount(ctx, tx, t.ID, s.cfg.TrialDays, s.clock(), true)
		if err != nil {
			return err
		}
		if a.customer == "" {
			a.customer = customer
			if err := saveAccount(ctx, tx, a, s.clock()); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "billing.checkout", ObjectType: "billing", ObjectID: t.ID.String(),
			Detail: map[string]string{"plan": p.Key, "checkout_session": sess.ID, "customer": customer}})
	})
	if err != nil {
		return Change{}, err
	}
	return Change{RedirectURL: sess.URL}, nil
}

// changePrice moves a live subscription to p's price; Stripe prorates, and
// its webhook brings the new plan here.
func (s *Service) changePrice(ctx context.Context, t tenants.Tenant, st Status, p Plan, usage []Usage, nonce string) (Change, error) {
	price, ok := s.priceOf(p)
	if !ok {
		return Change{}, errs.Wrap(errs.Internal, "", fmt.Errorf("billing: plan %s has no Stripe price configured", p.Key))
	}
	sub, err := s.subs.Get(ctx, st.SubscriptionID)
	if err != nil {
		return Change{}, err
	}
	if sub.ItemID == "" {
		return Change{}, errs.Wrap(errs.Internal, "", fmt.Errorf("billing: subscription %s has no item", sub.ID))
	}
	ip := &stripe.SubscriptionItemParams{Price: stripe.String(price), Quantity: stripe.Int64(quantity(p, usage)),
		ProrationBehavior: stripe.String("create_prorations"), Metadata: stripeMeta(t, p.Key)}
	ip.Context = ctx
	ip.SetIdempotencyKey(IdempotencyKey("change-plan", t.ID.String(), sub.ItemID, p.Key, s.requestKey(nonce)))
	if _, err := s.api.SubscriptionItems.Update(sub.ItemID, ip); err != nil {
		return Change{}, stripeErr("change subscription price", err)
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.audit.Record(ctx, tx, audit.Event{Action: "billing.plan_change", ObjectType: "billing", ObjectID: t.ID.String(),
			Detail: map[string]string{"from": st.Plan.Key, "plan": p.Key, "subscription": sub.ID}})
	})
	if err != nil {
		return Change{}, err
	}
	return Change{Message: fmt.Sprintf("The plan is changing to %s. This page shows it once Stripe confirms the change, usually within a minute.", p.Name)}, nil
}

// toFree moves the tenant to a free plan: at once without a subscription;
// with one, the subscription is cancelled at the end of the period paid for
// and the webhook then brings the free plan.
func (s *Service) toFree(ctx context.Context, t tenants.Tenant, st Status, p Plan) (Change, error) {
	if st.LiveSubscription() {
		up := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
		up.Context = ctx
		up.SetIdempotencyKey(IdempotencyKey("cancel", t.ID.String(), st.SubscriptionID))
		if _, err := s.api.Subscriptions.Update(st.SubscriptionID, up); err != nil {
			return Change{}, stripeErr("cancel subscription", err)
		}
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			return s.audit.Record(ctx, tx, audit.Event{Action: "billing.plan_change", ObjectType: "billing", ObjectID: t.ID.String(),
				Detail: map[string]string{"from": st.Plan.Key, "plan": p.Key, "subscription": st.SubscriptionID, "at": "period_end"}})
		})
		if err != nil {
			return Change{}, err
		}
		return Change{Message: fmt.Sprintf("The subscription ends at the end of the period already paid for; then %s moves to the %s plan.", t.Name, p.Name)}, nil
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := readAccount(ctx, tx, t.ID, s.cfg.TrialDays, s.clock(), true)
		if err != nil {
			return err
		}
		from := a.plan
		a = a.clearSubscription()
		a.plan, a.state = p.Key, StateActive
		if err := saveAccount(ctx, tx, a, s.clock()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "billing.plan_change", ObjectType: "billing", ObjectID: t.ID.String(),
			Detail: map[string]string{"from": from, "plan": p.Key}})
	})
	if err != nil {
		return Change{}, err
	}
	return Change{Message: fmt.Sprintf("%s is now on the %s plan.", t.Name, p.Name)}, nil
}

// Portal returns the address of a Stripe Customer Portal session for the
// tenant in ctx, where its administrators update payment details, see
// invoices and cancel. nonce is the billing form's.
func (s *Service) Portal(ctx context.Context, nonce string) (string, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return "", err
	}
	if !s.Enabled() {
		return "", errs.E(errs.Conflict, msgDisabled)
	}
	st, err := s.Status(ctx, t.ID)
	if err != nil {
		return "", err
	}
	if st.CustomerID == "" {
		return "", errs.E(errs.Conflict, "There are no payment details to manage yet. Choose a plan first.")
	}
	pp := &stripe.BillingPortalSessionParams{Customer: stripe.String(st.CustomerID),
		ReturnURL: stripe.String(s.cfg.PublicURL + "/t/" + t.Slug + "/billing"), Locale: stripe.String("en-GB")}
	pp.Context = ctx
	pp.SetIdempotencyKey(IdempotencyKey("portal", t.ID.String(), st.CustomerID, s.requestKey(nonce)))
	sess, err := s.api.BillingPortalSessions.New(pp)
	if err != nil {
		return "", stripeErr("create portal session", err)
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.audit.Record(ctx, tx, audit.Event{Action: "billing.portal", ObjectType: "billing", ObjectID: t.ID.String(),
			Detail: map[string]string{"customer": st.CustomerID}})
	})
	if err != nil {
		return "", err
	}
	return sess.URL, nil
}

// SyncSeats keeps the quantity of the subscription of tenant id in step
// with its active holders when its plan is priced per seat: call it after
// holders are added, leave or return (after the transaction commits), or
// from a periodic job; it does nothing when the quantity is already right
// or the tenant has no such subscription. It reports the quantity billed.
// The update's idempotency key is derived from the subscription item, a
// counter bumped at every update and the quantity, so repeated or
// concurrent calls make one change.
func (s *Service) SyncSeats(ctx context.Context, id uuid.UUID) (int, error) {
	n, _, err := s.syncSeats(ctx, id)
	return n, err
}

// syncSeats is SyncSeats, also reporting whether it changed the quantity.
func (s *Service) syncSeats(ctx context.Context, id uuid.UUID) (int, bool, error) {
	if !s.Enabled() {
		return 0, false, nil
	}
	a, err := readAccount(ctx, s.db.PlatformRead(ctx), id, s.cfg.TrialDays, s.clock(), false)
	if err != nil {
		return 0, false, err
	}
	st := a.status(s.clock(), s.grace())
	if !st.Plan.PerSeat || !st.LiveSubscription() || a.item == "" {
		return a.seats, false, nil
	}
	tctx := tenants.WithTenant(ctx, tenants.Tenant{ID: a.tenantID, Slug: a.tenantSlug, Name: a.tenantName, Kind: a.kind})
	var used int
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		used, err = s.count(tctx, tx, id, LimitHolders)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	want := max(used, 1)
	if want == a.seats {
		return want, false, nil
	}
	ip := &stripe.SubscriptionItemParams{Quantity: stripe.Int64(int64(want)), ProrationBehavior: stripe.String("create_prorations")}
	ip.Context = ctx
	ip.SetIdempotencyKey(IdempotencyKey("seats", id.String(), a.item, fmt.Sprint(a.seatSeq), fmt.Sprint(want)))
	if _, err := s.api.SubscriptionItems.Update(a.item, ip); err != nil {
		return 0, false, stripeErr("update seats", err)
	}
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		cur, err := readAccount(tctx, tx, id, s.cfg.TrialDays, s.clock(), true)
		if err != nil {
			return err
		}
		if cur.seatSeq != a.seatSeq {
			return nil // another sync got here first
		}
		cur.seats, cur.seatSeq = want, cur.seatSeq+1
		if err := saveAccount(tctx, tx, cur, s.clock()); err != nil {
			return err
		}
		return s.audit.Record(tctx, tx, audit.Event{Action: "billing.seats", ObjectType: "billing", ObjectID: id.String(),
			ActorLabel: "Carepass", Detail: map[string]string{"from": fmt.Sprint(a.seats), "seats": fmt.Sprint(want)}})
	})
	if err != nil {
		return 0, false, err
	}
	return want, true, nil
}
