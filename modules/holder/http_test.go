package holder_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/tenants"
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

// browser is a client of s signed in as accountID (signed out for
// uuid.Nil) that has picked up a CSRF token.
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

func TestAddHolderPagesWarnOnDuplicate(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	s := newServer(t, f)
	b := browser(t, s, staff)

	expect(t, b.Get("/t/trust-a/holders/new"), 200, "Add a holder", `name="dob_day"`, `value="unpaid_carer"`)
	r := b.PostForm("/t/trust-a/holders", url.Values{"given_name": {"Ruth"}, "dob_day": {"31"}, "dob_month": {"2"}, "dob_year": {"1990"}})
	expect(t, r, 422, "There is a problem", `href="#family_name"`, "Enter their last name", "Date of birth must be a real date",
		`href="#role_in_care"`, `value="Ruth"`, `value="31"`)

	form := url.Values{"given_name": {"Ruth"}, "family_name": {"Okafor"}, "dob_day": {"9"}, "dob_month": {"10"},
		"dob_year": {"1987"}, "email": {"ruth@example.org"}, "role_in_care": {"parent"}}
	r = b.PostForm("/t/trust-a/holders", form)
	if r.Status != 303 || !strings.HasPrefix(r.Location, "/t/trust-a/holders/") {
		t.Fatalf("add: %d %s", r.Status, r.Location)
	}
	first := r.Location
	expect(t, b.Get(first), 200, "Ruth Okafor", "Create a link to claim an account", "Mark as left")

	form.Set("given_name", "RUTH")
	r = b.PostForm("/t/trust-a/holders", form)
	expect(t, r, 200, "may already be recorded", "This is a different person, add anyway",
		`name="confirm_duplicate" value="yes"`, `href="`+first+`"`, `name="given_name" value="RUTH"`)
	if n := f.Count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 1 {
		t.Fatalf("%d holders after the warning", n)
	}
	form.Set("confirm_duplicate", "yes")
	if r = b.PostForm("/t/trust-a/holders", form); r.Status != 303 {
		t.Fatalf("add anyway: %d\n%s", r.Status, r.Body)
	}
	if n := f.Count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 2 {
		t.Fatalf("%d holders after confirming", n)
	}

	// Edit and mark as left.
	expect(t, b.Get(first+"/edit"), 200, `value="Okafor"`, `value="1987"`)
	form.Del("confirm_duplicate")
	form.Set("given_name", "Ruth")
	form.Set("phone", "not a phone")
	expect(t, b.PostForm(first, form), 422, "Enter a phone number")
	form.Set("phone", "+44 808 157 0192")
	if r = b.PostForm(first, form); r.Status != 303 || r.Location != first {
		t.Fatalf("edit: %d %s", r.Status, r.Location)
	}
	if r = b.PostForm(first+"/status", url.Values{"status": {"left"}}); r.Status != 303 {
		t.Fatalf("mark as left: %d", r.Status)
	}
	expect(t, b.Get(first), 200, "Mark as active again", "808 157 0192")
	expect(t, b.Get("/t/trust-a/holders/"+uuid.Must(uuid.NewV7()).String()+"/edit"), 404)
}

