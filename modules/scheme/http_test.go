package scheme_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/scheme"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with the scheme routes mounted.
func newServer(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	return webtest.NewSite(t, f.Scoped, f.Accounts, web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{}, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "scheme", FS: scheme.Templates}},
		func(srv *web.Server) { scheme.Routes(srv.Tenant, srv.TenantAPI, f.schemes, enf) })
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

func lacks(t *testing.T, r webtest.Response, absent ...string) {
	t.Helper()
	for _, s := range absent {
		if strings.Contains(r.Body, s) {
			t.Errorf("%s %s: body has %q", r.Method, r.Path, s)
		}
	}
}

// seeOther fails unless r redirects to a path starting with prefix, and
// returns the path.
func seeOther(t *testing.T, r webtest.Response, prefix string) string {
	t.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, prefix) {
		t.Fatalf("%s %s: %d to %q, want 303 to %s…\n%s", r.Method, r.Path, r.Status, r.Location, prefix, r.Body)
	}
	return r.Location
}

func TestStartFromATemplate(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	s := newServer(t, f)
	b := browser(t, s, f.admin(a, "admin@a.example"))

	expect(t, b.Get("/t/charity-a/schemes"), 200, "Carer passport schemes", "has no active schemes yet",
		"Start from a template", "Adult carer passport", "1095 days (3 years) from issue", "Young carer passport",
		`action="/t/charity-a/schemes/presets/adult-carer"`, "Create a scheme")
	page := seeOther(t, b.PostForm("/t/charity-a/schemes/presets/adult-carer", nil), "/t/charity-a/schemes/")
	expect(t, b.Get(page), 200, "Adult carer passport has been added", "Adults aged 18 or over", "Parking concessions at partner hospitals",
		"1095 days (3 years) from issue", "Needed before a passport is issued", "Change this scheme", "Retire this scheme")
	r := b.Get("/t/charity-a/schemes")
	expect(t, r, 200, "Already added: <a href=\""+page+"\">Adult carer passport</a>", `action="/t/charity-a/schemes/presets/young-carer"`)
	lacks(t, r, `action="/t/charity-a/schemes/presets/adult-carer"`, "has no active schemes yet")

	// Adding the same template again explains why on the list page.
	r = b.PostForm("/t/charity-a/schemes/presets/adult-carer", nil)
	expect(t, r, 422, "There is a problem", "There is already a scheme called Adult carer passport", "Start from a template")
	lacks(t, r, `href="#name"`)
	expect(t, b.PostForm("/t/charity-a/schemes/presets/essential-care-giver", nil), 404)
	if n := f.Rows(a, "schemes", ""); n != 1 {
		t.Errorf("%d schemes", n)
	}
}

