package record

import (
	"embed"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the passport, record and cared-for pages on the tenant
// router (/t/:slug) and their JSON on the tenant API router
// (/api/v1/t/:slug). Every route requires its permission; a transition
// also needs the permission its row of Lifecycle names, which the service
// checks.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc}
	holderRead := enf.Require("holder", "read")
	read, write := enf.Require("record", "read"), enf.Require("record", "write")

	tenant.Get("/holders/:id/passport", holderRead, read, h.passport)
	tenant.Get("/holders/:id/passport/print", holderRead, read, h.print)
	tenant.Post("/holders/:id/records", write, h.enrol)
	tenant.Get("/records/:id", holderRead, read, h.record)
	tenant.Post("/records/:id/transitions", write, h.transition)
	tenant.Get("/cared-for", read, h.caredForList)
	tenant.Post("/cared-for", write, h.createCaredFor)
	tenant.Get("/cared-for/:id", read, h.caredFor)
	tenant.Post("/cared-for/:id/prescriptions", write, h.setPrescription)

	api.Get("/holders/:id/passport", holderRead, read, h.passportJSON)
	api.Post("/holders/:id/records", write, h.enrolJSON)
	api.Get("/records/:id", holderRead, read, h.recordJSON)
	api.Post("/records/:id/transitions", write, h.transitionJSON)
	api.Get("/cared-for", read, h.caredForListJSON)
	api.Post("/cared-for", write, h.createCaredForJSON)
	api.Get("/cared-for/:id", read, h.caredForJSON)
	api.Post("/cared-for/:id/prescriptions", write, h.setPrescriptionJSON)
}

type handler struct{ svc *Service }

// form copies the named form fields out of fiber's reusable buffers.
func form(c *fiber.Ctx, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.Clone(c.FormValue(n))
	}
	return out
}

// optionalID parses an optional UUID form field.
func optionalID(v, field, msg string) (*uuid.UUID, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	id, err := uuid.Parse(strings.TrimSpace(v))
	if err != nil || id == uuid.Nil {
		return nil, errs.Validation(errs.FieldError{Field: field, Message: msg})
	}
	return &id, nil
}

// invalid redisplays a form page with the NHS.UK error summary and the
// user's input kept. Refusals without field errors (a state conflict, a
// refused sign-off) become one summary message linked to field.
func invalid(c *fiber.Ctx, name string, d page.Data, err error, kept map[string]string, field string) error {
	fields := errs.FieldsOf(err)
	if fields == nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict, errs.Forbidden:
			fields = []errs.FieldError{{Field: field, Message: errs.MessageOf(err)}}
		default:
			return err
		}
	}
	d.Errors, d.Form = fields, kept
	if errs.Is(err, errs.Forbidden) {
		c.Status(fiber.StatusForbidden)
	} else {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return page.Render(c, name, d)
}

// Passport pages.

// entryView is an entry with the transitions the viewer may make now.
type entryView struct {
	Entry
	Steps []Transition
}

type option struct {
	Value, Label string
}

type passportView struct {
	Passport
	Entries   []entryView
	DueNext   *entryView
	States    []option
	Tiers     []option
	Kinds     []option
	CanEnrol  bool
	CanStep   bool
	Choices   Choices
	PrintHref string
	Query     string
}

func (h handler) filter(c *fiber.Ctx) Filter {
	return Filter{State: State(c.Query("state")), Tier: c.Query("tier"), Kind: catalogue.Kind(c.Query("kind"))}.Clean()
}

func steps(e Entry, permitted map[Action]bool) []Transition {
	var out []Transition
	for _, t := range Available(e.State) {
		if permitted[t.Action] {
			out = append(out, t)
		}
	}
	return out
}

