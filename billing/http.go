package billing

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds billing's page templates, under templates/ (namespace
// "billing").
//
//go:embed templates/*.html
var Templates embed.FS

// WebhookPath is where Stripe delivers events. It is public and takes no
// session, so the web layer must exempt it from the CSRF check.
const WebhookPath = "/stripe/webhook"

// Routes mounts the billing page on tenant (the /t/:slug router): GET
// /billing shows the plan, the state and usage against the plan's limits;
// POST /billing/plan chooses a plan (Stripe Checkout, or a change to the
// subscription); POST /billing/portal opens the Stripe Customer Portal.
// All need billing:manage.
func Routes(tenant fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc}
	manage := enf.Require("billing", "manage")
	tenant.Get(BillingPath, manage, h.show)
	tenant.Post(BillingPath+"/plan", manage, h.choose)
	tenant.Post(BillingPath+"/portal", manage, h.portal)
}

// OperatorRoutes mounts GET /billing on operator (the /operator router):
// every tenant's plan, state and latest Stripe event, for those who may
// read tenants.
func OperatorRoutes(operator fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc}
	operator.Get("/billing", enf.RequirePlatform("tenants", "read"), h.overview)
}

// WebhookRoutes mounts POST WebhookPath on public (the router with no
// tenant and no sign-in). Stripe's signature is its only authentication.
func WebhookRoutes(public fiber.Router, svc *Service) {
	h := handler{svc: svc}
	public.Post(WebhookPath, h.webhook)
}

type handler struct{ svc *Service }

// webhook answers Stripe: 200 when the event is applied or needs nothing,
// 400 when the delivery is not signed as it must be (nothing changed), and
// 5xx when it should be retried.
func (h handler) webhook(c *fiber.Ctx) error {
	payload := bytes.Clone(c.Body())
	sig := strings.Clone(c.Get("Stripe-Signature"))
	err := h.svc.HandleWebhook(c.UserContext(), payload, sig)
	switch {
	case err == nil:
		return c.JSON(fiber.Map{"received": true})
	case errs.Is(err, errs.Invalid):
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": errs.MessageOf(err)})
	case errs.Is(err, errs.Unavailable):
		h.svc.log.Error("billing: webhook failed; Stripe will retry", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "temporarily unavailable"})
	}
	h.svc.log.Error("billing: webhook failed; Stripe will retry", "err", err)
	return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"error": "internal error"})
}

// planOption is one plan offered on the billing page.
type planOption struct {
	Plan
	Current bool
	Hint    string // its summary, limits, price basis and why the usage does not fit it
}

type usageRow struct {
	Label string
	Used  string
	Max   string
	Over  bool
}

type featureRow struct {
	Label    string
	Included bool
}

type billingView struct {
	Enabled  bool
	Status   Status
	Usage    []usageRow
	Features []featureRow
	Options  []planOption
	Nonce    string
	Notice   string
	Banner   string
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func maxText(n int) string {
	if n == Unlimited {
		return "No limit"
	}
	return num(n)
}

// view builds the billing page of the tenant in the request.
func (h handler) view(c *fiber.Ctx) (billingView, error) {
	ctx := c.UserContext()
	t, _ := tenants.FromContext(ctx)
	st, err := h.svc.Status(ctx, t.ID)
	if err != nil {
		return billingView{}, err
	}
	usage, err := h.svc.Usage(ctx)
	if err != nil {
		return billingView{}, err
	}
	v := billingView{Enabled: h.svc.Enabled(), Status: st, Nonce: newNonce()}
	if v.Enabled {
		v.Banner = banner(st, h.svc.clock())
	}
	for _, u := range usage {
		v.Usage = append(v.Usage, usageRow{Label: capital(u.Label), Used: num(u.Used), Max: maxText(u.Max), Over: u.Over()})
	}
	for _, f := range Features {
		v.Features = append(v.Features, featureRow{Label: featureLabel(f), Included: st.Plan.Features[f]})
	}
	for _, p := range Plans {
		if !p.For(t.Kind) {
			continue
		}
		v.Options = append(v.Options, planOption{Plan: p, Current: p.Key == st.Plan.Key, Hint: planHint(p, usage)})
	}
	switch c.Query("checkout") {
	case "done":
		v.Notice = "Thank you. Stripe has taken your details; this page shows the new plan as soon as Stripe confirms it, usually within a minute."
	case "cancelled":
		v.Notice = "You left Stripe's payment page, so nothing has changed."
	}
	return v, nil
}

// planHint describes a plan in the list to choose from.
func planHint(p Plan, usage []Usage) string {
	var b strings.Builder
	b.WriteString(p.Summary + ".")
	for i, l := range Limits {
		sep := "; "
		if i == 0 {
			sep = " "
		}
		what := "no limit"
		if n := p.Limit(l); n != Unlimited {
			what = "up to " + num(n)
		}
		b.WriteString(sep + capital(limitLabel(l)) + ": " + what)
	}
	b.WriteString(".")
	switch {
	case p.Free():
		b.WriteString(" Free.")
	case p.PerSeat:
		b.WriteString(" Billed for each active holder.")
	}
	for _, u := range usage {
		if max := p.Limit(u.Limit); max != Unlimited && u.Used > max {
			b.WriteString(" You have " + num(u.Used) + " " + u.Label + ", more than it allows.")
		}
	}
	return b.String()
}

// capital starts s with a capital letter.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

const pageTitle = "Billing"

func (h handler) show(c *fiber.Ctx) error {
	v, err := h.view(c)
	if err != nil {
		return err
	}
	return page.Render(c, "billing/billing", page.New(c, pageTitle, v))
}

// again shows the billing page with err in the error summary: a choice the
// rules refuse (422), or Stripe out of reach (503). Other errors go to the
// error handler.
func (h handler) again(c *fiber.Ctx, err error, form map[string]string) error {
	v, verr := h.view(c)
	if verr != nil {
		return verr
	}
	d := page.New(c, pageTitle, v)
	if errs.Is(err, errs.Unavailable) {
		d.Errors, d.Form = []errs.FieldError{{Message: errs.MessageOf(err)}}, form
		c.Status(fiber.StatusServiceUnavailable)
		return page.Render(c, "billing/billing", d)
	}
	return page.Invalid(c, "billing/billing", d, err, form)
}

func (h handler) choose(c *fiber.Ctx) error {
	form := map[string]string{"plan": strings.Clone(c.FormValue("plan"))}
	nonce := strings.Clone(c.FormValue("nonce"))
	ch, err := h.svc.ChoosePlan(c.UserContext(), form["plan"], nonce)
	if err != nil {
		return h.again(c, err, form)
	}
	if ch.RedirectURL != "" {
		return c.Redirect(ch.RedirectURL, fiber.StatusSeeOther)
	}
	page.SetFlash(c, ch.Message)
	return c.Redirect(tenants.Path(c, BillingPath), fiber.StatusSeeOther)
}

func (h handler) portal(c *fiber.Ctx) error {
	url, err := h.svc.Portal(c.UserContext(), strings.Clone(c.FormValue("nonce")))
	if err != nil {
		return h.again(c, err, nil)
	}
	return c.Redirect(url, fiber.StatusSeeOther)
}

type overviewView struct {
	Enabled bool
	Rows    []Status
}

func (h handler) overview(c *fiber.Ctx) error {
	list, err := h.svc.Overview(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "billing/operator", page.New(c, "Billing of every organisation", overviewView{Enabled: h.svc.Enabled(), Rows: list}))
}
