package billing

import (
	"errors"
	"time"
)

// live reports whether a subscription in Stripe's status st is being paid
// for or is in its trial: the statuses in which it is a tenant's plan.
func live(st string) bool {
	return st == "active" || st == "trialing" || st == "past_due"
}

// newer reports whether a was created after b (ties broken by id), so
// that of two live subscriptions the same one always wins.
func newer(a, b Subscription) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return a.ID > b.ID
}

// errNeedCurrent: deciding needs the tenant's current subscription as
// Stripe holds it now, and it was not fetched.
var errNeedCurrent = errors.New("billing: the current subscription is needed to decide")

// rules turn a subscription into billing state; they hold what the
// decision depends on besides the subscription.
type rules struct {
	planForPrice func(priceID string) (Plan, bool)
	now          time.Time
}

// next returns the account after taking in sub, a subscription of the
// account's customer as Stripe holds it now, and whether anything changed.
// current is the account's current subscription as Stripe holds it now; it
// is needed only when sub is another, live subscription (errNeedCurrent
// when it is nil then).
//
// The result depends only on the state Stripe holds, never on the order
// events arrive in: a live subscription becomes the tenant's unless the
// current one is live and newer; a subscription that is not live matters
// only when it is the current one.
func (r rules) next(a account, sub Subscription, current *Subscription) (account, bool, error) {
	before := a
	if sub.ID != a.subscription {
		if !live(sub.Status) {
			return a, false, nil
		}
		if a.subscription != "" {
			if current == nil || current.ID != a.subscription {
				return a, false, errNeedCurrent
			}
			if live(current.Status) && newer(*current, sub) {
				return a, false, nil
			}
		}
	}
	if !live(sub.Status) && sub.Status != "canceled" && sub.Status != "unpaid" && sub.Status != "paused" {
		// incomplete or incomplete_expired: never a tenant's plan; the
		// current one cannot become either, so nothing to take in.
		return a, false, nil
	}

	a.subscription, a.subStatus, a.item = sub.ID, sub.Status, sub.ItemID
	if !sub.Created.IsZero() {
		created := sub.Created
		a.subCreated = &created
	}
	if p, ok := r.planForPrice(sub.PriceID); ok {
		a.plan = p.Key
	} else if p, ok := PlanByKey(sub.Metadata["plan"]); ok && !p.Free() {
		a.plan = p.Key
	}
	a.seats = max(sub.Quantity, 0)
	a.periodEnd, a.cancelAtPeriodEnd = sub.CurrentPeriodEnd, sub.CancelAtPeriodEnd

	switch sub.Status {
	case "trialing":
		a.state, a.trialEndsAt, a.pastDueSince = StateTrialing, sub.TrialEnd, nil
	case "active":
		a.state, a.trialEndsAt, a.pastDueSince = StateActive, nil, nil
	case "past_due":
		if a.state != StatePastDue || a.pastDueSince == nil {
			since := r.now
			a.pastDueSince = &since
		}
		a.state = StatePastDue
	case "unpaid", "paused":
		a.state = StateUnpaid
	case "canceled":
		if free, ok := freePlanFor(a); ok {
			// A tenant that may use a free plan falls back to it.
			a = a.clearSubscription()
			a.plan, a.state = free.Key, StateActive
		} else {
			a.state, a.pastDueSince, a.cancelAtPeriodEnd = StateCancelled, nil, false
		}
	}
	return a, !sameBilling(before, a), nil
}

// clearSubscription forgets the account's subscription.
func (a account) clearSubscription() account {
	a.subscription, a.subStatus, a.item, a.subCreated = "", "", "", nil
	a.seats, a.periodEnd, a.cancelAtPeriodEnd, a.trialEndsAt, a.pastDueSince = 0, nil, false, nil, nil
	return a
}

// freePlanFor returns the free plan the tenant may use, if any.
func freePlanFor(a account) (Plan, bool) {
	for _, p := range Plans {
		if p.Free() && p.For(a.kind) {
			return p, true
		}
	}
	return Plan{}, false
}

// choose picks, from every subscription of a customer, the one the tenant
// is on: the newest live one; when none is live, the current one as it
// stands; nil when there is nothing to take in. It also returns the
// current subscription, when listed.
func choose(subs []Subscription, currentID string) (chosen, current *Subscription) {
	for i := range subs {
		s := &subs[i]
		if s.ID == currentID {
			current = s
		}
		if live(s.Status) && (chosen == nil || newer(*s, *chosen)) {
			chosen = s
		}
	}
	if chosen == nil {
		chosen = current
	}
	return chosen, current
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// sameBilling reports whether two accounts hold the same billing facts
// (ignoring the last event).
func sameBilling(a, b account) bool {
	return a.plan == b.plan && a.state == b.state && sameTime(a.trialEndsAt, b.trialEndsAt) &&
		sameTime(a.pastDueSince, b.pastDueSince) && sameTime(a.periodEnd, b.periodEnd) &&
		a.cancelAtPeriodEnd == b.cancelAtPeriodEnd && a.customer == b.customer && a.subscription == b.subscription &&
		sameTime(a.subCreated, b.subCreated) && a.item == b.item && a.subStatus == b.subStatus && a.seats == b.seats
}

// status is what the account amounts to at now, with grace the time a
// payment may be overdue before the tenant becomes read-only.
func (a account) status(now time.Time, grace time.Duration) Status {
	p, ok := PlanByKey(a.plan)
	if !ok {
		p = DefaultPlan(a.kind)
	}
	st := Status{TenantID: a.tenantID, TenantName: a.tenantName, TenantSlug: a.tenantSlug, Kind: a.kind, Plan: p,
		State: a.state, Effective: a.state, TrialEndsAt: a.trialEndsAt, PastDueSince: a.pastDueSince,
		CurrentPeriodEnd: a.periodEnd, CancelAtPeriodEnd: a.cancelAtPeriodEnd, CustomerID: a.customer,
		SubscriptionID: a.subscription, SubscriptionStatus: a.subStatus, Seats: a.seats,
		LastEventID: a.lastEventID, LastEventType: a.lastEventType, LastEventAt: a.lastEventAt, Stored: a.stored}
	switch a.state {
	case StateTrialing:
		// A trial of our own (no subscription yet) ends at its date; a
		// trial Stripe runs ends when Stripe says so.
		if a.subscription == "" && a.trialEndsAt != nil && !now.Before(*a.trialEndsAt) {
			st.Effective = StateTrialEnded
		}
	case StatePastDue:
		if a.pastDueSince != nil {
			end := a.pastDueSince.Add(grace)
			st.GraceEndsAt = &end
			if !now.Before(end) {
				st.Effective = StateUnpaid
			}
		}
	}
	switch st.Effective {
	case StateTrialEnded, StateUnpaid, StateCancelled:
		st.ReadOnly = true
	}
	return st
}
