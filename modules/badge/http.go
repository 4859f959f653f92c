package badge

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
)

// Templates holds this module's page templates, under templates/; they
// render as "badge/<name>".
//
//go:embed templates/*.html
var Templates embed.FS

// Cache lifetimes of the published documents, in seconds.
const (
	profileMaxAge = 3600
	statusMaxAge  = 300
)

// Routes mounts the credential pages and documents. On portal, the signed-in
// holder's router mounted at /me: their exportable competencies and
// credentials, making one, viewing and downloading it. On public, without
// sign-in and answering everyone alike: the verification page and its JSON
// API (throttled per client), each issuer's Open Badges profile and public
// keys, and each issuer's status list credential.
func Routes(public, portal fiber.Router, svc *Service) {
	h := handler{svc: svc}
	portal.Get("/badges", policy.SignedIn, h.list)
	portal.Post("/badges", policy.SignedIn, h.create)
	portal.Get("/badges/:id", policy.SignedIn, h.show)
	portal.Get("/badges/:id/credential.jwt", policy.SignedIn, h.download)

	public.Get(VerifyPath, h.verifyForm)
	public.Post(VerifyPath, h.verify)
	public.Post(APIVerifyPath, h.verifyJSON)
	public.Get(IssuersPath+":issuer", h.profile)
	public.Get(IssuersPath+":issuer/keys/:kid", h.publicKey)
	public.Get(StatusPath+":issuer", h.status)
}

type handler struct {
	svc *Service
}

func badgeParam(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.E(errs.NotFound, msgNoBadge)
	}
	return id, nil
}

// The holder's pages.

type listView struct {
	Wallet
	Now time.Time
}

func (h handler) listPage(c *fiber.Ctx) (page.Data, error) {
	w, err := h.svc.Own(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Credentials of your competencies", listView{Wallet: w, Now: h.svc.clock()}), nil
}

func (h handler) list(c *fiber.Ctx) error {
	d, err := h.listPage(c)
	if err != nil {
		return err
	}
	return page.Render(c, "badge/list", d)
}

func (h handler) create(c *fiber.Ctx) error {
	raw := strings.TrimSpace(c.FormValue("record"))
	form := map[string]string{"record": strings.Clone(raw)}
	id, perr := uuid.Parse(raw)
	var (
		b   Badge
		err error
	)
	if raw == "" || perr != nil || id == uuid.Nil {
		err = errs.E(errs.Invalid, msgChooseOne)
	} else {
		b, err = h.svc.Issue(c.UserContext(), id)
	}
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		d, lerr := h.listPage(c)
		if lerr != nil {
			return lerr
		}
		return page.Invalid(c, "badge/list", d, err, form)
	}
	page.SetFlash(c, "Your credential for "+b.CompetencyTitle+" is ready. Download it or copy it to share it.")
	return c.Redirect("/me/badges/"+b.ID.String(), fiber.StatusSeeOther)
}

type showView struct {
	Badge
	Status string
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := badgeParam(c)
	if err != nil {
		return err
	}
	b, err := h.svc.OwnBadge(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "badge/show", page.New(c, "Credential: "+b.CompetencyTitle,
		showView{Badge: b, Status: b.Status(h.svc.clock())}))
}

