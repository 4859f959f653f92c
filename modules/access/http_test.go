package access_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with this module's routes
// mounted, over an access service that invalidates a real enforcer.
func newServer(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	f.svc = access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, enf, f.clock.Now)
	return webtest.NewSite(t, f.Scoped, f.Accounts, web.Deps{Pool: f.DB.Pool, Members: f.svc, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "access", FS: access.Templates}},
		func(srv *web.Server) { access.Routes(srv.Tenant, srv.TenantAPI, srv.Public, f.svc, enf, srv) })
}

var expect = webtest.Expect

var joinLinkRe = regexp.MustCompile(`value="http://[^"/]+(/join/[a-z0-9-]+/[A-Za-z0-9_-]+)"`)

func TestInvitationJourneyThroughThePages(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.Tenant("alpha", tenants.KindCareHome)
	f.Tenant("bravo", tenants.KindGPPractice)
	admin := f.admin(tn, "admin@alpha.example")
	ab := s.Client(t, admin)

	expect(t, "members page", ab.Get("/t/alpha/members"), http.StatusOK, "admin@alpha.example", "Invite someone", "Provider administrator")

	r := ab.PostForm("/t/alpha/members/invitations", url.Values{"email": {"not-an-email"}, "role": {"trainer"}})
	expect(t, "bad invitation", r, http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#email"`,
		`value="not-an-email"`, `<option value="trainer" selected>`)
	if n := f.Rows(tn, "invitations", ""); n != 0 {
		t.Fatalf("%d invitations stored from a bad form", n)
	}

	r = ab.PostForm("/t/alpha/members/invitations", url.Values{"email": {"new@example.org"}, "role": {"trainer"}})
	expect(t, "invitation", r, http.StatusOK, "Copy this link and send it to new@example.org", "shown only once")
	m := joinLinkRe.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no invitation link in\n%s", r.Body)
	}
	link := m[1]
	expect(t, "pending invitation listed", ab.Get("/t/alpha/members"), http.StatusOK, "new@example.org", "Revoke")

	guest := s.Client(t, uuid.Nil)
	expect(t, "join form", guest.Get(link), http.StatusOK, "Join Org alpha on Carepass", "Create your Carepass account", "Trainer")
	r = guest.PostForm(link, url.Values{"name": {"Nia New"}, "password": {password}, "confirm": {"something else entirely"}})
	expect(t, "join with passwords that differ", r, http.StatusUnprocessableEntity, "The passwords do not match", `value="Nia New"`)
	r = guest.PostForm(link, url.Values{"name": {"Nia New"}, "password": {password}, "confirm": {password}})
	if r.Status != http.StatusSeeOther || r.Location != "/t/alpha" || guest.Cookie(web.SessionCookie) == "" {
		t.Fatalf("join: %d to %q, session cookie %q\n%s", r.Status, r.Location, guest.Cookie(web.SessionCookie), r.Body)
	}
	expect(t, "used link", guest.Get(link), http.StatusNotFound, access.MsgInvalidInvitation)
	// The new trainer is signed in but may not manage members.
	expect(t, "trainer on members page", guest.Get("/t/alpha/members"), http.StatusForbidden)

	r = ab.Get("/api/v1/t/alpha/members")
	if r.Status != http.StatusOK {
		t.Fatalf("members API: %d %s", r.Status, r.Body)
	}
	var members struct {
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.Body), &members); err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 2 {
		t.Fatalf("members API = %s", r.Body)
	}
	for _, key := range []string{"account_id", "name", "email", "roles", "since"} {
		if _, ok := members.Members[0][key]; !ok {
			t.Errorf("members API lacks %q: %s", key, r.Body)
		}
	}
	if !strings.Contains(r.Body, `"roles":["trainer"]`) {
		t.Errorf("members API does not show the trainer role: %s", r.Body)
	}
	r = ab.Get("/api/v1/t/alpha/roles")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"key":"trainer"`) || !strings.Contains(r.Body, `"template":true`) ||
		!strings.Contains(r.Body, `"session:write"`) {
		t.Errorf("roles API: %d %s", r.Status, r.Body)
	}
	if r := guest.Get("/api/v1/t/alpha/members"); r.Status != http.StatusForbidden || !strings.Contains(r.Body, `"code":"forbidden"`) {
		t.Errorf("members API as trainer: %d %s", r.Status, r.Body)
	}

	expect(t, "another tenant's members", ab.Get("/t/bravo/members"), http.StatusNotFound)
	expect(t, "unknown token", guest.Get("/join/alpha/"+strings.Repeat("x", 43)), http.StatusNotFound, access.MsgInvalidInvitation)
	expect(t, "unknown tenant", guest.Get("/join/nowhere/"+strings.Repeat("x", 43)), http.StatusNotFound, access.MsgInvalidInvitation)
}

func TestMemberAndRolePages(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.Tenant("alpha", tenants.KindCareHome)
	admin := f.admin(tn, "admin@alpha.example")
	carer := f.Account("carer@example.org", "Cam Carer")
	f.Member(tn, carer, "care_staff")
	ab := s.Client(t, admin)
	memberPath := "/t/alpha/members/" + carer.String()

	expect(t, "member page", ab.Get(memberPath), http.StatusOK, "Cam Carer", `value="care_staff" checked`)
	r := ab.PostForm(memberPath+"/roles", url.Values{"roles": {"trainer", "assessor"}})
	if r.Status != http.StatusSeeOther || r.Location != memberPath {
		t.Fatalf("change roles: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, "member page after change", ab.Get(memberPath), http.StatusOK, `value="trainer" checked`, `value="assessor" checked`, "Roles changed.")
	expect(t, "no roles", ab.PostForm(memberPath+"/roles", url.Values{}), http.StatusUnprocessableEntity, "Select at least one role")
	expect(t, "last admin", ab.PostForm("/t/alpha/members/"+admin.String()+"/remove", url.Values{}), http.StatusUnprocessableEntity, "only person")
	expect(t, "unknown member", ab.Get("/t/alpha/members/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed member id", ab.Get("/t/alpha/members/nobody"), http.StatusNotFound)
	expect(t, "remove confirmation", ab.Get(memberPath+"/remove"), http.StatusOK, "Are you sure you want to remove Cam Carer?")
	if r := ab.PostForm(memberPath+"/remove", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", r.Status, r.Body)
	}
	expect(t, "removed member", ab.Get(memberPath), http.StatusNotFound)

	expect(t, "roles page", ab.Get("/t/alpha/roles"), http.StatusOK, "Provider administrator", "Template")
	expect(t, "template role", ab.Get("/t/alpha/roles/trainer"), http.StatusOK, "Copy this role", "Plan and change training sessions")
	expect(t, "unknown role", ab.Get("/t/alpha/roles/wizard"), http.StatusNotFound)
	expect(t, "copy without a name", ab.PostForm("/t/alpha/roles/trainer/copy", url.Values{"name": {""}}), http.StatusUnprocessableEntity,
		"Enter a role name")
	r = ab.PostForm("/t/alpha/roles/trainer/copy", url.Values{"name": {"Night trainer"}})
	if r.Status != http.StatusSeeOther || r.Location != "/t/alpha/roles/night_trainer" {
		t.Fatalf("copy: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, "duplicate name", ab.PostForm("/t/alpha/roles/trainer/copy", url.Values{"name": {"night TRAINER"}}), http.StatusUnprocessableEntity,
		"There is already a role called night TRAINER", `value="night TRAINER"`)
	expect(t, "editable role", ab.Get("/t/alpha/roles/night_trainer"), http.StatusOK, `name="permissions"`, `value="session:write" checked`, "Rename")
	expect(t, "no permissions", ab.PostForm("/t/alpha/roles/night_trainer/permissions", url.Values{}), http.StatusUnprocessableEntity,
		"Select at least one permission")
	r = ab.PostForm("/t/alpha/roles/night_trainer/permissions", url.Values{"permissions": {"dashboard:read", "report:read"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("set permissions: %d\n%s", r.Status, r.Body)
	}
	expect(t, "after permissions", ab.Get("/t/alpha/roles/night_trainer"), http.StatusOK, `value="report:read" checked`)
	expect(t, "template permissions", ab.PostForm("/t/alpha/roles/trainer/permissions", url.Values{"permissions": {"dashboard:read"}}),
		http.StatusUnprocessableEntity, "Template roles cannot be changed")
	expect(t, "unknown role permissions", ab.PostForm("/t/alpha/roles/wizard/permissions", url.Values{"permissions": {"dashboard:read"}}),
		http.StatusNotFound)
	expect(t, "rename clash", ab.PostForm("/t/alpha/roles/night_trainer/rename", url.Values{"name": {"Assessor"}}), http.StatusUnprocessableEntity,
		`href="#rename"`)
	expect(t, "delete confirmation", ab.Get("/t/alpha/roles/night_trainer/delete"), http.StatusOK, "Are you sure you want to delete Night trainer?")
	if r := ab.PostForm("/t/alpha/roles/night_trainer/delete", url.Values{}); r.Status != http.StatusSeeOther || r.Location != "/t/alpha/roles" {
		t.Fatalf("delete: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, "deleted role", ab.Get("/t/alpha/roles/night_trainer"), http.StatusNotFound)
}

func TestPagesRequireTheirPermission(t *testing.T) {
	f := newFixture(t)
	s := newServer(t, f)
	tn := f.Tenant("alpha", tenants.KindCareHome)
	admin := f.admin(tn, "admin@alpha.example")
	staff := f.Account("staff@example.org", "Sta Ff")
	f.Member(tn, staff, "care_staff")
	manager := f.Account("manager@example.org", "Man Ager")
	f.Member(tn, manager, "home_manager")
	outsider := f.Account("outsider@example.org", "Out Sider")
	other := f.Tenant("bravo", tenants.KindGPPractice)
	f.Member(other, outsider, policy.AdminRole(other.Kind))

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
			b := s.Client(t, tt.account)
			for _, p := range paths {
				if r := b.Get(p); r.Status != tt.want {
					t.Errorf("GET %s: %d, want %d", p, r.Status, tt.want)
				}
			}
		})
	}
	anon := s.Client(t, uuid.Nil)
	if r := anon.Get("/t/alpha/members"); r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("signed out: %d %q", r.Status, r.Location)
	}
}
