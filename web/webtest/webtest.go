// Package webtest drives the web application in tests without a network:
// a Site is the real application, built as production builds it but with a
// fixed secret key and its logs discarded, with the routes under test
// mounted; a Client keeps cookies and the latest CSRF token between
// requests, as a browser does, and can sign in by starting a session.
//
// It is for tests only; no production package imports it.
package webtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

// Accounts authenticates sessions and starts them; *account.Service is one.
type Accounts interface {
	web.Authenticator
	StartSession(ctx context.Context, tx *gorm.DB, accountID uuid.UUID, cl account.Client) (string, error)
}

// Site is the web application under test and what its clients sign in
// through.
type Site struct {
	*web.Server
	db       *tenants.DB
	accounts Accounts
}

// NewSite builds the application over deps, with accounts as its sessions
// and the layout plus the templates of sets as its views, lets mount add
// the routes under test, and mounts the 404 handler last. db is the
// tenant-scoped database clients' sessions are started in.
func NewSite(t testing.TB, db *tenants.DB, accounts Accounts, deps web.Deps, sets []web.TemplateSet, mount func(*web.Server)) *Site {
	t.Helper()
	views, err := web.NewViews(sets...)
	if err != nil {
		t.Fatal(err)
	}
	deps.Sessions, deps.Views = accounts, views
	srv := web.New(web.Config{SecretKey: []byte("test secret key, not for production"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, deps)
	mount(srv)
	srv.NotFound()
	return &Site{Server: srv, db: db, accounts: accounts}
}

// Client returns a new client of the site, signed in as accountID, or
// signed out when accountID is uuid.Nil.
func (s *Site) Client(t testing.TB, accountID uuid.UUID) *Client {
	t.Helper()
	c := NewClient(t, s.Server)
	if accountID != uuid.Nil {
		c.SignIn(s.db, s.accounts, accountID)
	}
	return c
}

// Memberships lists the same tenants for every account: a stand-in for the
// organisation switcher's source where the pages under test do not depend
// on it.
type Memberships []tenants.Tenant

// TenantsOf returns m.
func (m Memberships) TenantsOf(context.Context, uuid.UUID) ([]tenants.Tenant, error) { return m, nil }

// Response is the server's answer to one request.
type Response struct {
	Method, Path string // of the request
	Status       int
	Body         string
	Location     string
	Header       http.Header
}

// Expect fails the test unless r has status (stopping it) and its body
// contains each of contains. what names the request in the messages; empty,
// the request's method and path do.
func Expect(t testing.TB, what string, r Response, status int, contains ...string) {
	t.Helper()
	if what == "" {
		what = r.Method + " " + r.Path
	}
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.Status, status, r.Body)
	}
	for _, s := range contains {
		if !strings.Contains(r.Body, s) {
			t.Errorf("%s: body lacks %q\n%s", what, s, r.Body)
		}
	}
}

// Client sends requests to one server, keeping the cookies it is given and
// the CSRF token of the latest page that carried one.
type Client struct {
	t       testing.TB
	srv     *web.Server
	cookies map[string]string
	csrf    string
}

// NewClient returns a signed-out client of srv with no cookies.
func NewClient(t testing.TB, srv *web.Server) *Client {
	return &Client{t: t, srv: srv, cookies: map[string]string{}}
}

// client is where the sessions SignIn starts come from.
var client = account.Client{IP: "192.0.2.10", UserAgent: "test"}

// SignIn starts a session for accountID in db, as signing in would, and
// gives the client its cookie.
func (c *Client) SignIn(db *tenants.DB, accounts Accounts, accountID uuid.UUID) {
	c.t.Helper()
	var token string
	err := db.Platform(context.Background(), func(tx *gorm.DB) (err error) {
		token, err = accounts.StartSession(context.Background(), tx, accountID, client)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.cookies[web.SessionCookie] = token
}

// Cookie returns the value of the client's cookie name ("" when it has none).
func (c *Client) Cookie(name string) string { return c.cookies[name] }

// Token returns the CSRF token of the latest page that carried one.
func (c *Client) Token() string { return c.csrf }

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// Do sends req with the client's cookies, then keeps the cookies the
// response sets (dropping those it expires) and the CSRF token its body
// carries, if any.
func (c *Client) Do(req *http.Request) Response {
	c.t.Helper()
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	res, err := c.srv.App.Test(req, -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	if m := csrfField.FindSubmatch(raw); m != nil {
		c.csrf = string(m[1])
	}
	return Response{Method: req.Method, Path: req.URL.RequestURI(), Status: res.StatusCode, Body: string(raw),
		Location: res.Header.Get("Location"), Header: res.Header}
}

// Get fetches path.
func (c *Client) Get(path string) Response {
	c.t.Helper()
	return c.Do(httptest.NewRequest(http.MethodGet, path, nil))
}

// PostForm posts form (nil: an empty one) to path as a page's form does,
// setting its _csrf field to the client's CSRF token.
func (c *Client) PostForm(path string, form url.Values) Response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", c.csrf)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// JSON sends v encoded as JSON to path, with the CSRF token in the
// X-CSRF-Token header as a signed-in script would.
func (c *Client) JSON(method, path string, v any) Response {
	c.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.Do(req)
}

// API sends body, JSON text sent as it is (nothing when empty), to path
// asking for JSON back, with the CSRF token in the X-CSRF-Token header.
func (c *Client) API(method, path, body string) Response {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.Do(req)
}
