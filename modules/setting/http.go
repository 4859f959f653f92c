package setting

import (
	"embed"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds the module's pages, rendered in the "setting" namespace.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the settings pages on the tenant router (/t/:slug) and
// their JSON on the tenant API router (/api/v1/t/:slug). Settings, classes
// and class plans need setting:read to see and setting:write to change;
// bulk booking needs booking:write as well.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write := enf.Require("setting", "read"), enf.Require("setting", "write")
	book := enf.Require("booking", "write")

	tenant.Get("/care-settings", read, h.settings)
	tenant.Post("/care-settings", write, h.createSetting)
	tenant.Get("/care-settings/:id", read, h.setting)
	tenant.Post("/care-settings/:id/groups", write, h.createGroup)
	tenant.Get("/care-groups/:id", read, h.group)
	tenant.Post("/care-groups/:id/children", write, h.addChildren)
	tenant.Post("/care-groups/:id/staff", write, h.addStaff)
	tenant.Post("/care-groups/:id/plans", write, h.createPlan)
	tenant.Get("/class-plans/:id", read, h.plan)
	tenant.Post("/class-plans/:id/bookings", write, book, h.bookBulk)

	api.Get("/care-settings", read, h.settingsJSON)
	api.Post("/care-settings", write, h.createSettingJSON)
	api.Get("/care-settings/:id", read, h.settingJSON)
	api.Post("/care-settings/:id/groups", write, h.createGroupJSON)
	api.Get("/care-groups/:id", read, h.groupJSON)
	api.Post("/care-groups/:id/children", write, h.addChildrenJSON)
	api.Post("/care-groups/:id/staff", write, h.addStaffJSON)
	api.Post("/care-groups/:id/plans", write, h.createPlanJSON)
	api.Get("/class-plans/:id", read, h.planJSON)
	api.Post("/class-plans/:id/bookings", write, book, h.bookBulkJSON)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

func formOf(c *fiber.Ctx, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.Clone(c.FormValue(n))
	}
	return out
}

func multi(c *fiber.Ctx, name string) []uuid.UUID {
	var out []uuid.UUID
	for _, raw := range c.Request().PostArgs().PeekMulti(name) {
		if id, err := uuid.Parse(string(raw)); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// invalid re-renders a page with the error when it is the user's to fix.
func invalid(c *fiber.Ctx, name string, d page.Data, err error, form map[string]string) error {
	return page.Invalid(c, name, d, err, form)
}

// Settings.

type settingsView struct {
	Settings []Setting
	Kinds    []Kind
	CanWrite bool
}

func (h handler) settingsData(c *fiber.Ctx) (page.Data, error) {
	list, err := h.svc.Settings(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Care settings", settingsView{Settings: list, Kinds: Kinds, CanWrite: h.enf.Can(c, "setting", "write")}), nil
}

func (h handler) settings(c *fiber.Ctx) error {
	d, err := h.settingsData(c)
	if err != nil {
		return err
	}
	return page.Render(c, "setting/settings", d)
}

func (h handler) createSetting(c *fiber.Ctx) error {
	form := formOf(c, "kind", "name")
	st, err := h.svc.CreateSetting(c.UserContext(), SettingInput{Kind: form["kind"], Name: form["name"]})
	if err != nil {
		d, derr := h.settingsData(c)
		if derr != nil {
			return derr
		}
		return invalid(c, "setting/settings", d, err, form)
	}
	page.SetFlash(c, st.Name+" added. Add its classes or groups next.")
	return c.Redirect(tenants.Path(c, "/care-settings/"+st.ID.String()), fiber.StatusSeeOther)
}

type settingView struct {
	Setting
	CanWrite bool
}

func (h handler) settingData(c *fiber.Ctx, id uuid.UUID) (page.Data, error) {
	st, err := h.svc.Setting(c.UserContext(), id)
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, st.Name, settingView{Setting: st, CanWrite: h.enf.Can(c, "setting", "write")}), nil
}

func (h handler) setting(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoSetting)
	if err != nil {
		return err
	}
	d, err := h.settingData(c, id)
	if err != nil {
		return err
	}
	return page.Render(c, "setting/setting", d)
}

func (h handler) createGroup(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoSetting)
	if err != nil {
		return err
	}
	form := formOf(c, "name")
	g, err := h.svc.CreateGroup(c.UserContext(), id, GroupInput{Name: form["name"]})
	if err != nil {
		if errs.FieldsOf(err) == nil {
			return err
		}
		d, derr := h.settingData(c, id)
		if derr != nil {
			return derr
		}
		return invalid(c, "setting/setting", d, err, form)
	}
	page.SetFlash(c, g.Name+" added. Add its children and staff.")
	return c.Redirect(tenants.Path(c, "/care-groups/"+g.ID.String()), fiber.StatusSeeOther)
}

// Groups.

type groupView struct {
	Group
	Choices     Choices
	CanWrite    bool
	Current     int
	CurrentName string
	Coming      int
	ComingName  string
}

