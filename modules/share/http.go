package share

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

// Routes mounts the sharing pages and API. On the tenant router (/t/:slug)
// and the tenant API router (/api/v1/t/:slug): a tenant's shares of its
// holders' passports (holder:read to list, holder:write to create and
// revoke), redeeming a share code (holder:write), the people shared with it
// (holder:read), a shared passport (record:read) and recognising a shared
// competency (record:write). On portal, the signed-in holder's router
// mounted at /me: their own shares.
func Routes(tenant, api, portal fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	holderRead, holderWrite := enf.Require("holder", "read"), enf.Require("holder", "write")
	recordRead, recordWrite := enf.Require("record", "read"), enf.Require("record", "write")

	tenant.Get("/holders/:id/shares", holderRead, h.holderShares)
	tenant.Get("/holders/:id/shares/new", holderWrite, h.newForHolder)
	tenant.Post("/holders/:id/shares", holderWrite, h.createForHolder)
	tenant.Post("/shares/:share/revoke", holderWrite, h.revoke)
	tenant.Get("/shares/redeem", holderWrite, h.redeemForm)
	tenant.Post("/shares/redeem", holderWrite, h.redeem)
	tenant.Get("/shared", holderRead, h.received)
	tenant.Get("/shared/:share", recordRead, h.view)
	tenant.Get("/shared/:share/recognise", recordWrite, h.recogniseForm)
	tenant.Post("/shared/:share/recognise", recordWrite, h.recognise)

	api.Get("/holders/:id/shares", holderRead, h.holderSharesJSON)
	api.Post("/holders/:id/shares", holderWrite, h.createForHolderJSON)
	api.Delete("/shares/:share", holderWrite, h.revokeJSON)
	api.Post("/shares/redeem", holderWrite, h.redeemJSON)
	api.Get("/shared", holderRead, h.receivedJSON)
	api.Get("/shared/:share", recordRead, h.viewJSON)
	api.Post("/shared/:share/recognitions", recordWrite, h.recogniseJSON)

	portal.Get("/shares", policy.SignedIn, h.own)
	portal.Get("/shares/new", policy.SignedIn, h.newOwn)
	portal.Post("/shares", policy.SignedIn, h.createOwn)
	portal.Post("/shares/:share/revoke", policy.SignedIn, h.revokeOwn)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

func holderParam(c *fiber.Ctx) (uuid.UUID, error) {
	return page.ParamID(c, "id", "No holder with that reference")
}

func shareParam(c *fiber.Ctx) (uuid.UUID, error) {
	return page.ParamID(c, "share", msgNoShare)
}

// days reads the number of days typed: 0 when blank, -1 when not a number.
func days(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// grantForm reads the shared part of the share forms.
func grantForm(c *fiber.Ctx) (Grant, map[string]string) {
	form := map[string]string{}
	for _, f := range []string{"to", "tenant", "days", "consent_given_by", "consent_method", "consent_note"} {
		form[f] = strings.Clone(c.FormValue(f))
	}
	return Grant{To: form["to"], TenantSlug: form["tenant"], Days: days(form["days"])}, form
}

type createdView struct {
	Code      string
	ExpiresAt time.Time
	Back      string
	BackLabel string
}

// Tenant pages: shares a tenant grants.

type holderSharesView struct {
	HolderShares
	Now      time.Time
	CanWrite bool
}

func (h handler) holderShares(c *fiber.Ctx) error {
	id, err := holderParam(c)
	if err != nil {
		return err
	}
	hs, err := h.svc.OfHolder(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "share/holder_shares", page.New(c, "Shares of "+hs.HolderName+"'s passport",
		holderSharesView{HolderShares: hs, Now: h.svc.clock(), CanWrite: h.enf.Can(c, "holder", "write")}))
}

type grantFormView struct {
	Heading  string
	Action   string
	Back     string
	Consent  bool
	Methods  []ConsentMethod
	Default  int
	MaxDays  int
	HolderID string
}

func (h handler) holderFormView(c *fiber.Ctx, id uuid.UUID) page.Data {
	back := tenants.Path(c, "/holders/"+id.String()+"/shares")
	return page.New(c, "Share a holder's passport", grantFormView{Heading: "Share this passport", Action: back, Back: back,
		Consent: true, Methods: ConsentMethods, Default: DefaultDays, MaxDays: MaxDays, HolderID: id.String()})
}

func (h handler) newForHolder(c *fiber.Ctx) error {
	id, err := holderParam(c)
	if err != nil {
		return err
	}
	if err := h.svc.CheckHolder(c.UserContext(), id); err != nil {
		return err
	}
	d := h.holderFormView(c, id)
	d.Form = map[string]string{"to": ToCode, "days": strconv.Itoa(DefaultDays)}
	return page.Render(c, "share/grant", d)
}

func (h handler) createForHolder(c *fiber.Ctx) error {
	id, err := holderParam(c)
	if err != nil {
		return err
	}
	g, form := grantForm(c)
	consent := Consent{GivenBy: form["consent_given_by"], Method: form["consent_method"], Note: form["consent_note"]}
	out, err := h.svc.CreateForHolder(c.UserContext(), id, g, consent)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return err
		}
		return page.Invalid(c, "share/grant", h.holderFormView(c, id), err, form)
	}
	back := tenants.Path(c, "/holders/"+id.String()+"/shares")
	if out.Code == "" {
		page.SetFlash(c, "The passport is now shared with "+out.Share.GranteeTenantName+" until "+
			out.Share.ExpiresAt.In(london).Format("2 January 2006")+".")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	c.Set("Referrer-Policy", "no-referrer")
	return page.Render(c, "share/created", page.New(c, "Share code created",
		createdView{Code: out.Code, ExpiresAt: out.Share.ExpiresAt, Back: back, BackLabel: "Back to the holder's shares"}))
}

func (h handler) revoke(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.Revoke(c.UserContext(), id); err != nil {
		return err
	}
	page.SetFlash(c, "The share has been withdrawn. The other organisation can no longer see the passport through it.")
	back := tenants.Path(c, "/holders")
	if holder, err := uuid.Parse(c.FormValue("holder")); err == nil {
		back = tenants.Path(c, "/holders/"+holder.String()+"/shares")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// Tenant pages: shares a tenant receives.

func (h handler) redeemForm(c *fiber.Ctx) error {
	return page.Render(c, "share/redeem", page.New(c, "Redeem a share code", nil))
}

func (h handler) redeem(c *fiber.Ctx) error {
	code := strings.Clone(c.FormValue("code"))
	sh, err := h.svc.Redeem(c.UserContext(), code)
	if err != nil {
		return page.Invalid(c, "share/redeem", page.New(c, "Redeem a share code", nil), err, map[string]string{"code": code})
	}
	page.SetFlash(c, "Share code redeemed. You can see this passport until "+sh.ExpiresAt.In(london).Format("2 January 2006")+".")
	return c.Redirect(tenants.Path(c, "/shared/"+sh.ID.String()), fiber.StatusSeeOther)
}

type receivedView struct {
	Received []Received
	CanWrite bool
}

func (h handler) received(c *fiber.Ctx) error {
	list, err := h.svc.Received(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "share/received", page.New(c, "Passports shared with you",
		receivedView{Received: list, CanWrite: h.enf.Can(c, "holder", "write")}))
}

type passportView struct {
	Passport
	CanRecognise bool
}

func (h handler) view(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	p, err := h.svc.View(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "share/passport", page.New(c, "Shared passport",
		passportView{Passport: p, CanRecognise: h.enf.Can(c, "record", "write")}))
}

type recogniseView struct {
	Candidate
	Roles []roleOption
	Back  string
}

type roleOption struct{ Key, Label string }

// rolesInCare are the holder roles the enrolment form offers; the holder
// module validates them.
var rolesInCare = []roleOption{
	{"parent", "Parent"}, {"unpaid_carer", "Unpaid carer"}, {"paid_carer", "Paid carer"},
	{"staff", "Staff member"}, {"trainer", "Trainer"},
}

func (h handler) recogniseView(c *fiber.Ctx, share, record uuid.UUID) (page.Data, error) {
	cand, err := h.svc.Candidate(c.UserContext(), share, record)
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Recognise a competency", recogniseView{Candidate: cand, Roles: rolesInCare,
		Back: tenants.Path(c, "/shared/"+share.String())}), nil
}

func (h handler) recogniseForm(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	record, err := uuid.Parse(c.Query("record"))
	if err != nil {
		return errs.E(errs.NotFound, "That competency is not in this shared passport")
	}
	d, err := h.recogniseView(c, id, record)
	if err != nil {
		return err
	}
	if v := d.Content.(recogniseView); len(v.Competency.Targets) == 1 {
		d.Form = map[string]string{"competency_id": v.Competency.Targets[0].CompetencyID.String()}
	}
	return page.Render(c, "share/recognise", d)
}

// isoDate joins the three boxes of a date input as 2016-03-31; the holder
// module validates the result.
func isoDate(day, month, year string) string {
	day, month, year = strings.TrimSpace(day), strings.TrimSpace(month), strings.TrimSpace(year)
	if day == "" && month == "" && year == "" {
		return ""
	}
	pad := func(s string) string {
		if len(s) == 1 {
			return "0" + s
		}
		return s
	}
	return year + "-" + pad(month) + "-" + pad(day)
}

func (h handler) recognise(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	form := map[string]string{}
	for _, f := range []string{"record", "competency_id", "given_name", "family_name", "dob_day", "dob_month", "dob_year", "role_in_care"} {
		form[f] = strings.Clone(c.FormValue(f))
	}
	record, err := uuid.Parse(form["record"])
	if err != nil {
		return errs.E(errs.NotFound, "That competency is not in this shared passport")
	}
	competency, _ := uuid.Parse(form["competency_id"])
	in := Recognition{Record: record, CompetencyID: competency, GivenName: form["given_name"], FamilyName: form["family_name"],
		DateOfBirth: isoDate(form["dob_day"], form["dob_month"], form["dob_year"]), RoleInCare: form["role_in_care"]}
	if _, err := h.svc.Recognise(c.UserContext(), id, in); err != nil {
		if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			return err
		}
		d, verr := h.recogniseView(c, id, record)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "share/recognise", d, err, form)
	}
	page.SetFlash(c, "Recognised. The competency is now recorded as signed off in your organisation, with where it came from.")
	return c.Redirect(tenants.Path(c, "/shared/"+id.String()), fiber.StatusSeeOther)
}

