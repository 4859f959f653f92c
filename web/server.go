// Package web is the fiber application: the middleware chain, the one error
// handler, the layout and static assets, health endpoints and the route
// groups that cmd mounts each module's routes on.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Config is the web layer's share of the configuration.
type Config struct {
	SecretKey     []byte // signs CSRF tokens and flash messages
	SecureCookies bool   // false only for local development over http
	BodyLimit     int    // bytes; default 1 MiB
	Bench         bool   // mount the benchmark floor endpoints
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// real client (for audit and sign-in throttling); empty: use the peer.
	TrustedProxies []string
	Logger         *slog.Logger
}

// Authenticator turns a session token into a signed-in account.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (account.Session, account.Account, error)
}

// MembershipLister lists the tenants an account belongs to, for the switcher.
type MembershipLister interface {
	TenantsOf(ctx context.Context, accountID uuid.UUID) ([]tenants.Tenant, error)
}

// Deps is what the web layer itself needs; modules get theirs in cmd.
type Deps struct {
	Pool     *pgxpool.Pool
	Sessions Authenticator
	Members  MembershipLister
	Tenants  *tenants.Store
	Policy   *policy.Enforcers
	Views    *Views
	// Notices, when set, gives the notice every member of a tenant sees
	// on its pages (billing's banner); nil: none.
	Notices Noticer
}

// Noticer returns what a tenant's members must be told on every page, or
// "" when there is nothing to tell.
type Noticer interface {
	Banner(ctx context.Context, tenantID uuid.UUID) (string, error)
}

// Server is the fiber app and the route groups modules mount on.
type Server struct {
	App       *fiber.App
	Public    fiber.Router // no tenant, no sign-in required
	Tenant    fiber.Router // /t/:slug — tenant resolved; routes add policy.Require
	API       fiber.Router // /api/v1 — JSON, no tenant
	TenantAPI fiber.Router // /api/v1/t/:slug — JSON, tenant resolved
	Operator  fiber.Router // /operator — routes add RequirePlatform
	cfg       Config
	deps      Deps
	stateless map[string]bool
}

// Stateless exempts POSTs to the given exact paths from the CSRF check: public
// JSON endpoints that act on nothing but their body and ignore the session,
// so a forged request gains nothing. Call it before serving.
func (s *Server) Stateless(paths ...string) {
	for _, p := range paths {
		s.stateless[p] = true
	}
}

// Cookie names.
const (
	SessionCookie = account.SessionCookie
	preCookie     = "carepass_pre"
	flashCookie   = "carepass_flash"
)

type requestIDKey struct{}

// New builds the application with its middleware chain.
func New(cfg Config, deps Deps) *Server {
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	fc := fiber.Config{
		AppName:               "carepass",
		ErrorHandler:          errorHandler(cfg.Logger),
		BodyLimit:             cfg.BodyLimit,
		Views:                 deps.Views,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
	}
	if len(cfg.TrustedProxies) > 0 {
		fc.ProxyHeader = fiber.HeaderXForwardedFor
		fc.EnableTrustedProxyCheck = true
		fc.TrustedProxies = cfg.TrustedProxies
	}
	app := fiber.New(fc)
	s := &Server{App: app, cfg: cfg, deps: deps, stateless: map[string]bool{}}
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		cfg.Logger.Error("panic", "request_id", c.Locals(requestIDKey{}), "panic", e)
	}}))
	app.Use(s.requestContext, securityHeaders(cfg.SecureCookies))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.ready)
	static, _ := fs.Sub(staticFS, "static")
	app.Use("/static", filesystem.New(filesystem.Config{Root: httpFS(static), MaxAge: 3600}))
	if cfg.Bench {
		s.mountBench()
	}

	app.Use(s.session, s.flash, s.csrf)
	s.Public = app.Group("")
	s.API = app.Group("/api/v1")
	s.TenantAPI = s.API.Group("/t/:slug", tenants.Resolve(deps.Tenants))
	s.Tenant = app.Group("/t/:slug", tenants.Resolve(deps.Tenants), s.tenantBase)
	s.Operator = app.Group("/operator")
	return s
}

// NotFound must be mounted last: every unmatched path is a 404 page.
func (s *Server) NotFound() {
	s.App.Use(func(c *fiber.Ctx) error { return errs.E(errs.NotFound, "Page not found") })
}