func TestHolderAPI(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	s := newServer(t, f)
	b := browser(t, s, staff)

	body := map[string]any{"given_name": "Ola", "family_name": "Nowak", "date_of_birth": "1995-12-01", "role_in_care": "paid_carer"}
	r := b.JSON(http.MethodPost, "/api/v1/t/trust-a/holders", body)
	expect(t, r, 201, `"given_name":"Ola"`)
	var created holder.Holder
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil {
		t.Fatal(err)
	}
	r = b.JSON(http.MethodPost, "/api/v1/t/trust-a/holders", body)
	expect(t, r, 409, `"possible_duplicates"`, created.ID.String())
	body["confirm_duplicate"] = true
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/trust-a/holders", body), 201)
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/trust-a/holders", map[string]any{}), 422, `"field":"given_name"`)
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/trust-a/holders", map[string]any{"nickname": "x"}), 422)

	path := "/api/v1/t/trust-a/holders/" + created.ID.String()
	expect(t, b.JSON(http.MethodPost, path+"/claims", nil), 201, `"claim_url":"http://example.com/claim/trust-a/`)
	expect(t, b.JSON(http.MethodPatch, path, map[string]any{"status": "left", "email": "ola@example.org"}), 200,
		`"status":"left"`, `"email":"ola@example.org"`, `"family_name":"Nowak"`)
	expect(t, b.JSON(http.MethodPatch, path, map[string]any{"date_of_birth": "1995-02-30"}), 422, `"field":"date_of_birth"`)
	expect(t, b.JSON(http.MethodPatch, "/api/v1/t/trust-a/holders/"+uuid.Must(uuid.NewV7()).String(), map[string]any{"phone": ""}), 404)
	expect(t, b.JSON(http.MethodPost, path+"/claims", nil), 409, "has left")
}

var claimLinkRe = regexp.MustCompile(`value="https?://[^/]+(/claim/[^"]+)"`)

func TestClaimJourneyThroughThePortal(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	h := f.enrol(a, staff, "Maya", "Patel", "1993-08-08", "maya@example.org")
	s := newServer(t, f)
	sb := browser(t, s, staff)

	expect(t, sb.Get("/t/trust-a/holders/"+h.ID.String()), 200)
	r := sb.PostForm("/t/trust-a/holders/"+h.ID.String()+"/claim", url.Values{})
	expect(t, r, 200, "This link is shown only once")
	m := claimLinkRe.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no claim link in\n%s", r.Body)
	}
	link := m[1]

	// The holder, signed out.
	hb := browser(t, s, uuid.Nil)
	expect(t, hb.Get("/me/passport"), 302)
	expect(t, hb.Get(link), 200, "Claim your passport from Org trust-a", "Maya", `value="maya@example.org"`,
		"Create account and claim", "Sign in and claim")
	r = hb.PostForm(link, url.Values{"mode": {"new_account"}, "new-name": {"Maya Patel"}, "new-email": {"maya@example.org"},
		"new-password": {password}, "new-confirm": {"nope"}})
	expect(t, r, 422, `href="#new-confirm"`, "The passwords do not match", `value="Maya Patel"`)
	r = hb.PostForm(link, url.Values{"mode": {"new_account"}, "new-name": {"Maya Patel"}, "new-email": {"maya@example.org"},
		"new-password": {password}, "new-confirm": {password}})
	if r.Status != 303 || r.Location != "/me/passport" {
		t.Fatalf("claim: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, hb.Get("/me/passport"), 200, "Your passport", "Org trust-a", "Who viewed your passport", "Staff staff@a.example")
	expect(t, hb.Get(link), 404, "This link is not valid")
	expect(t, hb.Get("/claim/no-such-tenant/"+strings.TrimPrefix(link, "/claim/trust-a/")), 404)

	// Sharing from the portal: a code shown once.
	expect(t, hb.Get("/me/shares"), 200, "You have not shared your passport")
	expect(t, hb.Get("/me/shares/new"), 200, "Create a share code")
	expect(t, hb.PostForm("/me/shares", url.Values{"to": {"tenant"}, "tenant": {"nowhere-at-all"}}), 422, "No organisation has this Carepass address")
	r = hb.PostForm("/me/shares", url.Values{"to": {"code"}, "days": {"10"}})
	expect(t, r, 200, "Share code created", "This code is shown only once")
	expect(t, hb.Get("/me/shares"), 200, "Waiting to be redeemed", "Withdraw")

	// Someone with an account but no passport yet.
	nb := browser(t, s, f.Account("new@example.org", "New Person"))
	expect(t, nb.Get("/me/passport"), 200, "There is nothing in your passport yet")
	expect(t, nb.PostForm("/me/shares", url.Values{"to": {"code"}}), 422, "There is nothing to share yet")
}
