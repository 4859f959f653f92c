package share_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with the holder and share routes
// mounted, the holder portal under /me.
func newServer(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	return webtest.NewSite(t, f.Scoped, f.Accounts, web.Deps{Pool: f.DB.Pool, Members: f.access, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "holder", FS: holder.Templates}, {Namespace: "share", FS: share.Templates}},
		func(srv *web.Server) {
			portal := srv.App.Group("/me")
			holder.Routes(srv.Tenant, srv.TenantAPI, f.holders, enf)
			holder.ClaimRoutes(srv.Tenant, srv.TenantAPI, srv.Public, f.holders, f.claims, enf, srv)
			holder.PortalRoutes(portal, f.holders)
			share.Routes(srv.Tenant, srv.TenantAPI, portal, f.shares, enf)
		})
}

// browser is a client of s signed in as accountID that has picked up a
// CSRF token.
func browser(t *testing.T, s *webtest.Site, accountID uuid.UUID) *webtest.Client {
	t.Helper()
	b := s.Client(t, accountID)
	b.Get("/t/no-such-tenant-at-all")
	return b
}

func expect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
}

func TestSharingPagesAndAPI(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	ownComp := f.competency(s.b, "home-skills", "HOME-SUCTION", 6, &s.stdID)
	srv := newServer(t, f)
	a, b, c := browser(t, srv, s.staffA), browser(t, srv, s.staffB), browser(t, srv, s.staffC)
	holderPath := "/t/trust-a/holders/" + s.holderID.String()

	expect(t, a.Get(holderPath+"/shares"), 200, "has not shared this passport", "Share this passport")
	expect(t, a.Get(holderPath+"/shares/new"), 200, "Who gave consent", "How was consent given?")
	r := a.PostForm(holderPath+"/shares", url.Values{"to": {"code"}, "days": {"abc"}})
	expect(t, r, 422, `href="#days"`, `href="#consent_given_by"`, `href="#consent_method"`)
	r = a.PostForm(holderPath+"/shares", url.Values{"to": {"code"}, "consent_given_by": {"Dee Brown"}, "consent_method": {"phone"}})
	expect(t, r, 200, "Share code created", "This code is shown only once")
	m := regexp.MustCompile(`<strong>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</strong>`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no code shown:\n%s", r.Body)
	}
	code := m[1]
	expect(t, a.Get(holderPath+"/shares"), 200, "Waiting to be redeemed", "Consent given by Dee Brown, by phone")

	// B redeems it, with a typo first.
	expect(t, b.Get("/t/home-b/shares/redeem"), 200, "Redeem a share code")
	typo := strings.Replace(code, code[:1], map[bool]string{true: "A", false: "B"}[code[:1] != "A"], 1)
	expect(t, b.PostForm("/t/home-b/shares/redeem", url.Values{"code": {typo}}), 422, "This share code is not right")
	r = b.PostForm("/t/home-b/shares/redeem", url.Values{"code": {code}})
	if r.Status != 303 || !strings.HasPrefix(r.Location, "/t/home-b/shared/") {
		t.Fatalf("redeem: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	sharePath := r.Location
	expect(t, b.Get("/t/home-b/shared"), 200, "Not yet one of your holders")
	r = b.Get(sharePath)
	expect(t, r, 200, "SUCTION-01", "Alex Assessor", "Org trust-a", "Recognise")
	for _, secret := range []string{"dee@example.org", "Dee", "OXYGEN-01", "Ward 4", "Moving to a care home"} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("the shared passport shows %q", secret)
		}
	}
	recognisePath := sharePath + "/recognise?record=" + s.competent.String()
	expect(t, b.Get(recognisePath), 200, "Recognise SUCTION-01", "HOME-SUCTION", "Add them as one of your holders")
	r = b.PostForm(sharePath+"/recognise", url.Values{"record": {s.competent.String()}, "competency_id": {ownComp.String()}})
	expect(t, r, 422, `href="#given_name"`, `href="#date_of_birth"`, `href="#role_in_care"`)
	r = b.PostForm(sharePath+"/recognise", url.Values{"record": {s.competent.String()}, "competency_id": {ownComp.String()},
		"given_name": {"Dee"}, "family_name": {"Brown"}, "dob_day": {"4"}, "dob_month": {"4"}, "dob_year": {"1984"},
		"role_in_care": {"staff"}})
	if r.Status != 303 || r.Location != sharePath {
		t.Fatalf("recognise: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, b.Get("/t/home-b/shared"), 200, "Dee Brown")

	// C cannot see B's share; the JSON view leaks nothing more than the page.
	expect(t, c.Get(sharePath), 404)
	shareID := strings.TrimPrefix(sharePath, "/t/home-b/shared/")
	r = b.Get("/api/v1/t/home-b/shared/" + shareID)
	expect(t, r, 200, `"issuer":"Org trust-a"`, `"assessor_name":"Alex Assessor"`, `"code":"SUCTION-01"`)
	for _, secret := range []string{"email", "OXYGEN-01", "consent", "person"} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("the shared passport JSON shows %q", secret)
		}
	}
	expect(t, b.Get("/api/v1/t/home-b/shared"), 200, `"name":"Dee Brown"`)

	// JSON: a direct share to C, listed, then revoked.
	r = a.JSON("POST", "/api/v1/t/trust-a/holders/"+s.holderID.String()+"/shares", map[string]any{"to": "tenant", "tenant": "charity-c",
		"days": 7, "consent": map[string]any{"given_by": "Dee Brown", "method": "written"}})
	expect(t, r, 201, `"status":"active"`, `"slug":"charity-c"`)
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil {
		t.Fatal(err)
	}
	expect(t, c.Get("/api/v1/t/charity-c/shared/"+created.ID), 200, `"SUCTION-01"`)
	expect(t, a.Get("/api/v1/t/trust-a/holders/"+s.holderID.String()+"/shares"), 200, created.ID)
	expect(t, b.JSON("DELETE", "/api/v1/t/home-b/shares/"+created.ID, struct{}{}), 404)
	expect(t, a.JSON("DELETE", "/api/v1/t/trust-a/shares/"+created.ID, struct{}{}), 200, `"status":"revoked"`)
	expect(t, c.Get("/api/v1/t/charity-c/shared/"+created.ID), 404)
	expect(t, c.JSON("POST", "/api/v1/t/charity-c/shares/redeem", map[string]any{"code": code}), 422, "already been used")
	expect(t, c.JSON("POST", "/api/v1/t/charity-c/shared/"+created.ID+"/recognitions", map[string]any{"record_id": s.competent}), 404)

	// The revoke form on the holder's shares page.
	r = a.PostForm("/t/trust-a/shares/"+shareID+"/revoke", url.Values{"holder": {s.holderID.String()}})
	if r.Status != 303 || r.Location != holderPath+"/shares" {
		t.Fatalf("revoke: %d %s", r.Status, r.Location)
	}
	expect(t, b.Get(sharePath), 404)
}
