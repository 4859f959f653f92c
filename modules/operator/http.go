package operator

import (
	"embed"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the operator area on r (the /operator group).
func Routes(r fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc}
	r.Get("/", enf.RequirePlatform("tenants", "read"), h.list)
	r.Get("/tenants/new", enf.RequirePlatform("tenants", "write"), h.newForm)
	r.Post("/tenants", enf.RequirePlatform("tenants", "write"), h.create)
	r.Post("/tenants/:slug/suspend", enf.RequirePlatform("tenants", "write"), h.status(tenants.StatusSuspended))
	r.Post("/tenants/:slug/resume", enf.RequirePlatform("tenants", "write"), h.status(tenants.StatusActive))
}

type handler struct{ svc *Service }

func (h handler) list(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "operator/tenants", page.New(c, "Tenants", list))
}

type formView struct {
	Kinds []tenants.Kind
}

func (h handler) newForm(c *fiber.Ctx) error {
	return page.Render(c, "operator/new", page.New(c, "Provision a tenant", formView{Kinds: tenants.Kinds}))
}

func (h handler) create(c *fiber.Ctx) error {
	form := map[string]string{}
	for _, k := range []string{"kind", "name", "slug", "ods_code", "region", "admin_email"} {
		form[k] = strings.TrimSpace(c.FormValue(k))
	}
	p, err := h.svc.Provision(c.UserContext(), NewTenant{Kind: tenants.Kind(form["kind"]), Name: form["name"], Slug: form["slug"],
		ODSCode: form["ods_code"], Region: form["region"], AdminEmail: form["admin_email"]})
	if err != nil {
		return page.Invalid(c, "operator/new", page.New(c, "Provision a tenant", formView{Kinds: tenants.Kinds}), err, form)
	}
	c.Status(fiber.StatusCreated)
	return page.Render(c, "operator/created", page.New(c, "Tenant provisioned", struct {
		Tenant     tenants.Tenant
		InviteLink string
		Email      string
	}{p.Tenant, c.BaseURL() + p.InvitePath, form["admin_email"]}))
}

func (h handler) status(st tenants.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, err := h.svc.SetStatus(c.UserContext(), c.Params("slug"), st)
		if err != nil {
			return err
		}
		verb := "resumed"
		if st == tenants.StatusSuspended {
			verb = "suspended"
		}
		page.SetFlash(c, t.Name+" has been "+verb+".")
		return c.Redirect("/operator", fiber.StatusSeeOther)
	}
}
