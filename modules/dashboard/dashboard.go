// Package dashboard is each tenant's start page: what the signed-in person
// can do here, by role, with the figures later capabilities add to it.
package dashboard

import (
	"context"
	"embed"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// HolderCounter counts the tenant's holders.
type HolderCounter interface {
	Count(ctx context.Context) (int64, error)
}

// Routes mounts the dashboard page and its JSON twin. figures, when not
// nil, adds the charts of the tenant's kind to the page.
func Routes(tenant, api fiber.Router, enf *policy.Enforcers, holders HolderCounter, figures *Service) {
	h := handler{enf: enf, holders: holders, figures: figures}
	tenant.Get("/", enf.Require("dashboard", "read"), h.page)
	api.Get("/me", enf.Require("dashboard", "read"), h.me)
}

type handler struct {
	enf     *policy.Enforcers
	holders HolderCounter
	figures *Service
}

// view is what the dashboard shows.
type view struct {
	Holders    int64
	ShowCounts bool
	Charts     []template.HTML
	Period     string // the months the charts cover, in words
}

func (h handler) allowed(c *fiber.Ctx, object, action string) bool {
	ctx := c.UserContext()
	t, _ := tenants.FromContext(ctx)
	actor, _ := tenants.ActorFrom(ctx)
	ok, err := h.enf.Allowed(ctx, t.ID.String(), actor.String(), policy.Permission{Object: object, Action: action})
	return err == nil && ok
}

func (h handler) page(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, _ := tenants.FromContext(ctx)
	var v view
	if h.allowed(c, "holder", "read") {
		n, err := h.holders.Count(ctx)
		if err != nil {
			return err
		}
		v.Holders, v.ShowCounts = n, true
	}
	if h.figures != nil {
		charts, period, err := h.charts(c, t.Kind)
		if err != nil {
			return err
		}
		v.Charts, v.Period = charts, period
	}
	return page.Render(c, "dashboard/dashboard", page.New(c, "Dashboard", v))
}

func (h handler) me(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, _ := tenants.FromContext(ctx)
	actor, _ := tenants.ActorFrom(ctx)
	var perms []string
	for _, info := range policy.Catalogue() {
		if ok, err := h.enf.Allowed(ctx, t.ID.String(), actor.String(), info.Permission); err == nil && ok {
			perms = append(perms, info.Permission.String())
		}
	}
	return c.JSON(fiber.Map{"account_id": actor, "tenant": fiber.Map{"id": t.ID, "slug": t.Slug, "name": t.Name, "kind": t.Kind, "status": t.Status},
		"permissions": perms})
}
