package register

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/csvsafe"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/fhir"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the carer register pages on the tenant router (/t/:slug)
// and their JSON on the tenant API router (/api/v1/t/:slug). Reading the
// register needs holder:read; adding, changing and closing entries needs
// holder:write; the exports of the whole register (CSV, FHIR) need
// report:read; checking a carer passport needs verification:check, and is
// done through checker. fhirGate, when given, runs after authorization on
// the FHIR routes (the tenant's plan may not include FHIR export).
func Routes(tenant, api fiber.Router, svc *Service, checker Checker, enf *policy.Enforcers, fhirGate ...fiber.Handler) {
	h := handler{svc: svc, checker: checker, enf: enf}
	read, write := enf.Require("holder", "read"), enf.Require("holder", "write")
	export, check := enf.Require("report", "read"), enf.Require("verification", "check")
	tenant.Get("/carers", read, h.list)
	tenant.Get("/carers/new", write, h.newForm)
	tenant.Get("/carers/check", check, h.checkForm)
	tenant.Post("/carers/check", check, h.check)
	tenant.Get("/carers/export.csv", export, h.exportCSV)
	tenant.Post("/carers", write, h.create)
	tenant.Get("/carers/:id", read, h.show)
	tenant.Get("/carers/:id/edit", write, h.editForm)
	tenant.Post("/carers/:id", write, h.update)
	tenant.Post("/carers/:id/close", write, h.close)
	tenant.Post("/carers/:id/reopen", write, h.reopen)
	api.Get("/carers", read, h.listJSON)
	api.Post("/carers", write, h.createJSON)
	api.Get("/carers/:id", read, h.showJSON)
	api.Get("/carers/:id/fhir", append(append([]fiber.Handler{read}, fhirGate...), h.entryFHIR)...)
	api.Get("/fhir/carers", append(append([]fiber.Handler{export}, fhirGate...), h.registerFHIR)...)
}

type handler struct {
	svc     *Service
	checker Checker
	enf     *policy.Enforcers
}

// allowed reports whether the signed-in account holds obj:act in the
// request's tenant, to decide which controls a page shows (and whether an
// add from a passport may re-check it). The routes themselves are guarded by
// Require.
func allowed(c *fiber.Ctx, enf *policy.Enforcers, obj, act string) bool {
	ctx := c.UserContext()
	actor, ok := tenants.ActorFrom(ctx)
	t, tok := tenants.FromContext(ctx)
	if !ok || !tok || t.Suspended() || enf == nil {
		return false
	}
	yes, err := enf.Allowed(ctx, t.ID.String(), actor.String(), policy.Permission{Object: obj, Action: act})
	return err == nil && yes
}

// The register page.

// defaultReviewDays is how far ahead the "Review due" list looks.
const defaultReviewDays = 30

type listView struct {
	Filter     Filter
	Review     bool // the "Review due" list
	ReviewDays int
	Entries    []Entry
	Concepts   []Concept
	Now        time.Time
	CanWrite   bool
	CanExport  bool
	CanCheck   bool
}

// filterOf reads the register's search and filters from the query string.
func filterOf(c *fiber.Ctx) (Filter, bool, int) {
	f := Filter{Query: strings.Clone(c.Query("q")), Status: strings.Clone(c.Query("status")),
		Concept: strings.Clone(c.Query("concept")), Consent: strings.Clone(c.Query("consent"))}
	if f.Status != StatusActive && f.Status != StatusClosed {
		f.Status = ""
	}
	if f.Consent != "yes" && f.Consent != "no" {
		f.Consent = ""
	}
	if ConceptDisplay(f.Concept) == "" {
		f.Concept = ""
	}
	days := c.QueryInt("days", defaultReviewDays)
	if days < 1 || days > 366 {
		days = defaultReviewDays
	}
	review := c.Query("view") == "review"
	if review {
		f.ReviewWithinDays = days
	}
	return f, review, days
}

