package catalogue_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

// site is the real web application with the catalogue routes mounted, one
// paediatric trust with its template roles, and the standard catalogue the
// journeys adopt.
type site struct {
	t        *testing.T
	scoped   *tenants.DB
	accounts *account.Service
	svc      *catalogue.Service
	srv      *web.Server
	enf      *policy.Enforcers
	tenant   tenants.Tenant
	std      catalogue.StdCatalogue
	stdComps []catalogue.StdCompetency
}

// memberships answers the layout's organisation switcher with the one tenant.
type memberships struct{ list []tenants.Tenant }

func (m memberships) TenantsOf(context.Context, uuid.UUID) ([]tenants.Tenant, error) {
	return m.list, nil
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	db := testdb.New(t)
	s := &site{t: t, scoped: tenants.NewDB(db.Gorm)}
	store := tenants.NewStore(db.Gorm)
	log := audit.New(time.Now)
	s.accounts = account.NewService(s.scoped, log, account.Config{Now: time.Now})
	s.svc = catalogue.NewService(s.scoped, log, time.Now)

	id := uuid.Must(uuid.NewV7())
	if err := db.Gorm.Exec(`INSERT INTO tenants (id, slug, name, kind) VALUES (?, ?, ?, ?)`,
		id, "wren", "Wren Children's Hospital", string(tenants.KindPaediatricTrust)).Error; err != nil {
		t.Fatal(err)
	}
	tn, err := store.ByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s.tenant = tn
	tctx := tenants.WithTenant(ctx, tn)
	if err := s.scoped.Tx(tctx, func(tx *gorm.DB) error { return policy.ApplyTemplates(tctx, tx, tn.ID.String(), tn.Kind) }); err != nil {
		t.Fatal(err)
	}

	lib, err := s.svc.Library(tctx)
	if err != nil || len(lib) == 0 {
		t.Fatalf("the standard library must be loaded by migrations: %v", err)
	}
	s.std = lib[0]
	if _, s.stdComps, err = s.svc.StdCatalogue(tctx, s.std.ID); err != nil {
		t.Fatal(err)
	}

	enf, err := policy.New(ctx, db.Pool, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.enf = enf
	views, err := web.NewViews(web.TemplateSet{Namespace: "catalogue", FS: catalogue.Templates})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = web.New(web.Config{SecretKey: []byte("test secret key, not for production"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		web.Deps{Pool: db.Pool, Sessions: s.accounts, Members: memberships{list: []tenants.Tenant{tn}}, Tenants: store, Policy: enf, Views: views})
	catalogue.Routes(s.srv.Tenant, s.srv.TenantAPI, s.svc, enf)
	s.srv.NotFound()
	return s
}

// ctx returns a context in the site's tenant.
func (s *site) ctx() context.Context { return tenants.WithTenant(context.Background(), s.tenant) }

// member makes an account holding role in the tenant and returns a browser
// signed in as it, with a CSRF token from its first page.
func (s *site) member(email, role string) *browser {
	s.t.Helper()
	ctx := context.Background()
	var acct account.Account
	var token string
	err := s.scoped.Platform(ctx, func(tx *gorm.DB) (err error) {
		if acct, err = s.accounts.Create(ctx, tx, email, "Member "+email, "a long enough password"); err != nil {
			return err
		}
		token, err = s.accounts.StartSession(ctx, tx, acct.ID, account.Client{IP: "192.0.2.20", UserAgent: "test"})
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	tctx := s.ctx()
	err = s.scoped.Tx(tctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO memberships (tenant_id, id, account_id) VALUES (?, ?, ?)`,
			s.tenant.ID, uuid.Must(uuid.NewV7()), acct.ID).Error; err != nil {
			return err
		}
		return policy.AssignRole(tctx, tx, s.tenant.ID.String(), acct.ID.String(), role)
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.enf.Invalidate(s.tenant.ID.String())
	b := &browser{t: s.t, s: s, cookies: map[string]string{web.SessionCookie: token}}
	expect(s.t, "first page", b.get("/t/wren/catalogues"), http.StatusOK)
	if b.csrf == "" {
		s.t.Fatal("no CSRF token on the first page")
	}
	return b
}

// browser keeps cookies and the latest CSRF token between requests.
type browser struct {
	t       *testing.T
	s       *site
	cookies map[string]string
	csrf    string
}

type response struct {
	status   int
	body     string
	location string
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) send(req *http.Request) response {
	b.t.Helper()
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

func (b *browser) get(path string) response {
	b.t.Helper()
	return b.send(httptest.NewRequest(http.MethodGet, path, nil))
}

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.csrf)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

// api sends a JSON request with the CSRF header, as a signed-in script would.
func (b *browser) api(method, path, body string) response {
	b.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	return b.send(req)
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

func expectRedirect(t *testing.T, what string, r response, prefix string) string {
	t.Helper()
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %s…\n%s", what, r.status, r.location, prefix, r.body)
	}
	return r.location
}

// specForm is the competency form filled in with s.
func specForm(s catalogue.Spec) url.Values {
	return url.Values{
		"code": {s.Code}, "title": {s.Title}, "kind": {string(s.Kind)}, "description": {s.Description}, "tier": {s.Tier},
		"key_elements": {strings.Join(s.KeyElements, "\n")}, "specificity": {string(s.Specificity)},
		"prescription_parameters": {strings.Join(s.PrescriptionParameters, "\n")}, "training_formats": s.TrainingFormats,
		"assessment_method": {s.AssessmentMethod}, "signoff_by": {strings.Join(s.SignoffBy, "\r\n")},
		"supervised_practices": {strconv.Itoa(s.SupervisedPractices)}, "reassess_months": {strconv.Itoa(s.ReassessMonths)},
		"review_date_day": {strconv.Itoa(s.ReviewDate.Day())}, "review_date_month": {strconv.Itoa(int(s.ReviewDate.Month()))},
		"review_date_year": {strconv.Itoa(s.ReviewDate.Year())}, "covers": {strings.Join(s.Covers, "\n")},
	}
}

// firstSkill returns the first skill competency of the standard catalogue.
func (s *site) firstSkill() catalogue.StdCompetency {
	s.t.Helper()
	for _, k := range s.stdComps {
		if k.Kind == catalogue.KindSkill {
			return k
		}
	}
	s.t.Fatalf("%s has no skill competency", s.std.Code)
	return catalogue.StdCompetency{}
}

var ownSpec = catalogue.Spec{Code: "OWN-01", Title: "Night-time checks", Kind: catalogue.KindSkill,
	Description: "Checks the child and the equipment on the night round.", Tier: "additional",
	KeyElements: catalogue.List{"Checks the equipment is working", "Records the checks"}, Specificity: catalogue.General,
	TrainingFormats: catalogue.List{"classroom", "on_the_ward"}, AssessmentMethod: "Observed on two night rounds",
	SignoffBy: catalogue.List{"Nurse in charge"}, SupervisedPractices: 2, ReassessMonths: 12,
	ReviewDate: time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC)}

func TestCatalogueJourneyThroughThePages(t *testing.T) {
	s := newSite(t)
	ed := s.member("educator@wren.example", "practice_educator")
	ward := s.member("ward@wren.example", "ward_staff")
	base := "/t/wren/catalogues"
	stdPath := base + "/library/" + s.std.ID.String()
	skill := s.firstSkill()

	expect(t, "catalogues page", ed.get(base), http.StatusOK, html.EscapeString(s.std.Title), "Start your own catalogue",
		`action="/t/wren/catalogues/adopt"`, `name="std_id" value="`+s.std.ID.String()+`"`)
	r := ward.get(base)
	expect(t, "catalogues page for a reader", r, http.StatusOK, html.EscapeString(s.std.Title), "Not adopted")
	if strings.Contains(r.body, "/catalogues/adopt") || strings.Contains(r.body, "Start your own catalogue") {
		t.Error("someone without catalogue:write is offered the forms that need it")
	}
	expect(t, "standard catalogue", ed.get(stdPath), http.StatusOK, skill.Code, "Adopt this catalogue")
	expect(t, "standard competency", ed.get(stdPath+"/"+strings.ToLower(skill.Code)), http.StatusOK,
		html.EscapeString(skill.Title), html.EscapeString(skill.KeyElements[0]), html.EscapeString(skill.AssessmentMethod))

	// Adopt through the page; adopting again under the same short name is
	// refused on the standard catalogue's page, with the input kept.
	v1 := expectRedirect(t, "adopt", ed.post(base+"/adopt", url.Values{"std_id": {s.std.ID.String()}}), base+"/")
	v1ID := strings.TrimPrefix(v1, base+"/")
	expect(t, "adopted draft", ed.get(v1), http.StatusOK, "You have adopted", "Draft", "Standard catalogue "+s.std.Code,
		"Add a competency", "Publish version 1", skill.Code)
	expect(t, "adopt again", ed.post(base+"/adopt", url.Values{"std_id": {s.std.ID.String()}, "key": {strings.ToLower(s.std.Code)}}),
		http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#key"`, "already exists", `value="`+strings.ToLower(s.std.Code)+`"`)
	expect(t, "create without a title", ed.post(base, url.Values{"key": {"Bad Key"}}), http.StatusUnprocessableEntity,
		`href="#title"`, `href="#key"`, `value="Bad Key"`)
	expect(t, "adopted shown in the library list", ed.get(base), http.StatusOK, "Adopted as")

	// The full specification, with its standard equivalent.
	compPath := v1 + "/competencies/" + skill.Code
	expect(t, "competency", ed.get(compPath), http.StatusOK, html.EscapeString(skill.Title), html.EscapeString(skill.KeyElements[0]),
		"Equivalent to standard competency", "Who may sign off", "Specification review date", "Edit "+skill.Code)
	expect(t, "edit form", ed.get(compPath+"/edit"), http.StatusOK, `name="mode" value="edit"`,
		`value="`+html.EscapeString(skill.Title)+`"`, `value="`+string(skill.Kind)+`" checked`, "The standard requires re-assessment")

	// An invalid form: 422, the error summary, the input kept, nothing stored.
	bad := specForm(skill.Spec)
	bad.Set("mode", "edit")
	bad.Set("title", "Renamed in the form")
	bad.Set("key_elements", "  \n ")
	bad.Set("review_date_day", "31")
	bad.Set("review_date_month", "2")
	r = ed.post(v1+"/competencies", bad)
	expect(t, "invalid edit", r, http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#key_elements"`, `href="#review_date"`,
		"must be a real date", `value="Renamed in the form"`, `value="31"`, "nhsuk-form-group--error", `aria-describedby="key_elements-hint key_elements-error"`)
	if strings.Index(r.body, `href="#key_elements"`) > strings.Index(r.body, `href="#review_date"`) {
		t.Error("the error summary must list the problems in the order of the form")
	}
	if got, err := s.svc.CompetencyByCode(s.ctx(), uuid.MustParse(v1ID), skill.Code); err != nil || got.Title != skill.Title {
		t.Fatalf("an invalid form changed the competency: %+v %v", got, err)
	}
	loose := specForm(skill.Spec)
	loose.Set("mode", "edit")
	loose.Set("reassess_months", strconv.Itoa(skill.ReassessMonths+1))
	expect(t, "loosening the standard", ed.post(v1+"/competencies", loose), http.StatusUnprocessableEntity,
		`href="#reassess_months"`, "you may shorten it but not lengthen it")

	tight := specForm(skill.Spec)
	tight.Set("mode", "edit")
	tight.Set("title", "Tightened "+skill.Code)
	tight.Set("reassess_months", strconv.Itoa(max(1, skill.ReassessMonths-1)))
	expectRedirect(t, "tighten", ed.post(v1+"/competencies", tight), compPath)
	expect(t, "tightened", ed.get(compPath), http.StatusOK, "has been saved", "Tightened "+skill.Code)

	// A competency of the tenant's own; its code cannot be taken twice.
	expect(t, "new form", ed.get(v1+"/competencies/new"), http.StatusOK, `id="code"`, `name="training_formats"`, `id="review_date"`)
	own := specForm(ownSpec)
	expectRedirect(t, "add own", ed.post(v1+"/competencies", own), v1+"/competencies/OWN-01")
	expect(t, "own competency", ed.get(v1+"/competencies/own-01"), http.StatusOK, "Night-time checks", "On the ward",
		"None: written by")
	expect(t, "same code twice", ed.post(v1+"/competencies", own), http.StatusUnprocessableEntity, `href="#code"`, "already has a competency")

	// Readers may look but not change.
	expect(t, "reader on the form", ward.get(v1+"/competencies/new"), http.StatusForbidden)
	expect(t, "reader publishing", ward.post(v1+"/publish", nil), http.StatusForbidden)
	r = ward.get(v1)
	expect(t, "reader on the draft", r, http.StatusOK, skill.Code)
	if strings.Contains(r.body, "Publish version") || strings.Contains(r.body, "Add a competency") {
		t.Error("a reader is offered publish or add")
	}

	// Publish; the published version cannot be edited.
	expectRedirect(t, "publish", ed.post(v1+"/publish", nil), v1)
	expect(t, "published", ed.get(v1), http.StatusOK, "is published", "Published", "Create a new version", "Retire version 1")
	expect(t, "edit a published version", ed.get(compPath+"/edit"), http.StatusOK, "cannot be changed", "create a new version",
		`action="`+v1+`/versions"`)
	expect(t, "save to a published version", ed.post(v1+"/competencies", tight), http.StatusConflict, "cannot be changed", "Create a new version")
	expect(t, "remove from a published version", ed.post(compPath+"/remove", nil), http.StatusConflict, "cannot be changed")

	// A new version: a draft with the same competencies.
	v2 := expectRedirect(t, "new version", ed.post(v1+"/versions", nil), base+"/")
	if v2 == v1 {
		t.Fatal("the new version is the old one")
	}
	expect(t, "version 2", ed.get(v2), http.StatusOK, "version 2", "Draft", "Tightened "+skill.Code, "OWN-01")
	expect(t, "version 1 points at the draft", ed.get(v1), http.StatusOK, "Go to the draft of version 2")
	expectRedirect(t, "remove", ed.post(v2+"/competencies/OWN-01/remove", nil), v2)
	renamed := tight
	renamed.Set("title", "Renamed in version 2")
	expectRedirect(t, "rename", ed.post(v2+"/competencies", renamed), v2+"/competencies/"+skill.Code)

	// Compare, through the GET form's redirect; always older to newer.
	cmp := expectRedirect(t, "compare form", ed.get(v2+"/compare?with="+v1ID), v2+"/compare/"+v1ID)
	expect(t, "compare", ed.get(cmp), http.StatusOK, "Changes from version 1 to version 2", "OWN-01", "Removed", skill.Code, "Changed", "title")

	// Search this version and across catalogues.
	expect(t, "search this version", ed.get(v1+"?q=own"), http.StatusOK, "OWN-01", "1 of")
	expect(t, "search everywhere", ed.get("/t/wren/competencies?q="+url.QueryEscape(strings.ToLower(skill.Code))), http.StatusOK,
		"Renamed in version 2", "Tightened "+skill.Code, v2+"/competencies/"+skill.Code)
	expect(t, "search form", ed.get("/t/wren/competencies"), http.StatusOK, "Search competencies")

	// Retire; unknown and malformed references are 404s.
	expectRedirect(t, "publish version 2", ed.post(v2+"/publish", nil), v2)
	expect(t, "version 1 retired by publishing 2", ed.get(v1), http.StatusOK, "Retired")
	expectRedirect(t, "retire version 2", ed.post(v2+"/retire", nil), v2)
	expect(t, "retire twice", ed.post(v2+"/retire", nil), http.StatusUnprocessableEntity, "only a published version can be retired")
	expect(t, "unknown catalogue", ed.get(base+"/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed catalogue", ed.get(base+"/not-a-reference"), http.StatusNotFound)
	expect(t, "unknown competency", ed.get(v1+"/competencies/NOPE-99"), http.StatusNotFound)
	expect(t, "unknown standard catalogue", ed.get(base+"/library/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed compare", ed.get(v2+"/compare?with=nothing"), http.StatusNotFound)
}

// apiError is the error body of the JSON API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Field string `json:"field"`
		} `json:"fields"`
	} `json:"error"`
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func expectAPIError(t *testing.T, what string, r response, status int, code string, fields ...string) apiError {
	t.Helper()
	expect(t, what, r, status)
	e := decode[apiError](t, r)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s: error %+v, want code %s", what, e, code)
	}
	for _, f := range fields {
		found := false
		for _, got := range e.Error.Fields {
			found = found || got.Field == f
		}
		if !found {
			t.Errorf("%s: no error for field %s in %s", what, f, r.body)
		}
	}
	return e
}

type catalogueBody struct {
	Catalogue    catalogue.Catalogue    `json:"catalogue"`
	Competencies []catalogue.Competency `json:"competencies"`
}

const nightSpec = `{"code":"IGNORED","title":"Night checks","kind":"skill","description":"Checks on the night round.","tier":"core",
	"key_elements":["Checks each bed space"],"specificity":"general","prescription_parameters":[],"training_formats":["on_the_ward"],
	"assessment_method":"Observed practice","signoff_by":["Nurse in charge"],"supervised_practices":1,"reassess_months":12,
	"review_date":"2027-11-01","covers":[]}`

func TestCatalogueAPI(t *testing.T) {
	s := newSite(t)
	ed := s.member("educator@wren.example", "practice_educator")
	ward := s.member("ward@wren.example", "ward_staff")
	api := "/api/v1/t/wren"

	r := ed.api(http.MethodGet, api+"/library", "")
	expect(t, "library", r, http.StatusOK, `"code":"`+s.std.Code+`"`)
	std := decode[struct {
		Catalogue    catalogue.StdCatalogue    `json:"catalogue"`
		Competencies []catalogue.StdCompetency `json:"competencies"`
	}](t, ed.api(http.MethodGet, api+"/library/"+s.std.ID.String(), ""))
	if std.Catalogue.ID != s.std.ID || len(std.Competencies) != len(s.stdComps) || len(std.Competencies[0].KeyElements) == 0 {
		t.Fatalf("library catalogue: %+v", std)
	}
	expectAPIError(t, "malformed library id", ed.api(http.MethodGet, api+"/library/nope", ""), http.StatusNotFound, "not_found")

	// Create and adopt; the body is checked strictly.
	r = ed.api(http.MethodPost, api+"/catalogues", `{"key":"night-team","title":"Night team skills","description":"For the night team"}`)
	expect(t, "create", r, http.StatusCreated, `"status":"draft"`, `"version":1`)
	own := decode[catalogueBody](t, r).Catalogue
	if r.location != api+"/catalogues/"+own.ID.String() {
		t.Errorf("create: Location %q", r.location)
	}
	e := expectAPIError(t, "unknown field", ed.api(http.MethodPost, api+"/catalogues", `{"key":"x-team","title":"X team","colour":"blue"}`),
		http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(e.Error.Message, `"colour"`) {
		t.Errorf("unknown field: the message does not name it: %q", e.Error.Message)
	}
	expectAPIError(t, "not JSON", ed.api(http.MethodPost, api+"/catalogues", `key=x-team`), http.StatusUnprocessableEntity, "invalid")
	expectAPIError(t, "two objects", ed.api(http.MethodPost, api+"/catalogues", `{"key":"a-team"} {}`), http.StatusUnprocessableEntity, "invalid")
	expectAPIError(t, "wrong type", ed.api(http.MethodPost, api+"/catalogues", `{"key":7}`), http.StatusUnprocessableEntity, "invalid", "key")
	expectAPIError(t, "bad key", ed.api(http.MethodPost, api+"/catalogues", `{"key":"No Good","title":"T"}`), http.StatusUnprocessableEntity,
		"invalid", "key", "title")
	r = ed.api(http.MethodPost, api+"/catalogues", `{"adopt":"`+s.std.ID.String()+`"}`)
	expect(t, "adopt", r, http.StatusCreated, `"std_code":"`+s.std.Code+`"`)
	expectAPIError(t, "adopt an unknown standard", ed.api(http.MethodPost, api+"/catalogues", `{"adopt":"not-an-id"}`), http.StatusNotFound, "not_found")

	// An incomplete specification: field errors, nothing stored.
	comp := api + "/catalogues/" + own.ID.String() + "/competencies/nt-01"
	expectAPIError(t, "incomplete spec", ed.api(http.MethodPut, comp, `{"title":"Night checks"}`), http.StatusUnprocessableEntity, "invalid",
		"kind", "description", "key_elements", "training_formats", "review_date")
	expectAPIError(t, "bad date", ed.api(http.MethodPut, comp, strings.Replace(nightSpec, "2027-11-01", "01/11/2027", 1)),
		http.StatusUnprocessableEntity, "invalid", "review_date")
	expectAPIError(t, "spec with an unknown field", ed.api(http.MethodPut, comp, strings.Replace(nightSpec, `"tier"`, `"level"`, 1)),
		http.StatusUnprocessableEntity, "invalid")
	if body := decode[catalogueBody](t, ed.api(http.MethodGet, api+"/catalogues/"+own.ID.String(), "")); len(body.Competencies) != 0 {
		t.Fatalf("an invalid specification was stored: %+v", body.Competencies)
	}
	expectAPIError(t, "reader saving", ward.api(http.MethodPut, comp, nightSpec), http.StatusForbidden, "forbidden")

	// A complete one; the code in the path wins.
	r = ed.api(http.MethodPut, comp, nightSpec)
	expect(t, "save", r, http.StatusOK, `"code":"NT-01"`, `"review_date":"2027-11-01T00:00:00Z"`)
	body := decode[catalogueBody](t, ed.api(http.MethodGet, api+"/catalogues/"+own.ID.String(), ""))
	if len(body.Competencies) != 1 || body.Competencies[0].Code != "NT-01" || body.Catalogue.Competencies != 1 {
		t.Fatalf("catalogue after save: %+v", body)
	}
	list := decode[struct {
		Catalogues []catalogue.Catalogue `json:"catalogues"`
	}](t, ed.api(http.MethodGet, api+"/catalogues", ""))
	if len(list.Catalogues) != 2 {
		t.Fatalf("catalogues: %+v", list)
	}

	// Publish; then it cannot change; a new version can.
	expect(t, "publish", ed.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/publish", ""), http.StatusOK, `"status":"published"`)
	expectAPIError(t, "save to published", ed.api(http.MethodPut, comp, nightSpec), http.StatusConflict, "conflict")
	expectAPIError(t, "reader publishing", ward.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/publish", ""), http.StatusForbidden, "forbidden")
	r = ed.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/versions", "")
	expect(t, "new version", r, http.StatusCreated, `"version":2`, `"status":"draft"`)
	v2 := decode[catalogueBody](t, r).Catalogue
	expectAPIError(t, "second draft", ed.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/versions", ""), http.StatusConflict, "conflict")
	r = ed.api(http.MethodDelete, api+"/catalogues/"+v2.ID.String()+"/competencies/NT-01", "")
	if r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	expectAPIError(t, "delete again", ed.api(http.MethodDelete, api+"/catalogues/"+v2.ID.String()+"/competencies/NT-01", ""), http.StatusNotFound, "not_found")

	cmp := decode[struct {
		From    catalogue.Catalogue `json:"from"`
		To      catalogue.Catalogue `json:"to"`
		Changes []catalogue.Change  `json:"changes"`
	}](t, ed.api(http.MethodGet, api+"/catalogues/"+v2.ID.String()+"/compare/"+own.ID.String(), ""))
	if cmp.From.Version != 1 || cmp.To.Version != 2 || len(cmp.Changes) != 1 || cmp.Changes[0].Code != "NT-01" || cmp.Changes[0].Change != "removed" {
		t.Fatalf("compare: %+v", cmp)
	}
	found := decode[struct {
		Competencies []catalogue.Competency `json:"competencies"`
	}](t, ed.api(http.MethodGet, api+"/competencies?q=nt-", ""))
	if len(found.Competencies) != 1 || found.Competencies[0].CatalogueVersion != 1 {
		t.Fatalf("search: %+v", found)
	}

	expect(t, "retire", ed.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/retire", ""), http.StatusOK, `"status":"retired"`)
	expectAPIError(t, "retire twice", ed.api(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/retire", ""), http.StatusConflict, "conflict")
	expectAPIError(t, "unknown catalogue", ed.api(http.MethodGet, api+"/catalogues/"+uuid.Must(uuid.NewV7()).String(), ""), http.StatusNotFound, "not_found")
	expectAPIError(t, "malformed catalogue", ed.api(http.MethodGet, api+"/catalogues/xyz", ""), http.StatusNotFound, "not_found")
	expectAPIError(t, "malformed compare", ed.api(http.MethodGet, api+"/catalogues/"+v2.ID.String()+"/compare/xyz", ""), http.StatusNotFound, "not_found")
}