// Portal pages: the holder's own shares.

type ownView struct {
	Shares []Share
	Now    time.Time
}

func (h handler) own(c *fiber.Ctx) error {
	list, err := h.svc.Own(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "share/own", page.New(c, "Sharing your passport", ownView{Shares: list, Now: h.svc.clock()}))
}

func (h handler) ownFormView(c *fiber.Ctx) page.Data {
	return page.New(c, "Share your passport", grantFormView{Heading: "Share your passport", Action: "/me/shares",
		Back: "/me/shares", Methods: ConsentMethods, Default: DefaultDays, MaxDays: MaxDays})
}

func (h handler) newOwn(c *fiber.Ctx) error {
	d := h.ownFormView(c)
	d.Form = map[string]string{"to": ToCode, "days": strconv.Itoa(DefaultDays)}
	return page.Render(c, "share/grant", d)
}

func (h handler) createOwn(c *fiber.Ctx) error {
	g, form := grantForm(c)
	out, err := h.svc.CreateOwn(c.UserContext(), g)
	if err != nil {
		return page.Invalid(c, "share/grant", h.ownFormView(c), err, form)
	}
	if out.Code == "" {
		page.SetFlash(c, "Your passport is now shared with "+out.Share.GranteeTenantName+" until "+
			out.Share.ExpiresAt.In(london).Format("2 January 2006")+".")
		return c.Redirect("/me/shares", fiber.StatusSeeOther)
	}
	c.Set("Referrer-Policy", "no-referrer")
	return page.Render(c, "share/created", page.New(c, "Share code created",
		createdView{Code: out.Code, ExpiresAt: out.Share.ExpiresAt, Back: "/me/shares", BackLabel: "Back to sharing your passport"}))
}

