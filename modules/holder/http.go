package holder

import (
	"embed"
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

// Routes mounts the holder pages on the tenant router (/t/:slug) and their
// JSON on the tenant API router (/api/v1/t/:slug). Reading needs
// holder:read; adding and changing holders needs holder:write.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write := enf.Require("holder", "read"), enf.Require("holder", "write")
	tenant.Get("/holders", read, h.list)
	tenant.Get("/holders/new", write, h.newForm)
	tenant.Post("/holders", write, h.create)
	tenant.Get("/holders/:id", read, h.show)
	tenant.Get("/holders/:id/edit", write, h.editForm)
	tenant.Post("/holders/:id", write, h.update)
	tenant.Post("/holders/:id/status", write, h.setStatus)
	api.Get("/holders", read, h.listJSON)
	api.Post("/holders", write, h.createJSON)
	api.Get("/holders/:id", read, h.showJSON)
	api.Patch("/holders/:id", write, h.updateJSON)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

// allowed reports whether the signed-in account holds obj:act in the
// request's tenant, to decide which controls a page shows. The routes
// themselves are guarded by Require.
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

type listView struct {
	Query    string
	Holders  []Holder
	CanWrite bool
}

func (h handler) list(c *fiber.Ctx) error {
	q := c.Query("q")
	list, err := h.svc.List(c.UserContext(), q, 100)
	if err != nil {
		return err
	}
	return page.Render(c, "holder/list", page.New(c, "Holders", listView{Query: q, Holders: list,
		CanWrite: allowed(c, h.enf, "holder", "write")}))
}

type showView struct {
	Details
	CanWrite bool
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	d, err := h.svc.Details(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "holder/show", page.New(c, d.Name(), showView{Details: d, CanWrite: allowed(c, h.enf, "holder", "write")}))
}

// Add and change forms.

type formView struct {
	Heading string
	Action  string
	Submit  string
	Back    string
	Roles   []RoleInCare
}

// formFields are the form's fields in the order it asks them.
var formFields = []string{"given_name", "family_name", "dob_day", "dob_month", "dob_year", "email", "phone", "role_in_care"}

// formInput reads the holder form, returning the input and the values to
// show again if the form is redisplayed.
func formInput(c *fiber.Ctx) (Input, map[string]string) {
	form := make(map[string]string, len(formFields))
	for _, f := range formFields {
		form[f] = strings.Clone(c.FormValue(f))
	}
	in := Input{
		GivenName:   form["given_name"],
		FamilyName:  form["family_name"],
		DateOfBirth: Date{Day: form["dob_day"], Month: form["dob_month"], Year: form["dob_year"]},
		Email:       form["email"],
		Phone:       form["phone"],
		RoleInCare:  form["role_in_care"],
	}
	return in, form
}

// formValues returns a holder's details as form values.
func formValues(hd Holder) map[string]string {
	in := inputOf(hd)
	return map[string]string{"given_name": in.GivenName, "family_name": in.FamilyName, "dob_day": in.DateOfBirth.Day,
		"dob_month": in.DateOfBirth.Month, "dob_year": in.DateOfBirth.Year, "email": in.Email, "phone": in.Phone,
		"role_in_care": in.RoleInCare}
}

func (h handler) newView(c *fiber.Ctx) page.Data {
	return page.New(c, "Add a holder", formView{Heading: "Add a holder", Action: tenants.Path(c, "/holders"),
		Submit: "Add holder", Back: tenants.Path(c, "/holders"), Roles: RolesInCare})
}

func (h handler) newForm(c *fiber.Ctx) error {
	return page.Render(c, "holder/form", h.newView(c))
}

type hiddenField struct{ Name, Value string }

type duplicateView struct {
	Matches []Holder
	Name    string
	Hidden  []hiddenField
	Action  string
	Back    string
}

func (h handler) create(c *fiber.Ctx) error {
	in, form := formInput(c)
	confirmed := c.FormValue("confirm_duplicate") == "yes"
	hd, err := h.svc.Enrol(c.UserContext(), in, confirmed)
	if matches, ok := Duplicates(err); ok {
		v := duplicateView{Matches: matches, Name: normaliseName(in.GivenName) + " " + normaliseName(in.FamilyName),
			Action: tenants.Path(c, "/holders"), Back: tenants.Path(c, "/holders")}
		for _, f := range formFields {
			v.Hidden = append(v.Hidden, hiddenField{Name: f, Value: form[f]})
		}
		return page.Render(c, "holder/duplicate", page.New(c, "This may be someone already recorded", v))
	}
	if err != nil {
		return page.Invalid(c, "holder/form", h.newView(c), err, form)
	}
	page.SetFlash(c, hd.Name()+" has been added.")
	return c.Redirect(tenants.Path(c, "/holders/"+hd.ID.String()), fiber.StatusSeeOther)
}

func (h handler) editView(c *fiber.Ctx, id uuid.UUID) page.Data {
	back := tenants.Path(c, "/holders/"+id.String())
	return page.New(c, "Change details", formView{Heading: "Change details", Action: back,
		Submit: "Save changes", Back: back, Roles: RolesInCare})
}

func (h handler) editForm(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	hd, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	d := h.editView(c, id)
	d.Form = formValues(hd)
	return page.Render(c, "holder/form", d)
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	in, form := formInput(c)
	hd, err := h.svc.Update(c.UserContext(), id, Changes{GivenName: &in.GivenName, FamilyName: &in.FamilyName,
		DateOfBirth: &in.DateOfBirth, Email: &in.Email, Phone: &in.Phone, RoleInCare: &in.RoleInCare})
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return err
		}
		return page.Invalid(c, "holder/form", h.editView(c, id), err, form)
	}
	page.SetFlash(c, "The details of "+hd.Name()+" have been saved.")
	return c.Redirect(tenants.Path(c, "/holders/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) setStatus(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	status := c.FormValue("status")
	if status != StatusActive && status != StatusLeft {
		return errs.E(errs.Invalid, "Choose whether the holder has left or is active")
	}
	hd, err := h.svc.SetStatus(c.UserContext(), id, status)
	if err != nil {
		return err
	}
	if hd.Left() {
		page.SetFlash(c, hd.Name()+" has been marked as left.")
	} else {
		page.SetFlash(c, hd.Name()+" has been marked as active.")
	}
	return c.Redirect(tenants.Path(c, "/holders/"+id.String()), fiber.StatusSeeOther)
}

// JSON API.

func (h handler) listJSON(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext(), c.Query("q"), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"holders": list})
}

