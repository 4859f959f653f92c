package carerpassport

import (
	"embed"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/modules/walletcard"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routers are the route groups the module mounts on.
type Routers struct {
	Tenant    fiber.Router // /t/:slug
	TenantAPI fiber.Router // /api/v1/t/:slug
	Portal    fiber.Router // /me, the signed-in holder
	Public    fiber.Router // no sign-in
	API       fiber.Router // /api/v1, no tenant
}

// PublicAPIPath is the public JSON verification endpoint: stateless (it
// ignores any session), so it takes no CSRF token.
const PublicAPIPath = "/api/v1/verify"

// Routes mounts the officers' pages and API (passport:read to see,
// passport:issue to issue, renew and re-issue, passport:revoke to suspend,
// resume, revoke and end a stay), a tenant's own check of a passport
// (verification:check), the holder's pages under /me, and the public verify
// page and endpoint. baseURL is the public address printed on wallet cards.
func Routes(r Routers, svc *Service, enf *policy.Enforcers, baseURL string) {
	h := handler{svc: svc, enf: enf, baseURL: strings.TrimRight(baseURL, "/")}
	read, issue, revoke := enf.Require("passport", "read"), enf.Require("passport", "issue"), enf.Require("passport", "revoke")
	check := enf.Require("verification", "check")

	r.Tenant.Get("/carer-passports", read, h.list)
	r.Tenant.Get("/carer-passports/new", issue, h.newForm)
	r.Tenant.Post("/carer-passports", issue, h.issue)
	r.Tenant.Get("/carer-passports/:id", read, h.view)
	r.Tenant.Get("/carer-passports/:id/qr.svg", read, h.qr)
	r.Tenant.Get("/carer-passports/:id/card.pdf", read, h.card)
	r.Tenant.Post("/carer-passports/:id/renew", issue, h.act("renew"))
	r.Tenant.Post("/carer-passports/:id/reissue", issue, h.act("reissue"))
	r.Tenant.Post("/carer-passports/:id/suspend", revoke, h.act("suspend"))
	r.Tenant.Post("/carer-passports/:id/resume", revoke, h.act("resume"))
	r.Tenant.Post("/carer-passports/:id/end-stay", revoke, h.act("end-stay"))
	r.Tenant.Get("/carer-passports/:id/revoke", revoke, h.revokeForm)
	r.Tenant.Post("/carer-passports/:id/revoke", revoke, h.revoke)
	r.Tenant.Get("/check", check, h.checkForm)
	r.Tenant.Post("/check", check, h.check)

	r.TenantAPI.Get("/carer-passports", read, h.listJSON)
	r.TenantAPI.Post("/carer-passports", issue, h.issueJSON)
	r.TenantAPI.Get("/carer-passports/:id", read, h.viewJSON)
	r.TenantAPI.Post("/carer-passports/:id/renew", issue, h.actJSON("renew"))
	r.TenantAPI.Post("/carer-passports/:id/reissue", issue, h.actJSON("reissue"))
	r.TenantAPI.Post("/carer-passports/:id/suspend", revoke, h.actJSON("suspend"))
	r.TenantAPI.Post("/carer-passports/:id/resume", revoke, h.actJSON("resume"))
	r.TenantAPI.Post("/carer-passports/:id/end-stay", revoke, h.actJSON("end-stay"))
	r.TenantAPI.Post("/carer-passports/:id/revoke", revoke, h.revokeJSON)
	r.TenantAPI.Post("/verify", check, h.checkJSON)

	r.Portal.Get("/carer-passports", policy.SignedIn, h.own)
	r.Portal.Get("/carer-passports/:id", policy.SignedIn, h.ownOne)
	r.Portal.Get("/carer-passports/:id/show", policy.SignedIn, h.ownShow)
	r.Portal.Get("/carer-passports/:id/qr.svg", policy.SignedIn, h.ownQR)
	r.Portal.Get("/carer-passports/:id/card.pdf", policy.SignedIn, h.ownCard)
	r.Portal.Post("/carer-passports/:id/renewal", policy.SignedIn, h.askRenewal)

	r.Public.Get("/verify", h.verifyForm)
	r.Public.Post("/verify", h.verify)
	r.Public.Get("/verify/:code", h.verifyLink)
	r.API.Post("/verify", h.verifyJSON)
}

type handler struct {
	svc     *Service
	enf     *policy.Enforcers
	baseURL string
}

// detail reads the officer's passport named in the path (audited).
func (h handler) detail(c *fiber.Ctx) (Detail, error) {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return Detail{}, err
	}
	return h.svc.Get(c.UserContext(), id)
}

