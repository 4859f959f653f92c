package scheme

import (
	"embed"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the scheme pages on the tenant router (/t/:slug) and their
// JSON on the tenant API router (/api/v1/t/:slug). Reading needs
// passport:read, as everyone who sees passports needs to know the schemes
// they are issued under; creating, changing, retiring and reactivating
// schemes are organisation settings and need tenant:write. Fixed paths are
// registered before the parameter paths that would otherwise take them.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write := enf.Require("passport", "read"), enf.Require("tenant", "write")
	tenant.Get("/schemes", read, h.list)
	tenant.Get("/schemes/new", write, h.newForm)
	tenant.Post("/schemes", write, h.create)
	tenant.Post("/schemes/presets/:key", write, h.createFromPreset)
	tenant.Get("/schemes/:id", read, h.show)
	tenant.Get("/schemes/:id/edit", write, h.editForm)
	tenant.Post("/schemes/:id", write, h.update)
	tenant.Post("/schemes/:id/retire", write, h.retire)
	tenant.Post("/schemes/:id/reactivate", write, h.reactivate)
	api.Get("/schemes", read, h.listJSON)
	api.Post("/schemes", write, h.createJSON)
	api.Get("/schemes/:id", read, h.showJSON)
	api.Patch("/schemes/:id", write, h.updateJSON)
	api.Post("/schemes/:id/retire", write, h.retireJSON)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

// canWrite reports whether the signed-in account may change the tenant's
// schemes, to decide which controls a page shows. The routes themselves
// are guarded by Require.
func (h handler) canWrite(c *fiber.Ctx) bool {
	ctx := c.UserContext()
	actor, ok := tenants.ActorFrom(ctx)
	t, tok := tenants.FromContext(ctx)
	if !ok || !tok || t.Suspended() || h.enf == nil {
		return false
	}
	yes, err := h.enf.Allowed(ctx, t.ID.String(), actor.String(), policy.Permission{Object: "tenant", Action: "write"})
	return err == nil && yes
}

// Pages.

// presetView is one ready-made scheme on the list page.
type presetView struct {
	Preset
	// Added is the tenant's scheme of the same name, if there is one.
	Added *Scheme
}

// tableView is one table of schemes on the list page.
type tableView struct {
	Key     string // for element ids
	Caption string
	Prefix  string // the path of a scheme's page, less its id
	Schemes []Scheme
}

type listView struct {
	ActiveTable  *tableView // nil when there are none
	RetiredTable *tableView // nil when there are none
	Presets      []presetView
	CanWrite     bool
}

func (h handler) listData(c *fiber.Ctx) (page.Data, error) {
	ctx := c.UserContext()
	all, err := h.svc.List(ctx, true)
	if err != nil {
		return page.Data{}, err
	}
	v := listView{CanWrite: h.canWrite(c)}
	prefix := tenants.Path(c, "/schemes/")
	active := &tableView{Key: "active", Caption: "Active schemes", Prefix: prefix}
	retired := &tableView{Key: "retired", Caption: "Retired schemes", Prefix: prefix}
	byName := map[string]*Scheme{}
	for i := range all {
		s := all[i]
		if s.Retired() {
			retired.Schemes = append(retired.Schemes, s)
		} else {
			active.Schemes = append(active.Schemes, s)
		}
		byName[strings.ToLower(s.Name)] = &all[i]
	}
	if len(active.Schemes) > 0 {
		v.ActiveTable = active
	}
	if len(retired.Schemes) > 0 {
		v.RetiredTable = retired
	}
	if v.CanWrite {
		t, _ := tenants.FromContext(ctx)
		for _, p := range h.svc.Presets(t.Kind) {
			v.Presets = append(v.Presets, presetView{Preset: p, Added: byName[strings.ToLower(p.Name)]})
		}
	}
	return page.New(c, "Carer passport schemes", v), nil
}

func (h handler) list(c *fiber.Ctx) error {
	d, err := h.listData(c)
	if err != nil {
		return err
	}
	return page.Render(c, "scheme/list", d)
}

func (h handler) createFromPreset(c *fiber.Ctx) error {
	key := strings.Clone(c.Params("key"))
	s, err := h.svc.CreateFromPreset(c.UserContext(), key)
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		// The list page has no name field to point at: show the messages
		// alone in the error summary.
		d, lerr := h.listData(c)
		if lerr != nil {
			return lerr
		}
		var fe []errs.FieldError
		for _, f := range errs.FieldsOf(err) {
			fe = append(fe, errs.FieldError{Message: f.Message})
		}
		if len(fe) == 0 {
			fe = []errs.FieldError{{Message: errs.MessageOf(err)}}
		}
		return page.Invalid(c, "scheme/list", d, errs.Validation(fe...), nil)
	}
	page.SetFlash(c, s.Name+" has been added. Check its details before you issue passports under it.")
	return c.Redirect(tenants.Path(c, "/schemes/"+s.ID.String()), fiber.StatusSeeOther)
}

type showView struct {
	Scheme
	CanWrite bool
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "scheme/show", page.New(c, s.Name, showView{Scheme: s, CanWrite: h.canWrite(c)}))
}

