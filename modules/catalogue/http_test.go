package catalogue_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// site is the real web application with the catalogue routes mounted, one
// paediatric trust with its template roles, and the standard catalogue the
// journeys adopt.
type site struct {
	*moduletest.Env
	web      *webtest.Site
	svc      *catalogue.Service
	tenant   tenants.Tenant
	std      catalogue.StdCatalogue
	stdComps []catalogue.StdCompetency
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{Env: moduletest.New(t, time.Now)}
	s.svc = catalogue.NewService(s.Scoped, s.Log, time.Now)
	s.tenant = s.NamedTenant("wren", "Wren Children's Hospital", tenants.KindPaediatricTrust)
	lib, err := s.svc.Library(s.ctx())
	if err != nil || len(lib) == 0 {
		t.Fatalf("the standard library must be loaded by migrations: %v", err)
	}
	s.std = lib[0]
	if _, s.stdComps, err = s.svc.StdCatalogue(s.ctx(), s.std.ID); err != nil {
		t.Fatal(err)
	}
	enf := s.Enforcers()
	s.Invalidate = enf.Invalidate
	// The layout's organisation switcher lists the one tenant.
	s.web = webtest.NewSite(t, s.Scoped, s.Accounts,
		web.Deps{Pool: s.DB.Pool, Members: webtest.Memberships{s.tenant}, Tenants: s.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "catalogue", FS: catalogue.Templates}},
		func(srv *web.Server) { catalogue.Routes(srv.Tenant, srv.TenantAPI, s.svc, enf) })
	return s
}

// ctx returns a context in the site's tenant.
func (s *site) ctx() context.Context { return tenants.WithTenant(context.Background(), s.tenant) }

// member makes an account holding role in the tenant and returns a client
// signed in as it, with a CSRF token from its first page.
func (s *site) member(email, role string) *webtest.Client {
	s.T.Helper()
	b := s.web.Client(s.T, s.Staff(s.tenant, email, "Member "+email, role))
	expect(s.T, "first page", b.Get("/t/wren/catalogues"), http.StatusOK)
	if b.Token() == "" {
		s.T.Fatal("no CSRF token on the first page")
	}
	return b
}

var expect = webtest.Expect