func (h handler) revokeOwn(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	if err := h.svc.RevokeOwn(c.UserContext(), id); err != nil {
		return err
	}
	page.SetFlash(c, "The share has been withdrawn. That organisation can no longer see your passport through it.")
	return c.Redirect("/me/shares", fiber.StatusSeeOther)
}

// JSON API.

type tenantJSON struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type shareJSON struct {
	ID          uuid.UUID   `json:"id"`
	Status      string      `json:"status"`
	GrantedVia  string      `json:"granted_via"`
	ByCode      bool        `json:"by_code"`
	Grantee     *tenantJSON `json:"grantee"`
	ConsentNote string      `json:"consent_note,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	ExpiresAt   time.Time   `json:"expires_at"`
	RedeemedAt  *time.Time  `json:"redeemed_at"`
	RevokedAt   *time.Time  `json:"revoked_at"`
	Code        string      `json:"code,omitempty"`
}

func toJSON(sh Share, now time.Time) shareJSON {
	out := shareJSON{ID: sh.ID, Status: sh.Status(now), GrantedVia: sh.GrantedVia, ByCode: sh.ByCode, ConsentNote: sh.ConsentNote,
		CreatedAt: sh.CreatedAt, ExpiresAt: sh.ExpiresAt, RedeemedAt: sh.RedeemedAt, RevokedAt: sh.RevokedAt}
	if sh.GranteeTenantID != nil {
		out.Grantee = &tenantJSON{Slug: sh.GranteeTenantSlug, Name: sh.GranteeTenantName}
	}
	return out
}

func (h handler) holderSharesJSON(c *fiber.Ctx) error {
	id, err := holderParam(c)
	if err != nil {
		return err
	}
	hs, err := h.svc.OfHolder(c.UserContext(), id)
	if err != nil {
		return err
	}
	now := h.svc.clock()
	out := make([]shareJSON, len(hs.Shares))
	for i, sh := range hs.Shares {
		out[i] = toJSON(sh, now)
	}
	return c.JSON(fiber.Map{"holder_id": id, "shares": out})
}

type createRequest struct {
	To      string `json:"to"`
	Tenant  string `json:"tenant"`
	Days    int    `json:"days"`
	Consent struct {
		GivenBy string `json:"given_by"`
		Method  string `json:"method"`
		Note    string `json:"note"`
	} `json:"consent"`
}

func (h handler) createForHolderJSON(c *fiber.Ctx) error {
	id, err := holderParam(c)
	if err != nil {
		return err
	}
	var req createRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	out, err := h.svc.CreateForHolder(c.UserContext(), id, Grant{To: req.To, TenantSlug: req.Tenant, Days: req.Days},
		Consent{GivenBy: req.Consent.GivenBy, Method: req.Consent.Method, Note: req.Consent.Note})
	if err != nil {
		return err
	}
	body := toJSON(out.Share, h.svc.clock())
	body.Code = out.Code
	return c.Status(fiber.StatusCreated).JSON(body)
}

func (h handler) revokeJSON(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	sh, err := h.svc.Revoke(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(sh, h.svc.clock()))
}

// receivedJSON is a share as its receiving tenant sees it: no consent note
// and nothing about who granted it beyond how.
type receivedJSON struct {
	ID         uuid.UUID  `json:"id"`
	GrantedVia string     `json:"granted_via"`
	SharedAt   *time.Time `json:"shared_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Holder     *holderRef `json:"holder"`
}

type holderRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

func receivedToJSON(sh Share, holderID *uuid.UUID, name string) receivedJSON {
	out := receivedJSON{ID: sh.ID, GrantedVia: sh.GrantedVia, SharedAt: sh.RedeemedAt, ExpiresAt: sh.ExpiresAt}
	if holderID != nil {
		out.Holder = &holderRef{ID: *holderID, Name: name}
	}
	return out
}

func (h handler) redeemJSON(c *fiber.Ctx) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	sh, err := h.svc.Redeem(c.UserContext(), req.Code)
	if err != nil {
		return err
	}
	return c.JSON(receivedToJSON(sh, nil, ""))
}

func (h handler) receivedJSON(c *fiber.Ctx) error {
	list, err := h.svc.Received(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]receivedJSON, len(list))
	for i, r := range list {
		out[i] = receivedToJSON(r.Share, r.HolderID, r.Name)
	}
	return c.JSON(fiber.Map{"shares": out})
}

type targetJSON struct {
	CompetencyID     uuid.UUID `json:"competency_id"`
	Code             string    `json:"code"`
	Title            string    `json:"title"`
	CatalogueVersion int       `json:"catalogue_version"`
}

type competencyJSON struct {
	RecordID         uuid.UUID    `json:"record_id"`
	Issuer           string       `json:"issuer"`
	Code             string       `json:"code"`
	Title            string       `json:"title"`
	CatalogueVersion int          `json:"catalogue_version"`
	AssessorName     string       `json:"assessor_name"`
	SignedOffAt      time.Time    `json:"signed_off_at"`
	ExpiresAt        time.Time    `json:"expires_at"`
	Expired          bool         `json:"expired"`
	Recognisable     bool         `json:"recognisable"`
	Targets          []targetJSON `json:"recognise_as"`
}

