package record_test

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

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

// noSwitcher lists no tenants for the switcher; the pages under test do
// not depend on it.
type noSwitcher struct{}

func (noSwitcher) TenantsOf(context.Context, uuid.UUID) ([]tenants.Tenant, error) { return nil, nil }

// server is the real web application with this module's routes mounted.
type server struct {
	w   *world
	srv *web.Server
}

func newServer(t *testing.T, w *world) *server {
	t.Helper()
	views, err := web.NewViews(web.TemplateSet{Namespace: "record", FS: record.Templates})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{SecretKey: []byte("test secret key, not for production"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		web.Deps{Pool: w.db.Pool, Sessions: w.accounts, Members: noSwitcher{}, Tenants: w.store, Policy: w.enf, Views: views})
	record.Routes(srv.Tenant, srv.TenantAPI, w.svc, w.enf)
	srv.NotFound()
	return &server{w: w, srv: srv}
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
	var token string
	err := s.w.scoped.Platform(context.Background(), func(tx *gorm.DB) (err error) {
		token, err = s.w.accounts.StartSession(context.Background(), tx, accountID, account.Client{IP: "192.0.2.10", UserAgent: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.cookies[web.SessionCookie] = token
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

func (b *browser) postJSON(path string, v any) response {
	raw, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(http.MethodPost, path, "application/json", strings.NewReader(string(raw)))
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

	assessor := s.browser(t, w.assessor)
	res := assessor.get(base + "/holders/" + h.String() + "/passport")
	if res.status != http.StatusOK {
		t.Fatalf("passport: %d %s", res.status, res.body)
	}
	for _, want := range []string{"Pip Page", "PCC-01 Title of PCC-01", "Competent", "Training attended", "Founding assessor",
		"Record a step", `value="sign_off"`, "Enrol in a competency", "PCC-A02 Title of PCC-A02", "What is due next",
		"/passport/print", `name="state"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("passport page lacks %q", want)
		}
	}
	if strings.Contains(res.body, "style=") {
		t.Error("passport page has an inline style")
	}
	res = assessor.get(base + "/holders/" + h.String() + "/passport?state=training_attended")
	card := func(code string) string {
		return `<h3 class="nhsuk-card__heading">` + code + " Title of " + code + "</h3>"
	}
	if strings.Contains(res.body, card("PCC-01")) || !strings.Contains(res.body, card("PCC-03")) {
		t.Error("the state filter did not filter")
	}
	res = assessor.get(base + "/holders/" + h.String() + "/passport/print")
	if res.status != http.StatusOK || !strings.Contains(res.body, "cp-print") || strings.Contains(res.body, "Record a step") {
		t.Errorf("print view: %d", res.status)
	}

	// A trainer sees only the steps their role allows.
	trainer := s.browser(t, w.trainer)
	res = trainer.get(base + "/records/" + todo.String())
	if res.status != http.StatusOK || strings.Contains(res.body, `value="sign_off"`) || !strings.Contains(res.body, `value="practice"`) {
		t.Errorf("trainer's record page: %d, sign-off offered or practice missing", res.status)
	}
	// The trainer's sign-off is refused with the reason in the summary.
	res = trainer.post(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"sign_off"}, "setting": {"Ward 7"}})
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "nhsuk-error-summary") ||
		!strings.Contains(res.body, "You do not have permission to sign off") || !strings.Contains(res.body, `value="Ward 7"`) {
		t.Errorf("refused sign-off: %d %s", res.status, res.body)
	}
	// A conflict names the state.
	res = assessor.post(base+"/records/"+done.String()+"/transitions", url.Values{"action": {"sign_off"}, "from": {"passport"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "This competency is competent and current; it cannot be signed off") {
		t.Errorf("conflict: %d", res.status)
	}
	// A sign-off by the current assessor succeeds and returns to the passport.
	res = assessor.post(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"sign_off"}, "setting": {"Ward 3B"}, "from": {"passport"}})
	if res.status != http.StatusSeeOther || res.location != base+"/holders/"+h.String()+"/passport" {
		t.Fatalf("sign-off: %d to %q: %s", res.status, res.location, res.body)
	}
	if st := w.stored(w.tn, todo); st.State != "competent" || st.AssessorName != "Ada Assessor" {
		t.Errorf("after the sign-off: %+v", st)
	}
	res = assessor.get(base + "/records/" + todo.String())
	if !strings.Contains(res.body, "Recorded: Assessed competent: sign off") || !strings.Contains(res.body, "Ada Assessor") {
		t.Error("record page lacks the flash or the assessor")
	}

	// Enrolment with a missing choice keeps the input and explains.
	res = assessor.post(base+"/holders/"+h.String()+"/records", url.Values{"competency_id": {""}, "setting": {"Ward 9"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Select the competency to enrol in") || !strings.Contains(res.body, `value="Ward 9"`) {
		t.Errorf("enrol without a competency: %d", res.status)
	}
	res = assessor.post(base+"/holders/"+h.String()+"/records", url.Values{"competency_id": {w.comp["PCC-A02"].String()}, "setting": {"Ward 9"}})
	if res.status != http.StatusSeeOther {
		t.Errorf("enrol: %d %s", res.status, res.body)
	}
	if n := w.count(w.tn, "competency_records", "holder_id = ? AND competency_id = ?", h, w.comp["PCC-A02"]); n != 1 {
		t.Errorf("%d records after enrolling", n)
	}

	// Ward staff may read the passport but see no forms, and may not post.
	viewer := s.browser(t, w.viewer)
	res = viewer.get(base + "/holders/" + h.String() + "/passport")
	if res.status != http.StatusOK || strings.Contains(res.body, "Record a step") || strings.Contains(res.body, "Enrol in a competency") {
		t.Errorf("ward staff passport: %d, or forms shown", res.status)
	}
	if res := viewer.post(base+"/records/"+todo.String()+"/transitions", url.Values{"action": {"revoke"}, "reason": {"x"}}); res.status != http.StatusForbidden {
		t.Errorf("ward staff transition: %d", res.status)
	}
	if res := viewer.get(base + "/records/" + uuid.Must(uuid.NewV7()).String()); res.status != http.StatusNotFound {
		t.Errorf("unknown record: %d", res.status)
	}
	if res := viewer.get(base + "/records/not-a-uuid"); res.status != http.StatusNotFound {
		t.Errorf("malformed record id: %d", res.status)
	}
}

// TestCaredForPagesSetPrescriptions adds a cared-for person and sets a
// prescription through the forms.
func TestCaredForPagesSetPrescriptions(t *testing.T) {
	w := newWorld(t, record.Config{})
	s := newServer(t, w)
	base := "/t/" + w.tn.Slug
	b := s.browser(t, w.assessor)
	res := b.get(base + "/cared-for")
	if res.status != http.StatusOK || !strings.Contains(res.body, "Add a person cared for") {
		t.Fatalf("list: %d", res.status)
	}
	res = b.post(base+"/cared-for", url.Values{"given_name": {"Mia"}, "family_name": {""}, "dob_day": {"31"}, "dob_month": {"2"}, "dob_year": {"2019"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Date of birth must be a real date") || !strings.Contains(res.body, `value="Mia"`) {
		t.Errorf("invalid cared-for: %d", res.status)
	}
	res = b.post(base+"/cared-for", url.Values{"given_name": {"Mia"}, "family_name": {"Child"}, "dob_day": {"27"}, "dob_month": {"3"}, "dob_year": {"2019"}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, base+"/cared-for/") {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	page := res.location
	res = b.get(page)
	if res.status != http.StatusOK || !strings.Contains(res.body, "27 March 2019") || !strings.Contains(res.body, "PCC-02 Title of PCC-02") {
		t.Fatalf("cared-for page: %d", res.status)
	}
	res = b.get(page + "?competency=" + w.comp["PCC-02"].String())
	if !strings.Contains(res.body, `name="param:tube size"`) {
		t.Fatal("no parameter fields for PCC-02")
	}
	res = b.post(page+"/prescriptions", url.Values{"competency_id": {w.comp["PCC-02"].String()}, "param:tube size": {"3.5"}, "param:suction depth": {""}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Enter the suction depth") || !strings.Contains(res.body, `value="3.5"`) {
		t.Errorf("missing parameter: %d", res.status)
	}
	res = b.post(page+"/prescriptions", url.Values{"competency_id": {w.comp["PCC-02"].String()}, "param:tube size": {"3.5"}, "param:suction depth": {"8 cm"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("set prescription: %d %s", res.status, res.body)
	}
	res = b.get(page)
	if !strings.Contains(res.body, "Prescription saved as version 1") || !strings.Contains(res.body, "8 cm") {
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
	b := s.browser(t, w.assessor)
	b.get("/t/" + w.tn.Slug + "/cared-for") // picks up a CSRF token

	res := b.postJSON(api+"/cared-for", map[string]string{"given_name": "Mo", "family_name": "Child", "date_of_birth": "2020-02-29"})
	if res.status != http.StatusCreated {
		t.Fatalf("create cared-for: %d %s", res.status, res.body)
	}
	var cf struct {
		ID uuid.UUID `json:"id"`
	}
	_ = json.Unmarshal([]byte(res.body), &cf)
	res = b.postJSON(api+"/cared-for/"+cf.ID.String()+"/prescriptions", map[string]any{"competency_id": w.comp["PCC-02"],
		"parameters": map[string]string{"tube size": "3.5", "suction depth": "8 cm"}})
	if res.status != http.StatusCreated || !strings.Contains(res.body, `"version":1`) {
		t.Fatalf("prescription: %d %s", res.status, res.body)
	}
	res = b.postJSON(api+"/holders/"+h.String()+"/records", map[string]any{"competency_id": w.comp["PCC-02"], "cared_for_id": cf.ID, "setting": "home"})
	if res.status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", res.status, res.body)
	}
	var r struct {
		ID    uuid.UUID `json:"id"`
		State string    `json:"state"`
	}
	_ = json.Unmarshal([]byte(res.body), &r)
	for _, a := range []string{"attend", "practice", "sign_off"} {
		res = b.postJSON(api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": a, "setting": "home", "evidence_ref": "EV"})
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", a, res.status, res.body)
		}
	}
	res = b.postJSON(api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": "sign_off"})
	if res.status != http.StatusConflict || !strings.Contains(res.body, "This competency is competent and current; it cannot be signed off") {
		t.Errorf("conflict as JSON: %d %s", res.status, res.body)
	}
	res = b.postJSON(api+"/records/"+r.ID.String()+"/transitions", map[string]string{"action": "revoke"})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `"field":"reason"`) {
		t.Errorf("missing reason as JSON: %d %s", res.status, res.body)
	}

	res = b.get(api + "/holders/" + h.String() + "/passport")
	if res.status != http.StatusOK {
		t.Fatalf("passport: %d", res.status)
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
	if err := json.Unmarshal([]byte(res.body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Holder.Name != "Jay Json" || len(p.Records) != 1 {
		t.Fatalf("passport = %s", res.body)
	}
	got := p.Records[0]
	if got.State != "competent" || got.AssessorName != "Ada Assessor" || got.PrescriptionVersion != 1 || got.ExpiresAt == "" ||
		got.Competency.Code != "PCC-02" || got.CaredFor.Name != "Mo Child" || len(got.History) != 4 {
		t.Errorf("record = %+v", got)
	}
	if strings.Contains(res.body, "person_id") {
		t.Error("the platform-wide person id leaked into the API")
	}
	if res := b.get(api + "/records/" + r.ID.String()); res.status != http.StatusOK || !strings.Contains(res.body, `"holder":{`) {
		t.Errorf("record: %d", res.status)
	}
	if res := b.get(api + "/cared-for"); res.status != http.StatusOK || !strings.Contains(res.body, `"cared_for":[`) {
		t.Errorf("cared-for list: %d", res.status)
	}
	if res := b.get(api + "/cared-for/" + cf.ID.String()); res.status != http.StatusOK || !strings.Contains(res.body, `"prescriptions":[`) {
		t.Errorf("cared-for: %d", res.status)
	}

	// Another tenant's member: A's pages are not found, whether asked at
	// A's address (not a member) or at their own (no such record).
	other := w.tenant("riverside", tenants.KindPaediatricTrust)
	outsider := w.staff(other, "admin@riverside.example", "Rio Admin", "tenant_admin")
	ob := s.browser(t, outsider)
	for _, path := range []string{
		api + "/records/" + r.ID.String(),
		api + "/holders/" + h.String() + "/passport",
		"/api/v1/t/riverside/records/" + r.ID.String(),
		"/api/v1/t/riverside/holders/" + h.String() + "/passport",
		"/api/v1/t/riverside/cared-for/" + cf.ID.String(),
		"/t/riverside/records/" + r.ID.String(),
		"/t/riverside/holders/" + h.String() + "/passport",
	} {
		if res := ob.get(path); res.status != http.StatusNotFound {
			t.Errorf("GET %s by another tenant: %d", path, res.status)
		}
	}
	ob.get("/t/riverside/cared-for")
	if res := ob.postJSON("/api/v1/t/riverside/records/"+r.ID.String()+"/transitions", map[string]string{"action": "revoke", "reason": "x"}); res.status != http.StatusNotFound {
		t.Errorf("transition by another tenant: %d %s", res.status, res.body)
	}
	if st := w.stored(w.tn, r.ID); st.State != "competent" {
		t.Errorf("A's record is %s", st.State)
	}
}