func (h handler) list(c *fiber.Ctx) error {
	f, review, days := filterOf(c)
	list, err := h.svc.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	title := "Carer register"
	if review {
		title = "Carer register: review due"
	}
	return page.Render(c, "register/list", page.New(c, title, listView{Filter: f, Review: review, ReviewDays: days,
		Entries: list, Concepts: Concepts, Now: h.svc.Now(), CanWrite: allowed(c, h.enf, "holder", "write"),
		CanExport: allowed(c, h.enf, "report", "read"), CanCheck: allowed(c, h.enf, "verification", "check")}))
}

// One entry.

type showView struct {
	Entry
	Now      time.Time
	Reasons  []Reason
	CanWrite bool
}

// Date is the date input of field name for the close form.
func (showView) Date(d page.Data, name, label, hint string) dateField {
	return dateFieldOf(d, name, label, hint)
}

func (h handler) showData(c *fiber.Ctx, e Entry) page.Data {
	return page.New(c, e.Name(), showView{Entry: e, Now: h.svc.Now(), Reasons: CloseReasons,
		CanWrite: allowed(c, h.enf, "holder", "write")})
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	e, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	d := h.showData(c, e)
	d.Form = dateValues("closed_on", today(h.svc.Now()))
	return page.Render(c, "register/show", d)
}

