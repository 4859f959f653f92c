package careplan

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

// Templates holds the module's pages, rendered in the "careplan" namespace.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the discharge pages on the tenant router (/t/:slug) and
// their JSON on the tenant API router (/api/v1/t/:slug). The board and
// plans need careplan:read to see and careplan:write to change; booking a
// carer from a plan needs booking:write as well.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write := enf.Require("careplan", "read"), enf.Require("careplan", "write")
	book := enf.Require("booking", "write")

	tenant.Get("/discharge", read, h.board)
	tenant.Get("/discharge/plans/new", write, h.newPlan)
	tenant.Post("/discharge/plans", write, h.createPlan)
	tenant.Get("/discharge/plans/:id", read, h.plan)
	tenant.Post("/discharge/plans/:id/needs", write, h.addNeed)
	tenant.Post("/discharge/plans/:id/carers", write, h.addCarer)
	tenant.Post("/discharge/plans/:id/bookings", write, book, h.book)

	api.Get("/discharge/board", read, h.boardJSON)
	api.Post("/careplans", write, h.createPlanJSON)
	api.Get("/careplans/:id", read, h.planJSON)
	api.Patch("/careplans/:id", write, h.updatePlanJSON)
	api.Post("/careplans/:id/needs", write, h.addNeedJSON)
	api.Post("/careplans/:id/carers", write, h.addCarerJSON)
	api.Post("/careplans/:id/bookings", write, book, h.bookJSON)
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

func (h handler) planPath(c *fiber.Ctx, id uuid.UUID) string {
	return tenants.Path(c, "/discharge/plans/"+id.String())
}

// The board.

type boardView struct {
	Board
	CanWrite bool
	Within   int
}

func (h handler) board(c *fiber.Ctx) error {
	b, err := h.svc.Board(c.UserContext(), strings.Clone(c.Query("ward")))
	if err != nil {
		return err
	}
	title := "Discharge readiness"
	if b.Ward != "" {
		title = b.Ward + ": " + title
	}
	return page.Render(c, "careplan/board", page.New(c, title, boardView{Board: b, Within: NotReadyWithinDays,
		CanWrite: h.enf.Can(c, "careplan", "write")}))
}

// New plan.

type newPlanView struct {
	Children []Option
}

func (h handler) newPlanData(c *fiber.Ctx) (page.Data, error) {
	ch, err := h.svc.Choices(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Start a care plan", newPlanView{Children: ch.Children}), nil
}

func (h handler) newPlan(c *fiber.Ctx) error {
	d, err := h.newPlanData(c)
	if err != nil {
		return err
	}
	d.Form = map[string]string{"required_carers": strconv.Itoa(DefaultRequiredCarers), "ward": strings.Clone(c.Query("ward"))}
	return page.Render(c, "careplan/plan_new", d)
}

func (h handler) createPlan(c *fiber.Ctx) error {
	form := formOf(c, "cared_for_id", "ward", "expected_discharge", "required_carers")
	in := PlanInput{Ward: form["ward"], ExpectedDischarge: form["expected_discharge"]}
	in.CaredForID, _ = uuid.Parse(form["cared_for_id"])
	var fe []errs.FieldError
	if raw := strings.TrimSpace(form["required_carers"]); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "required_carers", Message: "Enter the number of competent carers required as a whole number, at least 1"})
		}
		in.RequiredCarers = &n
	}
	var p Plan
	err := errs.Validation(fe...)
	if len(fe) == 0 {
		p, err = h.svc.CreatePlan(c.UserContext(), in)
	}
	if err != nil {
		d, derr := h.newPlanData(c)
		if derr != nil {
			return derr
		}
		return page.Invalid(c, "careplan/plan_new", d, err, form)
	}
	page.SetFlash(c, "Care plan started for "+p.ChildName+". Add the care needs and the named carers.")
	return c.Redirect(h.planPath(c, p.ID), fiber.StatusSeeOther)
}

// The plan page.

type planView struct {
	PlanReadings
	Choices  Choices
	CanWrite bool
	CanBook  bool
	Ticked   map[string]bool // competencies ticked in a redisplayed form
}

func (h handler) planData(c *fiber.Ctx, id uuid.UUID) (page.Data, error) {
	ctx := c.UserContext()
	v, err := h.svc.Plan(ctx, id)
	if err != nil {
		return page.Data{}, err
	}
	pv := planView{PlanReadings: v, CanWrite: h.enf.Can(c, "careplan", "write"), CanBook: h.enf.Can(c, "booking", "write")}
	if pv.CanWrite {
		if pv.Choices, err = h.svc.Choices(ctx); err != nil {
			return page.Data{}, err
		}
	}
	return page.New(c, "Care plan: "+v.Plan.ChildName, pv), nil
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
	return page.Render(c, "careplan/plan", d)
}

