package access_test

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

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

// server is the real web application with this module's routes mounted.
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
	views, err := web.NewViews(web.TemplateSet{Namespace: "access", FS: access.Templates})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = access.NewService(f.scoped, f.store, f.accounts, f.log, enf, f.clock.Now)
	srv := web.New(web.Config{SecretKey: []byte("test secret key, not for production"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		web.Deps{Pool: f.db.Pool, Sessions: f.accounts, Members: f.svc, Tenants: f.store, Policy: enf, Views: views})
	access.Routes(srv.Tenant, srv.TenantAPI, srv.Public, f.svc, enf, srv)
	srv.NotFound()
	return &server{f: f, srv: srv}
}

// browser keeps cookies and the latest CSRF token between requests.
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
	return b
}

type response struct {
	status   int
	body     string
	location string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("_csrf", b.csrf)
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) response {
	return b.do(http.MethodPost, path, form)
}

func expect(t *testing.T, what string, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: body lacks %q\n%s", what, s, r.body)
		}
	}
}

var joinLinkRe = regexp.MustCompile(`value="http://[^"/]+(/join/[a-z0-9-]+/[A-Za-z0-9_-]+)"`)

func TestInvitationJourneyThroughThePages(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.tenant("alpha", tenants.KindCareHome)
	f.tenant("bravo", tenants.KindGPPractice)
	admin := f.admin(tn, "admin@alpha.example")
	ab := s.browser(t, admin)

	expect(t, "members page", ab.get("/t/alpha/members"), http.StatusOK, "admin@alpha.example", "Invite someone", "Provider administrator")

	r := ab.post("/t/alpha/members/invitations", url.Values{"email": {"not-an-email"}, "role": {"trainer"}})
	expect(t, "bad invitation", r, http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#email"`,
		`value="not-an-email"`, `<option value="trainer" selected>`)
	if n := f.count(tn, "invitations"); n != 0 {
		t.Fatalf("%d invitations stored from a bad form", n)
	}

	r = ab.post("/t/alpha/members/invitations", url.Values{"email": {"new@example.org"}, "role": {"trainer"}})
	expect(t, "invitation", r, http.StatusOK, "Copy this link and send it to new@example.org", "shown only once")
	m := joinLinkRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no invitation link in\n%s", r.body)
	}
	link := m[1]
	expect(t, "pending invitation listed", ab.get("/t/alpha/members"), http.StatusOK, "new@example.org", "Revoke")

	guest := s.browser(t, uuid.Nil)
	expect(t, "join form", guest.get(link), http.StatusOK, "Join Org alpha on Carepass", "Create your Carepass account", "Trainer")
	r = guest.post(link, url.Values{"name": {"Nia New"}, "password": {password}, "confirm": {"something else entirely"}})
	expect(t, "join with passwords that differ", r, http.StatusUnprocessableEntity, "The passwords do not match", `value="Nia New"`)
	r = guest.post(link, url.Values{"name": {"Nia New"}, "password": {password}, "confirm": {password}})
	if r.status != http.StatusSeeOther || r.location != "/t/alpha" || guest.cookies[web.SessionCookie] == "" {
		t.Fatalf("join: %d to %q, session cookie %q\n%s", r.status, r.location, guest.cookies[web.SessionCookie], r.body)
	}
	expect(t, "used link", guest.get(link), http.StatusNotFound, access.MsgInvalidInvitation)
	// The new trainer is signed in but may not manage members.
	expect(t, "trainer on members page", guest.get("/t/alpha/members"), http.StatusForbidden)

	r = ab.get("/api/v1/t/alpha/members")
	if r.status != http.StatusOK {
		t.Fatalf("members API: %d %s", r.status, r.body)
	}
	var members struct {
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.body), &members); err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 2 {
		t.Fatalf("members API = %s", r.body)
	}
	for _, key := range []string{"account_id", "name", "email", "roles", "since"} {
		if _, ok := members.Members[0][key]; !ok {
			t.Errorf("members API lacks %q: %s", key, r.body)
		}
	}
	if !strings.Contains(r.body, `"roles":["trainer"]`) {
		t.Errorf("members API does not show the trainer role: %s", r.body)
	}
	r = ab.get("/api/v1/t/alpha/roles")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"key":"trainer"`) || !strings.Contains(r.body, `"template":true`) ||
		!strings.Contains(r.body, `"session:write"`) {
		t.Errorf("roles API: %d %s", r.status, r.body)
	}
	if r := guest.get("/api/v1/t/alpha/members"); r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"forbidden"`) {
		t.Errorf("members API as trainer: %d %s", r.status, r.body)
	}

	expect(t, "another tenant's members", ab.get("/t/bravo/members"), http.StatusNotFound)
	expect(t, "unknown token", guest.get("/join/alpha/"+strings.Repeat("x", 43)), http.StatusNotFound, access.MsgInvalidInvitation)
	expect(t, "unknown tenant", guest.get("/join/nowhere/"+strings.Repeat("x", 43)), http.StatusNotFound, access.MsgInvalidInvitation)
}