func (h handler) close(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	form := formValues(c, "closed_on_day", "closed_on_month", "closed_on_year", "closed_reason")
	e, err := h.svc.Close(c.UserContext(), id, Closure{On: dateIn(form, "closed_on"), Reason: form["closed_reason"]})
	if err != nil {
		if errs.FieldsOf(err) == nil {
			return err
		}
		cur, gerr := h.svc.Get(c.UserContext(), id)
		if gerr != nil {
			return gerr
		}
		return page.Invalid(c, "register/show", h.showData(c, cur), err, form)
	}
	page.SetFlash(c, e.Name()+" is recorded as no longer a carer.")
	return c.Redirect(tenants.Path(c, "/carers/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) reopen(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	e, err := h.svc.Reopen(c.UserContext(), id)
	if err != nil {
		return err
	}
	page.SetFlash(c, e.Name()+" is on the carer register again.")
	return c.Redirect(tenants.Path(c, "/carers/"+id.String()), fiber.StatusSeeOther)
}

// Add and change forms.

// dateField is what the date-input partial renders.
type dateField struct {
	Name, Label, Hint, Day, Month, Year, Error string
}

func dateFieldOf(d page.Data, name, label, hint string) dateField {
	return dateField{Name: name, Label: label, Hint: hint, Day: d.Value(name + "_day"), Month: d.Value(name + "_month"),
		Year: d.Value(name + "_year"), Error: d.ErrorFor(name)}
}

// passportView is what a confirmed check showed.
type passportView struct {
	HolderName string
	IssuerName string
	SchemeName string
	ValidUntil time.Time
	Benefits   []string
}

func passportOf(res CheckResult) *passportView {
	return &passportView{HolderName: res.HolderName, IssuerName: res.IssuerName, SchemeName: res.SchemeName,
		ValidUntil: res.ValidUntil, Benefits: res.Benefits}
}

type formView struct {
	Heading  string
	Action   string
	Submit   string
	Back     string
	Concepts []Concept
	// Passport is the confirmed carer passport an entry is being added
	// from, if any; its code goes back in a hidden field to be checked again.
	Passport *passportView
}

// Date is the date input of field name.
func (formView) Date(d page.Data, name, label, hint string) dateField {
	return dateFieldOf(d, name, label, hint)
}

// entryFields are the add and change form's fields in the order it asks them.
var entryFields = []string{"given_name", "family_name", "date_of_birth_day", "date_of_birth_month", "date_of_birth_year",
	"nhs_number", "snomed_code", "recorded_on_day", "recorded_on_month", "recorded_on_year", "consent_to_share",
	"consent_on_day", "consent_on_month", "consent_on_year", "review_due_day", "review_due_month", "review_due_year",
	"cared_for_name", "cared_for_relationship", "cared_for_known", "passport_code"}

// formValues copies the named fields of the posted form.
func formValues(c *fiber.Ctx, names ...string) map[string]string {
	form := make(map[string]string, len(names))
	for _, n := range names {
		form[n] = strings.Clone(c.FormValue(n))
	}
	return form
}

func dateIn(form map[string]string, name string) Date {
	return Date{Day: form[name+"_day"], Month: form[name+"_month"], Year: form[name+"_year"]}
}

// dateValues returns t as the form values of date input name.
func dateValues(name string, t time.Time) map[string]string {
	return map[string]string{name + "_day": strconv.Itoa(t.Day()), name + "_month": strconv.Itoa(int(t.Month())),
		name + "_year": strconv.Itoa(t.Year())}
}

// inputOf reads the entry form.
func inputOf(form map[string]string) Input {
	return Input{GivenName: form["given_name"], FamilyName: form["family_name"], DateOfBirth: dateIn(form, "date_of_birth"),
		NHSNumber: form["nhs_number"], SNOMEDCode: form["snomed_code"], RecordedOn: dateIn(form, "recorded_on"),
		ConsentToShare: form["consent_to_share"] == "yes", ConsentOn: dateIn(form, "consent_on"),
		ReviewDue: dateIn(form, "review_due"), CaredForName: form["cared_for_name"],
		CaredForRelationship: form["cared_for_relationship"], CaredForKnown: form["cared_for_known"]}
}

// valuesOf returns an entry's details as form values.
func valuesOf(e Entry) map[string]string {
	in := InputOf(e)
	form := map[string]string{"given_name": in.GivenName, "family_name": in.FamilyName, "nhs_number": e.NHSNumberSpaced(),
		"snomed_code": in.SNOMEDCode, "cared_for_name": in.CaredForName, "cared_for_relationship": in.CaredForRelationship,
		"cared_for_known": in.CaredForKnown}
	if in.ConsentToShare {
		form["consent_to_share"] = "yes"
	}
	for name, d := range map[string]Date{"date_of_birth": in.DateOfBirth, "recorded_on": in.RecordedOn,
		"consent_on": in.ConsentOn, "review_due": in.ReviewDue} {
		form[name+"_day"], form[name+"_month"], form[name+"_year"] = d.Day, d.Month, d.Year
	}
	return form
}

func (h handler) newData(c *fiber.Ctx, passport *passportView) page.Data {
	heading := "Add a carer to the register"
	if passport != nil {
		heading = "Add to the carer register"
	}
	return page.New(c, heading, formView{Heading: heading, Action: tenants.Path(c, "/carers"), Submit: "Add to the register",
		Back: tenants.Path(c, "/carers"), Concepts: Concepts, Passport: passport})
}

func (h handler) newForm(c *fiber.Ctx) error {
	d := h.newData(c, nil)
	d.Form = dateValues("recorded_on", today(h.svc.Now()))
	return page.Render(c, "register/form", d)
}

func (h handler) create(c *fiber.Ctx) error {
	form := formValues(c, entryFields...)
	ctx := c.UserContext()
	var (
		e   Entry
		err error
	)
	if code := strings.TrimSpace(form["passport_code"]); code != "" {
		// Added from a passport check: check it again now, so the source
		// recorded is what a check confirmed at the moment of adding.
		if !allowed(c, h.enf, "verification", "check") {
			return errs.E(errs.Forbidden, "You do not have permission to check carer passports")
		}
		if len(code) > maxCheckInput {
			return errs.E(errs.Invalid, "The passport code or QR text is too long")
		}
		res, cerr := h.checkPassport(c, code)
		if cerr != nil {
			return cerr
		}
		if err := h.svc.RecordCheck(ctx, res.Confirmed); err != nil {
			return err
		}
		if !res.Confirmed {
			c.Status(fiber.StatusUnprocessableEntity)
			return page.Render(c, "register/check", page.New(c, MsgNotConfirmed, checkView{NotConfirmed: true}))
		}
		e, err = h.svc.AddFromCheck(ctx, inputOf(form), res)
		if err != nil {
			return page.Invalid(c, "register/form", h.newData(c, passportOf(res)), err, form)
		}
	} else {
		e, err = h.svc.Add(ctx, inputOf(form))
		if err != nil {
			return page.Invalid(c, "register/form", h.newData(c, nil), err, form)
		}
	}
	page.SetFlash(c, e.Name()+" has been added to the carer register.")
	return c.Redirect(tenants.Path(c, "/carers/"+e.ID.String()), fiber.StatusSeeOther)
}

func (h handler) editData(c *fiber.Ctx, id uuid.UUID) page.Data {
	back := tenants.Path(c, "/carers/"+id.String())
	return page.New(c, "Change carer register entry", formView{Heading: "Change carer register entry", Action: back,
		Submit: "Save changes", Back: back, Concepts: Concepts})
}

func (h handler) editForm(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	e, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	d := h.editData(c, id)
	d.Form = valuesOf(e)
	return page.Render(c, "register/form", d)
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	form := formValues(c, entryFields...)
	delete(form, "passport_code")
	e, err := h.svc.Update(c.UserContext(), id, inputOf(form))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return err
		}
		return page.Invalid(c, "register/form", h.editData(c, id), err, form)
	}
	page.SetFlash(c, "The entry for "+e.Name()+" has been saved.")
	return c.Redirect(tenants.Path(c, "/carers/"+id.String()), fiber.StatusSeeOther)
}

