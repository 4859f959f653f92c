package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// signIn signs c in as email through the sign-in form.
func signIn(t *testing.T, c *webtest.Client, email string) {
	t.Helper()
	c.Get("/signin")
	r := c.PostForm("/signin", url.Values{"email": {email}, "password": {defaultDemoPassword}, "next": {"/"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %s", email, r.Status, r.Body)
	}
}

func TestSignInPageJourney(t *testing.T) {
	a, _ := testApp(t)
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	c := webtest.NewClient(t, srv)
	email := demoEmail("tenant_admin", "trust")

	c.Get("/signin")
	r := c.PostForm("/signin", url.Values{"email": {email}, "password": {"not the password"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Enter a correct email address and password") {
		t.Fatalf("wrong password: %d", r.Status)
	}
	if !strings.Contains(r.Body, `value="`+email+`"`) {
		t.Fatal("the email typed must be kept on the redisplayed form")
	}
	r = c.PostForm("/signin", url.Values{"email": {email}, "password": {defaultDemoPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.Status)
	}
	r = c.Get("/t/wrenford-childrens/")
	if r.Status != 200 || !strings.Contains(r.Body, "Wrenford Children") || !strings.Contains(r.Body, `href="/t/wrenford-childrens/members"`) {
		t.Fatalf("dashboard: %d", r.Status)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP: %q", csp)
	}
	// A form posted without the CSRF token is refused and changes nothing.
	if r := c.Do(httptest.NewRequest("POST", "/account/signout-everywhere", nil)); r.Status != http.StatusForbidden {
		t.Fatalf("missing CSRF token: %d", r.Status)
	}
	if r := c.Get("/account"); r.Status != 200 {
		t.Fatalf("session must survive a refused forged request: %d", r.Status)
	}
	// Sign out ends the session server-side.
	token := c.Cookie(web.SessionCookie)
	c.PostForm("/signout", url.Values{})
	if _, _, err := a.accounts.Authenticate(context.Background(), token); err == nil {
		t.Fatal("session still valid after sign-out")
	}
}

func TestSuspendedTenantIsReadOnly(t *testing.T) {
	a, _ := testApp(t)
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.operator.SetStatus(context.Background(), "wrenford-childrens", tenants.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	c := webtest.NewClient(t, srv)
	signIn(t, c, demoEmail("tenant_admin", "trust"))
	r := c.Get("/t/wrenford-childrens/members")
	if r.Status != 200 || !strings.Contains(r.Body, "is suspended") {
		t.Fatalf("reading a suspended tenant: %d, banner shown=%v", r.Status, strings.Contains(r.Body, "is suspended"))
	}
	r = c.PostForm("/t/wrenford-childrens/members/invitations", url.Values{"email": {"new@example.org"}, "role": {"assessor"}})
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "suspended") {
		t.Fatalf("writing to a suspended tenant: %d", r.Status)
	}
	var n int64
	tn, _ := a.tenants.BySlug(context.Background(), "wrenford-childrens")
	err = a.db.Tx(tenants.WithTenant(context.Background(), tn), func(tx *gorm.DB) error {
		return tx.Table("invitations").Where("tenant_id = ? AND email = ?", tn.ID, "new@example.org").Count(&n).Error
	})
	if err != nil || n != 0 {
		t.Fatalf("suspended tenant stored an invitation: %d %v", n, err)
	}
}

func TestOversizedBodyIsRejected(t *testing.T) {
	a, _ := testApp(t)
	a.cfg.BodyLimit = 4096
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	// Through a real listener: the limit is enforced while reading the request.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = srv.App.Shutdown() })
	resp, err := http.Post("http://"+ln.Addr().String()+"/signin", "application/x-www-form-urlencoded",
		strings.NewReader("email="+strings.Repeat("a", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
}

// TestDatabaseUnreachable: /readyz says 503, pages answer a friendly 503
// without internals, and /healthz (process alive) still answers.
func TestDatabaseUnreachable(t *testing.T) {
	cfg, err := loadConfig(func(k string) string { return map[string]string{"CAREPASS_ENV": "development"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: every connection attempt is refused.
	pool, gdb, err := pg.Open(context.Background(), "postgres://carepass_app:x@127.0.0.1:1/carepass?sslmode=disable&connect_timeout=2", pg.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := assemble(context.Background(), cfg, log, pool, gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/t/wrenford-childrens/": 503} {
		resp, err := srv.App.Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Errorf("%s: got %d want %d", path, resp.StatusCode, want)
		}
		if want == 503 && path != "/readyz" && (!strings.Contains(string(b), "Sorry, the service is unavailable") || strings.Contains(string(b), "127.0.0.1")) {
			t.Errorf("%s: want the friendly 503 page without internals, got %q", path, b)
		}
	}
}

func TestTenantCommandLine(t *testing.T) {
	a, db := testApp(t)
	ctx := context.Background()
	getenv := func(k string) string {
		return map[string]string{"CAREPASS_ENV": "development", "DATABASE_URL": db.AppURL}[k]
	}
	var out, errOut strings.Builder
	err := run(ctx, []string{"tenant", "create", "--kind", "gp_practice", "--name", "Heronsgate Medical Centre",
		"--slug", "heronsgate", "--admin-email", "admin@heronsgate.example"}, getenv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "/join/heronsgate/") {
		t.Fatalf("want an invitation link, got %q", out.String())
	}
	err = run(ctx, []string{"tenant", "create", "--kind", "gp_practice", "--name", "Another", "--slug", "heronsgate",
		"--admin-email", "x@example.org"}, getenv, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate slug: want a clear message, got %v", err)
	}
	err = run(ctx, []string{"tenant", "create", "--kind", "hospital", "--name", "X", "--slug", "-bad-",
		"--admin-email", "nope"}, getenv, strings.NewReader(""), &out, &errOut)
	for _, want := range []string{"--kind", "--name", "--slug", "--admin-email"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("invalid input must name %s: %v", want, err)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"tenant", "suspend", "--slug", "heronsgate"}, getenv, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "suspended") {
		t.Fatalf("suspend: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify", "--tenant", "heronsgate"}, getenv, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "intact (3 events)") {
		t.Fatalf("audit verify: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"account", "create", "--email", "op2@example.org", "--name", "Second Operator"}, getenv,
		strings.NewReader("a long enough password\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v", err)
	}
	var id string
	err = a.db.Platform(ctx, func(tx *gorm.DB) error {
		acct, err := a.accounts.ByEmail(ctx, tx, "OP2@example.org")
		id = acct.ID.String()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.policy.HasAnyRole(ctx, policy.PlatformDomain, id); err != nil || !ok {
		t.Fatalf("account create must make a platform operator: %v %v", ok, err)
	}
	if _, _, err := a.accounts.SignIn(ctx, "op2@example.org", "a long enough password", account.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("new operator cannot sign in: %v", err)
	}
}

func TestProductionConfigRefusesUnsafeValues(t *testing.T) {
	base := map[string]string{"CAREPASS_ENV": "production", "DATABASE_URL": "postgres://carepass_app:Zq8v3LmPx2Rt7Wn@db/carepass",
		"SECRET_KEY": strings.Repeat("ab", 32), "CREDENTIAL_KEY": "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M=",
		"PUBLIC_URL": "https://carepass.example", "SMTP_HOST": "smtp.carepass.example", "SMTP_FROM": "Carepass <no-reply@carepass.example>"}
	tests := []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"safe", nil, ""},
		{"no secret key", map[string]string{"SECRET_KEY": ""}, "SECRET_KEY is required"},
		{"short secret key", map[string]string{"SECRET_KEY": "abcd"}, "SECRET_KEY must be at least 32 bytes"},
		{"insecure cookies", map[string]string{"SECURE_COOKIES": "false"}, "SECURE_COOKIES=false"},
		{"default database password", map[string]string{"DATABASE_URL": "postgres://carepass_app:carepass@db/carepass"}, "strong password"},
		{"bench endpoints", map[string]string{"CAREPASS_BENCH": "1"}, "CAREPASS_BENCH"},
		{"unknown environment", map[string]string{"CAREPASS_ENV": "staging"}, "CAREPASS_ENV"},
		{"no credential key", map[string]string{"CREDENTIAL_KEY": ""}, "CREDENTIAL_KEY is required"},
		{"short credential key", map[string]string{"CREDENTIAL_KEY": "c2hvcnQ="}, "CREDENTIAL_KEY must be 32 bytes"},
		{"no public URL", map[string]string{"PUBLIC_URL": ""}, "PUBLIC_URL is required"},
		{"plain http public URL", map[string]string{"PUBLIC_URL": "http://carepass.example"}, "must start with https://"},
		{"no SMTP host", map[string]string{"SMTP_HOST": ""}, "SMTP_HOST is required"},
		{"no sender", map[string]string{"SMTP_FROM": ""}, "SMTP_FROM is required"},
		{"bad sender", map[string]string{"SMTP_FROM": "not an address"}, "SMTP_FROM must be an address"},
		{"bad SMTP port", map[string]string{"SMTP_PORT": "99999"}, "SMTP_PORT must be a port number"},
		{"bad SMTP TLS", map[string]string{"SMTP_TLS": "ssl3"}, "SMTP_TLS must be none, starttls or tls"},
		{"bad reminder offsets", map[string]string{"REMINDER_OFFSETS": "90,soon"}, "REMINDER_OFFSETS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			_, err := loadConfig(func(k string) string { return env[k] })
			if tc.want == "" && err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("want refusal mentioning %q, got %v", tc.want, err)
			}
			if err != nil && strings.Contains(err.Error(), "Zq8v3LmPx2Rt7Wn") {
				t.Fatal("configuration errors must not echo secrets")
			}
		})
	}
}