// Add and change forms.

// option is one radio of a form.
type option struct {
	ID, Value, Label, Hint string
}

// optionID is the id of the radio i of a group: the first has the field's
// name, so that the error summary can link to it.
func optionID(field string, i int) string {
	if i == 0 {
		return field
	}
	return field + "-" + strconv.Itoa(i)
}

type formView struct {
	Heading   string
	Action    string
	Submit    string
	Back      string
	Audiences []option
	Kinds     []option
	Editing   bool
}

// formFields are the form's fields in the order it asks them. stay_days is
// validity_days for a scheme whose passports last until discharge: each
// kind that needs a number of days reveals its own box.
var formFields = []string{"name", "audience", "eligibility", "benefits", "validity_kind", "validity_days", "stay_days",
	"until_day", "until_month", "until_year", "consent_required", "renewable"}

// splitLines returns the lines of a textarea.
func splitLines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func yesNo(v string) *bool {
	switch v {
	case "yes":
		return ptr(true)
	case "no":
		return ptr(false)
	}
	return nil
}

func yesNoOf(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formInput reads the scheme form, returning the input and the values to
// show again if the form is redisplayed. Only the boxes that belong to the
// chosen validity kind are read: the others may hold what someone typed
// before changing their mind.
func formInput(c *fiber.Ctx) (Input, map[string]string) {
	form := make(map[string]string, len(formFields))
	for _, f := range formFields {
		form[f] = strings.Clone(c.FormValue(f))
	}
	in := Input{Name: form["name"], Audience: form["audience"], Eligibility: form["eligibility"],
		Benefits: splitLines(form["benefits"]), ValidityKind: form["validity_kind"],
		ConsentRequired: yesNo(form["consent_required"]), Renewable: yesNo(form["renewable"])}
	switch ValidityKind(form["validity_kind"]) {
	case ValidForDays:
		in.ValidityDays = form["validity_days"]
	case ValidUntilDischarge:
		in.ValidityDays = form["stay_days"]
	case ValidUntilDate:
		in.ValidUntilDate = Date{Day: form["until_day"], Month: form["until_month"], Year: form["until_year"]}
	}
	return in, form
}

// formValues returns a scheme's details as form values.
func formValues(s Scheme) map[string]string {
	in := inputOf(s)
	form := map[string]string{"name": in.Name, "audience": in.Audience, "eligibility": in.Eligibility,
		"benefits": strings.Join(in.Benefits, "\n"), "validity_kind": in.ValidityKind,
		"until_day": in.ValidUntilDate.Day, "until_month": in.ValidUntilDate.Month, "until_year": in.ValidUntilDate.Year,
		"consent_required": yesNoOf(s.ConsentRequired), "renewable": yesNoOf(s.Renewable)}
	if s.ValidityKind == ValidUntilDischarge {
		form["stay_days"] = in.ValidityDays
	} else {
		form["validity_days"] = in.ValidityDays
	}
	return form
}

// formErrors points the errors of a stay passport's number of days at the
// box the form shows for it.
func formErrors(err error, kind string) error {
	fe := errs.FieldsOf(err)
	if fe == nil || ValidityKind(kind) != ValidUntilDischarge {
		return err
	}
	out := make([]errs.FieldError, len(fe))
	for i, f := range fe {
		if f.Field == "validity_days" {
			f.Field = "stay_days"
		}
		out[i] = f
	}
	return errs.Validation(out...)
}

func options() ([]option, []option) {
	var aud, kinds []option
	for i, a := range Audiences {
		aud = append(aud, option{ID: optionID("audience", i), Value: string(a), Label: a.Label(), Hint: a.Hint()})
	}
	for i, k := range ValidityKinds {
		kinds = append(kinds, option{ID: optionID("validity_kind", i), Value: string(k), Label: k.Label(), Hint: k.Hint()})
	}
	return aud, kinds
}

func (h handler) newView(c *fiber.Ctx) page.Data {
	aud, kinds := options()
	return page.New(c, "Create a scheme", formView{Heading: "Create a scheme", Action: tenants.Path(c, "/schemes"),
		Submit: "Create scheme", Back: tenants.Path(c, "/schemes"), Audiences: aud, Kinds: kinds})
}

func (h handler) newForm(c *fiber.Ctx) error {
	d := h.newView(c)
	d.Form = map[string]string{"consent_required": "yes", "renewable": "yes"}
	return page.Render(c, "scheme/form", d)
}

func (h handler) create(c *fiber.Ctx) error {
	in, form := formInput(c)
	s, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return page.Invalid(c, "scheme/form", h.newView(c), formErrors(err, in.ValidityKind), form)
	}
	page.SetFlash(c, s.Name+" has been created.")
	return c.Redirect(tenants.Path(c, "/schemes/"+s.ID.String()), fiber.StatusSeeOther)
}

func (h handler) editView(c *fiber.Ctx, id uuid.UUID) page.Data {
	back := tenants.Path(c, "/schemes/"+id.String())
	aud, kinds := options()
	return page.New(c, "Change scheme", formView{Heading: "Change scheme", Action: back, Submit: "Save changes",
		Back: back, Audiences: aud, Kinds: kinds, Editing: true})
}