// Checking a carer passport.

type checkView struct {
	Passport     *passportView // confirmed
	NotConfirmed bool
}

// checkPassport checks one passport code or QR text through the checker.
func (h handler) checkPassport(c *fiber.Ctx, code string) (CheckResult, error) {
	if h.checker == nil {
		return CheckResult{}, errs.Wrap(errs.Unavailable, "Checking carer passports is not available",
			errors.New("register: no passport checker"))
	}
	res, err := h.checker.Check(c.UserContext(), code)
	if err != nil {
		return CheckResult{}, fmt.Errorf("register: check passport: %w", err)
	}
	return res, nil
}

// maxCheckInput bounds what may be pasted as a code or QR text.
const maxCheckInput = 4096

func (h handler) checkForm(c *fiber.Ctx) error {
	return page.Render(c, "register/check", page.New(c, "Check a carer passport", checkView{}))
}

func (h handler) check(c *fiber.Ctx) error {
	form := formValues(c, "code")
	code := strings.TrimSpace(form["code"])
	switch {
	case code == "":
		return page.Invalid(c, "register/check", page.New(c, "Check a carer passport", checkView{}),
			errs.Validation(errs.FieldError{Field: "code", Message: "Enter the passport code, or the text of its QR code"}), form)
	case len(code) > maxCheckInput:
		return page.Invalid(c, "register/check", page.New(c, "Check a carer passport", checkView{}),
			errs.Validation(errs.FieldError{Field: "code", Message: "The passport code or QR text is too long"}), form)
	}
	ctx := c.UserContext()
	res, err := h.checkPassport(c, code)
	if err != nil {
		return err
	}
	if err := h.svc.RecordCheck(ctx, res.Confirmed); err != nil {
		return err
	}
	if !res.Confirmed {
		return page.Render(c, "register/check", page.New(c, MsgNotConfirmed, checkView{NotConfirmed: true}))
	}
	if !allowed(c, h.enf, "holder", "write") {
		return page.Render(c, "register/check", page.New(c, "Carer passport confirmed", checkView{Passport: passportOf(res)}))
	}
	// Offer to add the holder, their name and the passport filled in.
	d := h.newData(c, passportOf(res))
	d.Form = dateValues("recorded_on", today(h.svc.Now()))
	d.Form["given_name"], d.Form["family_name"] = splitName(res.HolderName)
	d.Form["passport_code"] = code
	return page.Render(c, "register/form", d)
}