// ownDetail reads the signed-in holder's passport named in the path.
func (h handler) ownDetail(c *fiber.Ctx) (Detail, error) {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return Detail{}, err
	}
	return h.svc.OwnOne(c.UserContext(), id)
}

// Officers' pages.

type listView struct {
	Passports []Passport
	Query     string
	State     string
	Due       bool
	Renewal   bool
	States    []Choice
	CanIssue  bool
	CanCheck  bool
}

func filterOf(c *fiber.Ctx) Filter {
	f := Filter{Query: strings.Clone(c.Query("q")), State: State(c.Query("state")), Renewal: c.Query("renewal") == "1"}
	if c.Query("due") == "1" {
		f.DueDays = 30
	}
	if holder, err := uuid.Parse(c.Query("holder")); err == nil {
		f.HolderID = holder
	}
	return f
}

var stateChoices = []Choice{{"", "Any state"}, {string(Active), "Active"}, {string(Expired), "Expired"},
	{string(Suspended), "Suspended"}, {string(Revoked), "Revoked"}}

func (h handler) list(c *fiber.Ctx) error {
	f := filterOf(c)
	list, err := h.svc.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	return page.Render(c, "carerpassport/list", page.New(c, "Carer passports", listView{Passports: list, Query: f.Query,
		State: string(f.State), Due: f.DueDays > 0, Renewal: f.Renewal, States: stateChoices, CanIssue: h.enf.Can(c, "passport", "issue"),
		CanCheck: h.enf.Can(c, "verification", "check")}))
}

type issueView struct {
	Holder   HolderOption
	Holders  []HolderOption
	Query    string
	Schemes  []SchemeOption
	Methods  []Choice
	Back     string
	Searched bool
}

