package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/mail"
)

// config is every setting, read once from the environment in main.
type config struct {
	Env             string // "development" or "production"
	Addr            string // listen address
	DatabaseURL     string // app role (no table ownership, no BYPASSRLS)
	MigrationURL    string // owner role, for migrate
	DBMaxConns      int32
	SecretKey       []byte
	SecureCookies   bool
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	BodyLimit       int
	TrustedProxies  []string // addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed
	PolicyCacheSize int
	DueWindowDays   int // how long before expiry a competency shows as due for update
	Bench           bool
	LogLevel        string
	DemoPassword    string
	// CredentialKey seals issuers' private signing keys (32 bytes).
	CredentialKey []byte
	// PublicURL is the address people reach the service at, printed on
	// wallet cards and in credentials.
	PublicURL string
	// VerifyPerMinute and VerifyPerSecond throttle passport verification
	// per client and in total, per node.
	VerifyPerMinute int
	VerifyPerSecond int
	// SMTP is the submission server mail goes through; HelloName is set
	// from PublicURL.
	SMTP mail.SMTPConfig
	// ReminderOffsets are the days before a competency expires on which
	// its holder and their managers are reminded (0: on the day).
	ReminderOffsets []int
	// Billing is the Stripe configuration; without STRIPE_SECRET_KEY
	// billing is off and every tenant may use everything.
	Billing billing.Settings
}

const (
	envDevelopment = "development"
	envProduction  = "production"
	// defaultDemoPassword is the demo sign-ins' password in development.
	defaultDemoPassword = "carepass-demo-2026"
)