// splitName splits a name as printed on a passport into first and last
// names: the last word is the last name.
func splitName(name string) (string, string) {
	words := strings.Fields(name)
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return "", words[0]
	}
	return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
}

// CSV export.

// csvHeader names the export's columns.
var csvHeader = []string{"id", "given_name", "family_name", "date_of_birth", "nhs_number", "snomed_code", "snomed_display",
	"recorded_on", "consent_to_share", "consent_on", "review_due", "cared_for_name", "cared_for_relationship",
	"cared_for_known", "source_issuer", "source_scheme", "source_verified_at", "status", "closed_on", "closed_reason"}

func csvDate(t *time.Time) string { return fhir.Date(t) }

func csvRecord(e Entry) []string {
	known := ""
	if e.CaredForKnown != nil {
		known = strconv.FormatBool(*e.CaredForKnown)
	}
	var issuer, scheme, verified string
	if e.Source != nil {
		issuer, scheme, verified = e.Source.Issuer, e.Source.Scheme, fhir.Instant(e.Source.VerifiedAt)
	}
	rec := []string{e.ID.String(), e.GivenName, e.FamilyName, csvDate(e.DateOfBirth), e.NHSNumber, e.SNOMEDCode,
		e.ConceptDisplay(), csvDate(&e.RecordedOn), strconv.FormatBool(e.ConsentToShare), csvDate(e.ConsentOn),
		csvDate(e.ReviewDue), e.CaredForName, e.CaredForRelationship, known, issuer, scheme, verified, e.Status,
		csvDate(e.ClosedOn), e.ClosedReason}
	for i, v := range rec {
		rec[i] = csvsafe.Cell(v)
	}
	return rec
}

