package holder

import (
	"embed"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the holder pages and API.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc}
	tenant.Get("/holders", enf.Require("holder", "read"), h.list)
	tenant.Get("/holders/:id", enf.Require("holder", "read"), h.show)
	api.Get("/holders", enf.Require("holder", "read"), h.listJSON)
	api.Get("/holders/:id", enf.Require("holder", "read"), h.showJSON)
}

type handler struct{ svc *Service }

type listView struct {
	Query   string
	Holders []Holder
}

func (h handler) list(c *fiber.Ctx) error {
	q := c.Query("q")
	list, err := h.svc.List(c.UserContext(), q, 100)
	if err != nil {
		return err
	}
	return page.Render(c, "holder/list", page.New(c, "Holders", listView{Query: q, Holders: list}))
}

func parseID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, errs.E(errs.NotFound, "No holder with that reference")
	}
	return id, nil
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := parseID(c)
	if err != nil {
		return err
	}
	hd, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "holder/show", page.New(c, hd.Name(), hd))
}

func (h handler) listJSON(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext(), c.Query("q"), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"holders": list})
}

func (h handler) showJSON(c *fiber.Ctx) error {
	id, err := parseID(c)
	if err != nil {
		return err
	}
	hd, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(hd)
}