// requestContext assigns a request id, records the client address for audit
// and writes one JSON log line per request, naming the route pattern rather
// than the path so tokens in paths never reach the logs.
func (s *Server) requestContext(c *fiber.Ctx) error {
	rid := uuid.Must(uuid.NewV7()).String()
	c.Locals(requestIDKey{}, rid)
	c.Set("X-Request-Id", rid)
	c.SetUserContext(audit.WithClient(c.UserContext(), c.IP()))
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	s.cfg.Logger.Info("request", "request_id", rid, "method", c.Method(), "route", c.Route().Path,
		"status", c.Response().StatusCode(), "duration_ms", time.Since(start).Milliseconds())
	return nil
}

func securityHeaders(secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		// 'wasm-unsafe-eval' lets the verify page's QR decoder (ZXing compiled
		// to WebAssembly, served from /static) compile; it allows no JavaScript
		// eval. camera=(self): that page scans QR codes with the camera; no
		// other origin (no frame) may ask for it. form-action names Stripe's
		// Checkout and Customer Portal: the billing page's forms are answered
		// with a redirect there.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "+
			"font-src 'self'; connect-src 'self'; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return c.Next()
	}
}

func (s *Server) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.deps.Pool.Ping(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("ready")
}

// session reads the session cookie and, when it names a live session, puts
// the account in the request context. An unreachable database is a 503,
// never a silent sign-out.
func (s *Server) session(c *fiber.Ctx) error {
	b := page.BaseOf(c)
	b.Path = c.Path()
	b.RequestID, _ = c.Locals(requestIDKey{}).(string)
	token := c.Cookies(SessionCookie)
	if token == "" {
		return c.Next()
	}
	sess, acct, err := s.deps.Sessions.Authenticate(c.UserContext(), token)
	switch {
	case errs.Is(err, errs.Unauthenticated):
		s.ClearSession(c)
		return c.Next()
	case err != nil:
		return err
	}
	ctx := tenants.WithActor(c.UserContext(), acct.ID)
	c.SetUserContext(ctx)
	c.Locals(sessionKey{}, sess.ID)
	b.Viewer = &page.Viewer{ID: acct.ID, Name: acct.Name, Email: acct.Email}
	if ok, err := s.deps.Policy.HasAnyRole(ctx, policy.PlatformDomain, acct.ID.String()); err == nil {
		b.Viewer.Operator = ok
	}
	return c.Next()
}

type sessionKey struct{}

// SetSession sets the session cookie after sign-in.
func (s *Server) SetSession(c *fiber.Ctx, token string) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", HTTPOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
}

// ClearSession removes the session cookie.
func (s *Server) ClearSession(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0), MaxAge: -1})
}

// tenantBase fills the layout's tenant, switcher and navigation for pages.
func (s *Server) tenantBase(c *fiber.Ctx) error {
	b := page.BaseOf(c)
	t, _ := tenants.FromContext(c.UserContext())
	b.Tenant = &t
	if b.Viewer == nil {
		return c.Next()
	}
	list, err := s.deps.Members.TenantsOf(c.UserContext(), b.Viewer.ID)
	if err != nil {
		return err
	}
	b.Tenants = list
	b.Nav = s.nav(c, t)
	if s.deps.Notices != nil && slices.ContainsFunc(list, func(m tenants.Tenant) bool { return m.ID == t.ID }) {
		// A notice that cannot be read must not cost the page: log it.
		notice, err := s.deps.Notices.Banner(c.UserContext(), t.ID)
		if err != nil {
			s.cfg.Logger.Warn("tenant notice", "request_id", c.Locals(requestIDKey{}), "err", err)
		}
		b.Notice = notice
	}
	return c.Next()
}

// navEntry is one navigation item shown to roles with its permission.
type navEntry struct {
	label, path string
	perm        policy.Permission
	kind        tenants.Kind      // shown only to tenants of this kind, when set
	unless      policy.Permission // hidden from roles holding this, when set
}

