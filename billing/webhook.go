package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// handledEvents are the Stripe events billing acts on; any other is
// acknowledged and ignored.
var handledEvents = map[stripe.EventType]bool{
	"checkout.session.completed":    true,
	"customer.subscription.created": true,
	"customer.subscription.updated": true,
	"customer.subscription.deleted": true,
	"invoice.paid":                  true,
	"invoice.payment_failed":        true,
}

// errSignature is the cause of every refused delivery.
var errSignature = errors.New("billing: webhook: signature")

// verify checks the Stripe-Signature header of payload against the
// current webhook secret and then, during a roll, the previous one, within
// stripe-go's default tolerance of five minutes, and decodes the event. An
// event whose API version is not the one stripe-go v76 is generated for
// (2023-10-16) is refused too: the endpoint must be configured with that
// version (docs/billing.md).
func (s *Service) verify(payload []byte, header string) (stripe.Event, error) {
	secrets := []string{s.cfg.WebhookSecret}
	if s.cfg.WebhookSecretPrevious != "" {
		secrets = append(secrets, s.cfg.WebhookSecretPrevious)
	}
	var last error = webhook.ErrNoValidSignature
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if err := webhook.ValidatePayloadWithTolerance(payload, header, secret, webhook.DefaultTolerance); err != nil {
			last = err
			if errors.Is(err, webhook.ErrNoValidSignature) {
				continue // perhaps signed with the other secret
			}
			break // no header, a malformed one or too old: no secret helps
		}
		ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{})
		if err != nil {
			return stripe.Event{}, errs.Wrap(errs.Invalid, "The event could not be accepted", fmt.Errorf("%w: %w", errSignature, err))
		}
		return ev, nil
	}
	return stripe.Event{}, errs.Wrap(errs.Invalid, "The signature is not valid", fmt.Errorf("%w: %w", errSignature, last))
}

