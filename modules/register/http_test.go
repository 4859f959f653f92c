package register_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/fhir/fhirtest"
	"github.com/carepass/carepass/modules/register"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with the register routes mounted.
func newServer(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	return webtest.NewSite(t, f.Scoped, f.Accounts, web.Deps{Pool: f.DB.Pool, Members: f.access, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "register", FS: register.Templates}},
		func(srv *web.Server) {
			register.Routes(srv.Tenant, srv.TenantAPI, f.register, f.checker, enf)
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

func refuse(t *testing.T, r webtest.Response, lacks ...string) {
	t.Helper()
	for _, s := range lacks {
		if strings.Contains(r.Body, s) {
			t.Errorf("%s %s: body has %q\n%s", r.Method, r.Path, s, r.Body)
		}
	}
}

// entryForm is a valid add form recorded on recorded.
func entryForm(given, family, recorded string) url.Values {
	d := register.DateFromISO(recorded)
	return url.Values{"given_name": {given}, "family_name": {family}, "snomed_code": {"302767002"},
		"recorded_on_day": {d.Day}, "recorded_on_month": {d.Month}, "recorded_on_year": {d.Year}}
}

func TestRegisterPages(t *testing.T) {
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	s := newServer(t, f)
	b := browser(t, s, admin)

	expect(t, b.Get("/t/kestrel/carers"), 200, "Carer register", "No entries found", "Add a carer", "Check a carer passport",
		"/t/kestrel/carers/export.csv")
	r := b.Get("/t/kestrel/carers/new")
	expect(t, r, 200, "Add a carer to the register", `value="302767002"`, "Cares for a neighbour", `name="recorded_on_day"`)
	refuse(t, r, "229774002")

	// Invalid: the summary, the fields, the input kept, nothing stored.
	bad := entryForm("Margaret", "", "2024-02-30")
	bad.Set("nhs_number", "999 000 0017")
	bad.Set("review_due_day", "1")
	r = b.PostForm("/t/kestrel/carers", bad)
	expect(t, r, 422, "There is a problem", `href="#family_name"`, "Enter their last name", `href="#nhs_number"`,
		"check digit", `href="#recorded_on"`, "Date recorded must be a real date", `href="#review_due"`,
		"Review date must include a month and a year", `value="Margaret"`, `value="999 000 0017"`, `value="30"`)
	paid := entryForm("Pat", "Worker", "2024-02-01")
	paid.Set("snomed_code", register.PaidCaregiver)
	expect(t, b.PostForm("/t/kestrel/carers", paid), 422, "paid caregiver")
	if n := f.entries(tn); n != 0 {
		t.Fatalf("%d entries stored from invalid forms", n)
	}

	form := entryForm("Margaret", "Ellery", "2024-02-01")
	form.Set("nhs_number", "999 000 0018")
	form.Set("consent_to_share", "yes")
	form.Set("cared_for_name", "Alan Ellery")
	form.Set("cared_for_relationship", "Wife")
	form.Set("cared_for_known", "yes")
	r = b.PostForm("/t/kestrel/carers", form)
	if r.Status != 303 || !strings.HasPrefix(r.Location, "/t/kestrel/carers/") {
		t.Fatalf("add: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	entry := r.Location
	expect(t, b.Get(entry), 200, "Margaret Ellery", "999 000 0018", "Cares for a relative", "SNOMED CT 302767002",
		"Alan Ellery (Wife)", "Given on 1 February 2024", "Record as no longer a carer")
	expect(t, b.Get("/t/kestrel/carers?q=ellery"), 200, "Margaret Ellery", "1 entry")
	expect(t, b.Get("/t/kestrel/carers?q=9990000026"), 200, "No entries found")

	// Change.
	expect(t, b.Get(entry+"/edit"), 200, `value="Ellery"`, `value="999 000 0018"`, `value="2024"`)
	form.Set("review_due_day", "1")
	form.Set("review_due_month", "2")
	form.Set("review_due_year", "2024")
	expect(t, b.PostForm(entry, form), 422, "Review date must be after the date recorded")
	form.Set("review_due_year", "2025")
	if r = b.PostForm(entry, form); r.Status != 303 || r.Location != entry {
		t.Fatalf("edit: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	expect(t, b.Get("/t/kestrel/carers?view=review&days=3650"), 200, "Margaret Ellery", "Overdue")

	// No longer a carer.
	expect(t, b.PostForm(entry+"/close", url.Values{"closed_on_day": {"1"}, "closed_on_month": {"1"}, "closed_on_year": {"2024"}}),
		422, `href="#closed_on"`, "on or after the date recorded", `href="#closed_reason"`, "Select why")
	r = b.PostForm(entry+"/close", url.Values{"closed_on_day": {"3"}, "closed_on_month": {"3"}, "closed_on_year": {"2024"},
		"closed_reason": {"no_longer_caring"}})
	if r.Status != 303 {
		t.Fatalf("close: %d\n%s", r.Status, r.Body)
	}
	r = b.Get(entry)
	expect(t, r, 200, "No longer a carer from", "3 March 2024", "No longer caring", "Put back on the register")
	refuse(t, r, "Record as no longer a carer")
	expect(t, b.Get("/t/kestrel/carers?status=active"), 200, "No entries found")
	if r = b.PostForm(entry+"/reopen", nil); r.Status != 303 {
		t.Fatalf("reopen: %d", r.Status)
	}
	expect(t, b.Get("/t/kestrel/carers?status=active"), 200, "Margaret Ellery")

	missing := "/t/kestrel/carers/" + uuid.Must(uuid.NewV7()).String()
	expect(t, b.Get(missing), 404)
	expect(t, b.Get(missing+"/edit"), 404)
	expect(t, b.PostForm(missing, form), 404)
	expect(t, b.PostForm(missing+"/close", nil), 404)
	expect(t, b.Get("/t/kestrel/carers/not-a-uuid"), 404)
}

// TestReadsAreAudited: viewing the register and each entry leaves a trail.
func TestReadsAreAudited(t *testing.T) {
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	e := f.add(tn, admin, valid("Margaret", "Ellery", "2024-02-01"))
	s := newServer(t, f)
	b := browser(t, s, admin)
	expect(t, b.Get("/t/kestrel/carers"), 200)
	expect(t, b.Get("/t/kestrel/carers/"+e.ID.String()), 200)
	expect(t, b.Get("/t/kestrel/carers/"+e.ID.String()+"/edit"), 200)
	expect(t, b.Get("/api/v1/t/kestrel/carers/"+e.ID.String()), 200)
	expect(t, b.Get("/api/v1/t/kestrel/carers/"+e.ID.String()+"/fhir"), 200)
	expect(t, b.Get("/t/kestrel/carers/export.csv"), 200)
	got := f.actions(tn, "carer_register.")
	want := []string{"carer_register.create", "carer_register.list", "carer_register.read", "carer_register.read",
		"carer_register.read", "carer_register.export", "carer_register.export"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit trail %v, want %v", got, want)
	}
}

func TestCSVExportGuardsAgainstFormulas(t *testing.T) {
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	in := valid("=HYPERLINK(\"http://example.com\")", "+Ellery", "2024-02-01")
	in.CaredForName, in.CaredForRelationship = "@SUM(A1)", "-1+1"
	f.add(tn, admin, in)
	f.add(tn, admin, valid("Ann", "Plain", "2024-02-01"))
	reception := f.Staff(tn, "reception@kestrel.example", "Reception", "reception")
	s := newServer(t, f)

	r := browser(t, s, admin).Get("/t/kestrel/carers/export.csv")
	expect(t, r, 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Fatalf("content disposition %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0][0] != "id" || recs[0][1] != "given_name" || recs[0][5] != "snomed_code" {
		t.Fatalf("export:\n%s", r.Body)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var risky []string
	for _, rec := range recs[1:] {
		if rec[col["family_name"]] == "Plain" {
			if rec[col["given_name"]] != "Ann" || rec[col["snomed_display"]] != "Cares for a relative" || rec[col["status"]] != "active" {
				t.Errorf("plain row: %v", rec)
			}
			continue
		}
		risky = rec
	}
	for field, want := range map[string]string{"given_name": `'=HYPERLINK("http://example.com")`, "family_name": "'+Ellery",
		"cared_for_name": "'@SUM(A1)", "cared_for_relationship": "'-1+1", "recorded_on": "2024-02-01"} {
		if got := risky[col[field]]; got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	for _, cell := range recs[1] {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Errorf("a cell starts like a formula: %q", cell)
		}
	}
	// Exports need report:read, which reception does not have.
	expect(t, browser(t, s, reception).Get("/t/kestrel/carers/export.csv"), 403)
	expect(t, browser(t, s, reception).Get("/api/v1/t/kestrel/fhir/carers"), 403)
}

func TestFHIREndpointsAreValidR4(t *testing.T) {
	fhirtest.Schema(t)
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	with := valid("Margaret", "Ellery", "2024-02-01")
	with.NHSNumber, with.DateOfBirth, with.CaredForName, with.CaredForRelationship = "9990000018", date("1951-03-08"), "Alan Ellery", "Wife"
	e1 := f.add(tn, admin, with)
	e2 := f.add(tn, admin, valid("Sam", "Whitlow", "2023-06-10"))
	if _, err := f.register.Close(as(tn, admin), e2.ID, register.Closure{On: date("2024-01-15"), Reason: "no_longer_caring"}); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, f)
	b := browser(t, s, admin)

	type bundle struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string
			Resource struct{ ResourceType, ID string }
		}
	}
	get := func(path string, resources int) bundle {
		t.Helper()
		r := b.Get(path)
		expect(t, r, 200)
		if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json" {
			t.Fatalf("%s: content type %q", path, ct)
		}
		fhirtest.MustValidate(t, path, []byte(r.Body))
		var out bundle
		if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
			t.Fatal(err)
		}
		if out.ResourceType != "Bundle" || out.Type != "collection" || len(out.Entry) != resources {
			t.Fatalf("%s: %+v", path, out)
		}
		return out
	}
	one := get("/api/v1/t/kestrel/carers/"+e1.ID.String()+"/fhir", 2)
	if one.Entry[0].Resource.ResourceType != "Observation" || one.Entry[0].Resource.ID != e1.ID.String() ||
		one.Entry[1].Resource.ResourceType != "RelatedPerson" {
		t.Fatalf("entry bundle: %+v", one)
	}
	closed := get("/api/v1/t/kestrel/carers/"+e2.ID.String()+"/fhir", 1)
	if closed.Entry[0].Resource.ID != e2.ID.String() {
		t.Fatalf("closed entry bundle: %+v", closed)
	}
	r := b.Get("/api/v1/t/kestrel/carers/" + e2.ID.String() + "/fhir")
	expect(t, r, 200, `"effectivePeriod":{"start":"2023-06-10","end":"2024-01-15"}`, "No longer a carer from 2024-01-15: No longer caring")
	all := get("/api/v1/t/kestrel/fhir/carers", 3)
	if all.Entry[0].Resource.ID != e1.ID.String() || all.Entry[2].Resource.ID != e2.ID.String() {
		t.Fatalf("register bundle: %+v", all)
	}
	expect(t, b.Get("/api/v1/t/kestrel/carers/"+uuid.Must(uuid.NewV7()).String()+"/fhir"), 404)

	// Another practice's staff get 404 for this entry, and an empty register.
	other, otherAdmin := f.practice("heron")
	_ = other
	ob := browser(t, s, otherAdmin)
	expect(t, ob.Get("/api/v1/t/heron/carers/"+e1.ID.String()+"/fhir"), 404)
	expect(t, ob.Get("/api/v1/t/heron/carers/"+e1.ID.String()), 404)
	expect(t, ob.Get("/t/heron/carers/"+e1.ID.String()), 404)
	r = ob.Get("/api/v1/t/heron/fhir/carers")
	expect(t, r, 200)
	refuse(t, r, "Ellery", `"entry"`)
	expect(t, ob.Get("/api/v1/t/kestrel/carers/"+e1.ID.String()+"/fhir"), 404)
	expect(t, ob.Get("/t/kestrel/carers"), 404)
}

func TestRegisterAPI(t *testing.T) {
	f := newFixture(t, time.Time{})
	_, admin := f.practice("kestrel")
	s := newServer(t, f)
	b := browser(t, s, admin)

	review := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	body := map[string]any{"given_name": "Ola", "family_name": "Nowak", "nhs_number": "999 000 0026", "snomed_code": "224485002",
		"recorded_on": "2024-05-01", "review_due": review, "consent_to_share": true, "cared_for_known": false}
	r := b.JSON(http.MethodPost, "/api/v1/t/kestrel/carers", body)
	expect(t, r, 201, `"given_name":"Ola"`, `"nhs_number":"9990000026"`, `"snomed_display":"Cares for a friend"`,
		`"consent_on":"2024-05-01"`, `"cared_for_known":false`, `"status":"active"`)
	var created struct{ ID uuid.UUID }
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil {
		t.Fatal(err)
	}
	if loc := r.Location; loc != "/api/v1/t/kestrel/carers/"+created.ID.String() {
		t.Fatalf("location %q", loc)
	}
	body["snomed_code"] = register.PaidCaregiver
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/kestrel/carers", body), 422, `"field":"snomed_code"`, "paid caregiver")
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/kestrel/carers", map[string]any{"recorded_on": "2024-02-30"}), 422,
		`"field":"given_name"`, `"field":"snomed_code"`, `"field":"recorded_on"`)
	expect(t, b.JSON(http.MethodPost, "/api/v1/t/kestrel/carers", map[string]any{"nickname": "x"}), 422)

	expect(t, b.Get("/api/v1/t/kestrel/carers?q=nowak"), 200, `"carers":[{`, created.ID.String())
	expect(t, b.Get("/api/v1/t/kestrel/carers?review_within_days=30"), 200, `"carers":[]`)
	expect(t, b.Get("/api/v1/t/kestrel/carers?review_within_days=366"), 200, created.ID.String())
	expect(t, b.Get("/api/v1/t/kestrel/carers/"+created.ID.String()), 200, `"review_due":"`+review+`"`)
	expect(t, b.Get("/api/v1/t/kestrel/carers/"+uuid.Must(uuid.NewV7()).String()), 404)
}

func TestPassportCheck(t *testing.T) {
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	reception := f.Staff(tn, "reception@kestrel.example", "Reception", "reception")
	const code = "CP7K-9QXW-4MZT-H2RD"
	f.checker.set(code, register.CheckResult{Confirmed: true, HolderName: "Sam Ashdown Whitlow", IssuerName: "Lanternfield Carers' Centre",
		SchemeName: "Young carer passport", ValidUntil: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Benefits: []string{"Flexible visiting"}, Code: code})
	s := newServer(t, f)

	// Reception may check but not add.
	rb := browser(t, s, reception)
	expect(t, rb.Get("/t/kestrel/carers"), 200, "Check a carer passport")
	expect(t, rb.Get("/t/kestrel/carers/check"), 200, "Passport code or QR text")
	expect(t, rb.PostForm("/t/kestrel/carers/check", url.Values{"code": {"  "}}), 422, `href="#code"`, "Enter the passport code")
	r := rb.PostForm("/t/kestrel/carers/check", url.Values{"code": {"NOPE-NOPE"}})
	expect(t, r, 200, "This passport cannot be confirmed as valid")
	refuse(t, r, "Sam", "Lanternfield", "Valid until", "Add to the carer register")
	r = rb.PostForm("/t/kestrel/carers/check", url.Values{"code": {code}})
	expect(t, r, 200, "Carer passport confirmed", "Sam Ashdown Whitlow", "Young carer passport", "Lanternfield Carers", "1 July 2026",
		"Flexible visiting")
	refuse(t, r, "Add to the carer register", `name="passport_code"`)
	expect(t, rb.Get("/t/kestrel/carers/new"), 403)
	expect(t, rb.PostForm("/t/kestrel/carers", entryForm("Sam", "Whitlow", "2024-01-01")), 403)

	// A member who may add is offered the form, filled in.
	ab := browser(t, s, admin)
	r = ab.PostForm("/t/kestrel/carers/check", url.Values{"code": {code}})
	expect(t, r, 200, "Carer passport confirmed", "Add to the carer register", `name="passport_code" value="`+code+`"`,
		`name="given_name" type="text" value="Sam Ashdown"`, `name="family_name" type="text" value="Whitlow"`)
	form := entryForm("Sam", "Whitlow", time.Now().Format(time.DateOnly))
	form.Set("passport_code", code)
	form.Set("snomed_code", "")
	expect(t, ab.PostForm("/t/kestrel/carers", form), 422, "Carer passport confirmed", `name="passport_code" value="`+code+`"`,
		"Select how they care")
	form.Set("snomed_code", "224484003")
	r = ab.PostForm("/t/kestrel/carers", form)
	if r.Status != 303 {
		t.Fatalf("add from check: %d\n%s", r.Status, r.Body)
	}
	r = ab.Get(r.Location)
	expect(t, r, 200, "Added from a carer passport", "Young carer passport, issued by Lanternfield Carers", "code ending H2RD")
	refuse(t, r, code)

	// A passport that stops being valid between the check and the add is
	// refused, and nothing is stored.
	f.checker.set(code, register.CheckResult{})
	form.Set("given_name", "Another")
	r = ab.PostForm("/t/kestrel/carers", form)
	expect(t, r, 422, "This passport cannot be confirmed as valid")
	refuse(t, r, "Lanternfield")
	if n := f.entries(tn); n != 1 {
		t.Fatalf("%d entries, want the one added from the valid check", n)
	}
	var outcomes []string
	for _, ev := range f.Events(tn) {
		if ev.Action == "carer_register.passport_check" {
			outcomes = append(outcomes, ev.Detail["outcome"])
		}
	}
	if strings.Join(outcomes, ",") != "not_confirmed,confirmed,confirmed,confirmed,confirmed,not_confirmed" {
		t.Fatalf("checks audited: %v", outcomes)
	}
}

func TestRegisterNeedsATenantMember(t *testing.T) {
	f := newFixture(t, time.Time{})
	f.practice("kestrel")
	s := newServer(t, f)
	anon := browser(t, s, uuid.Nil)
	if r := anon.Get("/t/kestrel/carers"); r.Status != 302 {
		t.Fatalf("signed out: %d", r.Status)
	}
	expect(t, anon.Get("/api/v1/t/kestrel/carers"), 401)
	other := f.Tenant("meadow", tenants.KindCareHome)
	outsider := f.Staff(other, "admin@meadow.example", "Outsider", "provider_admin")
	expect(t, browser(t, s, outsider).Get("/t/kestrel/carers"), 404)
}