func (h handler) viewJSON(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	p, err := h.svc.View(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := make([]competencyJSON, len(p.Competencies))
	for i, cp := range p.Competencies {
		out[i] = competencyJSON{RecordID: cp.RecordID, Issuer: cp.Issuer, Code: cp.Code, Title: cp.Title,
			CatalogueVersion: cp.CatalogueVersion, AssessorName: cp.AssessorName, SignedOffAt: cp.SignedOffAt,
			ExpiresAt: cp.ExpiresAt, Expired: cp.Expired, Recognisable: cp.Recognisable(), Targets: []targetJSON{}}
		for _, t := range cp.Targets {
			out[i].Targets = append(out[i].Targets, targetJSON{CompetencyID: t.CompetencyID, Code: t.Code, Title: t.Title,
				CatalogueVersion: t.CatalogueVersion})
		}
	}
	return c.JSON(fiber.Map{"share": receivedToJSON(p.Share, p.HolderID, p.HolderName), "competencies": out})
}

func (h handler) recogniseJSON(c *fiber.Ctx) error {
	id, err := shareParam(c)
	if err != nil {
		return err
	}
	var req struct {
		RecordID     uuid.UUID `json:"record_id"`
		CompetencyID uuid.UUID `json:"competency_id"`
		Holder       struct {
			GivenName   string `json:"given_name"`
			FamilyName  string `json:"family_name"`
			DateOfBirth string `json:"date_of_birth"`
			RoleInCare  string `json:"role_in_care"`
		} `json:"holder"`
	}
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	record, err := h.svc.Recognise(c.UserContext(), id, Recognition{Record: req.RecordID, CompetencyID: req.CompetencyID,
		GivenName: req.Holder.GivenName, FamilyName: req.Holder.FamilyName, DateOfBirth: req.Holder.DateOfBirth,
		RoleInCare: req.Holder.RoleInCare})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"record_id": record})
}