func (h handler) groupData(c *fiber.Ctx, id uuid.UUID) (page.Data, error) {
	ctx := c.UserContext()
	g, err := h.svc.Group(ctx, id)
	if err != nil {
		return page.Data{}, err
	}
	cur := CurrentYear(h.svc.Now())
	v := groupView{Group: g, CanWrite: h.enf.Can(c, "setting", "write"), Current: cur, CurrentName: YearLabel(cur),
		Coming: cur + 1, ComingName: YearLabel(cur + 1)}
	if v.CanWrite {
		if v.Choices, err = h.svc.Choices(ctx); err != nil {
			return page.Data{}, err
		}
	}
	return page.New(c, g.Name+", "+g.SettingName, v), nil
}

func (h handler) group(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	d, err := h.groupData(c, id)
	if err != nil {
		return err
	}
	return page.Render(c, "setting/group", d)
}

func (h handler) groupInvalid(c *fiber.Ctx, id uuid.UUID, err error, form map[string]string) error {
	if errs.FieldsOf(err) == nil {
		return err
	}
	d, derr := h.groupData(c, id)
	if derr != nil {
		return derr
	}
	return invalid(c, "setting/group", d, err, form)
}

func (h handler) addChildren(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	if err := h.svc.AddChildren(c.UserContext(), id, MemberInput{IDs: multi(c, "child_ids")}); err != nil {
		return h.groupInvalid(c, id, err, map[string]string{})
	}
	page.SetFlash(c, "Children added to the class.")
	return c.Redirect(tenants.Path(c, "/care-groups/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) addStaff(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	if err := h.svc.AddStaff(c.UserContext(), id, MemberInput{IDs: multi(c, "staff_ids")}); err != nil {
		return h.groupInvalid(c, id, err, map[string]string{})
	}
	page.SetFlash(c, "Staff attached to the class.")
	return c.Redirect(tenants.Path(c, "/care-groups/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) createPlan(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	form := formOf(c, "academic_year", "include_parents")
	year, _ := strconv.Atoi(strings.TrimSpace(form["academic_year"]))
	p, err := h.svc.CreatePlan(c.UserContext(), id, PlanInput{AcademicYear: year, IncludeParents: form["include_parents"] != ""})
	if err != nil {
		return h.groupInvalid(c, id, err, form)
	}
	page.SetFlash(c, "Class plan for "+p.Label+" made.")
	return c.Redirect(tenants.Path(c, "/class-plans/"+p.ID.String()), fiber.StatusSeeOther)
}

// Class plans.

type planView struct {
	ClassPlan
	CanBook bool
	Results []BookingResult
}

func (h handler) planData(c *fiber.Ctx, id uuid.UUID) (page.Data, error) {
	p, err := h.svc.Plan(c.UserContext(), id)
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Class plan "+p.Label+": "+p.Group.Name, planView{ClassPlan: p,
		CanBook: h.enf.Can(c, "setting", "write") && h.enf.Can(c, "booking", "write")}), nil
}

func (h handler) plan(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	d, err := h.planData(c, id)
	if err != nil {
		return err
	}
	return page.Render(c, "setting/class_plan", d)
}

// bookBulk books what the form selected and shows the plan again with each
// person's outcome.
func (h handler) bookBulk(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(c.FormValue("needs"))
	var in BulkInput
	for i := 0; i < n && i < 200; i++ {
		sid, err := uuid.Parse(c.FormValue("session_" + strconv.Itoa(i)))
		if err != nil {
			continue
		}
		in.Selections = append(in.Selections, Selection{SessionID: sid, HolderIDs: multi(c, "people_"+strconv.Itoa(i))})
	}
	results, err := h.svc.BookBulk(c.UserContext(), id, in)
	d, derr := h.planData(c, id)
	if derr != nil {
		return derr
	}
	if err != nil {
		return invalid(c, "setting/class_plan", d, err, map[string]string{})
	}
	v := d.Content.(planView)
	v.Results = results
	d.Content = v
	return page.Render(c, "setting/class_plan", d)
}

// JSON.

func (h handler) settingsJSON(c *fiber.Ctx) error {
	list, err := h.svc.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"settings": list})
}

func (h handler) createSettingJSON(c *fiber.Ctx) error {
	var in SettingInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	st, err := h.svc.CreateSetting(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(st)
}

func (h handler) settingJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoSetting)
	if err != nil {
		return err
	}
	st, err := h.svc.Setting(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (h handler) createGroupJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoSetting)
	if err != nil {
		return err
	}
	var in GroupInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	g, err := h.svc.CreateGroup(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(g)
}

func (h handler) groupJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	g, err := h.svc.Group(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(g)
}

func (h handler) addChildrenJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	var in MemberInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	if err := h.svc.AddChildren(c.UserContext(), id, in); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) addStaffJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	var in MemberInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	if err := h.svc.AddStaff(c.UserContext(), id, in); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) createPlanJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoGroup)
	if err != nil {
		return err
	}
	var in PlanInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	p, err := h.svc.CreatePlan(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (h handler) planJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	p, err := h.svc.Plan(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (h handler) bookBulkJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	var in BulkInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	res, err := h.svc.BookBulk(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": res})
}
