// Package billing is how tenants pay for Carepass through Stripe: the plans
// and what each entitles a tenant to, the tenant's billing state and what
// that state allows, Stripe Checkout and the Customer Portal, the Stripe
// webhook and reconciliation with Stripe.
//
// Its two tables (billing_accounts and billing_events) are platform-wide
// and are reached only through this package. Every effect of a Stripe event
// is computed from the subscription as Stripe holds it now, fetched through
// the API, never from the order in which events arrive.
package billing

import (
	"bytes"
	_ "embed" // plans.csv
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/tenants"
)

// Limit names, for Allow.
const (
	LimitHolders    = "holders"     // active passport holders
	LimitStaffSeats = "staff_seats" // active team members (staff who sign in)
	LimitHomes      = "homes"       // care settings run by the tenant
)

// Feature names, for Feature.
const (
	FeatureAPI              = "api"
	FeatureFHIRExport       = "fhir_export"
	FeatureCustomCatalogues = "custom_catalogues"
	FeatureSSO              = "sso"
)

// Limits lists every limit name in display order.
var Limits = []string{LimitHolders, LimitStaffSeats, LimitHomes}

// Features lists every feature name in display order.
var Features = []string{FeatureAPI, FeatureFHIRExport, FeatureCustomCatalogues, FeatureSSO}

// Unlimited is the value of a limit that does not apply.
const Unlimited = -1

// Plan is one plan a tenant can be on.
type Plan struct {
	Key        string
	Name       string
	Summary    string
	Kinds      []tenants.Kind // who may choose it
	DefaultFor []tenants.Kind // whose default plan it is
	PriceEnv   string         // the environment variable naming its Stripe price; empty: free
	PerSeat    bool           // the quantity is the number of active holders
	Trial      bool           // a new tenant on it starts with a trial
	Limits     map[string]int // by limit name; Unlimited when it does not apply
	Features   map[string]bool
}

// Free reports whether the plan costs nothing (no Stripe subscription).
func (p Plan) Free() bool { return p.PriceEnv == "" }

