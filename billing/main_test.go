package billing_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

// The billing tests talk to stripe-mock, Stripe's own mock of its API,
// never to a hand-written fake. TestMain finds it at STRIPE_API_BASE (the
// Makefile starts it and exports that); when unset outside CI, it starts
// it through scripts/stripe-mock.sh, so `go test ./billing/` works alone.
// In CI an unset STRIPE_API_BASE fails the run: it must not skip quietly.
var stripeBase string

// fixture is what stripe-mock answers about any subscription: its price
// and the fixture's own customer. Tests that want a plan from a fetched
// subscription configure that plan with this price.
var fixture struct {
	Price    string
	Customer string
}

func TestMain(m *testing.M) {
	base, err := findStripeMock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "billing tests:", err)
		os.Exit(1)
	}
	stripeBase = base
	api := billing.NewStripe("sk_test_fixture", stripeBase, nil)
	sub, err := api.Subscriptions.Get("sub_fixture", nil)
	if err != nil || sub.Items == nil || len(sub.Items.Data) == 0 || sub.Items.Data[0].Price == nil {
		fmt.Fprintf(os.Stderr, "billing tests: stripe-mock at %s does not answer as expected: %v\n", stripeBase, err)
		os.Exit(1)
	}
	fixture.Price, fixture.Customer = sub.Items.Data[0].Price.ID, sub.Customer.ID
	os.Exit(m.Run())
}

func findStripeMock() (string, error) {
	if b := os.Getenv("STRIPE_API_BASE"); b != "" {
		return b, nil
	}
	if os.Getenv("CI") == "true" {
		return "", errors.New("STRIPE_API_BASE is not set; in CI stripe-mock must be started first (scripts/stripe-mock.sh start, as make test does)")
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "stripe-mock.sh"), "start")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/stripe-mock.sh start: %w\n%s", err, out.String())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "STRIPE_API_BASE="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("scripts/stripe-mock.sh start printed no STRIPE_API_BASE:\n%s", out.String())
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found")
		}
		dir = parent
	}
}

// call is one request sent to Stripe.
type call struct {
	Method, Path, Key string
	Form              url.Values
}

// recorder is an http.RoundTripper that forwards every request to
// stripe-mock unchanged and remembers what was sent: it fakes nothing.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []call
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := call{Method: req.Method, Path: req.URL.Path, Key: req.Header.Get("Idempotency-Key")}
	if req.Body != nil {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		c.Form, _ = url.ParseQuery(string(raw))
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// sent returns the calls of method to path (a prefix), in order.
func (r *recorder) sent(method, pathPrefix string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.Method == method && strings.HasPrefix(c.Path, pathPrefix) {
			out = append(out, c)
		}
	}
	return out
}

const (
	secret     = "whsec_current_test_secret"
	oldSecret  = "whsec_previous_test_secret"
	publicURL  = "https://carepass.test"
	carePrice  = "price_carehome_test"
	trustPrice = "price_trust_test"
)

// env is one test's database, clock, Stripe client and billing service.
type env struct {
	*moduletest.Env
	clock *moduletest.Clock
	rec   *recorder
	cfg   billing.Config
	svc   *billing.Service
}