// eventObject is what billing reads of an event's object (a Checkout
// session, a subscription or an invoice): ids only. What the subscription
// is now comes from the API.
type eventObject struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Customer          json.RawMessage   `json:"customer"`
	Subscription      json.RawMessage   `json:"subscription"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
}

// idOf reads an id that Stripe sends either as a string or as an expanded
// object with an id.
func idOf(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.ID
	}
	return ""
}

// HandleWebhook verifies and applies one delivery of the Stripe webhook.
// It returns an error of kind Invalid when the signature is missing, bad,
// too old or made with another secret (answer 400; nothing changed), and
// any other error when the delivery should be retried (answer 5xx). nil
// means acknowledge: applied now, applied before (a replay), or nothing to
// do (an event type billing ignores, a customer no tenant has).
//
// The event's id is stored in the same transaction as its effect, so a
// replay changes nothing, and of two deliveries at once the second waits
// for the first and then finds the id taken. The effect is computed from
// the subscription as Stripe holds it now, never from the event's copy.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, header string) error {
	ev, err := s.verify(payload, header)
	if err != nil {
		s.log.Warn("billing: webhook refused", "err", err)
		return err
	}
	log := s.log.With("event", ev.ID, "type", string(ev.Type))
	if !handledEvents[ev.Type] {
		log.Debug("billing: webhook ignored: event type not handled")
		return nil
	}
	if !s.Enabled() {
		log.Warn("billing: webhook ignored: billing is not set up")
		return nil
	}
	db := s.db.PlatformRead(ctx)
	if seen, err := eventSeen(ctx, db, ev.ID); err != nil {
		return err
	} else if seen {
		log.Info("billing: webhook replay ignored")
		return nil
	}
	var obj eventObject
	if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &obj) != nil {
		log.Error("billing: webhook ignored: unreadable object")
		return nil
	}
	customer := idOf(obj.Customer)
	subID := idOf(obj.Subscription)
	if obj.Object == "subscription" {
		subID = obj.ID
	}

	tenantID, link, err := s.tenantFor(ctx, customer, obj)
	if err != nil {
		return err
	}
	if tenantID == uuid.Nil {
		log.Warn("billing: webhook ignored: no tenant has this customer", "customer", customer)
		return nil
	}
	log = log.With("tenant", tenantID)

	// The tenant is the one whose customer the event names; the event,
	// signed by Stripe, names the subscription too, so the subscription
	// fetched by that id is taken as this tenant's.
	var sub, current *Subscription
	if subID != "" {
		got, err := s.subs.Get(ctx, subID)
		switch {
		case errs.Is(err, errs.NotFound):
			log.Warn("billing: subscription unknown to Stripe", "subscription", subID)
		case err != nil:
			return err
		default:
			sub = &got
		}
	}
	// Deciding about another live subscription takes the current one's
	// state too, as Stripe holds it now.
	pre, err := readAccount(ctx, db, tenantID, s.cfg.TrialDays, s.clock(), false)
	if err != nil {
		return err
	}
	if sub != nil && pre.subscription != "" && sub.ID != pre.subscription && live(sub.Status) {
		got, err := s.subs.Get(ctx, pre.subscription)
		switch {
		case errs.Is(err, errs.NotFound):
			current = &Subscription{ID: pre.subscription, Status: "canceled"}
		case err != nil:
			return err
		default:
			current = &got
		}
	}

	tctx := tenants.WithTenant(ctx, tenants.Tenant{ID: tenantID, Slug: pre.tenantSlug, Name: pre.tenantName, Kind: pre.kind})
	return s.db.Tx(tctx, func(tx *gorm.DB) error {
		now := s.clock()
		fresh, err := recordEvent(tctx, tx, ev.ID, string(ev.Type), tenantID, now)
		if err != nil || !fresh {
			if err == nil {
				log.Info("billing: webhook duplicate ignored")
			}
			return err
		}
		a, err := readAccount(tctx, tx, tenantID, s.cfg.TrialDays, now, true)
		if err != nil {
			return err
		}
		before := a
		if link {
			if a.customer != "" && a.customer != customer {
				log.Warn("billing: webhook ignored: the tenant has another customer", "customer", customer)
				return nil
			}
			a.customer = customer
		}
		if sub != nil {
			next, _, err := s.rules().next(a, *sub, current)
			if err != nil {
				return fmt.Errorf("billing: webhook %s: %w (the current subscription changed meanwhile; Stripe will retry)", ev.ID, err)
			}
			a = next
		}
		changed := "no"
		if !sameBilling(before, a) {
			changed = "yes"
		}
		a.lastEventID, a.lastEventType, a.lastEventAt = ev.ID, string(ev.Type), &now
		if err := saveAccount(tctx, tx, a, now); err != nil {
			return err
		}
		log.Info("billing: webhook applied", "changed", changed, "plan", a.plan, "state", string(a.state), "subscription", a.subscription)
		// Every event applied is audited once, whether or not it changed
		// anything: the trail shows what Stripe told us and when.
		return s.audit.Record(tctx, tx, audit.Event{Action: "billing.stripe_event", ObjectType: "billing", ObjectID: tenantID.String(),
			ActorLabel: "Stripe", Detail: map[string]string{"event": ev.ID, "type": string(ev.Type), "changed": changed,
				"plan": a.plan, "state": string(a.state), "subscription": a.subscription}})
	})
}

// tenantFor finds the tenant an event is about: the one whose Stripe
// customer it names. When no tenant has the customer yet, a Checkout
// session or subscription that billing created names the tenant in its
// client_reference_id or metadata; that tenant is the one (and link is
// true: its customer is recorded) only while it has no customer of its own.
func (s *Service) tenantFor(ctx context.Context, customer string, obj eventObject) (uuid.UUID, bool, error) {
	db := s.db.PlatformRead(ctx)
	if customer != "" {
		id, ok, err := accountByCustomer(ctx, db, customer)
		if err != nil || ok {
			return id, false, err
		}
	} else {
		return uuid.Nil, false, nil
	}
	ref := obj.ClientReferenceID
	if ref == "" {
		ref = obj.Metadata["tenant_id"]
	}
	id, err := uuid.Parse(ref)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, false, nil
	}
	a, err := readAccount(ctx, db, id, s.cfg.TrialDays, s.clock(), false)
	if errs.Is(err, errs.NotFound) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, err
	}
	if a.customer != "" {
		return uuid.Nil, false, nil
	}
	return id, true, nil
}
