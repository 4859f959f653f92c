package holder_test

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

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

type server struct {
	f   *fixture
	srv *web.Server
}

func newServer(t *testing.T, f *fixture) *server {
	t.Helper()
	enf, err := policy.New(context.Background(), f.db.Pool, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, err := web.NewViews(web.TemplateSet{Namespace: "holder", FS: holder.Templates},
		web.TemplateSet{Namespace: "share", FS: share.Templates})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{SecretKey: []byte("test secret key, not for production"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		web.Deps{Pool: f.db.Pool, Sessions: f.accounts, Members: f.access, Tenants: f.store, Policy: enf, Views: views})
	portal := srv.App.Group("/me")
	holder.Routes(srv.Tenant, srv.TenantAPI, f.holders, enf)
	holder.ClaimRoutes(srv.Tenant, srv.TenantAPI, srv.Public, f.holders, f.claims, enf, srv)
	holder.PortalRoutes(portal, f.holders)
	share.Routes(srv.Tenant, srv.TenantAPI, portal, f.shares, enf)
	srv.NotFound()
	return &server{f: f, srv: srv}
}

type browser struct {
	t       *testing.T
	s       *server
	cookies map[string]string
	csrf    string
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (s *server) browser(t *testing.T, accountID uuid.UUID) *browser {
	t.Helper()
	b := &browser{t: t, s: s, cookies: map[string]string{}}
	if accountID != uuid.Nil {
		var token string
		err := s.f.scoped.Platform(context.Background(), func(tx *gorm.DB) (err error) {
			token, err = s.f.accounts.StartSession(context.Background(), tx, accountID, client)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b.cookies[web.SessionCookie] = token
	}
	b.get("/t/no-such-tenant-at-all") // picks up a CSRF token
	return b
}

type response struct {
	status   int
	body     string
	location string
}

func (b *browser) do(method, path, contentType string, body io.Reader) response {
	b.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	res, err := b.s.srv.App.Test(req, -1)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	if m := csrfRe.FindStringSubmatch(string(raw)); m != nil {
		b.csrf = m[1]
	}
	return response{status: res.StatusCode, body: string(raw), location: res.Header.Get("Location")}
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, "", nil) }

func (b *browser) post(path string, form url.Values) response {
	form.Set("_csrf", b.csrf)
	return b.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func (b *browser) json(method, path string, body any) response {
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(method, path, "application/json", strings.NewReader(string(raw)))
}

func expect(t *testing.T, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("response lacks %q", s)
		}
	}
}

func TestAddHolderPagesWarnOnDuplicate(t *testing.T) {
	f := newFixture(t)
	a := f.tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	s := newServer(t, f)
	b := s.browser(t, staff)

	expect(t, b.get("/t/trust-a/holders/new"), 200, "Add a holder", `name="dob_day"`, `value="unpaid_carer"`)
	r := b.post("/t/trust-a/holders", url.Values{"given_name": {"Ruth"}, "dob_day": {"31"}, "dob_month": {"2"}, "dob_year": {"1990"}})
	expect(t, r, 422, "There is a problem", `href="#family_name"`, "Enter their last name", "Date of birth must be a real date",
		`href="#role_in_care"`, `value="Ruth"`, `value="31"`)

	form := url.Values{"given_name": {"Ruth"}, "family_name": {"Okafor"}, "dob_day": {"9"}, "dob_month": {"10"},
		"dob_year": {"1987"}, "email": {"ruth@example.org"}, "role_in_care": {"parent"}}
	r = b.post("/t/trust-a/holders", form)
	if r.status != 303 || !strings.HasPrefix(r.location, "/t/trust-a/holders/") {
		t.Fatalf("add: %d %s", r.status, r.location)
	}
	first := r.location
	expect(t, b.get(first), 200, "Ruth Okafor", "Create a link to claim an account", "Mark as left")

	form.Set("given_name", "RUTH")
	r = b.post("/t/trust-a/holders", form)
	expect(t, r, 200, "may already be recorded", "This is a different person, add anyway",
		`name="confirm_duplicate" value="yes"`, `href="`+first+`"`, `name="given_name" value="RUTH"`)
	if n := f.count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 1 {
		t.Fatalf("%d holders after the warning", n)
	}
	form.Set("confirm_duplicate", "yes")
	if r = b.post("/t/trust-a/holders", form); r.status != 303 {
		t.Fatalf("add anyway: %d\n%s", r.status, r.body)
	}
	if n := f.count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 2 {
		t.Fatalf("%d holders after confirming", n)
	}

	// Edit and mark as left.
	expect(t, b.get(first+"/edit"), 200, `value="Okafor"`, `value="1987"`)
	form.Del("confirm_duplicate")
	form.Set("given_name", "Ruth")
	form.Set("phone", "not a phone")
	expect(t, b.post(first, form), 422, "Enter a phone number")
	form.Set("phone", "+44 808 157 0192")
	if r = b.post(first, form); r.status != 303 || r.location != first {
		t.Fatalf("edit: %d %s", r.status, r.location)
	}
	if r = b.post(first+"/status", url.Values{"status": {"left"}}); r.status != 303 {
		t.Fatalf("mark as left: %d", r.status)
	}
	expect(t, b.get(first), 200, "Mark as active again", "808 157 0192")
	expect(t, b.get("/t/trust-a/holders/"+uuid.Must(uuid.NewV7()).String()+"/edit"), 404)
}

func TestHolderAPI(t *testing.T) {
	f := newFixture(t)
	a := f.tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	s := newServer(t, f)
	b := s.browser(t, staff)

	body := map[string]any{"given_name": "Ola", "family_name": "Nowak", "date_of_birth": "1995-12-01", "role_in_care": "paid_carer"}
	r := b.json(http.MethodPost, "/api/v1/t/trust-a/holders", body)
	expect(t, r, 201, `"given_name":"Ola"`)
	var created holder.Holder
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatal(err)
	}
	r = b.json(http.MethodPost, "/api/v1/t/trust-a/holders", body)
	expect(t, r, 409, `"possible_duplicates"`, created.ID.String())
	body["confirm_duplicate"] = true
	expect(t, b.json(http.MethodPost, "/api/v1/t/trust-a/holders", body), 201)
	expect(t, b.json(http.MethodPost, "/api/v1/t/trust-a/holders", map[string]any{}), 422, `"field":"given_name"`)
	expect(t, b.json(http.MethodPost, "/api/v1/t/trust-a/holders", map[string]any{"nickname": "x"}), 422)

	path := "/api/v1/t/trust-a/holders/" + created.ID.String()
	expect(t, b.json(http.MethodPost, path+"/claims", nil), 201, `"claim_url":"http://example.com/claim/trust-a/`)
	expect(t, b.json(http.MethodPatch, path, map[string]any{"status": "left", "email": "ola@example.org"}), 200,
		`"status":"left"`, `"email":"ola@example.org"`, `"family_name":"Nowak"`)
	expect(t, b.json(http.MethodPatch, path, map[string]any{"date_of_birth": "1995-02-30"}), 422, `"field":"date_of_birth"`)
	expect(t, b.json(http.MethodPatch, "/api/v1/t/trust-a/holders/"+uuid.Must(uuid.NewV7()).String(), map[string]any{"phone": ""}), 404)
	expect(t, b.json(http.MethodPost, path+"/claims", nil), 409, "has left")
}

var claimLinkRe = regexp.MustCompile(`value="https?://[^/]+(/claim/[^"]+)"`)

func TestClaimJourneyThroughThePortal(t *testing.T) {
	f := newFixture(t)
	a := f.tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	h := f.enrol(a, staff, "Maya", "Patel", "1993-08-08", "maya@example.org")
	s := newServer(t, f)
	sb := s.browser(t, staff)

	expect(t, sb.get("/t/trust-a/holders/"+h.ID.String()), 200)
	r := sb.post("/t/trust-a/holders/"+h.ID.String()+"/claim", url.Values{})
	expect(t, r, 200, "This link is shown only once")
	m := claimLinkRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no claim link in\n%s", r.body)
	}
	link := m[1]

	// The holder, signed out.
	hb := s.browser(t, uuid.Nil)
	expect(t, hb.get("/me/passport"), 302)
	expect(t, hb.get(link), 200, "Claim your passport from Org trust-a", "Maya", `value="maya@example.org"`,
		"Create account and claim", "Sign in and claim")
	r = hb.post(link, url.Values{"mode": {"new_account"}, "new-name": {"Maya Patel"}, "new-email": {"maya@example.org"},
		"new-password": {password}, "new-confirm": {"nope"}})
	expect(t, r, 422, `href="#new-confirm"`, "The passwords do not match", `value="Maya Patel"`)
	r = hb.post(link, url.Values{"mode": {"new_account"}, "new-name": {"Maya Patel"}, "new-email": {"maya@example.org"},
		"new-password": {password}, "new-confirm": {password}})
	if r.status != 303 || r.location != "/me/passport" {
		t.Fatalf("claim: %d %s\n%s", r.status, r.location, r.body)
	}
	expect(t, hb.get("/me/passport"), 200, "Your passport", "Org trust-a", "Who viewed your passport", "Staff staff@a.example")
	expect(t, hb.get(link), 404, "This link is not valid")
	expect(t, hb.get("/claim/no-such-tenant/"+strings.TrimPrefix(link, "/claim/trust-a/")), 404)

	// Sharing from the portal: a code shown once.
	expect(t, hb.get("/me/shares"), 200, "You have not shared your passport")
	expect(t, hb.get("/me/shares/new"), 200, "Create a share code")
	expect(t, hb.post("/me/shares", url.Values{"to": {"tenant"}, "tenant": {"nowhere-at-all"}}), 422, "No organisation has this Carepass address")
	r = hb.post("/me/shares", url.Values{"to": {"code"}, "days": {"10"}})
	expect(t, r, 200, "Share code created", "This code is shown only once")
	expect(t, hb.get("/me/shares"), 200, "Waiting to be redeemed", "Withdraw")

	// Someone with an account but no passport yet.
	nb := s.browser(t, f.account("new@example.org", "New Person"))
	expect(t, nb.get("/me/passport"), 200, "There is nothing in your passport yet")
	expect(t, nb.post("/me/shares", url.Values{"to": {"code"}}), 422, "There is nothing to share yet")
}