func (h handler) showJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	hd, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(hd)
}

// isoDate accepts a date (2016-03-31) or a date-time whose date part is used.
func isoDate(s string) Date {
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	return DateFromISO(s)
}

type createRequest struct {
	GivenName        string `json:"given_name"`
	FamilyName       string `json:"family_name"`
	DateOfBirth      string `json:"date_of_birth"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	RoleInCare       string `json:"role_in_care"`
	ConfirmDuplicate bool   `json:"confirm_duplicate"`
}

type matchJSON struct {
	ID          uuid.UUID  `json:"id"`
	GivenName   string     `json:"given_name"`
	FamilyName  string     `json:"family_name"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"`
	Status      string     `json:"status"`
}

func (h handler) createJSON(c *fiber.Ctx) error {
	var req createRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	dob := Date{}
	if req.DateOfBirth != "" {
		dob = isoDate(req.DateOfBirth)
	}
	hd, err := h.svc.Enrol(c.UserContext(), Input{GivenName: req.GivenName, FamilyName: req.FamilyName, DateOfBirth: dob,
		Email: req.Email, Phone: req.Phone, RoleInCare: req.RoleInCare}, req.ConfirmDuplicate)
	if matches, ok := Duplicates(err); ok {
		out := make([]matchJSON, len(matches))
		for i, m := range matches {
			out[i] = matchJSON{ID: m.ID, GivenName: m.GivenName, FamilyName: m.FamilyName, DateOfBirth: m.DateOfBirth, Status: m.Status}
		}
		return c.Status(fiber.StatusConflict).JSON(fiber.Map{
			"error":               fiber.Map{"code": errs.Conflict.String(), "message": MsgDuplicate + " To add them anyway, send the request again with \"confirm_duplicate\": true."},
			"possible_duplicates": out,
		})
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(hd)
}

type updateRequest struct {
	GivenName   *string `json:"given_name"`
	FamilyName  *string `json:"family_name"`
	DateOfBirth *string `json:"date_of_birth"`
	Email       *string `json:"email"`
	Phone       *string `json:"phone"`
	RoleInCare  *string `json:"role_in_care"`
	Status      *string `json:"status"`
}

func (h handler) updateJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	var req updateRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	ch := Changes{GivenName: req.GivenName, FamilyName: req.FamilyName, Email: req.Email, Phone: req.Phone,
		RoleInCare: req.RoleInCare, Status: req.Status}
	if req.DateOfBirth != nil {
		d := isoDate(*req.DateOfBirth)
		ch.DateOfBirth = &d
	}
	hd, err := h.svc.Update(c.UserContext(), id, ch)
	if err != nil {
		return err
	}
	return c.JSON(hd)
}