func (h handler) passportView(c *fiber.Ctx, print bool) (passportView, error) {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return passportView{}, err
	}
	ctx := c.UserContext()
	p, err := h.svc.Passport(ctx, id, h.filter(c))
	if err != nil {
		return passportView{}, err
	}
	v := passportView{Passport: p, Query: string(c.Request().URI().QueryString())}
	v.PrintHref = "/holders/" + id.String() + "/passport/print"
	if v.Query != "" {
		v.PrintHref += "?" + v.Query
	}
	permitted := map[Action]bool{}
	if !print {
		permitted = h.svc.Permitted(ctx)
	}
	for _, e := range p.Entries {
		ev := entryView{Entry: e, Steps: steps(e, permitted)}
		v.CanStep = v.CanStep || len(ev.Steps) > 0
		v.Entries = append(v.Entries, ev)
	}
	if p.DueNext != nil {
		v.DueNext = &entryView{Entry: *p.DueNext}
	}
	for _, s := range States {
		v.States = append(v.States, option{string(s), s.Label()})
	}
	for _, t := range Tiers {
		v.Tiers = append(v.Tiers, option{t, strings.ToUpper(t[:1]) + t[1:]})
	}
	for _, k := range Kinds {
		v.Kinds = append(v.Kinds, option{string(k), kindLabel(k)})
	}
	if !print && permitted[ActEnrol] && p.Holder.Status == "active" {
		v.CanEnrol = true
		if v.Choices, err = h.svc.Choices(ctx, true); err != nil {
			return passportView{}, err
		}
	}
	return v, nil
}

func kindLabel(k catalogue.Kind) string {
	switch k {
	case catalogue.KindAssessor:
		return "Assessor"
	case catalogue.KindTrainer:
		return "Trainer"
	}
	return "Skill"
}

func (h handler) passport(c *fiber.Ctx) error {
	v, err := h.passportView(c, false)
	if err != nil {
		return err
	}
	return page.Render(c, "record/passport", page.New(c, "Skills passport: "+v.Holder.Name, v))
}

func (h handler) print(c *fiber.Ctx) error {
	v, err := h.passportView(c, true)
	if err != nil {
		return err
	}
	return page.Render(c, "record/print", page.New(c, "Skills passport: "+v.Holder.Name, v))
}

var enrolFields = []string{"competency_id", "cared_for_id", "setting", "notes", "evidence_ref"}

func (h handler) enrol(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	kept := form(c, enrolFields...)
	in, err := enrolInput(kept)
	if err == nil {
		_, err = h.svc.Enrol(c.UserContext(), id, in)
	}
	if err != nil {
		if errs.Is(err, errs.NotFound) && errs.FieldsOf(err) == nil {
			return err
		}
		v, verr := h.passportView(c, false)
		if verr != nil {
			return verr
		}
		return invalid(c, "record/passport", page.New(c, "Skills passport: "+v.Holder.Name, v), err, kept, "competency_id")
	}
	page.SetFlash(c, "Enrolled in the competency")
	return c.Redirect(page.BaseOf(c).TenantPath("/holders/"+id.String()+"/passport"), fiber.StatusSeeOther)
}

func enrolInput(f map[string]string) (EnrolInput, error) {
	in := EnrolInput{Setting: f["setting"], Notes: f["notes"], EvidenceRef: f["evidence_ref"]}
	if v := strings.TrimSpace(f["competency_id"]); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return in, errs.Validation(errs.FieldError{Field: "competency_id", Message: "Select the competency to enrol in"})
		}
		in.CompetencyID = id
	}
	cf, err := optionalID(f["cared_for_id"], "cared_for_id", "Select a cared-for person from the list")
	in.CaredForID = cf
	return in, err
}

// Record page.

type recordView struct {
	Detail
	Steps []Transition
}

func (h handler) recordView(c *fiber.Ctx, id uuid.UUID) (recordView, error) {
	ctx := c.UserContext()
	d, err := h.svc.Record(ctx, id)
	if err != nil {
		return recordView{}, err
	}
	return recordView{Detail: d, Steps: steps(d.Entry, h.svc.Permitted(ctx))}, nil
}

func recordTitle(d Detail) string {
	return d.Competency.Code + " " + d.Competency.Title + ": " + d.Holder.Name
}

func (h handler) record(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoRecord)
	if err != nil {
		return err
	}
	v, err := h.recordView(c, id)
	if err != nil {
		return err
	}
	return page.Render(c, "record/record", page.New(c, recordTitle(v.Detail), v))
}

var transitionFields = []string{"action", "setting", "notes", "evidence_ref", "reason", "cared_for_id"}