// loadConfig reads the environment. devDefaults fills a random secret for
// local runs; production refuses unsafe values instead of guessing.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Env:          strings.ToLower(or(getenv("CAREPASS_ENV"), envDevelopment)),
		DatabaseURL:  getenv("DATABASE_URL"),
		MigrationURL: getenv("MIGRATION_DATABASE_URL"),
		LogLevel:     or(getenv("LOG_LEVEL"), "info"),
		DemoPassword: or(getenv("CAREPASS_DEMO_PASSWORD"), defaultDemoPassword),
		Bench:        getenv("CAREPASS_BENCH") == "1",
	}
	var problems []string
	host := or(getenv("ADDR"), "127.0.0.1")
	port := or(getenv("PORT"), "8080")
	if _, _, err := net.SplitHostPort(host); err == nil {
		c.Addr = host // ADDR given as host:port or [v6]:port
	} else {
		c.Addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				problems = append(problems, fmt.Sprintf("TRUSTED_PROXIES: %q is not an IP address or CIDR range", p))
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	intVar := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			problems = append(problems, fmt.Sprintf("%s must be a positive whole number", name))
			return def
		}
		return n
	}
	durVar := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s must be a positive duration such as 30m or 12h", name))
			return def
		}
		return d
	}
	c.DBMaxConns = int32(intVar("DB_MAX_CONNS", 20))
	c.BodyLimit = intVar("BODY_LIMIT_BYTES", 1<<20)
	c.PolicyCacheSize = intVar("POLICY_CACHE_SIZE", 2048)
	c.DueWindowDays = intVar("DUE_WINDOW_DAYS", 60)
	c.SessionIdle = durVar("SESSION_IDLE_TIMEOUT", 30*time.Minute)
	c.SessionAbsolute = durVar("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour)
	c.SecureCookies = getenv("SECURE_COOKIES") != "false"
	c.VerifyPerMinute = intVar("VERIFY_PER_MINUTE", 30)
	c.VerifyPerSecond = intVar("VERIFY_PER_SECOND", 200)
	c.PublicURL = strings.TrimRight(getenv("PUBLIC_URL"), "/")
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, "PUBLIC_URL must be an absolute http(s) URL such as https://carepass.example")
		}
	}
	problems = append(problems, c.loadMail(getenv)...)
	bs, err := billing.FromEnv(getenv)
	if err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), "billing: "))
	}
	c.Billing = bs
	if key := getenv("CREDENTIAL_KEY"); key != "" {
		b, err := credential.ParseServerKey(key)
		if err != nil {
			problems = append(problems, "CREDENTIAL_KEY must be 32 bytes in base64; generate one with: openssl rand -base64 32")
		}
		c.CredentialKey = b
	}

	if key := getenv("SECRET_KEY"); key != "" {
		b, err := hex.DecodeString(key)
		if err != nil || len(b) < 32 {
			problems = append(problems, "SECRET_KEY must be at least 32 bytes, hex-encoded (64 hex characters); generate one with: openssl rand -hex 32")
		}
		c.SecretKey = b
	}
	switch c.Env {
	case envDevelopment:
		if c.SecretKey == nil {
			c.SecretKey = make([]byte, 32)
			_, _ = rand.Read(c.SecretKey) // sessions survive restarts; CSRF tokens simply reissue
		}
		if getenv("SECURE_COOKIES") == "" {
			c.SecureCookies = false // local http
		}
		if c.CredentialKey == nil {
			// A fixed, public development key: passports signed locally stay
			// verifiable across restarts, and production refuses to run without
			// its own key.
			k := sha256.Sum256([]byte("carepass development credential key"))
			c.CredentialKey = k[:]
		}
		if c.PublicURL == "" {
			c.PublicURL = "http://" + c.Addr
		}
		if c.SMTP.Host == "" {
			// The mail catcher `make run` starts (web inbox on port 1080).
			c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS = "127.0.0.1", 1025, mail.TLSNone
		}
	case envProduction:
		if c.SecretKey == nil {
			problems = append(problems, "SECRET_KEY is required in production")
		}
		if c.CredentialKey == nil {
			problems = append(problems, "CREDENTIAL_KEY is required in production (it seals the keys passports are signed with; keep it and back it up)")
		}
		if !strings.HasPrefix(c.PublicURL, "https://") {
			problems = append(problems, "PUBLIC_URL is required in production and must start with https://")
		}
		if !c.SecureCookies {
			problems = append(problems, "SECURE_COOKIES=false is not allowed in production")
		}
		if weakDBPassword(c.DatabaseURL) {
			problems = append(problems, "DATABASE_URL must carry a strong password in production (not empty and not a default such as postgres, password or carepass)")
		}
		if c.Bench {
			problems = append(problems, "CAREPASS_BENCH must not be set in production")
		}
		if c.SMTP.Host == "" {
			problems = append(problems, "SMTP_HOST is required in production (booking confirmations and reminders are sent by email)")
		}
		if getenv("SMTP_FROM") == "" {
			problems = append(problems, "SMTP_FROM is required in production, e.g. Carepass <no-reply@carepass.example>")
		}
		if c.Billing.Enabled() && c.Billing.APIBase != billing.DefaultAPIBase {
			problems = append(problems, billing.EnvAPIBase+" must not be set in production: Stripe is reached at its own address")
		}
	default:
		problems = append(problems, "CAREPASS_ENV must be development or production")
	}
	if len(problems) > 0 {
		return c, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// loadMail reads the SMTP settings and the reminder offsets, returning
// what is wrong with them.
func (c *config) loadMail(getenv func(string) string) []string {
	var problems []string
	c.SMTP = mail.SMTPConfig{Host: getenv("SMTP_HOST"), Username: getenv("SMTP_USERNAME"), Password: getenv("SMTP_PASSWORD"),
		TLS: mail.TLSMode(strings.ToLower(getenv("SMTP_TLS"))), Port: 587}
	if v := getenv("SMTP_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			problems = append(problems, "SMTP_PORT must be a port number")
		}
		c.SMTP.Port = n
	}
	switch c.SMTP.TLS {
	case "", mail.TLSNone, mail.TLSStartTLS, mail.TLSImplicit:
	default:
		problems = append(problems, "SMTP_TLS must be none, starttls or tls")
	}
	from, err := netmail.ParseAddress(or(getenv("SMTP_FROM"), "Carepass <no-reply@carepass.example>"))
	if err != nil {
		problems = append(problems, "SMTP_FROM must be an address such as Carepass <no-reply@carepass.example>")
	} else {
		c.SMTP.From = mail.Address{Name: from.Name, Email: from.Address}
	}
	c.ReminderOffsets = []int{90, 30, 7, 0}
	if v := getenv("REMINDER_OFFSETS"); v != "" {
		c.ReminderOffsets = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 365 {
				problems = append(problems, "REMINDER_OFFSETS must be days before expiry, 0 to 365, separated by commas, e.g. 90,30,7,0")
				break
			}
			c.ReminderOffsets = append(c.ReminderOffsets, n)
		}
	}
	return problems
}

func (c config) production() bool { return c.Env == envProduction }

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func requireDB(url, name string) error {
	if url == "" {
		return fmt.Errorf("%s is not set (run `make db-start` and use the values in .data/pg.env, or set it)", name)
	}
	return nil
}

// weakDBPassword reports whether a database URL has no password or a default one.
func weakDBPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return true
	}
	pw, ok := u.User.Password()
	switch strings.ToLower(pw) {
	case "", "postgres", "password", "carepass", "carepass_app", "app", "secret", "changeme":
		return true
	}
	return !ok || len(pw) < 12
}
