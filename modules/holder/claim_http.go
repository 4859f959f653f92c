package holder

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// ClaimRoutes mounts the invitation to claim a passport on the tenant
// router (/t/:slug, holder:write) and the tenant API router
// (/api/v1/t/:slug, holder:write), and the claim link itself on the public
// router: /claim/:slug/:token, where the token decides.
func ClaimRoutes(tenant, api, public fiber.Router, svc *Service, claims *Claims, enf *policy.Enforcers, cookies account.Cookies) {
	h := claimHandler{claims: claims, holders: svc, cookies: cookies}
	write := enf.Require("holder", "write")
	tenant.Post("/holders/:id/claim", write, h.invite)
	api.Post("/holders/:id/claims", write, h.inviteJSON)
	public.Get("/claim/:slug/:token", h.form)
	public.Post("/claim/:slug/:token", h.claim)
}

type claimHandler struct {
	claims  *Claims
	holders *Service
	cookies account.Cookies
}

type claimCreatedView struct {
	HolderID  string
	Link      string
	ExpiresAt time.Time
}

// invite creates a claim link and shows it on the response itself, not
// after a redirect, so the token is never stored anywhere.
func (h claimHandler) invite(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	link, err := h.claims.Invite(ctx, id)
	if errs.Is(err, errs.Conflict) && h.holders != nil {
		// Say why on the holder's page.
		d, derr := h.holders.Details(ctx, id)
		if derr != nil {
			return derr
		}
		return page.Invalid(c, "holder/show", page.New(c, d.Name(), showView{Details: d, CanWrite: true}), err, nil)
	}
	if err != nil {
		return err
	}
	t, _ := tenants.FromContext(ctx)
	v := claimCreatedView{HolderID: id.String(), Link: h.claims.URL(c.BaseURL(), t.Slug, link.Token), ExpiresAt: link.ExpiresAt}
	c.Set("Referrer-Policy", "no-referrer")
	return page.Render(c, "holder/claim_created", page.New(c, "Link to claim a passport created", v))
}

func (h claimHandler) inviteJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoHolder)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	link, err := h.claims.Invite(ctx, id)
	if err != nil {
		return err
	}
	t, _ := tenants.FromContext(ctx)
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{
		"holder_id":  link.HolderID,
		"claim_url":  h.claims.URL(c.BaseURL(), t.Slug, link.Token),
		"expires_at": link.ExpiresAt,
	})
}

// invalidClaim is the one page for every claim link that cannot be used.
func invalidClaim(c *fiber.Ctx) error {
	c.Status(fiber.StatusNotFound)
	return page.Render(c, "holder/claim_invalid", page.New(c, "Link not valid", nil))
}

type claimView struct {
	Pending    Pending
	Action     string
	SignedInAs string // the signed-in account's email, if any
	Mode       string // the form that was submitted
}

func (h claimHandler) view(c *fiber.Ctx, p Pending, mode string) page.Data {
	v := claimView{Pending: p, Action: c.Path(), Mode: mode}
	if b := page.BaseOf(c); b.Viewer != nil {
		v.SignedInAs = b.Viewer.Email
	}
	return page.New(c, "Claim your passport from "+p.TenantName, v)
}

func (h claimHandler) form(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	ok, err := tenants.ResolveLink(c, h.claims.tenants)
	if err != nil {
		return err
	}
	if !ok {
		return invalidClaim(c)
	}
	p, err := h.claims.Open(c.UserContext(), strings.Clone(c.Params("token")))
	if errs.Is(err, errs.NotFound) {
		return invalidClaim(c)
	}
	if err != nil {
		return err
	}
	d := h.view(c, p, "")
	d.Form = map[string]string{"signin-email": p.Email, "new-email": p.Email}
	return page.Render(c, "holder/claim", d)
}

// fieldPrefix is the id prefix of each form's fields on the claim page.
var fieldPrefix = map[string]string{ClaimSignIn: "signin-", ClaimNewAccount: "new-"}

func (h claimHandler) claim(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	ok, err := tenants.ResolveLink(c, h.claims.tenants)
	if err != nil {
		return err
	}
	if !ok {
		return invalidClaim(c)
	}
	ctx := c.UserContext()
	token := strings.Clone(c.Params("token"))
	mode := c.FormValue("mode")
	prefix := fieldPrefix[mode]
	in := ClaimInput{Mode: mode, Name: c.FormValue(prefix + "name"), Email: strings.TrimSpace(c.FormValue(prefix + "email")),
		Password: c.FormValue(prefix + "password"), Confirm: c.FormValue(prefix + "confirm")}
	session, err := h.claims.Claim(ctx, token, in, account.Client{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)})
	switch {
	case errs.Is(err, errs.NotFound):
		return invalidClaim(c)
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		p, perr := h.claims.Open(ctx, token)
		if errs.Is(perr, errs.NotFound) {
			return invalidClaim(c)
		}
		if perr != nil {
			return perr
		}
		fields := errs.FieldsOf(err)
		for i := range fields {
			fields[i].Field = prefix + fields[i].Field
		}
		if len(fields) > 0 {
			err = errs.Validation(fields...)
		}
		form := map[string]string{prefix + "name": strings.Clone(in.Name), prefix + "email": strings.Clone(in.Email)}
		return page.Invalid(c, "holder/claim", h.view(c, p, mode), err, form)
	case err != nil:
		return err
	}
	if session != "" {
		h.cookies.SetSession(c, session)
	}
	t, _ := tenants.FromContext(ctx)
	page.SetFlash(c, "Your passport from "+t.Name+" is now in your Carepass account.")
	return c.Redirect("/me/passport", fiber.StatusSeeOther)
}

// PortalRoutes mounts the holder's own pages on r, a router for signed-in
// people with no tenant, mounted at /me: GET /me/passport. What they show
// is limited to the account's own person by row-level security.
func PortalRoutes(r fiber.Router, svc *Service) {
	r.Get("/passport", policy.SignedIn, func(c *fiber.Ctx) error {
		p, err := svc.Passport(c.UserContext())
		if err != nil {
			return err
		}
		return page.Render(c, "holder/passport", page.New(c, "Your passport", p))
	})
}