func (h handler) download(c *fiber.Ctx) error {
	id, err := badgeParam(c)
	if err != nil {
		return err
	}
	b, err := h.svc.OwnBadge(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, MediaType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+b.Filename()+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString(b.JWT)
}

// Verification.

func (h handler) verifyForm(c *fiber.Ctx) error {
	return page.Render(c, "badge/verify", page.New(c, "Check a skills credential", nil))
}

// throttled refuses a client over its verification allowance.
func (h handler) throttled(c *fiber.Ctx) error {
	if !h.svc.Allow(c.IP()) {
		return errs.E(errs.TooMany, "Too many checks from your connection. Wait a minute, then try again.")
	}
	return nil
}

func (h handler) verify(c *fiber.Ctx) error {
	if err := h.throttled(c); err != nil {
		return err
	}
	token := strings.TrimSpace(c.FormValue("credential"))
	if token == "" {
		return page.Invalid(c, "badge/verify", page.New(c, "Check a skills credential", nil),
			errs.Validation(errs.FieldError{Field: "credential", Message: "Paste the credential you were given"}), nil)
	}
	res, err := h.svc.Verify(c.UserContext(), token)
	if err != nil {
		return err
	}
	c.Set("Referrer-Policy", "no-referrer")
	return page.Render(c, "badge/result", page.New(c, resultTitle(res), res))
}

func resultTitle(r Result) string {
	if r.Valid {
		return "Valid credential"
	}
	return "Credential not valid"
}

// ResultJSON is the JSON API's answer to a verification.
type ResultJSON struct {
	Valid      bool            `json:"valid"`
	Reason     string          `json:"reason,omitempty"`
	Message    string          `json:"message"`
	CheckedAt  time.Time       `json:"checked_at"`
	Credential *CredentialJSON `json:"credential,omitempty"`
}

// CredentialJSON is what a verified credential says, for the JSON API.
type CredentialJSON struct {
	ID          string          `json:"id"`
	Issuer      IssuerJSON      `json:"issuer"`
	Achievement AchievementJSON `json:"achievement"`
	Holder      string          `json:"holder"`
	ValidFrom   time.Time       `json:"valid_from"`
	ValidUntil  *time.Time      `json:"valid_until"`
}

// IssuerJSON names a credential's issuer.
type IssuerJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AchievementJSON is a credential's achievement.
type AchievementJSON struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Criteria    string `json:"criteria"`
}

// ToJSON returns r as the JSON API writes it.
func (r Result) ToJSON() ResultJSON {
	out := ResultJSON{Valid: r.Valid, Reason: r.Reason, Message: r.Message(), CheckedAt: r.CheckedAt}
	if r.Verified {
		out.Credential = &CredentialJSON{ID: r.CredentialID, Issuer: IssuerJSON{ID: r.IssuerID, Name: r.IssuerName},
			Achievement: AchievementJSON{ID: r.AchievementID, Code: r.AchievementCode, Name: r.AchievementName,
				Description: r.AchievementDescription, Criteria: r.Criteria},
			Holder: r.HolderName, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil}
	}
	return out
}

func (h handler) verifyJSON(c *fiber.Ctx) error {
	if err := h.throttled(c); err != nil {
		return err
	}
	var req struct {
		Credential string `json:"credential"`
	}
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Credential) == "" {
		return errs.Validation(errs.FieldError{Field: "credential", Message: "Give the credential to check, as its compact JWT"})
	}
	res, err := h.svc.Verify(c.UserContext(), req.Credential)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(res.ToJSON())
}

// Published documents.

func published(c *fiber.Ctx, maxAge int) {
	c.Set(fiber.HeaderCacheControl, "public, max-age="+strconv.Itoa(maxAge))
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
}

func (h handler) profile(c *fiber.Ctx) error {
	p, err := h.svc.IssuerProfile(c.UserContext(), c.Params("issuer"))
	if err != nil {
		return err
	}
	published(c, profileMaxAge)
	return c.JSON(p, "application/ld+json")
}

func (h handler) publicKey(c *fiber.Ctx) error {
	k, err := h.svc.PublicKey(c.UserContext(), c.Params("issuer"), c.Params("kid"))
	if err != nil {
		return err
	}
	published(c, profileMaxAge)
	return c.JSON(k, "application/jwk+json")
}

func (h handler) status(c *fiber.Ctx) error {
	jwt, err := h.svc.StatusCredential(c.UserContext(), c.Params("issuer"))
	if err != nil {
		return err
	}
	published(c, statusMaxAge)
	c.Set(fiber.HeaderContentType, MediaType)
	return c.SendString(jwt)
}
