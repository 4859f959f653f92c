package billing

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76/client"
)

// Environment variables billing reads (see docs/billing.md). Each paid
// plan's price comes from the variable named in its PriceEnv
// (STRIPE_PRICE_PRACTICE, STRIPE_PRICE_CARE_HOME, STRIPE_PRICE_TRUST).
const (
	EnvSecretKey             = "STRIPE_SECRET_KEY"
	EnvAPIBase               = "STRIPE_API_BASE"
	EnvWebhookSecret         = "STRIPE_WEBHOOK_SECRET"
	EnvWebhookSecretPrevious = "STRIPE_WEBHOOK_SECRET_PREVIOUS"
	EnvTrialDays             = "BILLING_TRIAL_DAYS"
	EnvGraceDays             = "BILLING_GRACE_DAYS"
)

// Settings is billing's configuration as the environment gives it.
type Settings struct {
	SecretKey string // empty: billing disabled
	APIBase   string // DefaultAPIBase unless set
	Config    Config // PublicURL, Now and Logger are left for the caller
}

// Enabled reports whether a Stripe key is configured.
func (s Settings) Enabled() bool { return s.SecretKey != "" }

// Live reports whether the key is for Stripe's live mode (real money).
func (s Settings) Live() bool {
	return strings.HasPrefix(s.SecretKey, "sk_live_") || strings.HasPrefix(s.SecretKey, "rk_live_")
}

// Client returns the Stripe client for these settings, or nil when
// billing is disabled (New then makes a disabled service).
func (s Settings) Client(httpClient *http.Client) *client.API {
	if !s.Enabled() {
		return nil
	}
	return NewStripe(s.SecretKey, s.APIBase, httpClient)
}

// FromEnv reads billing's settings with getenv. Without STRIPE_SECRET_KEY
// billing is disabled and nothing else is required; with it, the webhook
// secret and every paid plan's price must be set too. It returns every
// problem at once.
func FromEnv(getenv func(string) string) (Settings, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	s := Settings{SecretKey: get(EnvSecretKey), APIBase: get(EnvAPIBase), Config: Config{Prices: map[string]string{},
		WebhookSecret: get(EnvWebhookSecret), WebhookSecretPrevious: get(EnvWebhookSecretPrevious)}}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if s.APIBase == "" {
		s.APIBase = DefaultAPIBase
	} else if u, err := url.Parse(s.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("%s must be an http(s) URL, not %q", EnvAPIBase, s.APIBase)
	}
	for _, kv := range []struct {
		name string
		dst  *int
	}{{EnvTrialDays, &s.Config.TrialDays}, {EnvGraceDays, &s.Config.GraceDays}} {
		if v := get(kv.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 365 {
				bad("%s must be a number of days from 1 to 365, not %q", kv.name, v)
			}
			*kv.dst = n
		}
	}
	if !s.Enabled() {
		if len(problems) > 0 {
			return s, errors.New("billing: " + strings.Join(problems, "; "))
		}
		return s, nil
	}
	if !strings.HasPrefix(s.SecretKey, "sk_") && !strings.HasPrefix(s.SecretKey, "rk_") {
		bad("%s must be a Stripe secret or restricted key (sk_… or rk_…)", EnvSecretKey)
	}
	if !strings.HasPrefix(s.Config.WebhookSecret, "whsec_") {
		bad("%s must be the webhook endpoint's signing secret (whsec_…)", EnvWebhookSecret)
	}
	if v := s.Config.WebhookSecretPrevious; v != "" && !strings.HasPrefix(v, "whsec_") {
		bad("%s, when set, must be a signing secret (whsec_…)", EnvWebhookSecretPrevious)
	}
	for _, p := range Plans {
		if p.Free() {
			continue
		}
		price := get(p.PriceEnv)
		if !strings.HasPrefix(price, "price_") {
			bad("%s must be the Stripe price id (price_…) of the %s plan", p.PriceEnv, p.Name)
			continue
		}
		s.Config.Prices[p.Key] = price
	}
	if len(problems) > 0 {
		return s, errors.New("billing: " + strings.Join(problems, "; "))
	}
	return s, nil
}