func TestSchemeForms(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	s := newServer(t, f)
	b := browser(t, s, f.admin(a, "admin@a.example"))

	expect(t, b.Get("/t/trust-a/schemes/new"), 200, "Create a scheme", `name="benefits"`, `value="until_discharge"`,
		`id="stay_days"`, `id="valid_until_date"`, `name="consent_required" type="radio" value="yes" checked`)

	// Everything wrong at once: the error summary links to each field, and
	// what was typed is kept.
	form := url.Values{"name": {"Parent carer passport"}, "benefits": {"\r\n  \r\n"}, "validity_kind": {"until_discharge"},
		"validity_days": {"30"}, "stay_days": {"many"}}
	r := b.PostForm("/t/trust-a/schemes", form)
	expect(t, r, 422, "Error: Create a scheme", "There is a problem", `href="#audience"`, "Select who the scheme is for",
		`href="#benefits"`, "Enter at least one benefit", `href="#stay_days"`, "Number of days must be a whole number",
		`href="#consent_required"`, `href="#renewable"`, `value="Parent carer passport"`, `value="many"`,
		`class="nhsuk-radios__conditional" id="conditional-validity_kind-2"`)
	lacks(t, r, `href="#validity_days"`)
	if n := f.Rows(a, "schemes", ""); n != 0 {
		t.Fatalf("%d schemes after a refused form", n)
	}

	// A fixed end date in the past.
	form = url.Values{"name": {"Winter passport"}, "audience": {"adult_carer"}, "benefits": {"Parking"}, "validity_kind": {"until_date"},
		"until_day": {"1"}, "until_month": {"1"}, "until_year": {"2026"}, "consent_required": {"no"}, "renewable": {"no"}}
	expect(t, b.PostForm("/t/trust-a/schemes", form), 422, `href="#valid_until_date"`, "End date must be in the future", `value="2026"`)

	form = url.Values{"name": {"Parent carer passport: hospital stay"}, "audience": {"parent_carer"},
		"eligibility": {"Parents of a child on the wards."}, "benefits": {"Stay overnight\r\nFree parking\r\n\r\nfree PARKING\r\n"},
		"validity_kind": {"until_discharge"}, "validity_days": {"ignored"}, "stay_days": {"90"},
		"until_year": {"1999"}, "consent_required": {"no"}, "renewable": {"yes"}}
	show := seeOther(t, b.PostForm("/t/trust-a/schemes", form), "/t/trust-a/schemes/")
	expect(t, b.Get(show), 200, "Parent carer passport: hospital stay has been created", "Until discharge, at most 90 days",
		"<li>Stay overnight</li><li>Free parking</li>", "Parent carers", "Not needed")

	// Change it.
	edit := b.Get(show + "/edit")
	expect(t, edit, 200, "Change scheme", "keep the details they were issued with", `value="Parent carer passport: hospital stay"`,
		"Stay overnight\nFree parking</textarea>", `id="stay_days" name="stay_days" type="text" inputmode="numeric" autocomplete="off" value="90"`,
		`value="until_discharge" checked`, `name="consent_required" type="radio" value="no" checked`)
	form.Set("stay_days", "0")
	expect(t, b.PostForm(show, form), 422, `href="#stay_days"`, "between 1 and 3660", "Save changes")
	form.Set("validity_kind", "days")
	form.Set("validity_days", "28")
	seeOther(t, b.PostForm(show, form), show)
	expect(t, b.Get(show), 200, "The changes to Parent carer passport: hospital stay have been saved", "28 days from issue")

	// Retire and reactivate.
	seeOther(t, b.PostForm(show+"/retire", nil), show)
	expect(t, b.Get(show), 200, "has been retired", "Reactivate this scheme")
	expect(t, b.Get("/t/trust-a/schemes"), 200, "Retired schemes", `<strong class="nhsuk-tag nhsuk-tag--grey">Retired</strong>`)
	seeOther(t, b.PostForm(show+"/reactivate", nil), show)
	expect(t, b.Get(show), 200, "is active again", "Retire this scheme")

	missing := "/t/trust-a/schemes/" + uuid.Must(uuid.NewV7()).String()
	expect(t, b.Get(missing), 404)
	expect(t, b.Get(missing+"/edit"), 404)
	expect(t, b.PostForm(missing, form), 404)
	expect(t, b.PostForm(missing+"/retire", nil), 404)
	expect(t, b.Get("/t/trust-a/schemes/not-a-uuid"), 404)
}

func TestSchemePagesAreTenantScoped(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	bt := f.Tenant("charity-b", tenants.KindCarersCharity)
	adminA := f.admin(a, "admin@a.example")
	sch := f.create(a, adminA, input("Adult carer passport"))
	s := newServer(t, f)
	b := browser(t, s, f.admin(bt, "admin@b.example"))
	id := sch.ID.String()

	// B's admin, through B's own pages, finds nothing of A's.
	expect(t, b.Get("/t/charity-b/schemes/"+id), 404)
	expect(t, b.Get("/t/charity-b/schemes/"+id+"/edit"), 404)
	expect(t, b.PostForm("/t/charity-b/schemes/"+id+"/retire", nil), 404)
	expect(t, b.API(http.MethodGet, "/api/v1/t/charity-b/schemes/"+id, ""), 404)
	expect(t, b.API(http.MethodPatch, "/api/v1/t/charity-b/schemes/"+id, `{"name":"Mine now"}`), 404)
	r := b.Get("/t/charity-b/schemes")
	expect(t, r, 200)
	lacks(t, r, id)
	// And A's pages do not exist for B.
	expect(t, b.Get("/t/charity-a/schemes"), 404)
	expect(t, b.Get("/t/charity-a/schemes/"+id), 404)
	expect(t, b.API(http.MethodGet, "/api/v1/t/charity-a/schemes", ""), 404)

	got, err := f.schemes.Get(as(a, adminA), sch.ID)
	if err != nil || got.Name != "Adult carer passport" || got.Status != scheme.Active {
		t.Errorf("a's scheme: %+v %v", got, err)
	}
}