func (h handler) issueView(c *fiber.Ctx, holderID uuid.UUID) (issueView, error) {
	v := issueView{Methods: ConsentMethods, Back: tenants.Path(c, "/carer-passports")}
	ctx := c.UserContext()
	if holderID != uuid.Nil {
		hold, err := h.svc.Holder(ctx, holderID)
		if err != nil {
			return v, err
		}
		v.Holder = hold
		v.Schemes, err = h.svc.SchemeOptions(ctx)
		return v, err
	}
	v.Query = strings.TrimSpace(strings.Clone(c.Query("q")))
	if v.Query != "" {
		var err error
		v.Searched = true
		if v.Holders, err = h.svc.FindHolders(ctx, v.Query); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (h handler) newForm(c *fiber.Ctx) error {
	var holderID uuid.UUID
	if s := c.Query("holder"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return errs.E(errs.NotFound, "No holder with that reference")
		}
		holderID = id
	}
	v, err := h.issueView(c, holderID)
	if err != nil {
		return err
	}
	d := page.New(c, "Issue a carer passport", v)
	d.Form = map[string]string{"consent_date-day": "", "consent_date-month": "", "consent_date-year": ""}
	return page.Render(c, "carerpassport/issue", d)
}

var issueFields = []string{"holder", "scheme", "cared_for_name", "relationship", "health_details", "consent_given_by",
	"consent_method", "consent_date-day", "consent_date-month", "consent_date-year", "stay_reference", "note"}

// formDate reads a day, month and year typed in three boxes: nil when all
// are blank, and an error naming the field when they make no real date.
func formDate(field, day, month, year string) (*time.Time, error) {
	if strings.TrimSpace(day+month+year) == "" {
		return nil, nil
	}
	d, e1 := strconv.Atoi(strings.TrimSpace(day))
	m, e2 := strconv.Atoi(strings.TrimSpace(month))
	y, e3 := strconv.Atoi(strings.TrimSpace(year))
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	if e1 != nil || e2 != nil || e3 != nil || y < 1900 || t.Day() != d || int(t.Month()) != m {
		return nil, errs.Validation(errs.FieldError{Field: field, Message: "Date consent was given must be a real date"})
	}
	return &t, nil
}

func (h handler) issue(c *fiber.Ctx) error {
	form := map[string]string{}
	for _, f := range issueFields {
		form[f] = strings.Clone(c.FormValue(f))
	}
	holderID, _ := uuid.Parse(form["holder"])
	schemeID, _ := uuid.Parse(form["scheme"])
	in := IssueInput{HolderID: holderID, SchemeID: schemeID, CaredForName: form["cared_for_name"], Relationship: form["relationship"],
		HealthDetails: form["health_details"], ConsentGivenBy: form["consent_given_by"], ConsentMethod: form["consent_method"],
		StayReference: form["stay_reference"], Note: form["note"]}
	var err error
	in.ConsentDate, err = formDate("consent_date", form["consent_date-day"], form["consent_date-month"], form["consent_date-year"])
	var p Passport
	if err == nil {
		p, err = h.svc.Issue(c.UserContext(), in)
	}
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		v, verr := h.issueView(c, holderID)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "carerpassport/issue", page.New(c, "Issue a carer passport", v), err, form)
	}
	page.SetFlash(c, "Passport issued to "+p.HolderName+". Give them the code or print their wallet card.")
	return c.Redirect(tenants.Path(c, "/carer-passports/"+p.ID.String()), fiber.StatusSeeOther)
}

type detailView struct {
	Detail
	Reasons   []Choice
	CanIssue  bool
	CanRevoke bool
	Base      string
	VerifyURL string
}

func (h handler) view(c *fiber.Ctx) error {
	d, err := h.detail(c)
	if err != nil {
		return err
	}
	id := d.ID
	c.Set(fiber.HeaderCacheControl, "no-store")
	return page.Render(c, "carerpassport/passport", page.New(c, "Carer passport of "+d.HolderName, detailView{Detail: d,
		Reasons: RevokeReasons, CanIssue: h.enf.Can(c, "passport", "issue"), CanRevoke: h.enf.Can(c, "passport", "revoke"),
		Base: tenants.Path(c, "/carer-passports/"+id.String()), VerifyURL: h.baseURL + "/verify"}))
}

func (h handler) act(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := page.ParamID(c, "id", msgNoPassport)
		if err != nil {
			return err
		}
		p, msg, err := h.apply(c, id, action)
		if err != nil {
			if errs.Is(err, errs.Conflict) || errs.Is(err, errs.Invalid) {
				page.SetFlash(c, errs.MessageOf(err))
				return c.Redirect(tenants.Path(c, "/carer-passports/"+id.String()), fiber.StatusSeeOther)
			}
			return err
		}
		page.SetFlash(c, msg)
		return c.Redirect(tenants.Path(c, "/carer-passports/"+p.ID.String()), fiber.StatusSeeOther)
	}
}

// apply runs one of the officer's actions and returns the message to show.
func (h handler) apply(c *fiber.Ctx, id uuid.UUID, action string) (Passport, string, error) {
	ctx, note := c.UserContext(), strings.Clone(c.FormValue("note"))
	if c.Is("json") {
		var body struct {
			Note string `json:"note"`
		}
		if len(c.Body()) > 0 {
			if err := jsonbody.Decode(c, &body); err != nil {
				return Passport{}, "", err
			}
		}
		note = body.Note
	}
	var (
		p   Passport
		err error
		msg string
	)
	switch action {
	case "renew":
		p, err = h.svc.Renew(ctx, id, note)
		msg = "Passport renewed until " + p.ValidUntil.In(london).Format("2 January 2006") + ". The code stays the same; print a new card for the new date."
	case "reissue":
		p, err = h.svc.Reissue(ctx, id, note)
		msg = "A new passport has been issued with a new code. The old code and card no longer work."
	case "suspend":
		p, err = h.svc.Suspend(ctx, id, note)
		msg = "Passport suspended. It cannot be confirmed as valid until it is resumed."
	case "resume":
		p, err = h.svc.Resume(ctx, id, note)
		msg = "Passport resumed."
	case "end-stay":
		p, err = h.svc.EndStay(ctx, id, note)
		msg = "The stay has ended and the passport is no longer valid."
	}
	return p, msg, err
}

