package share_test

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

func TestSharingPagesAndAPI(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	ownComp := f.competency(s.b, "home-skills", "HOME-SUCTION", 6, &s.stdID)
	srv := newServer(t, f)
	a, b, c := srv.browser(t, s.staffA), srv.browser(t, s.staffB), srv.browser(t, s.staffC)
	holderPath := "/t/trust-a/holders/" + s.holderID.String()

	expect(t, a.get(holderPath+"/shares"), 200, "has not shared this passport", "Share this passport")
	expect(t, a.get(holderPath+"/shares/new"), 200, "Who gave consent", "How was consent given?")
	r := a.post(holderPath+"/shares", url.Values{"to": {"code"}, "days": {"abc"}})
	expect(t, r, 422, `href="#days"`, `href="#consent_given_by"`, `href="#consent_method"`)
	r = a.post(holderPath+"/shares", url.Values{"to": {"code"}, "consent_given_by": {"Dee Brown"}, "consent_method": {"phone"}})
	expect(t, r, 200, "Share code created", "This code is shown only once")
	m := regexp.MustCompile(`<strong>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</strong>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no code shown:\n%s", r.body)
	}
	code := m[1]
	expect(t, a.get(holderPath+"/shares"), 200, "Waiting to be redeemed", "Consent given by Dee Brown, by phone")

	// B redeems it, with a typo first.
	expect(t, b.get("/t/home-b/shares/redeem"), 200, "Redeem a share code")
	typo := strings.Replace(code, code[:1], map[bool]string{true: "A", false: "B"}[code[:1] != "A"], 1)
	expect(t, b.post("/t/home-b/shares/redeem", url.Values{"code": {typo}}), 422, "This share code is not right")
	r = b.post("/t/home-b/shares/redeem", url.Values{"code": {code}})
	if r.status != 303 || !strings.HasPrefix(r.location, "/t/home-b/shared/") {
		t.Fatalf("redeem: %d %s\n%s", r.status, r.location, r.body)
	}
	sharePath := r.location
	expect(t, b.get("/t/home-b/shared"), 200, "Not yet one of your holders")
	r = b.get(sharePath)
	expect(t, r, 200, "SUCTION-01", "Alex Assessor", "Org trust-a", "Recognise")
	for _, secret := range []string{"dee@example.org", "Dee", "OXYGEN-01", "Ward 4", "Moving to a care home"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("the shared passport shows %q", secret)
		}
	}
	recognisePath := sharePath + "/recognise?record=" + s.competent.String()
	expect(t, b.get(recognisePath), 200, "Recognise SUCTION-01", "HOME-SUCTION", "Add them as one of your holders")
	r = b.post(sharePath+"/recognise", url.Values{"record": {s.competent.String()}, "competency_id": {ownComp.String()}})
	expect(t, r, 422, `href="#given_name"`, `href="#date_of_birth"`, `href="#role_in_care"`)
	r = b.post(sharePath+"/recognise", url.Values{"record": {s.competent.String()}, "competency_id": {ownComp.String()},
		"given_name": {"Dee"}, "family_name": {"Brown"}, "dob_day": {"4"}, "dob_month": {"4"}, "dob_year": {"1984"},
		"role_in_care": {"staff"}})
	if r.status != 303 || r.location != sharePath {
		t.Fatalf("recognise: %d %s\n%s", r.status, r.location, r.body)
	}
	expect(t, b.get("/t/home-b/shared"), 200, "Dee Brown")

	// C cannot see B's share; the JSON view leaks nothing more than the page.
	expect(t, c.get(sharePath), 404)
	shareID := strings.TrimPrefix(sharePath, "/t/home-b/shared/")
	r = b.get("/api/v1/t/home-b/shared/" + shareID)
	expect(t, r, 200, `"issuer":"Org trust-a"`, `"assessor_name":"Alex Assessor"`, `"code":"SUCTION-01"`)
	for _, secret := range []string{"email", "OXYGEN-01", "consent", "person"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("the shared passport JSON shows %q", secret)
		}
	}
	expect(t, b.get("/api/v1/t/home-b/shared"), 200, `"name":"Dee Brown"`)

	// JSON: a direct share to C, listed, then revoked.
	r = a.json("POST", "/api/v1/t/trust-a/holders/"+s.holderID.String()+"/shares", map[string]any{"to": "tenant", "tenant": "charity-c",
		"days": 7, "consent": map[string]any{"given_by": "Dee Brown", "method": "written"}})
	expect(t, r, 201, `"status":"active"`, `"slug":"charity-c"`)
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatal(err)
	}
	expect(t, c.get("/api/v1/t/charity-c/shared/"+created.ID), 200, `"SUCTION-01"`)
	expect(t, a.get("/api/v1/t/trust-a/holders/"+s.holderID.String()+"/shares"), 200, created.ID)
	expect(t, b.do("DELETE", "/api/v1/t/home-b/shares/"+created.ID, "application/json", strings.NewReader("{}")), 404)
	expect(t, a.do("DELETE", "/api/v1/t/trust-a/shares/"+created.ID, "application/json", strings.NewReader("{}")), 200, `"status":"revoked"`)
	expect(t, c.get("/api/v1/t/charity-c/shared/"+created.ID), 404)
	expect(t, c.json("POST", "/api/v1/t/charity-c/shares/redeem", map[string]any{"code": code}), 422, "already been used")
	expect(t, c.json("POST", "/api/v1/t/charity-c/shared/"+created.ID+"/recognitions", map[string]any{"record_id": s.competent}), 404)

	// The revoke form on the holder's shares page.
	r = a.post("/t/trust-a/shares/"+shareID+"/revoke", url.Values{"holder": {s.holderID.String()}})
	if r.status != 303 || r.location != holderPath+"/shares" {
		t.Fatalf("revoke: %d %s", r.status, r.location)
	}
	expect(t, b.get(sharePath), 404)
}