func expectRedirect(t *testing.T, what string, r webtest.Response, prefix string) string {
	t.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %s…\n%s", what, r.Status, r.Location, prefix, r.Body)
	}
	return r.Location
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
	s.T.Helper()
	for _, k := range s.stdComps {
		if k.Kind == catalogue.KindSkill {
			return k
		}
	}
	s.T.Fatalf("%s has no skill competency", s.std.Code)
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

	expect(t, "catalogues page", ed.Get(base), http.StatusOK, html.EscapeString(s.std.Title), "Start your own catalogue",
		`action="/t/wren/catalogues/adopt"`, `name="std_id" value="`+s.std.ID.String()+`"`)
	r := ward.Get(base)
	expect(t, "catalogues page for a reader", r, http.StatusOK, html.EscapeString(s.std.Title), "Not adopted")
	if strings.Contains(r.Body, "/catalogues/adopt") || strings.Contains(r.Body, "Start your own catalogue") {
		t.Error("someone without catalogue:write is offered the forms that need it")
	}
	expect(t, "standard catalogue", ed.Get(stdPath), http.StatusOK, skill.Code, "Adopt this catalogue")
	expect(t, "standard competency", ed.Get(stdPath+"/"+strings.ToLower(skill.Code)), http.StatusOK,
		html.EscapeString(skill.Title), html.EscapeString(skill.KeyElements[0]), html.EscapeString(skill.AssessmentMethod))

	// Adopt through the page; adopting again under the same short name is
	// refused on the standard catalogue's page, with the input kept.
	v1 := expectRedirect(t, "adopt", ed.PostForm(base+"/adopt", url.Values{"std_id": {s.std.ID.String()}}), base+"/")
	v1ID := strings.TrimPrefix(v1, base+"/")
	expect(t, "adopted draft", ed.Get(v1), http.StatusOK, "You have adopted", "Draft", "Standard catalogue "+s.std.Code,
		"Add a competency", "Publish version 1", skill.Code)
	expect(t, "adopt again", ed.PostForm(base+"/adopt", url.Values{"std_id": {s.std.ID.String()}, "key": {strings.ToLower(s.std.Code)}}),
		http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#key"`, "already exists", `value="`+strings.ToLower(s.std.Code)+`"`)
	expect(t, "create without a title", ed.PostForm(base, url.Values{"key": {"Bad Key"}}), http.StatusUnprocessableEntity,
		`href="#title"`, `href="#key"`, `value="Bad Key"`)
	expect(t, "adopted shown in the library list", ed.Get(base), http.StatusOK, "Adopted as")

	// The full specification, with its standard equivalent.
	compPath := v1 + "/competencies/" + skill.Code
	expect(t, "competency", ed.Get(compPath), http.StatusOK, html.EscapeString(skill.Title), html.EscapeString(skill.KeyElements[0]),
		"Equivalent to standard competency", "Who may sign off", "Specification review date", "Edit "+skill.Code)
	expect(t, "edit form", ed.Get(compPath+"/edit"), http.StatusOK, `name="mode" value="edit"`,
		`value="`+html.EscapeString(skill.Title)+`"`, `value="`+string(skill.Kind)+`" checked`, "The standard requires re-assessment")

	// An invalid form: 422, the error summary, the input kept, nothing stored.
	bad := specForm(skill.Spec)
	bad.Set("mode", "edit")
	bad.Set("title", "Renamed in the form")
	bad.Set("key_elements", "  \n ")
	bad.Set("review_date_day", "31")
	bad.Set("review_date_month", "2")
	r = ed.PostForm(v1+"/competencies", bad)
	expect(t, "invalid edit", r, http.StatusUnprocessableEntity, "nhsuk-error-summary", `href="#key_elements"`, `href="#review_date"`,
		"must be a real date", `value="Renamed in the form"`, `value="31"`, "nhsuk-form-group--error", `aria-describedby="key_elements-hint key_elements-error"`)
	if strings.Index(r.Body, `href="#key_elements"`) > strings.Index(r.Body, `href="#review_date"`) {
		t.Error("the error summary must list the problems in the order of the form")
	}
	if got, err := s.svc.CompetencyByCode(s.ctx(), uuid.MustParse(v1ID), skill.Code); err != nil || got.Title != skill.Title {
		t.Fatalf("an invalid form changed the competency: %+v %v", got, err)
	}
	loose := specForm(skill.Spec)
	loose.Set("mode", "edit")
	loose.Set("reassess_months", strconv.Itoa(skill.ReassessMonths+1))
	expect(t, "loosening the standard", ed.PostForm(v1+"/competencies", loose), http.StatusUnprocessableEntity,
		`href="#reassess_months"`, "you may shorten it but not lengthen it")

	tight := specForm(skill.Spec)
	tight.Set("mode", "edit")
	tight.Set("title", "Tightened "+skill.Code)
	tight.Set("reassess_months", strconv.Itoa(max(1, skill.ReassessMonths-1)))
	expectRedirect(t, "tighten", ed.PostForm(v1+"/competencies", tight), compPath)
	expect(t, "tightened", ed.Get(compPath), http.StatusOK, "has been saved", "Tightened "+skill.Code)

	// A competency of the tenant's own; its code cannot be taken twice.
	expect(t, "new form", ed.Get(v1+"/competencies/new"), http.StatusOK, `id="code"`, `name="training_formats"`, `id="review_date"`)
	own := specForm(ownSpec)
	expectRedirect(t, "add own", ed.PostForm(v1+"/competencies", own), v1+"/competencies/OWN-01")
	expect(t, "own competency", ed.Get(v1+"/competencies/own-01"), http.StatusOK, "Night-time checks", "On the ward",
		"None: written by")
	expect(t, "same code twice", ed.PostForm(v1+"/competencies", own), http.StatusUnprocessableEntity, `href="#code"`, "already has a competency")

	// Readers may look but not change.
	expect(t, "reader on the form", ward.Get(v1+"/competencies/new"), http.StatusForbidden)
	expect(t, "reader publishing", ward.PostForm(v1+"/publish", nil), http.StatusForbidden)
	r = ward.Get(v1)
	expect(t, "reader on the draft", r, http.StatusOK, skill.Code)
	if strings.Contains(r.Body, "Publish version") || strings.Contains(r.Body, "Add a competency") {
		t.Error("a reader is offered publish or add")
	}

	// Publish; the published version cannot be edited.
	expectRedirect(t, "publish", ed.PostForm(v1+"/publish", nil), v1)
	expect(t, "published", ed.Get(v1), http.StatusOK, "is published", "Published", "Create a new version", "Retire version 1")
	expect(t, "edit a published version", ed.Get(compPath+"/edit"), http.StatusOK, "cannot be changed", "create a new version",
		`action="`+v1+`/versions"`)
	expect(t, "save to a published version", ed.PostForm(v1+"/competencies", tight), http.StatusConflict, "cannot be changed", "Create a new version")
	expect(t, "remove from a published version", ed.PostForm(compPath+"/remove", nil), http.StatusConflict, "cannot be changed")

	// A new version: a draft with the same competencies.
	v2 := expectRedirect(t, "new version", ed.PostForm(v1+"/versions", nil), base+"/")
	if v2 == v1 {
		t.Fatal("the new version is the old one")
	}
	expect(t, "version 2", ed.Get(v2), http.StatusOK, "version 2", "Draft", "Tightened "+skill.Code, "OWN-01")
	expect(t, "version 1 points at the draft", ed.Get(v1), http.StatusOK, "Go to the draft of version 2")
	expectRedirect(t, "remove", ed.PostForm(v2+"/competencies/OWN-01/remove", nil), v2)
	renamed := tight
	renamed.Set("title", "Renamed in version 2")
	expectRedirect(t, "rename", ed.PostForm(v2+"/competencies", renamed), v2+"/competencies/"+skill.Code)

	// Compare, through the GET form's redirect; always older to newer.
	cmp := expectRedirect(t, "compare form", ed.Get(v2+"/compare?with="+v1ID), v2+"/compare/"+v1ID)
	expect(t, "compare", ed.Get(cmp), http.StatusOK, "Changes from version 1 to version 2", "OWN-01", "Removed", skill.Code, "Changed", "title")

	// Search this version and across catalogues.
	expect(t, "search this version", ed.Get(v1+"?q=own"), http.StatusOK, "OWN-01", "1 of")
	expect(t, "search everywhere", ed.Get("/t/wren/competencies?q="+url.QueryEscape(strings.ToLower(skill.Code))), http.StatusOK,
		"Renamed in version 2", "Tightened "+skill.Code, v2+"/competencies/"+skill.Code)
	expect(t, "search form", ed.Get("/t/wren/competencies"), http.StatusOK, "Search competencies")

	// Retire; unknown and malformed references are 404s.
	expectRedirect(t, "publish version 2", ed.PostForm(v2+"/publish", nil), v2)
	expect(t, "version 1 retired by publishing 2", ed.Get(v1), http.StatusOK, "Retired")
	expectRedirect(t, "retire version 2", ed.PostForm(v2+"/retire", nil), v2)
	expect(t, "retire twice", ed.PostForm(v2+"/retire", nil), http.StatusUnprocessableEntity, "only a published version can be retired")
	expect(t, "unknown catalogue", ed.Get(base+"/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed catalogue", ed.Get(base+"/not-a-reference"), http.StatusNotFound)
	expect(t, "unknown competency", ed.Get(v1+"/competencies/NOPE-99"), http.StatusNotFound)
	expect(t, "unknown standard catalogue", ed.Get(base+"/library/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
	expect(t, "malformed compare", ed.Get(v2+"/compare?with=nothing"), http.StatusNotFound)
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

func decode[T any](t *testing.T, r webtest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

func expectAPIError(t *testing.T, what string, r webtest.Response, status int, code string, fields ...string) apiError {
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
			t.Errorf("%s: no error for field %s in %s", what, f, r.Body)
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

	r := ed.API(http.MethodGet, api+"/library", "")
	expect(t, "library", r, http.StatusOK, `"code":"`+s.std.Code+`"`)
	std := decode[struct {
		Catalogue    catalogue.StdCatalogue    `json:"catalogue"`
		Competencies []catalogue.StdCompetency `json:"competencies"`
	}](t, ed.API(http.MethodGet, api+"/library/"+s.std.ID.String(), ""))
	if std.Catalogue.ID != s.std.ID || len(std.Competencies) != len(s.stdComps) || len(std.Competencies[0].KeyElements) == 0 {
		t.Fatalf("library catalogue: %+v", std)
	}
	expectAPIError(t, "malformed library id", ed.API(http.MethodGet, api+"/library/nope", ""), http.StatusNotFound, "not_found")

	// Create and adopt; the body is checked strictly.
	r = ed.API(http.MethodPost, api+"/catalogues", `{"key":"night-team","title":"Night team skills","description":"For the night team"}`)
	expect(t, "create", r, http.StatusCreated, `"status":"draft"`, `"version":1`)
	own := decode[catalogueBody](t, r).Catalogue
	if r.Location != api+"/catalogues/"+own.ID.String() {
		t.Errorf("create: Location %q", r.Location)
	}
	e := expectAPIError(t, "unknown field", ed.API(http.MethodPost, api+"/catalogues", `{"key":"x-team","title":"X team","colour":"blue"}`),
		http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(e.Error.Message, `"colour"`) {
		t.Errorf("unknown field: the message does not name it: %q", e.Error.Message)
	}
	expectAPIError(t, "not JSON", ed.API(http.MethodPost, api+"/catalogues", `key=x-team`), http.StatusUnprocessableEntity, "invalid")
	expectAPIError(t, "two objects", ed.API(http.MethodPost, api+"/catalogues", `{"key":"a-team"} {}`), http.StatusUnprocessableEntity, "invalid")
	expectAPIError(t, "wrong type", ed.API(http.MethodPost, api+"/catalogues", `{"key":7}`), http.StatusUnprocessableEntity, "invalid", "key")
	expectAPIError(t, "bad key", ed.API(http.MethodPost, api+"/catalogues", `{"key":"No Good","title":"T"}`), http.StatusUnprocessableEntity,
		"invalid", "key", "title")
	r = ed.API(http.MethodPost, api+"/catalogues", `{"adopt":"`+s.std.ID.String()+`"}`)
	expect(t, "adopt", r, http.StatusCreated, `"std_code":"`+s.std.Code+`"`)
	expectAPIError(t, "adopt an unknown standard", ed.API(http.MethodPost, api+"/catalogues", `{"adopt":"not-an-id"}`), http.StatusNotFound, "not_found")

	// An incomplete specification: field errors, nothing stored.
	comp := api + "/catalogues/" + own.ID.String() + "/competencies/nt-01"
	expectAPIError(t, "incomplete spec", ed.API(http.MethodPut, comp, `{"title":"Night checks"}`), http.StatusUnprocessableEntity, "invalid",
		"kind", "description", "key_elements", "training_formats", "review_date")
	expectAPIError(t, "bad date", ed.API(http.MethodPut, comp, strings.Replace(nightSpec, "2027-11-01", "01/11/2027", 1)),
		http.StatusUnprocessableEntity, "invalid", "review_date")
	expectAPIError(t, "spec with an unknown field", ed.API(http.MethodPut, comp, strings.Replace(nightSpec, `"tier"`, `"level"`, 1)),
		http.StatusUnprocessableEntity, "invalid")
	if body := decode[catalogueBody](t, ed.API(http.MethodGet, api+"/catalogues/"+own.ID.String(), "")); len(body.Competencies) != 0 {
		t.Fatalf("an invalid specification was stored: %+v", body.Competencies)
	}
	expectAPIError(t, "reader saving", ward.API(http.MethodPut, comp, nightSpec), http.StatusForbidden, "forbidden")

	// A complete one; the code in the path wins.
	r = ed.API(http.MethodPut, comp, nightSpec)
	expect(t, "save", r, http.StatusOK, `"code":"NT-01"`, `"review_date":"2027-11-01T00:00:00Z"`)
	body := decode[catalogueBody](t, ed.API(http.MethodGet, api+"/catalogues/"+own.ID.String(), ""))
	if len(body.Competencies) != 1 || body.Competencies[0].Code != "NT-01" || body.Catalogue.Competencies != 1 {
		t.Fatalf("catalogue after save: %+v", body)
	}
	list := decode[struct {
		Catalogues []catalogue.Catalogue `json:"catalogues"`
	}](t, ed.API(http.MethodGet, api+"/catalogues", ""))
	if len(list.Catalogues) != 2 {
		t.Fatalf("catalogues: %+v", list)
	}

	// Publish; then it cannot change; a new version can.
	expect(t, "publish", ed.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/publish", ""), http.StatusOK, `"status":"published"`)
	expectAPIError(t, "save to published", ed.API(http.MethodPut, comp, nightSpec), http.StatusConflict, "conflict")
	expectAPIError(t, "reader publishing", ward.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/publish", ""), http.StatusForbidden, "forbidden")
	r = ed.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/versions", "")
	expect(t, "new version", r, http.StatusCreated, `"version":2`, `"status":"draft"`)
	v2 := decode[catalogueBody](t, r).Catalogue
	expectAPIError(t, "second draft", ed.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/versions", ""), http.StatusConflict, "conflict")
	r = ed.API(http.MethodDelete, api+"/catalogues/"+v2.ID.String()+"/competencies/NT-01", "")
	if r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	expectAPIError(t, "delete again", ed.API(http.MethodDelete, api+"/catalogues/"+v2.ID.String()+"/competencies/NT-01", ""), http.StatusNotFound, "not_found")

	cmp := decode[struct {
		From    catalogue.Catalogue `json:"from"`
		To      catalogue.Catalogue `json:"to"`
		Changes []catalogue.Change  `json:"changes"`
	}](t, ed.API(http.MethodGet, api+"/catalogues/"+v2.ID.String()+"/compare/"+own.ID.String(), ""))
	if cmp.From.Version != 1 || cmp.To.Version != 2 || len(cmp.Changes) != 1 || cmp.Changes[0].Code != "NT-01" || cmp.Changes[0].Change != "removed" {
		t.Fatalf("compare: %+v", cmp)
	}
	found := decode[struct {
		Competencies []catalogue.Competency `json:"competencies"`
	}](t, ed.API(http.MethodGet, api+"/competencies?q=nt-", ""))
	if len(found.Competencies) != 1 || found.Competencies[0].CatalogueVersion != 1 {
		t.Fatalf("search: %+v", found)
	}

	expect(t, "retire", ed.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/retire", ""), http.StatusOK, `"status":"retired"`)
	expectAPIError(t, "retire twice", ed.API(http.MethodPost, api+"/catalogues/"+own.ID.String()+"/retire", ""), http.StatusConflict, "conflict")
	expectAPIError(t, "unknown catalogue", ed.API(http.MethodGet, api+"/catalogues/"+uuid.Must(uuid.NewV7()).String(), ""), http.StatusNotFound, "not_found")
	expectAPIError(t, "malformed catalogue", ed.API(http.MethodGet, api+"/catalogues/xyz", ""), http.StatusNotFound, "not_found")
	expectAPIError(t, "malformed compare", ed.API(http.MethodGet, api+"/catalogues/"+v2.ID.String()+"/compare/xyz", ""), http.StatusNotFound, "not_found")
}