func TestMemberAndRolePages(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.tenant("alpha", tenants.KindCareHome)
	admin := f.admin(tn, "admin@alpha.example")
	carer := f.account("carer@example.org", "Cam Carer")
	f.addMember(tn, carer, "care_staff")
	ab := s.browser(t, admin)
	memberPath := "/t/alpha/members/" + carer.String()

	expect(t, "member page", ab.get(memberPath), http.StatusOK, "Cam Carer", `value="care_staff" checked`)
	r := ab.post(memberPath+"/roles", url.Values{"roles": {"trainer", "assessor"}})
	if r.status != http.StatusSeeOther || r.location != memberPath {
		t.Fatalf("change roles: %d %q\n%s", r.status, r.location, r.body)
	}
	expect(t, "member page after change", ab.get(memberPath), http.StatusOK, `value="trainer" checked`, `value="assessor" checked`, "Roles changed.")
	expect(t, "no roles", ab.post(memberPath+"/roles", url.Values{}), http.StatusUnprocessableEntity, "Select at least one role")
	expect(t, "last admin", ab.post("/t/alpha/members/"+admin.String()+"/remove", url.Values{}), http.StatusUnprocessableEntity, "only person")
	expect(t, "unknown member", ab.get("/t/alpha/members/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed member id", ab.get("/t/alpha/members/nobody"), http.StatusNotFound)
	expect(t, "remove confirmation", ab.get(memberPath+"/remove"), http.StatusOK, "Are you sure you want to remove Cam Carer?")
	if r := ab.post(memberPath+"/remove", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", r.status, r.body)
	}
	expect(t, "removed member", ab.get(memberPath), http.StatusNotFound)

	expect(t, "roles page", ab.get("/t/alpha/roles"), http.StatusOK, "Provider administrator", "Template")
	expect(t, "template role", ab.get("/t/alpha/roles/trainer"), http.StatusOK, "Copy this role", "Plan and change training sessions")
	expect(t, "unknown role", ab.get("/t/alpha/roles/wizard"), http.StatusNotFound)
	expect(t, "copy without a name", ab.post("/t/alpha/roles/trainer/copy", url.Values{"name": {""}}), http.StatusUnprocessableEntity,
		"Enter a role name")
	r = ab.post("/t/alpha/roles/trainer/copy", url.Values{"name": {"Night trainer"}})
	if r.status != http.StatusSeeOther || r.location != "/t/alpha/roles/night_trainer" {
		t.Fatalf("copy: %d %q\n%s", r.status, r.location, r.body)
	}
	expect(t, "duplicate name", ab.post("/t/alpha/roles/trainer/copy", url.Values{"name": {"night TRAINER"}}), http.StatusUnprocessableEntity,
		"There is already a role called night TRAINER", `value="night TRAINER"`)
	expect(t, "editable role", ab.get("/t/alpha/roles/night_trainer"), http.StatusOK, `name="permissions"`, `value="session:write" checked`, "Rename")
	expect(t, "no permissions", ab.post("/t/alpha/roles/night_trainer/permissions", url.Values{}), http.StatusUnprocessableEntity,
		"Select at least one permission")
	r = ab.post("/t/alpha/roles/night_trainer/permissions", url.Values{"permissions": {"dashboard:read", "report:read"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("set permissions: %d\n%s", r.status, r.body)
	}
	expect(t, "after permissions", ab.get("/t/alpha/roles/night_trainer"), http.StatusOK, `value="report:read" checked`)
	expect(t, "template permissions", ab.post("/t/alpha/roles/trainer/permissions", url.Values{"permissions": {"dashboard:read"}}),
		http.StatusUnprocessableEntity, "Template roles cannot be changed")
	expect(t, "unknown role permissions", ab.post("/t/alpha/roles/wizard/permissions", url.Values{"permissions": {"dashboard:read"}}),
		http.StatusNotFound)
	expect(t, "rename clash", ab.post("/t/alpha/roles/night_trainer/rename", url.Values{"name": {"Assessor"}}), http.StatusUnprocessableEntity,
		`href="#rename"`)
	expect(t, "delete confirmation", ab.get("/t/alpha/roles/night_trainer/delete"), http.StatusOK, "Are you sure you want to delete Night trainer?")
	if r := ab.post("/t/alpha/roles/night_trainer/delete", url.Values{}); r.status != http.StatusSeeOther || r.location != "/t/alpha/roles" {
		t.Fatalf("delete: %d %q\n%s", r.status, r.location, r.body)
	}
	expect(t, "deleted role", ab.get("/t/alpha/roles/night_trainer"), http.StatusNotFound)
}

func TestPagesRequireTheirPermission(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.tenant("alpha", tenants.KindCareHome)
	admin := f.admin(tn, "admin@alpha.example")
	staff := f.account("staff@example.org", "Sta Ff")
	f.addMember(tn, staff, "care_staff")
	manager := f.account("manager@example.org", "Man Ager")
	f.addMember(tn, manager, "home_manager")
	outsider := f.account("outsider@example.org", "Out Sider")
	other := f.tenant("bravo", tenants.KindGPPractice)
	f.addMember(other, outsider, policy.AdminRole(other.Kind))

	paths := []string{"/t/alpha/members", "/t/alpha/members/" + admin.String(), "/t/alpha/roles", "/t/alpha/roles/trainer",
		"/api/v1/t/alpha/members", "/api/v1/t/alpha/roles"}
	tests := []struct {
		name    string
		account uuid.UUID
		want    int
	}{
		{"admin", admin, http.StatusOK},
		{"care staff", staff, http.StatusForbidden},
		{"home manager", manager, http.StatusForbidden},
		{"admin of another tenant", outsider, http.StatusNotFound}, // leaks nothing
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := s.browser(t, tt.account)
			for _, p := range paths {
				if r := b.get(p); r.status != tt.want {
					t.Errorf("GET %s: %d, want %d", p, r.status, tt.want)
				}
			}
		})
	}
	anon := s.browser(t, uuid.Nil)
	if r := anon.get("/t/alpha/members"); r.status != http.StatusFound || !strings.HasPrefix(r.location, "/signin") {
		t.Errorf("signed out: %d %q", r.status, r.location)
	}
}