func transitionInput(f map[string]string) (TransitionInput, error) {
	in := TransitionInput{Action: Action(f["action"]), Setting: f["setting"], Notes: f["notes"],
		EvidenceRef: f["evidence_ref"], Reason: f["reason"]}
	cf, err := optionalID(f["cared_for_id"], "cared_for_id", "This record is not for that cared-for person")
	in.CaredForID = cf
	return in, err
}

// transition takes one step from a form on the passport or record page.
// Success returns to the page the form was on; a refusal shows the record
// page with the reason in the error summary and the input kept.
func (h handler) transition(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoRecord)
	if err != nil {
		return err
	}
	kept := form(c, transitionFields...)
	back := c.FormValue("from")
	in, err := transitionInput(kept)
	var r Record
	if err == nil {
		r, err = h.svc.Transition(c.UserContext(), id, in)
	}
	if err != nil {
		if errs.Is(err, errs.NotFound) && errs.FieldsOf(err) == nil {
			return err
		}
		v, verr := h.recordView(c, id)
		if verr != nil {
			return verr
		}
		return invalid(c, "record/record", page.New(c, recordTitle(v.Detail), v), err, kept, "action")
	}
	t, _ := TransitionFor(in.Action)
	page.SetFlash(c, "Recorded: "+t.Label)
	to := "/records/" + id.String()
	if back == "passport" {
		to = "/holders/" + r.HolderID.String() + "/passport"
	}
	return c.Redirect(page.BaseOf(c).TenantPath(to), fiber.StatusSeeOther)
}

// Cared-for pages.

type caredForListView struct {
	People   []CaredFor
	CanWrite bool
}

func (h handler) caredForListView(c *fiber.Ctx) (caredForListView, error) {
	ctx := c.UserContext()
	list, err := h.svc.CaredForList(ctx)
	if err != nil {
		return caredForListView{}, err
	}
	return caredForListView{People: list, CanWrite: h.svc.Permitted(ctx)[ActEnrol]}, nil
}

func (h handler) caredForList(c *fiber.Ctx) error {
	v, err := h.caredForListView(c)
	if err != nil {
		return err
	}
	return page.Render(c, "record/cared_for_list", page.New(c, "People cared for", v))
}

var caredForFields = []string{"given_name", "family_name", "dob_day", "dob_month", "dob_year"}

// dateOfBirth reads the NHS.UK date input; all three parts empty means
// no date.
func dateOfBirth(f map[string]string) (*time.Time, error) {
	d, m, y := strings.TrimSpace(f["dob_day"]), strings.TrimSpace(f["dob_month"]), strings.TrimSpace(f["dob_year"])
	if d == "" && m == "" && y == "" {
		return nil, nil
	}
	bad := errs.Validation(errs.FieldError{Field: "date_of_birth", Message: "Date of birth must be a real date, like 27 3 2019"})
	day, err1 := strconv.Atoi(d)
	month, err2 := strconv.Atoi(m)
	year, err3 := strconv.Atoi(y)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, bad
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return nil, bad
	}
	return &t, nil
}

func (h handler) createCaredFor(c *fiber.Ctx) error {
	kept := form(c, caredForFields...)
	dob, err := dateOfBirth(kept)
	var cf CaredFor
	if err == nil {
		cf, err = h.svc.CreateCaredFor(c.UserContext(), NewCaredFor{GivenName: kept["given_name"], FamilyName: kept["family_name"], DateOfBirth: dob})
	}
	if err != nil {
		v, verr := h.caredForListView(c)
		if verr != nil {
			return verr
		}
		return invalid(c, "record/cared_for_list", page.New(c, "People cared for", v), err, kept, "given_name")
	}
	page.SetFlash(c, cf.Name()+" has been added")
	return c.Redirect(page.BaseOf(c).TenantPath("/cared-for/"+cf.ID.String()), fiber.StatusSeeOther)
}

type caredForView struct {
	CaredForDetail
	Choices  []CompetencySummary // person-specific competencies of published versions
	Selected *CompetencySummary  // the competency whose prescription is being set
	CanWrite bool
}