func (h handler) revokeForm(c *fiber.Ctx) error {
	d, err := h.detail(c)
	if err != nil {
		return err
	}
	return page.Render(c, "carerpassport/revoke", page.New(c, "Revoke this passport", detailView{Detail: d, Reasons: RevokeReasons,
		Base: tenants.Path(c, "/carer-passports/"+d.ID.String())}))
}

func (h handler) revoke(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return err
	}
	form := map[string]string{"reason": strings.Clone(c.FormValue("reason")), "note": strings.Clone(c.FormValue("note"))}
	if _, err := h.svc.Revoke(c.UserContext(), id, Reason(form["reason"]), form["note"]); err != nil {
		if errs.Is(err, errs.Invalid) {
			d, gerr := h.svc.Get(c.UserContext(), id)
			if gerr != nil {
				return gerr
			}
			return page.Invalid(c, "carerpassport/revoke", page.New(c, "Revoke this passport", detailView{Detail: d,
				Reasons: RevokeReasons, Base: tenants.Path(c, "/carer-passports/"+id.String())}), err, form)
		}
		if errs.Is(err, errs.Conflict) {
			page.SetFlash(c, errs.MessageOf(err))
			return c.Redirect(tenants.Path(c, "/carer-passports/"+id.String()), fiber.StatusSeeOther)
		}
		return err
	}
	page.SetFlash(c, "Passport revoked. It can no longer be confirmed as valid, online at once and offline at the next status update.")
	return c.Redirect(tenants.Path(c, "/carer-passports/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) qr(c *fiber.Ctx) error {
	d, err := h.detail(c)
	if err != nil {
		return err
	}
	return sendQR(c, d.QR)
}

func sendQR(c *fiber.Ctx, text string) error {
	svg, err := credential.QRSVG(text)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendString(svg)
}

func (h handler) card(c *fiber.Ctx) error {
	d, err := h.detail(c)
	if err != nil {
		return err
	}
	if d.State == Revoked {
		page.SetFlash(c, "This passport has been revoked: there is no card to print.")
		return c.Redirect(tenants.Path(c, "/carer-passports/"+d.ID.String()), fiber.StatusSeeOther)
	}
	return h.sendCard(c, d)
}

func (h handler) sendCard(c *fiber.Ctx, d Detail) error {
	pdf, err := walletcard.PDF(walletcard.Card{HolderName: d.HolderName, Code: d.Code, QR: d.QR, IssuerName: d.TenantName,
		SchemeName: d.SchemeName, ValidUntil: d.ValidUntil, Benefits: d.Benefits, VerifyURL: h.baseURL + "/verify"})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="carer-passport-`+strings.ReplaceAll(d.Code, "-", "")[:4]+`.pdf"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(pdf)
}

// A tenant's own check of a presented passport.

type checkView struct {
	Result  *Result
	Checked bool
	Action  string
	Message string
}

func (h handler) checkForm(c *fiber.Ctx) error {
	return page.Render(c, "carerpassport/check", page.New(c, "Check a carer passport", checkView{Action: tenants.Path(c, "/check")}))
}

func clientKey(c *fiber.Ctx) string {
	if actor, ok := tenants.ActorFrom(c.UserContext()); ok {
		return "account:" + actor.String()
	}
	return "ip:" + c.IP()
}

func (h handler) check(c *fiber.Ctx) error {
	t, _ := tenants.FromContext(c.UserContext())
	r, err := h.svc.Verify(c.UserContext(), VerifyInput{Text: strings.Clone(c.FormValue("text")), Channel: strings.Clone(c.FormValue("channel")),
		Verifier: t.ID, Client: clientKey(c)})
	if err != nil {
		return err
	}
	return h.renderResult(c, "carerpassport/check", "Check a carer passport", tenants.Path(c, "/check"), r)
}

func (h handler) renderResult(c *fiber.Ctx, tmpl, title, action string, r Result) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	v := checkView{Checked: true, Action: action, Message: NotConfirmed}
	if r.Confirmed {
		v.Result = &r
	}
	return page.Render(c, tmpl, page.New(c, title, v))
}

