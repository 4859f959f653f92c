package billing

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Report is what Reconcile did.
type Report struct {
	Checked  int      // tenants with a Stripe customer, compared with Stripe
	Changed  []string // "slug: what changed", for each tenant brought in line
	Seats    int      // per-seat subscriptions whose quantity was corrected
	Failures []string // "slug: why", for each tenant that could not be checked
}

// Reconcile brings every tenant that has a Stripe customer in line with
// Stripe: it lists the customer's subscriptions from the API, takes in the
// one the tenant is on (the newest live one, else the current one) by the
// same rules as the webhook, and corrects the seats of a per-seat
// subscription. One tenant's failure does not stop the others; it is in
// the report. The error is for failures to start at all.
func (s *Service) Reconcile(ctx context.Context) (Report, error) {
	var r Report
	if !s.Enabled() {
		return r, errs.E(errs.Conflict, msgDisabled)
	}
	list, err := listAccounts(ctx, s.db.PlatformRead(ctx), s.cfg.TrialDays)
	if err != nil {
		return r, err
	}
	for _, a := range list {
		if a.customer == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Checked++
		changed, err := s.reconcileOne(ctx, a)
		if err != nil {
			s.log.Error("billing: reconcile", "tenant", a.tenantID, "err", err)
			r.Failures = append(r.Failures, a.tenantSlug+": "+errs.MessageOf(err))
			continue
		}
		if changed != "" {
			r.Changed = append(r.Changed, a.tenantSlug+": "+changed)
		}
		_, synced, err := s.syncSeats(ctx, a.tenantID)
		if err != nil {
			r.Failures = append(r.Failures, a.tenantSlug+": seats: "+errs.MessageOf(err))
			continue
		}
		if synced {
			r.Seats++
		}
	}
	return r, nil
}

// reconcileOne takes in what Stripe holds for one tenant and says what
// changed ("" when nothing did).
func (s *Service) reconcileOne(ctx context.Context, a account) (string, error) {
	subs, err := s.subs.ForCustomer(ctx, a.customer)
	if err != nil {
		return "", err
	}
	tctx := tenants.WithTenant(ctx, tenants.Tenant{ID: a.tenantID, Slug: a.tenantSlug, Name: a.tenantName, Kind: a.kind})
	var what string
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		cur, err := readAccount(tctx, tx, a.tenantID, s.cfg.TrialDays, s.clock(), true)
		if err != nil {
			return err
		}
		chosen, current := choose(subs, cur.subscription)
		if current == nil && cur.subscription != "" {
			// Not among the customer's subscriptions: not one it pays.
			current = &Subscription{ID: cur.subscription, Status: "canceled"}
			if chosen == nil {
				chosen = current
			}
		}
		if chosen == nil {
			return nil
		}
		next, changed, err := s.rules().next(cur, *chosen, current)
		if err != nil || !changed {
			return err
		}
		if err := saveAccount(tctx, tx, next, s.clock()); err != nil {
			return err
		}
		what = fmt.Sprintf("%s %s → %s %s", cur.plan, cur.state, next.plan, next.state)
		return s.audit.Record(tctx, tx, audit.Event{Action: "billing.reconcile", ObjectType: "billing", ObjectID: a.tenantID.String(),
			ActorLabel: "Carepass", Detail: map[string]string{"plan": next.plan, "state": string(next.state), "subscription": next.subscription,
				"from_plan": cur.plan, "from_state": string(cur.state)}})
	})
	return what, err
}
