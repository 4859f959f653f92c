package record_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with this module's routes
// mounted. It lists no tenants for the organisation switcher; the pages
// under test do not depend on it.
func newServer(t *testing.T, w *world) *webtest.Site {
	t.Helper()
	return webtest.NewSite(t, w.Scoped, w.Accounts, web.Deps{Pool: w.DB.Pool, Members: webtest.Memberships(nil), Tenants: w.Store, Policy: w.enf},
		[]web.TemplateSet{{Namespace: "record", FS: record.Templates}},
		func(srv *web.Server) { record.Routes(srv.Tenant, srv.TenantAPI, w.svc, w.enf) })
}

// TestPassportPagesShowTheLifecycleAndRefuseWithReasons drives the pages
// as an assessor and as a trainer: the passport and its printable view,
// the record page, a successful step, a refused sign-off shown in the
// error summary with the input kept, and enrolment.
func TestPassportPagesShowTheLifecycleAndRefuseWithReasons(t *testing.T) {
	w := newWorld(t, record.Config{})
	s := newServer(t, w)
	h := w.learner("Pip Page")
	recent := start.AddDate(0, 0, -3)
	done := w.insertRecord(w.tn, h, w.comp["PCC-01"], rec{state: record.Competent, practices: 2, signedOff: &recent})
	todo := w.insertRecord(w.tn, h, w.comp["PCC-03"], rec{state: record.TrainingAttended})
	base := "/t/" + w.tn.Slug

	assessor := s.Client(t, w.assessor)
	res := assessor.Get(base + "/holders/" + h.String() + "/passport")
	if res.Status != http.StatusOK {
		t.Fatalf("passport: %d %s", res.Status, res.Body)
	}
	for _, want := range []string{"Pip Page", "PCC-01 Title of PCC-01", "Competent", "Training attended", "Founding assessor",
		"Record a step", `value="sign_off"`, "Enrol in a competency", "PCC-A02 Title of PCC-A02", "What is due next",
		"/passport/print", `name="state"`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("passport page lacks %q", want)
		}
	}
	if strings.Contains(res.Body, "style=") {
		t.Error("passport page has an inline style")
	}
	res = assessor.Get(base + "/holders/" + h.String() + "/passport?state=training_attended")
	card := func(code string) string {
		return `<h3 class="nhsuk-card__heading">` + code + " Title of " + code + "</h3>"
	}
	if strings.Contains(res.Body, card("PCC-01")) || !strings.Contains(res.Body, card("PCC-03")) {
		t.Error("the state filter did not filter")
	}
	res = assessor.Get(base + "/holders/" + h.String() + "/passport/print")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "cp-print") || strings.Contains(res.Body, "Record a step") {
		t.Errorf("print view: %d", res.Status)
	}

	// A trainer sees only the steps their role allows.
	trainer := s.Client(t, w.trainer)
	res = trainer.Get(base + "/records/" + todo.String())
	if res.Status != http.StatusOK || strings.Contains(res.Body, `value="sign_off"`) || !strings.Contains(res.Body, `value="practice"`) {
		t.Errorf("trainer's record page: %d, sign-off offered or practice missing", res.Status)
	}
	// The trainer's sign-off is refused with the reason in the summary.
	res = trainer.PostForm(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"sign_off"}, "setting": {"Ward 7"}})
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "nhsuk-error-summary") ||
		!strings.Contains(res.Body, "You do not have permission to sign off") || !strings.Contains(res.Body, `value="Ward 7"`) {
		t.Errorf("refused sign-off: %d %s", res.Status, res.Body)
	}
	// A conflict names the state.
	res = assessor.PostForm(base+"/records/"+done.String()+"/transitions", url.Values{"action": {"sign_off"}, "from": {"passport"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "This competency is competent and current; it cannot be signed off") {
		t.Errorf("conflict: %d", res.Status)
	}
	// A sign-off by the current assessor succeeds and returns to the passport.
	res = assessor.PostForm(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"sign_off"}, "setting": {"Ward 3B"}, "from": {"passport"}})
	if res.Status != http.StatusSeeOther || res.Location != base+"/holders/"+h.String()+"/passport" {
		t.Fatalf("sign-off: %d to %q: %s", res.Status, res.Location, res.Body)
	}
	if st := w.stored(w.tn, todo); st.State != "competent" || st.AssessorName != "Ada Assessor" {
		t.Errorf("after the sign-off: %+v", st)
	}
	res = assessor.Get(base + "/records/" + todo.String())
	if !strings.Contains(res.Body, "Recorded: Assessed competent: sign off") || !strings.Contains(res.Body, "Ada Assessor") {
		t.Error("record page lacks the flash or the assessor")
	}

	// Enrolment with a missing choice keeps the input and explains.
	res = assessor.PostForm(base+"/holders/"+h.String()+"/records", url.Values{"competency_id": {""}, "setting": {"Ward 9"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Select the competency to enrol in") || !strings.Contains(res.Body, `value="Ward 9"`) {
		t.Errorf("enrol without a competency: %d", res.Status)
	}
	res = assessor.PostForm(base+"/holders/"+h.String()+"/records", url.Values{"competency_id": {w.comp["PCC-A02"].String()}, "setting": {"Ward 9"}})
	if res.Status != http.StatusSeeOther {
		t.Errorf("enrol: %d %s", res.Status, res.Body)
	}
	if n := w.Rows(w.tn, "competency_records", "holder_id = ? AND competency_id = ?", h, w.comp["PCC-A02"]); n != 1 {
		t.Errorf("%d records after enrolling", n)
	}

	// Ward staff may read the passport but see no forms, and may not post.
	viewer := s.Client(t, w.viewer)
	res = viewer.Get(base + "/holders/" + h.String() + "/passport")
	if res.Status != http.StatusOK || strings.Contains(res.Body, "Record a step") || strings.Contains(res.Body, "Enrol in a competency") {
		t.Errorf("ward staff passport: %d, or forms shown", res.Status)
	}
	if res := viewer.PostForm(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"revoke"}, "reason": {"x"}}); res.Status != http.StatusForbidden {
		t.Errorf("ward staff transition: %d", res.Status)
	}
	if res := viewer.Get(base + "/records/" + uuid.Must(uuid.NewV7()).String()); res.Status != http.StatusNotFound {
		t.Errorf("unknown record: %d", res.Status)
	}
	if res := viewer.Get(base + "/records/not-a-uuid"); res.Status != http.StatusNotFound {
		t.Errorf("malformed record id: %d", res.Status)
	}
}