func (h handler) exportCSV(c *fiber.Ctx) error {
	list, err := h.svc.Export(c.UserContext(), "csv")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(csvHeader); err != nil {
		return fmt.Errorf("register: csv: %w", err)
	}
	for _, e := range list {
		if err := w.Write(csvRecord(e)); err != nil {
			return fmt.Errorf("register: csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("register: csv: %w", err)
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="carer-register.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// JSON API.

// entryJSON is an entry as the API shows it.
type entryJSON struct {
	ID                   uuid.UUID   `json:"id"`
	GivenName            string      `json:"given_name"`
	FamilyName           string      `json:"family_name"`
	DateOfBirth          string      `json:"date_of_birth,omitempty"`
	NHSNumber            string      `json:"nhs_number,omitempty"`
	SNOMEDCode           string      `json:"snomed_code"`
	SNOMEDDisplay        string      `json:"snomed_display"`
	RecordedOn           string      `json:"recorded_on"`
	ConsentToShare       bool        `json:"consent_to_share"`
	ConsentOn            string      `json:"consent_on,omitempty"`
	ReviewDue            string      `json:"review_due,omitempty"`
	CaredForName         string      `json:"cared_for_name,omitempty"`
	CaredForRelationship string      `json:"cared_for_relationship,omitempty"`
	CaredForKnown        *bool       `json:"cared_for_known,omitempty"`
	SourcePassport       *sourceJSON `json:"source_passport,omitempty"`
	Status               string      `json:"status"`
	ClosedOn             string      `json:"closed_on,omitempty"`
	ClosedReason         string      `json:"closed_reason,omitempty"`
	CreatedAt            time.Time   `json:"created_at"`
	UpdatedAt            time.Time   `json:"updated_at"`
}

type sourceJSON struct {
	Issuer     string    `json:"issuer"`
	Scheme     string    `json:"scheme"`
	VerifiedAt time.Time `json:"verified_at"`
	CodeLast4  string    `json:"code_last4,omitempty"`
}

func toJSON(e Entry) entryJSON {
	out := entryJSON{ID: e.ID, GivenName: e.GivenName, FamilyName: e.FamilyName, DateOfBirth: fhir.Date(e.DateOfBirth),
		NHSNumber: e.NHSNumber, SNOMEDCode: e.SNOMEDCode, SNOMEDDisplay: e.ConceptDisplay(), RecordedOn: fhir.Date(&e.RecordedOn),
		ConsentToShare: e.ConsentToShare, ConsentOn: fhir.Date(e.ConsentOn), ReviewDue: fhir.Date(e.ReviewDue),
		CaredForName: e.CaredForName, CaredForRelationship: e.CaredForRelationship, CaredForKnown: e.CaredForKnown,
		Status: e.Status, ClosedOn: fhir.Date(e.ClosedOn), ClosedReason: e.ClosedReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.Source != nil {
		out.SourcePassport = &sourceJSON{Issuer: e.Source.Issuer, Scheme: e.Source.Scheme, VerifiedAt: e.Source.VerifiedAt,
			CodeLast4: e.Source.CodeLast4}
	}
	return out
}

func (h handler) listJSON(c *fiber.Ctx) error {
	f, _, _ := filterOf(c)
	if days := c.QueryInt("review_within_days", 0); days > 0 {
		f.ReviewWithinDays = min(days, 366)
	}
	f.Limit = c.QueryInt("limit", 200)
	list, err := h.svc.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]entryJSON, len(list))
	for i, e := range list {
		out[i] = toJSON(e)
	}
	return c.JSON(fiber.Map{"carers": out})
}

func (h handler) showJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	e, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(e))
}

// createRequest is the body of POST /carers.
type createRequest struct {
	GivenName            string `json:"given_name"`
	FamilyName           string `json:"family_name"`
	DateOfBirth          string `json:"date_of_birth"`
	NHSNumber            string `json:"nhs_number"`
	SNOMEDCode           string `json:"snomed_code"`
	RecordedOn           string `json:"recorded_on"`
	ConsentToShare       bool   `json:"consent_to_share"`
	ConsentOn            string `json:"consent_on"`
	ReviewDue            string `json:"review_due"`
	CaredForName         string `json:"cared_for_name"`
	CaredForRelationship string `json:"cared_for_relationship"`
	CaredForKnown        *bool  `json:"cared_for_known"`
}

func (h handler) createJSON(c *fiber.Ctx) error {
	var req createRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	in := Input{GivenName: req.GivenName, FamilyName: req.FamilyName, DateOfBirth: DateFromISO(req.DateOfBirth),
		NHSNumber: req.NHSNumber, SNOMEDCode: req.SNOMEDCode, RecordedOn: DateFromISO(req.RecordedOn),
		ConsentToShare: req.ConsentToShare, ConsentOn: DateFromISO(req.ConsentOn), ReviewDue: DateFromISO(req.ReviewDue),
		CaredForName: req.CaredForName, CaredForRelationship: req.CaredForRelationship}
	if req.CaredForKnown != nil {
		in.CaredForKnown = map[bool]string{true: "yes", false: "no"}[*req.CaredForKnown]
	}
	e, err := h.svc.Add(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1" + tenants.Path(c, "/carers/"+e.ID.String()))
	return c.Status(fiber.StatusCreated).JSON(toJSON(e))
}

// sendFHIR answers with v as FHIR JSON.
func sendFHIR(c *fiber.Ctx, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("register: fhir: %w", err)
	}
	c.Set(fiber.HeaderContentType, fhir.ContentType)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(raw)
}

func (h handler) entryFHIR(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoEntry)
	if err != nil {
		return err
	}
	e, err := h.svc.GetForExport(c.UserContext(), id, "fhir")
	if err != nil {
		return err
	}
	return sendFHIR(c, fhir.CarerBundle(e.ID, h.svc.Now(), e.FHIR()))
}

func (h handler) registerFHIR(c *fiber.Ctx) error {
	list, err := h.svc.Export(c.UserContext(), "fhir")
	if err != nil {
		return err
	}
	entries := make([]fhir.CarerEntry, len(list))
	for i, e := range list {
		entries[i] = e.FHIR()
	}
	return sendFHIR(c, fhir.CarerBundle(uuid.Must(uuid.NewV7()), h.svc.Now(), entries...))
}