func (h handler) editForm(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	d := h.editView(c, id)
	d.Form = formValues(s)
	return page.Render(c, "scheme/form", d)
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	in, form := formInput(c)
	s, err := h.svc.Update(c.UserContext(), id, in)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return err
		}
		return page.Invalid(c, "scheme/form", h.editView(c, id), formErrors(err, in.ValidityKind), form)
	}
	page.SetFlash(c, "The changes to "+s.Name+" have been saved.")
	return c.Redirect(tenants.Path(c, "/schemes/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) retire(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Retire(c.UserContext(), id)
	if err != nil {
		return err
	}
	page.SetFlash(c, s.Name+" has been retired. No new passports can be issued under it.")
	return c.Redirect(tenants.Path(c, "/schemes/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) reactivate(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Reactivate(c.UserContext(), id)
	if err != nil {
		return err
	}
	page.SetFlash(c, s.Name+" is active again. Passports can be issued under it.")
	return c.Redirect(tenants.Path(c, "/schemes/"+id.String()), fiber.StatusSeeOther)
}

// JSON API.

// schemeJSON is a scheme as the API shows it.
type schemeJSON struct {
	ID              uuid.UUID    `json:"id"`
	Name            string       `json:"name"`
	Audience        Audience     `json:"audience"`
	Eligibility     string       `json:"eligibility"`
	Benefits        []string     `json:"benefits"`
	ValidityKind    ValidityKind `json:"validity_kind"`
	ValidityDays    *int         `json:"validity_days"`
	ValidUntilDate  *string      `json:"valid_until_date"`
	ConsentRequired bool         `json:"consent_required"`
	Renewable       bool         `json:"renewable"`
	Status          Status       `json:"status"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

func toJSON(s Scheme) schemeJSON {
	out := schemeJSON{ID: s.ID, Name: s.Name, Audience: s.Audience, Eligibility: s.Eligibility, Benefits: s.Benefits,
		ValidityKind: s.ValidityKind, ConsentRequired: s.ConsentRequired, Renewable: s.Renewable, Status: s.Status,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if out.Benefits == nil {
		out.Benefits = []string{}
	}
	if s.ValidityDays > 0 {
		out.ValidityDays = ptr(s.ValidityDays)
	}
	if !s.ValidUntilDate.IsZero() {
		out.ValidUntilDate = ptr(s.ValidUntilDate.Format(time.DateOnly))
	}
	return out
}

func (h handler) listJSON(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext(), c.QueryBool("include_retired", false))
	if err != nil {
		return err
	}
	out := make([]schemeJSON, len(list))
	for i, s := range list {
		out[i] = toJSON(s)
	}
	return c.JSON(fiber.Map{"schemes": out})
}

func (h handler) showJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(s))
}

type createRequest struct {
	Name            string   `json:"name"`
	Audience        string   `json:"audience"`
	Eligibility     string   `json:"eligibility"`
	Benefits        []string `json:"benefits"`
	ValidityKind    string   `json:"validity_kind"`
	ValidityDays    *int     `json:"validity_days"`
	ValidUntilDate  *string  `json:"valid_until_date"`
	ConsentRequired *bool    `json:"consent_required"`
	Renewable       *bool    `json:"renewable"`
}

func (h handler) createJSON(c *fiber.Ctx) error {
	var req createRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	in := Input{Name: req.Name, Audience: req.Audience, Eligibility: req.Eligibility, Benefits: req.Benefits,
		ValidityKind: req.ValidityKind, ConsentRequired: req.ConsentRequired, Renewable: req.Renewable}
	if req.ValidityDays != nil {
		in.ValidityDays = strconv.Itoa(*req.ValidityDays)
	}
	if req.ValidUntilDate != nil {
		in.ValidUntilDate = DateFromISO(*req.ValidUntilDate)
	}
	// As in the table: consent is needed and passports are renewable
	// unless the request says otherwise.
	if in.ConsentRequired == nil {
		in.ConsentRequired = ptr(true)
	}
	if in.Renewable == nil {
		in.Renewable = ptr(true)
	}
	s, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toJSON(s))
}

type updateRequest struct {
	Name            *string   `json:"name"`
	Audience        *string   `json:"audience"`
	Eligibility     *string   `json:"eligibility"`
	Benefits        *[]string `json:"benefits"`
	ValidityKind    *string   `json:"validity_kind"`
	ValidityDays    *int      `json:"validity_days"`
	ValidUntilDate  *string   `json:"valid_until_date"`
	ConsentRequired *bool     `json:"consent_required"`
	Renewable       *bool     `json:"renewable"`
}

func (h handler) updateJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	var req updateRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	s, err := h.svc.Change(c.UserContext(), id, Changes(req))
	if err != nil {
		return err
	}
	return c.JSON(toJSON(s))
}

func (h handler) retireJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoScheme)
	if err != nil {
		return err
	}
	s, err := h.svc.Retire(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(s))
}