// TestCaredForPagesSetPrescriptions adds a cared-for person and sets a
// prescription through the forms.
func TestCaredForPagesSetPrescriptions(t *testing.T) {
	w := newWorld(t, record.Config{})
	s := newServer(t, w)
	base := "/t/" + w.tn.Slug
	b := s.Client(t, w.assessor)
	res := b.Get(base + "/cared-for")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Add a person cared for") {
		t.Fatalf("list: %d", res.Status)
	}
	res = b.PostForm(base+"/cared-for", url.Values{"given_name": {"Mia"}, "family_name": {""}, "dob_day": {"31"}, "dob_month": {"2"}, "dob_year": {"2019"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Date of birth must be a real date") || !strings.Contains(res.Body, `value="Mia"`) {
		t.Errorf("invalid cared-for: %d", res.Status)
	}
	res = b.PostForm(base+"/cared-for", url.Values{"given_name": {"Mia"}, "family_name": {"Child"}, "dob_day": {"27"}, "dob_month": {"3"}, "dob_year": {"2019"}})
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, base+"/cared-for/") {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	page := res.Location
	res = b.Get(page)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "27 March 2019") || !strings.Contains(res.Body, "PCC-02 Title of PCC-02") {
		t.Fatalf("cared-for page: %d", res.Status)
	}
	res = b.Get(page + "?competency=" + w.comp["PCC-02"].String())
	if !strings.Contains(res.Body, `name="param:tube size"`) {
		t.Fatal("no parameter fields for PCC-02")
	}
	res = b.PostForm(page+"/prescriptions", url.Values{"competency_id": {w.comp["PCC-02"].String()}, "param:tube size": {"3.5"}, "param:suction depth": {""}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Enter the suction depth") || !strings.Contains(res.Body, `value="3.5"`) {
		t.Errorf("missing parameter: %d", res.Status)
	}
	res = b.PostForm(page+"/prescriptions", url.Values{"competency_id": {w.comp["PCC-02"].String()}, "param:tube size": {"3.5"}, "param:suction depth": {"8 cm"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("set prescription: %d %s", res.Status, res.Body)
	}
	res = b.Get(page)
	if !strings.Contains(res.Body, "Prescription saved as version 1") || !strings.Contains(res.Body, "8 cm") {
		t.Error("prescription not shown")
	}
}

// TestJSONAPI checks the JSON routes: snake_case bodies, the lifecycle
// through the API, errors as JSON, and cross-tenant 404s.
func TestJSONAPI(t *testing.T) {
	w := newWorld(t, record.Config{})
	s := newServer(t, w)
	api := "/api/v1/t/" + w.tn.Slug
	h := w.learner("Jay Json")
	b := s.Client(t, w.assessor)
	b.Get("/t/" + w.tn.Slug + "/cared-for") // picks up a CSRF token

	res := b.JSON(http.MethodPost, api+"/cared-for", map[string]string{"given_name": "Mo", "family_name": "Child", "date_of_birth": "2020-02-29"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create cared-for: %d %s", res.Status, res.Body)
	}
	var cf struct {
		ID uuid.UUID `json:"id"`
	}
	_ = json.Unmarshal([]byte(res.Body), &cf)
	res = b.JSON(http.MethodPost, api+"/cared-for/"+cf.ID.String()+"/prescriptions", map[string]any{"competency_id": w.comp["PCC-02"],
		"parameters": map[string]string{"tube size": "3.5", "suction depth": "8 cm"}})
	if res.Status != http.StatusCreated || !strings.Contains(res.Body, `"version":1`) {
		t.Fatalf("prescription: %d %s", res.Status, res.Body)
	}
	res = b.JSON(http.MethodPost, api+"/holders/"+h.String()+"/records", map[string]any{"competency_id": w.comp["PCC-02"], "cared_for_id": cf.ID, "setting": "home"})
	if res.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", res.Status, res.Body)
	}
	var r struct {
		ID    uuid.UUID `json:"id"`
		State string    `json:"state"`
	}
	_ = json.Unmarshal([]byte(res.Body), &r)
	for _, a := range []string{"attend", "practice", "sign_off"} {
		res = b.JSON(http.MethodPost, api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": a, "setting": "home", "evidence_ref": "EV"})
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", a, res.Status, res.Body)
		}
	}
	res = b.JSON(http.MethodPost, api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": "sign_off"})
	if res.Status != http.StatusConflict || !strings.Contains(res.Body, "This competency is competent and current; it cannot be signed off") {
		t.Errorf("conflict as JSON: %d %s", res.Status, res.Body)
	}
	res = b.JSON(http.MethodPost, api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": "revoke"})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `"field":"reason"`) {
		t.Errorf("missing reason as JSON: %d %s", res.Status, res.Body)
	}

	res = b.Get(api + "/holders/" + h.String() + "/passport")
	if res.Status != http.StatusOK {
		t.Fatalf("passport: %d", res.Status)
	}
	var p struct {
		Holder  struct{ Name string } `json:"holder"`
		Records []struct {
			State               string `json:"state"`
			AssessorName        string `json:"assessor_name"`
			PrescriptionVersion int    `json:"prescription_version"`
			ExpiresAt           string `json:"expires_at"`
			Competency          struct {
				Code string `json:"code"`
			} `json:"competency"`
			CaredFor struct {
				Name string `json:"name"`
			} `json:"cared_for"`
			History []struct {
				ToState string `json:"to_state"`
			} `json:"history"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(res.Body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Holder.Name != "Jay Json" || len(p.Records) != 1 {
		t.Fatalf("passport = %s", res.Body)
	}
	got := p.Records[0]
	if got.State != "competent" || got.AssessorName != "Ada Assessor" || got.PrescriptionVersion != 1 || got.ExpiresAt == "" ||
		got.Competency.Code != "PCC-02" || got.CaredFor.Name != "Mo Child" || len(got.History) != 4 {
		t.Errorf("record = %+v", got)
	}
	if strings.Contains(res.Body, "person_id") {
		t.Error("the platform-wide person id leaked into the API")
	}
	if res := b.Get(api + "/records/" + r.ID.String()); res.Status != http.StatusOK || !strings.Contains(res.Body, `"holder":{`) {
		t.Errorf("record: %d", res.Status)
	}
	if res := b.Get(api + "/cared-for"); res.Status != http.StatusOK || !strings.Contains(res.Body, `"cared_for":[`) {
		t.Errorf("cared-for list: %d", res.Status)
	}
	if res := b.Get(api + "/cared-for/" + cf.ID.String()); res.Status != http.StatusOK || !strings.Contains(res.Body, `"prescriptions":[`) {
		t.Errorf("cared-for: %d", res.Status)
	}

	// Another tenant's member: A's pages are not found, whether asked at
	// A's address (not a member) or at their own (no such record).
	other := w.Tenant("riverside", tenants.KindPaediatricTrust)
	outsider := w.Staff(other, "admin@riverside.example", "Rio Admin", "tenant_admin")
	ob := s.Client(t, outsider)
	for _, path := range []string{
		api + "/records/" + r.ID.String(),
		api + "/holders/" + h.String() + "/passport",
		"/api/v1/t/riverside/records/" + r.ID.String(),
		"/api/v1/t/riverside/holders/" + h.String() + "/passport",
		"/api/v1/t/riverside/cared-for/" + cf.ID.String(),
		"/t/riverside/records/" + r.ID.String(),
		"/t/riverside/holders/" + h.String() + "/passport",
	} {
		if res := ob.Get(path); res.Status != http.StatusNotFound {
			t.Errorf("GET %s by another tenant: %d", path, res.Status)
		}
	}
	ob.Get("/t/riverside/cared-for")
	if res := ob.JSON(http.MethodPost, "/api/v1/t/riverside/records/"+r.ID.String()+"/transitions", map[string]string{"action": "revoke", "reason": "x"}); res.Status != http.StatusNotFound {
		t.Errorf("transition by another tenant: %d %s", res.Status, res.Body)
	}
	if st := w.stored(w.tn, r.ID); st.State != "competent" {
		t.Errorf("A's record is %s", st.State)
	}
}