func (h handler) planInvalid(c *fiber.Ctx, id uuid.UUID, err error, form map[string]string) error {
	if errs.FieldsOf(err) == nil && !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
		return err
	}
	d, derr := h.planData(c, id)
	if derr != nil {
		return derr
	}
	pv := d.Content.(planView)
	pv.Ticked = map[string]bool{}
	for k := range form {
		if id, ok := strings.CutPrefix(k, "competency:"); ok {
			pv.Ticked[id] = true
		}
	}
	d.Content = pv
	return page.Invalid(c, "careplan/plan", d, err, form)
}

func (h handler) addNeed(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	form := formOf(c, "name")
	in := NeedInput{Name: form["name"]}
	for _, raw := range c.Request().PostArgs().PeekMulti("competency_ids") {
		cid, err := uuid.Parse(string(raw))
		if err != nil {
			return h.planInvalid(c, id, errs.Validation(errs.FieldError{Field: "competency_ids", Message: "Choose competencies from the list"}), form)
		}
		in.Competencies = append(in.Competencies, cid)
		form["competency:"+cid.String()] = "on"
	}
	added, err := h.svc.AddNeed(c.UserContext(), id, in)
	if err != nil {
		return h.planInvalid(c, id, err, form)
	}
	msg := "Care need " + added.Need.Name + " recorded."
	if n := len(added.Gaps); n > 0 {
		msg += " " + strconv.Itoa(n) + " training gaps opened for the named carers: suitable sessions are suggested below."
	} else {
		msg += " Every named carer is already competent in it."
	}
	page.SetFlash(c, msg)
	return c.Redirect(h.planPath(c, id)+"#carers", fiber.StatusSeeOther)
}

func (h handler) addCarer(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	form := formOf(c, "holder_id", "relationship")
	hid, _ := uuid.Parse(form["holder_id"])
	if err := h.svc.AddCarer(c.UserContext(), id, CarerInput{HolderID: hid, Relationship: form["relationship"]}); err != nil {
		return h.planInvalid(c, id, err, form)
	}
	page.SetFlash(c, "Named carer added.")
	return c.Redirect(h.planPath(c, id)+"#carers", fiber.StatusSeeOther)
}

func (h handler) book(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	form := formOf(c, "holder_id", "session_id")
	hid, _ := uuid.Parse(form["holder_id"])
	sid, _ := uuid.Parse(form["session_id"])
	b, err := h.svc.Book(c.UserContext(), id, hid, sid)
	if err != nil {
		if errs.Is(err, errs.NotFound) && sid != uuid.Nil {
			err = errs.E(errs.Conflict, "That session is no longer available: choose another")
		}
		return h.planInvalid(c, id, err, form)
	}
	if b.Waiting {
		page.SetFlash(c, "The session is full: "+b.HolderName+" is on the waiting list.")
	} else {
		page.SetFlash(c, b.HolderName+" has a place on the session.")
	}
	return c.Redirect(h.planPath(c, id)+"#carers", fiber.StatusSeeOther)
}

// JSON.

func (h handler) boardJSON(c *fiber.Ctx) error {
	b, err := h.svc.Board(c.UserContext(), strings.Clone(c.Query("ward")))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (h handler) createPlanJSON(c *fiber.Ctx) error {
	var in PlanInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	p, err := h.svc.CreatePlan(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1" + tenants.Path(c, "/careplans/"+p.ID.String()))
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (h handler) planJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	v, err := h.svc.Plan(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) updatePlanJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	var in PlanChanges
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	p, err := h.svc.UpdatePlan(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (h handler) addNeedJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	var in NeedInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	added, err := h.svc.AddNeed(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	if added.Gaps == nil {
		added.Gaps = []CarerGap{}
	}
	return c.Status(fiber.StatusCreated).JSON(added)
}

func (h handler) addCarerJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	var in CarerInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	if err := h.svc.AddCarer(c.UserContext(), id, in); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type bookRequest struct {
	HolderID  uuid.UUID `json:"holder_id"`
	SessionID uuid.UUID `json:"session_id"`
}

func (h handler) bookJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPlan)
	if err != nil {
		return err
	}
	var in bookRequest
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	b, err := h.svc.Book(c.UserContext(), id, in.HolderID, in.SessionID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(b)
}