// newEnv returns an env whose clock starts now and whose practice plan is
// priced at the stripe-mock fixture's price, so a subscription fetched
// from stripe-mock is on the practice plan; edit changes the config.
func newEnv(t *testing.T, edit ...func(*billing.Config)) *env {
	t.Helper()
	clock := moduletest.NewClock(time.Now().UTC().Truncate(time.Second))
	// Sign-in sessions and the audit log keep real time, so moving the
	// billing clock on by weeks signs nobody out.
	e := &env{Env: moduletest.New(t, time.Now), clock: clock, rec: &recorder{next: http.DefaultTransport}}
	e.cfg = billing.Config{
		PublicURL:             publicURL,
		Prices:                map[string]string{"practice": fixture.Price, "care_home": carePrice, "trust": trustPrice},
		WebhookSecret:         secret,
		WebhookSecretPrevious: oldSecret,
		Now:                   clock.Now,
		Logger:                slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range edit {
		f(&e.cfg)
	}
	e.svc = e.service(stripeBase)
	return e
}

// service returns a billing service of e's config talking to Stripe at base.
func (e *env) service(base string) *billing.Service {
	api := billing.NewStripe("sk_test_billing", base, &http.Client{Transport: e.rec, Timeout: 10 * time.Second})
	return billing.New(e.Scoped, e.Log, api, e.cfg)
}

// ctx is a context in tn acting as actor.
func ctx(tn tenants.Tenant, actor uuid.UUID) context.Context { return moduletest.As(tn, actor) }

// link gives tn the Stripe customer cus, as a completed checkout would.
func (e *env) link(tn tenants.Tenant, cus string) {
	e.T.Helper()
	now := e.clock.Now()
	p := billing.DefaultPlan(tn.Kind)
	state, trialEnd := "active", (*time.Time)(nil)
	if !p.Free() {
		end := now.Add(30 * 24 * time.Hour)
		state, trialEnd = "trialing", &end
	}
	err := e.DB.Gorm.Exec(`INSERT INTO billing_accounts (billed_tenant, plan, state, trial_ends_at, stripe_customer, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tn.ID, p.Key, state, trialEnd, cus, now, now).Error
	if err != nil {
		e.T.Fatal(err)
	}
}

// holders enrols n active holders in tn at once.
func (e *env) holders(tn tenants.Tenant, n int) {
	e.T.Helper()
	e.In(tn, func(tx *gorm.DB) error {
		return tx.Exec(`WITH p AS (INSERT INTO persons (id) SELECT gen_random_uuid() FROM generate_series(1, ?) RETURNING id)
			INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
			SELECT ?, gen_random_uuid(), p.id, 'Test', 'Holder', 'staff' FROM p`, n, tn.ID).Error
	})
}

// status returns tn's billing now, failing the test on error.
func (e *env) status(tn tenants.Tenant) billing.Status {
	e.T.Helper()
	st, err := e.svc.Status(context.Background(), tn.ID)
	if err != nil {
		e.T.Fatal(err)
	}
	return st
}

// count runs a counting query on the platform-wide tables.
func (e *env) count(query string, args ...any) int64 {
	e.T.Helper()
	var n int64
	if err := e.DB.Gorm.Raw(query, args...).Row().Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

// actions counts tn's audit events with action.
func (e *env) actions(tn tenants.Tenant, action string) int {
	n := 0
	for _, ev := range e.Events(tn) {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// event is the JSON of a Stripe event of type typ about obj, in the API
// version stripe-go v76 expects.
func event(id, typ string, obj map[string]any) []byte {
	return eventVersion(id, typ, stripe.APIVersion, obj)
}

func eventVersion(id, typ, version string, obj map[string]any) []byte {
	raw, err := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": version, "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ, "data": map[string]any{"object": obj}})
	if err != nil {
		panic(err)
	}
	return raw
}

// sign returns the Stripe-Signature header for payload signed with key at t
// (now when zero), as Stripe signs deliveries.
func sign(payload []byte, key string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: key, Timestamp: at}).Header
}

// subscriptionObject is a subscription as an event carries it.
func subscriptionObject(id, customer string, meta map[string]string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": "active", "metadata": meta}
}

// invoiceObject is an invoice of a subscription as an event carries it.
func invoiceObject(id, customer, sub string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub}
}

// checkoutObject is a completed Checkout session as an event carries it.
func checkoutObject(id, customer, sub, ref string) map[string]any {
	return map[string]any{"id": id, "object": "checkout.session", "customer": customer, "subscription": sub,
		"client_reference_id": ref, "mode": "subscription", "metadata": map[string]string{"tenant_id": ref}}
}

// deliver hands one signed delivery to the service, as the webhook route does.
func (e *env) deliver(payload []byte) error {
	return e.svc.HandleWebhook(context.Background(), payload, sign(payload, secret, time.Time{}))
}

// mustDeliver delivers and fails the test on an error.
func (e *env) mustDeliver(payload []byte) {
	e.T.Helper()
	if err := e.deliver(payload); err != nil {
		e.T.Fatalf("deliver %s: %v", payload, err)
	}
}