func (h handler) caredForView(c *fiber.Ctx, id uuid.UUID, selected string) (caredForView, map[string]string, error) {
	ctx := c.UserContext()
	d, err := h.svc.CaredFor(ctx, id)
	if err != nil {
		return caredForView{}, nil, err
	}
	v := caredForView{CaredForDetail: d, CanWrite: h.svc.Permitted(ctx)[ActEnrol]}
	kept := map[string]string{}
	if !v.CanWrite {
		return v, kept, nil
	}
	ch, err := h.svc.Choices(ctx, false)
	if err != nil {
		return caredForView{}, nil, err
	}
	v.Choices = ch.PersonSpecific()
	for i := range v.Choices {
		if v.Choices[i].ID.String() == selected {
			v.Selected = &v.Choices[i]
		}
	}
	if v.Selected != nil {
		kept["competency_id"] = v.Selected.ID.String()
		for _, p := range d.Current() {
			if p.Competency.ID == v.Selected.ID {
				for _, prm := range p.Parameters {
					kept[paramName(prm.Name)] = prm.Value
				}
			}
		}
	}
	return v, kept, nil
}

// paramName is the form field name of a prescription parameter.
func paramName(name string) string { return "param:" + name }

func (h handler) caredFor(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCaredFor)
	if err != nil {
		return err
	}
	v, kept, err := h.caredForView(c, id, c.Query("competency"))
	if err != nil {
		return err
	}
	d := page.New(c, v.Name(), v)
	d.Form = kept
	return page.Render(c, "record/cared_for", d)
}

func (h handler) setPrescription(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCaredFor)
	if err != nil {
		return err
	}
	kept := map[string]string{"competency_id": strings.Clone(c.FormValue("competency_id"))}
	in := PrescriptionInput{Parameters: map[string]string{}}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if name, ok := strings.CutPrefix(string(k), "param:"); ok {
			in.Parameters[name] = string(v)
			kept[string(k)] = string(v)
		}
	})
	in.CompetencyID, _ = uuid.Parse(kept["competency_id"])
	p, err := h.svc.SetPrescription(c.UserContext(), id, in)
	if err != nil {
		if errs.Is(err, errs.NotFound) && errs.FieldsOf(err) == nil {
			return err
		}
		v, _, verr := h.caredForView(c, id, kept["competency_id"])
		if verr != nil {
			return verr
		}
		return invalid(c, "record/cared_for", page.New(c, v.Name(), v), err, kept, "competency_id")
	}
	msg := "Prescription saved as version " + strconv.Itoa(p.Version)
	if p.Reassessment > 0 {
		msg += "; " + strconv.Itoa(p.Reassessment) + " signed-off record(s) now need re-assessment"
	}
	page.SetFlash(c, msg)
	return c.Redirect(page.BaseOf(c).TenantPath("/cared-for/"+id.String()), fiber.StatusSeeOther)
}

// JSON API.

func (h handler) passportJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	p, err := h.svc.Passport(c.UserContext(), id, h.filter(c))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (h handler) enrolJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	var in EnrolInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Enrol(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (h handler) recordJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoRecord)
	if err != nil {
		return err
	}
	d, err := h.svc.Record(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h handler) transitionJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoRecord)
	if err != nil {
		return err
	}
	var in TransitionInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Transition(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (h handler) caredForListJSON(c *fiber.Ctx) error {
	list, err := h.svc.CaredForList(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cared_for": list})
}

// caredForRequest is the API's body for a new cared-for person; the date
// of birth is a calendar date, YYYY-MM-DD.
type caredForRequest struct {
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	DateOfBirth string `json:"date_of_birth"`
}

func (h handler) createCaredForJSON(c *fiber.Ctx) error {
	var req caredForRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	in := NewCaredFor{GivenName: req.GivenName, FamilyName: req.FamilyName}
	if req.DateOfBirth != "" {
		t, err := time.Parse(time.DateOnly, req.DateOfBirth)
		if err != nil {
			return errs.Validation(errs.FieldError{Field: "date_of_birth", Message: "Date of birth must be a date like 2019-03-27"})
		}
		in.DateOfBirth = &t
	}
	cf, err := h.svc.CreateCaredFor(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cf)
}

func (h handler) caredForJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCaredFor)
	if err != nil {
		return err
	}
	d, err := h.svc.CaredFor(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h handler) setPrescriptionJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCaredFor)
	if err != nil {
		return err
	}
	var in PrescriptionInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	p, err := h.svc.SetPrescription(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}