func TestSchemeAPI(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("gp-a", tenants.KindGPPractice)
	s := newServer(t, f)
	b := browser(t, s, f.admin(a, "admin@a.example"))
	base := "/api/v1/t/gp-a/schemes"

	r := b.JSON(http.MethodPost, base, map[string]any{"name": "Practice carer passport", "audience": "adult_carer",
		"benefits": []string{"Flexible appointments", "Flu vaccination"}, "validity_kind": "days", "validity_days": 365})
	expect(t, r, 201, `"name":"Practice carer passport"`, `"validity_days":365`, `"valid_until_date":null`,
		`"consent_required":true`, `"renewable":true`, `"status":"active"`, `"benefits":["Flexible appointments","Flu vaccination"]`)
	var created struct {
		ID uuid.UUID `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil || created.ID == uuid.Nil {
		t.Fatalf("created: %v %s", err, r.Body)
	}
	path := base + "/" + created.ID.String()
	stored := b.API(http.MethodGet, path, "")
	expect(t, stored, 200, created.ID.String())

	// Bad input: field errors, and nothing stored or changed.
	expect(t, b.JSON(http.MethodPost, base, map[string]any{"name": "", "validity_kind": "until_date", "valid_until_date": "2027-02-30"}), 422,
		`"field":"name"`, `"field":"audience"`, `"field":"benefits"`, `"field":"valid_until_date"`)
	expect(t, b.JSON(http.MethodPost, base, map[string]any{"name": "x", "colour": "blue"}), 422, "Unknown field")
	expect(t, b.JSON(http.MethodPost, base, map[string]any{"name": "x", "validity_days": "a year"}), 422, `"field":"validity_days"`)
	expect(t, b.API(http.MethodPost, base, `[]`), 422)
	expect(t, b.JSON(http.MethodPost, base, map[string]any{"name": "practice CARER passport", "audience": "adult_carer",
		"benefits": []string{"x"}, "validity_kind": "days", "validity_days": 30}), 422, `"field":"name"`, "There is already a scheme")
	for _, body := range []map[string]any{
		{"validity_days": 0},
		{"validity_kind": "until_discharge", "validity_days": 5000},
		{"benefits": []string{}},
		{"validity_kind": "until_date", "valid_until_date": "2020-01-01"},
		{"audience": "everyone", "name": "Renamed"},
	} {
		expect(t, b.JSON(http.MethodPatch, path, body), 422)
	}
	expect(t, b.JSON(http.MethodPatch, path, map[string]any{"nickname": "x"}), 422)
	if again := b.API(http.MethodGet, path, ""); again.Body != stored.Body {
		t.Errorf("refused changes changed the scheme:\n%s\n%s", stored.Body, again.Body)
	}
	if n := f.Rows(a, "schemes", ""); n != 1 {
		t.Errorf("%d schemes after refused requests", n)
	}

	// Partial changes.
	expect(t, b.JSON(http.MethodPatch, path, map[string]any{"renewable": false, "validity_kind": "until_date", "valid_until_date": "2027-03-31"}), 200,
		`"renewable":false`, `"validity_kind":"until_date"`, `"valid_until_date":"2027-03-31"`, `"validity_days":null`,
		`"name":"Practice carer passport"`)
	expect(t, b.API(http.MethodGet, base, ""), 200, `"schemes":[{`, `"id":"`+created.ID.String())
	expect(t, b.API(http.MethodPost, path+"/retire", ""), 200, `"status":"retired"`)
	expect(t, b.API(http.MethodGet, base, ""), 200, `"schemes":[]`)
	expect(t, b.API(http.MethodGet, base+"?include_retired=true", ""), 200, created.ID.String())
	expect(t, b.API(http.MethodGet, base+"/"+uuid.Must(uuid.NewV7()).String(), ""), 404)
	expect(t, b.API(http.MethodPost, base+"/"+uuid.Must(uuid.NewV7()).String()+"/retire", ""), 404)
}

// TestPermissions: readers hold passport:read; only tenant:write (the
// administrators) may change schemes.
func TestPermissions(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	sch := f.create(a, f.admin(a, "admin@a.example"), input("Adult carer passport"))
	officer := f.Staff(a, "officer@a.example", "Officer", "passport_officer")
	trainer := f.Staff(a, "trainer@a.example", "Trainer", "trainer")
	s := newServer(t, f)
	id := sch.ID.String()

	b := browser(t, s, officer)
	r := b.Get("/t/charity-a/schemes")
	expect(t, r, 200, "Adult carer passport")
	lacks(t, r, "Start from a template", "Create a scheme", "presets/")
	r = b.Get("/t/charity-a/schemes/" + id)
	expect(t, r, 200, "Adult carer passport")
	lacks(t, r, "Retire this scheme", "/edit")
	expect(t, b.API(http.MethodGet, "/api/v1/t/charity-a/schemes", ""), 200, id)
	expect(t, b.API(http.MethodGet, "/api/v1/t/charity-a/schemes/"+id, ""), 200)

	valid := url.Values{"name": {"Officer's scheme"}, "audience": {"adult_carer"}, "benefits": {"Parking"},
		"validity_kind": {"days"}, "validity_days": {"30"}, "consent_required": {"yes"}, "renewable": {"yes"}}
	for _, r := range []webtest.Response{
		b.Get("/t/charity-a/schemes/new"),
		b.PostForm("/t/charity-a/schemes", valid),
		b.PostForm("/t/charity-a/schemes/presets/young-carer", nil),
		b.Get("/t/charity-a/schemes/" + id + "/edit"),
		b.PostForm("/t/charity-a/schemes/"+id, valid),
		b.PostForm("/t/charity-a/schemes/"+id+"/retire", nil),
		b.PostForm("/t/charity-a/schemes/"+id+"/reactivate", nil),
		b.JSON(http.MethodPost, "/api/v1/t/charity-a/schemes", map[string]any{"name": "x"}),
		b.JSON(http.MethodPatch, "/api/v1/t/charity-a/schemes/"+id, map[string]any{"name": "x"}),
		b.API(http.MethodPost, "/api/v1/t/charity-a/schemes/"+id+"/retire", ""),
	} {
		expect(t, r, 403)
	}
	if got, _ := f.schemes.Get(as(a, officer), sch.ID); got.Name != "Adult carer passport" || got.Status != scheme.Active {
		t.Errorf("scheme after refused writes: %+v", got)
	}
	if n := f.Rows(a, "schemes", ""); n != 1 {
		t.Errorf("%d schemes after refused writes", n)
	}

	// A role that does not see passports does not see schemes.
	tb := browser(t, s, trainer)
	expect(t, tb.Get("/t/charity-a/schemes"), 403)
	expect(t, tb.Get("/t/charity-a/schemes/"+id), 403)
	expect(t, tb.API(http.MethodGet, "/api/v1/t/charity-a/schemes", ""), 403)

	// Signed out.
	out := browser(t, s, uuid.Nil)
	expect(t, out.Get("/t/charity-a/schemes"), 302)
	expect(t, out.API(http.MethodGet, "/api/v1/t/charity-a/schemes", ""), 401)
}