// Public verification.

func (h handler) verifyForm(c *fiber.Ctx) error {
	return page.Render(c, "carerpassport/verify", page.New(c, "Check a carer passport", checkView{Action: "/verify"}))
}

func (h handler) verify(c *fiber.Ctx) error {
	r, err := h.svc.Verify(c.UserContext(), VerifyInput{Text: strings.Clone(c.FormValue("text")),
		Channel: strings.Clone(c.FormValue("channel")), Client: clientKey(c)})
	if err != nil {
		return err
	}
	return h.renderResult(c, "carerpassport/verify", "Check a carer passport", "/verify", r)
}

func (h handler) verifyLink(c *fiber.Ctx) error {
	r, err := h.svc.Verify(c.UserContext(), VerifyInput{Text: strings.Clone(c.Params("code")), Channel: ChannelLink, Client: clientKey(c)})
	if err != nil {
		return err
	}
	return h.renderResult(c, "carerpassport/verify", "Check a carer passport", "/verify", r)
}

// verifyResponse is the JSON answer of a verification. A negative answer is
// always exactly the same bytes.
type verifyResponse struct {
	Result     string    `json:"result"`
	Message    string    `json:"message"`
	Status     string    `json:"status,omitempty"`
	HolderName string    `json:"holder_name,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	Scheme     string    `json:"scheme,omitempty"`
	ValidUntil string    `json:"valid_until,omitempty"`
	Benefits   []string  `json:"benefits,omitempty"`
	CheckedAt  time.Time `json:"-"`
}

var notConfirmedJSON = []byte(`{"result":"not_confirmed","message":"` + NotConfirmed + `"}`)

// verifyJSON is the public check: anonymous, and throttled by address
// because it ignores any session.
func (h handler) verifyJSON(c *fiber.Ctx) error {
	return h.answerJSON(c, uuid.Nil, "ip:"+c.IP())
}

func (h handler) checkJSON(c *fiber.Ctx) error {
	t, _ := tenants.FromContext(c.UserContext())
	return h.answerJSON(c, t.ID, clientKey(c))
}

func (h handler) answerJSON(c *fiber.Ctx, verifierTenant uuid.UUID, client string) error {
	var body struct {
		Code string `json:"code"`
		QR   string `json:"qr"`
	}
	if err := jsonbody.Decode(c, &body); err != nil {
		return err
	}
	text := body.Code
	if body.QR != "" {
		text = body.QR
	}
	r, err := h.svc.Verify(c.UserContext(), VerifyInput{Text: text, Channel: ChannelAPI, Verifier: verifierTenant, Client: client})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !r.Confirmed {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(notConfirmedJSON)
	}
	return c.JSON(verifyResponse{Result: "confirmed", Message: "This person is a registered carer", Status: "registered_carer",
		HolderName: r.HolderName, Issuer: r.IssuerName, Scheme: r.SchemeName,
		ValidUntil: r.ValidUntil.In(london).Format(time.DateOnly), Benefits: r.Benefits})
}

// The holder's own pages.

type ownView struct {
	Passports []Detail
}

func (h handler) own(c *fiber.Ctx) error {
	list, err := h.svc.Own(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "carerpassport/own", page.New(c, "Your carer passports", ownView{Passports: list}))
}

func (h handler) ownOne(c *fiber.Ctx) error {
	return h.ownPage(c, "carerpassport/own_passport", "Your carer passport")
}

func (h handler) ownShow(c *fiber.Ctx) error {
	return h.ownPage(c, "carerpassport/show", "Show your carer passport")
}

func (h handler) ownPage(c *fiber.Ctx, tmpl, title string) error {
	d, err := h.ownDetail(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return page.Render(c, tmpl, page.New(c, title, detailView{Detail: d,
		Base: "/me/carer-passports/" + d.ID.String(), VerifyURL: h.baseURL + "/verify"}))
}

func (h handler) ownQR(c *fiber.Ctx) error {
	d, err := h.ownDetail(c)
	if err != nil {
		return err
	}
	return sendQR(c, d.QR)
}

func (h handler) ownCard(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return err
	}
	d, err := h.svc.OwnCard(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.sendCard(c, d)
}

func (h handler) askRenewal(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return err
	}
	err = h.svc.RequestRenewal(c.UserContext(), id, strings.Clone(c.FormValue("note")))
	switch {
	case err == nil:
		page.SetFlash(c, "We have told the organisation that issued your passport that you would like it renewed.")
	case errs.Is(err, errs.Conflict) || errs.Is(err, errs.Invalid):
		page.SetFlash(c, errs.MessageOf(err))
	default:
		return err
	}
	return c.Redirect("/me/carer-passports/"+id.String(), fiber.StatusSeeOther)
}

// JSON API for officers.

func (h handler) listJSON(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext(), filterOf(c))
	if err != nil {
		return err
	}
	if list == nil {
		list = []Passport{}
	}
	return c.JSON(fiber.Map{"passports": list})
}

type issueRequest struct {
	HolderID       uuid.UUID `json:"holder_id"`
	SchemeID       uuid.UUID `json:"scheme_id"`
	CaredForName   string    `json:"cared_for_name"`
	Relationship   string    `json:"relationship"`
	HealthDetails  string    `json:"health_details"`
	ConsentGivenBy string    `json:"consent_given_by"`
	ConsentMethod  string    `json:"consent_method"`
	ConsentDate    string    `json:"consent_date"` // YYYY-MM-DD
	StayReference  string    `json:"stay_reference"`
	Note           string    `json:"note"`
}

func (h handler) issueJSON(c *fiber.Ctx) error {
	var req issueRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	in := IssueInput{HolderID: req.HolderID, SchemeID: req.SchemeID, CaredForName: req.CaredForName, Relationship: req.Relationship,
		HealthDetails: req.HealthDetails, ConsentGivenBy: req.ConsentGivenBy, ConsentMethod: req.ConsentMethod,
		StayReference: req.StayReference, Note: req.Note}
	if req.ConsentDate != "" {
		d, err := time.Parse(time.DateOnly, req.ConsentDate)
		if err != nil {
			return errs.Validation(errs.FieldError{Field: "consent_date", Message: "consent_date must be a date as YYYY-MM-DD"})
		}
		in.ConsentDate = &d
	}
	p, err := h.svc.Issue(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (h handler) viewJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return err
	}
	d, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"passport": d.Passport, "history": nonNilEvents(d.History), "checks": nonNilChecks(d.Checks)})
}

func nonNilEvents(e []Event) []Event {
	if e == nil {
		return []Event{}
	}
	return e
}

func nonNilChecks(c []Check) []Check {
	if c == nil {
		return []Check{}
	}
	return c
}

func (h handler) actJSON(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := page.ParamID(c, "id", msgNoPassport)
		if err != nil {
			return err
		}
		p, _, err := h.apply(c, id, action)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

func (h handler) revokeJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoPassport)
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := jsonbody.Decode(c, &body); err != nil {
		return err
	}
	p, err := h.svc.Revoke(c.UserContext(), id, Reason(body.Reason), body.Note)
	if err != nil {
		return err
	}
	return c.JSON(p)
}
