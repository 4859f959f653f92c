package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/carepass/carepass/modules/errs"
)

// DefaultAPIBase is Stripe's API.
const DefaultAPIBase = "https://api.stripe.com"

// NewStripe returns a Stripe client that authenticates with key and sends
// its requests to apiBase (DefaultAPIBase when empty; a stripe-mock address
// in tests) through httpClient (one with a 30-second timeout when nil). It
// sets no package-level state: nothing reads stripe.Key. Network failures
// and Stripe's 409 and 5xx answers are retried twice.
func NewStripe(key, apiBase string, httpClient *http.Client) *client.API {
	if apiBase == "" {
		apiBase = DefaultAPIBase
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimRight(apiBase, "/")),
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, &stripe.BackendConfig{HTTPClient: httpClient, LeveledLogger: cfg.LeveledLogger}),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, &stripe.BackendConfig{HTTPClient: httpClient, LeveledLogger: cfg.LeveledLogger}),
	}
	return client.New(key, backends)
}

// Subscription is a Stripe subscription as billing needs it: what Stripe
// holds now, fetched from the API.
type Subscription struct {
	ID                string
	CustomerID        string
	Status            string // Stripe's: trialing, active, past_due, unpaid, canceled, incomplete, incomplete_expired, paused
	Created           time.Time
	PriceID           string // of the item billing bills by
	ItemID            string
	Quantity          int
	TrialEnd          *time.Time
	CurrentPeriodEnd  *time.Time
	CancelAtPeriodEnd bool
	Metadata          map[string]string
}

// Subscriptions fetches subscriptions as Stripe holds them now. The one
// used in production, StripeSubscriptions, asks the Stripe API.
type Subscriptions interface {
	// Get returns the subscription with id. A subscription Stripe does not
	// know is an error of kind errs.NotFound.
	Get(ctx context.Context, id string) (Subscription, error)
	// ForCustomer returns every subscription of the customer, in any status.
	ForCustomer(ctx context.Context, customerID string) ([]Subscription, error)
}

// StripeSubscriptions reads subscriptions through the Stripe API.
type StripeSubscriptions struct {
	API    *client.API
	Prices func(priceID string) bool // reports whether a price is one of the plans'; picks the item billed by
}

// Get implements Subscriptions.
func (s StripeSubscriptions) Get(ctx context.Context, id string) (Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	sub, err := s.API.Subscriptions.Get(id, p)
	if err != nil {
		return Subscription{}, stripeErr("get subscription", err)
	}
	return fromStripe(sub, s.Prices), nil
}

// ForCustomer implements Subscriptions.
func (s StripeSubscriptions) ForCustomer(ctx context.Context, customerID string) ([]Subscription, error) {
	p := &stripe.SubscriptionListParams{Customer: stripe.String(customerID), Status: stripe.String("all")}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	it := s.API.Subscriptions.List(p)
	var out []Subscription
	for it.Next() {
		out = append(out, fromStripe(it.Subscription(), s.Prices))
	}
	if err := it.Err(); err != nil {
		return nil, stripeErr("list subscriptions", err)
	}
	return out, nil
}

// fromStripe converts Stripe's subscription; the item billed by is the
// first whose price is one of the plans' (the first item when none is).
func fromStripe(sub *stripe.Subscription, known func(string) bool) Subscription {
	out := Subscription{ID: sub.ID, Status: string(sub.Status), CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		Metadata: sub.Metadata, Created: time.Unix(sub.Created, 0).UTC()}
	if sub.Customer != nil {
		out.CustomerID = sub.Customer.ID
	}
	if sub.TrialEnd > 0 {
		t := time.Unix(sub.TrialEnd, 0).UTC()
		out.TrialEnd = &t
	}
	if sub.CurrentPeriodEnd > 0 {
		t := time.Unix(sub.CurrentPeriodEnd, 0).UTC()
		out.CurrentPeriodEnd = &t
	}
	if sub.Items != nil {
		var chosen *stripe.SubscriptionItem
		for _, it := range sub.Items.Data {
			if it == nil || it.Price == nil {
				continue
			}
			if chosen == nil || (known != nil && known(it.Price.ID) && !known(chosen.Price.ID)) {
				chosen = it
			}
		}
		if chosen != nil {
			out.PriceID, out.ItemID, out.Quantity = chosen.Price.ID, chosen.ID, int(chosen.Quantity)
		}
	}
	return out
}

// msgStripeDown is what a person sees when Stripe cannot be reached.
const msgStripeDown = "Carepass could not reach Stripe, which handles our payments, so nothing has been changed. Try again in a few minutes."

// stripeErr classifies an error from the Stripe API: unreachable or failing
// on Stripe's side is Unavailable (try again later); a subscription or
// customer Stripe does not know is NotFound; anything else (a rejected
// request) is a fault of ours or of the configuration, Internal.
func stripeErr(op string, err error) error {
	wrapped := fmt.Errorf("billing: stripe: %s: %w", op, err)
	var se *stripe.Error
	if !errors.As(err, &se) {
		return errs.Wrap(errs.Unavailable, msgStripeDown, wrapped)
	}
	switch {
	case se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusConflict:
		return errs.Wrap(errs.Unavailable, msgStripeDown, wrapped)
	case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == http.StatusNotFound:
		return errs.Wrap(errs.NotFound, "Stripe has no record of this", wrapped)
	}
	return errs.Wrap(errs.Internal, "", wrapped)
}

// IdempotencyKey derives the key of one Stripe create or update call from
// what makes the call the same call: the operation, then the tenant and
// whatever else tells calls apart (a plan, a form's nonce, a time bucket).
// The same inputs always give the same key, so a repeated request (a
// double click, a retried job) makes one object in Stripe.
func IdempotencyKey(op string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(op))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return "carepass-" + op + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// bucket names the period of length d that t falls in, for keys that
// should repeat within a period and differ across periods.
func bucket(t time.Time, d time.Duration) string {
	return t.UTC().Truncate(d).Format("20060102T150405")
}