var tenantNav = []navEntry{
	{"Dashboard", "", policy.Permission{Object: "dashboard", Action: "read"}, "", policy.Permission{}},
	{"Holders", "/holders", policy.Permission{Object: "holder", Action: "read"}, "", policy.Permission{}},
	{"Carer passports", "/carer-passports", policy.Permission{Object: "passport", Action: "read"}, "", policy.Permission{}},
	// Staff who only check passports get the check in the menu; the others
	// find it, and the schemes, on the carer passports page.
	{"Check a passport", "/check", policy.Permission{Object: "verification", Action: "check"}, "",
		policy.Permission{Object: "passport", Action: "read"}},
	{"Carer register", "/carers", policy.Permission{Object: "holder", Action: "read"}, tenants.KindGPPractice, policy.Permission{}},
	{"Shared passports", "/shared", policy.Permission{Object: "holder", Action: "read"}, "", policy.Permission{}},
	{"Discharge", "/discharge", policy.Permission{Object: "careplan", Action: "read"}, tenants.KindPaediatricTrust, policy.Permission{}},
	{"Training", "/training", policy.Permission{Object: "session", Action: "read"}, "", policy.Permission{}},
	{"Staff compliance", "/compliance", policy.Permission{Object: "staff", Action: "read"}, tenants.KindCareHome, policy.Permission{}},
	{"People cared for", "/cared-for", policy.Permission{Object: "record", Action: "read"}, "", policy.Permission{}},
	{"Catalogues", "/catalogues", policy.Permission{Object: "catalogue", Action: "read"}, "", policy.Permission{}},
	{"Members", "/members", policy.Permission{Object: "members", Action: "read"}, "", policy.Permission{}},
	{"Billing", "/billing", policy.Permission{Object: "billing", Action: "manage"}, "", policy.Permission{}},
	{"Audit", "/audit", policy.Permission{Object: "audit", Action: "read"}, "", policy.Permission{}},
}

func (s *Server) nav(c *fiber.Ctx, t tenants.Tenant) []page.NavItem {
	b := page.BaseOf(c)
	var out []page.NavItem
	for _, e := range tenantNav {
		if e.kind != "" && e.kind != t.Kind {
			continue
		}
		if e.unless.Object != "" {
			if has, err := s.deps.Policy.Allowed(c.UserContext(), t.ID.String(), b.Viewer.ID.String(), e.unless); err != nil || has {
				continue
			}
		}
		ok, err := s.deps.Policy.Allowed(c.UserContext(), t.ID.String(), b.Viewer.ID.String(), e.perm)
		if err != nil || !ok {
			continue
		}
		href := "/t/" + t.Slug + e.path
		cur := c.Path() == href || (e.path != "" && strings.HasPrefix(c.Path(), href+"/"))
		out = append(out, page.NavItem{Label: e.label, Href: href, Current: cur})
	}
	return out
}

// flash moves a signed flash cookie into the page and writes the one this
// request queued, if any.
func (s *Server) flash(c *fiber.Ctx) error {
	if v := c.Cookies(flashCookie); v != "" {
		if msg, ok := s.unsign("flash", v); ok {
			page.BaseOf(c).Flash = msg
		}
		c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), MaxAge: -1,
			HTTPOnly: true, Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	}
	err := c.Next()
	if msg := page.QueuedFlash(c); msg != "" {
		c.Cookie(&fiber.Cookie{Name: flashCookie, Value: s.sign("flash", msg), Path: "/", HTTPOnly: true,
			Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	}
	return err
}

func (s *Server) mac(purpose, msg string) []byte {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte(purpose + "\x00" + msg))
	return m.Sum(nil)
}

func (s *Server) sign(purpose, msg string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(msg)) + "." + enc.EncodeToString(s.mac(purpose, msg))
}

func (s *Server) unsign(purpose, v string) (string, bool) {
	enc := base64.RawURLEncoding
	body, sig, ok := strings.Cut(v, ".")
	if !ok {
		return "", false
	}
	msg, err1 := enc.DecodeString(body)
	got, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, s.mac(purpose, string(msg))) {
		return "", false
	}
	return string(msg), true
}

// csrf issues a token bound to the session (or, before sign-in, to a
// pre-session cookie) and requires it on every state-changing request, from
// the form field _csrf or the X-CSRF-Token header.
func (s *Server) csrf(c *fiber.Ctx) error {
	binding := ""
	if id, ok := c.Locals(sessionKey{}).(uuid.UUID); ok {
		binding = "session:" + id.String()
	} else {
		pre := c.Cookies(preCookie)
		if len(pre) < 32 {
			pre = account.NewToken()
			c.Cookie(&fiber.Cookie{Name: preCookie, Value: pre, Path: "/", HTTPOnly: true,
				Secure: s.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
		}
		binding = "pre:" + pre
	}
	token := base64.RawURLEncoding.EncodeToString(s.mac("csrf", binding))
	page.BaseOf(c).CSRF = token
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if s.stateless[c.Path()] {
		return c.Next()
	}
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("_csrf")
	}
	if !hmac.Equal([]byte(got), []byte(token)) {
		return errs.E(errs.Forbidden, "This form has expired. Go back, reload the page and try again.")
	}
	return c.Next()
}