// For reports whether a tenant of kind k may choose the plan.
func (p Plan) For(k tenants.Kind) bool {
	for _, v := range p.Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Limit returns the plan's limit called name (Unlimited for an unknown name).
func (p Plan) Limit(name string) int {
	if n, ok := p.Limits[name]; ok {
		return n
	}
	return Unlimited
}

//go:embed plans.csv
var plansCSV []byte

// Plans are every plan, in the order the billing page offers them.
var Plans = mustPlans(plansCSV)

// PlanByKey returns the plan called key.
func PlanByKey(key string) (Plan, bool) {
	for _, p := range Plans {
		if p.Key == key {
			return p, true
		}
	}
	return Plan{}, false
}

// DefaultPlan returns the plan a new tenant of kind k starts on.
func DefaultPlan(k tenants.Kind) Plan {
	for _, p := range Plans {
		for _, d := range p.DefaultFor {
			if d == k {
				return p
			}
		}
	}
	return Plans[len(Plans)-1]
}

func mustPlans(raw []byte) []Plan {
	ps, err := parsePlans(raw)
	if err != nil {
		panic(err)
	}
	return ps
}

func parsePlans(raw []byte) ([]Plan, error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("billing: plans.csv: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("billing: plans.csv has no plans")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"key", "name", "kinds", "default_for", "price_env", "per_seat", "trial", "holders", "staff_seats", "homes", "features", "summary"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("billing: plans.csv lacks column %s", h)
		}
	}
	var out []Plan
	for _, row := range rows[1:] {
		get := func(h string) string { return strings.TrimSpace(row[col[h]]) }
		p := Plan{Key: get("key"), Name: get("name"), Summary: get("summary"), PriceEnv: get("price_env"),
			PerSeat: get("per_seat") == "yes", Trial: get("trial") == "yes", Limits: map[string]int{}, Features: map[string]bool{}}
		for _, k := range strings.Fields(get("kinds")) {
			if !tenants.Kind(k).Valid() {
				return nil, fmt.Errorf("billing: plan %s: unknown kind %q", p.Key, k)
			}
			p.Kinds = append(p.Kinds, tenants.Kind(k))
		}
		for _, k := range strings.Fields(get("default_for")) {
			p.DefaultFor = append(p.DefaultFor, tenants.Kind(k))
		}
		for _, l := range Limits {
			n, err := strconv.Atoi(get(l))
			if err != nil || n < Unlimited {
				return nil, fmt.Errorf("billing: plan %s: limit %s: %q is not a number", p.Key, l, get(l))
			}
			p.Limits[l] = n
		}
		for _, f := range Features {
			p.Features[f] = false
		}
		for _, f := range strings.Fields(get("features")) {
			if _, ok := p.Features[f]; !ok {
				return nil, fmt.Errorf("billing: plan %s: unknown feature %q", p.Key, f)
			}
			p.Features[f] = true
		}
		out = append(out, p)
	}
	for _, k := range tenants.Kinds {
		n := 0
		for _, p := range out {
			for _, d := range p.DefaultFor {
				if d == k {
					n++
					if !p.For(k) {
						return nil, fmt.Errorf("billing: plan %s is the default for %s but not open to it", p.Key, k)
					}
				}
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("billing: kind %s has %d default plans; want 1", k, n)
		}
	}
	return out, nil
}

// State is a tenant's billing state.
type State string

// Billing states. TrialEnded is never stored: it is what a trial without a
// subscription becomes when its end passes.
const (
	StateTrialing   State = "trialing"
	StateActive     State = "active"
	StatePastDue    State = "past_due"
	StateUnpaid     State = "unpaid"
	StateCancelled  State = "cancelled"
	StateTrialEnded State = "trial_ended"
)

// Label is the state as the billing pages show it.
func (s State) Label() string {
	switch s {
	case StateTrialing:
		return "Free trial"
	case StateActive:
		return "Active"
	case StatePastDue:
		return "Payment overdue"
	case StateUnpaid:
		return "Unpaid"
	case StateCancelled:
		return "Cancelled"
	case StateTrialEnded:
		return "Trial ended"
	}
	return string(s)
}

// Status is a tenant's billing as it stands at a moment.
type Status struct {
	TenantID   uuid.UUID
	TenantName string
	TenantSlug string
	Kind       tenants.Kind
	Plan       Plan
	// State is as stored; Effective is what it amounts to now: a trial
	// past its end is TrialEnded, and a payment overdue for longer than the
	// grace period acts as Unpaid.
	State     State
	Effective State
	// ReadOnly: staff may look at and export records but not add or
	// change them.
	ReadOnly           bool
	TrialEndsAt        *time.Time
	PastDueSince       *time.Time
	GraceEndsAt        *time.Time // when a payment overdue since PastDueSince makes the tenant read-only
	CurrentPeriodEnd   *time.Time
	CancelAtPeriodEnd  bool
	CustomerID         string
	SubscriptionID     string
	SubscriptionStatus string // as Stripe reports it
	Seats              int
	LastEventID        string
	LastEventType      string
	LastEventAt        *time.Time
	Stored             bool // false: no row yet; the kind's defaults
}

// LiveSubscription reports whether the tenant has a Stripe subscription
// that is being paid or is in its trial.
func (s Status) LiveSubscription() bool {
	return s.SubscriptionID != "" && live(s.SubscriptionStatus)
}

// Usage is one limit of the tenant's plan against what the tenant uses.
type Usage struct {
	Limit string
	Label string
	Used  int
	Max   int // Unlimited when it does not apply
}

// Over reports whether the usage is beyond the limit.
func (u Usage) Over() bool { return u.Max != Unlimited && u.Used > u.Max }

// limitLabel names a limit in messages: "active passport holders".
func limitLabel(name string) string {
	switch name {
	case LimitHolders:
		return "active passport holders"
	case LimitStaffSeats:
		return "team members"
	case LimitHomes:
		return "care settings"
	}
	return strings.ReplaceAll(name, "_", " ")
}

// featureLabel names a feature on the billing page.
func featureLabel(name string) string {
	switch name {
	case FeatureAPI:
		return "The Carepass API"
	case FeatureFHIRExport:
		return "FHIR export"
	case FeatureCustomCatalogues:
		return "Your own skills catalogues"
	case FeatureSSO:
		return "Single sign-on"
	}
	return name
}
