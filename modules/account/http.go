package account

import (
	"embed"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// SessionCookie is the name of the session cookie.
const SessionCookie = "carepass_session"

// Cookies sets and clears the session cookie; the web layer owns its settings.
type Cookies interface {
	SetSession(c *fiber.Ctx, token string)
	ClearSession(c *fiber.Ctx)
}

// Routes mounts sign-in, sign-out and the account pages on r.
func Routes(r fiber.Router, svc *Service, cookies Cookies) {
	h := handler{svc: svc, cookies: cookies}
	r.Get("/signin", h.signinForm)
	r.Post("/signin", h.signin)
	r.Post("/signout", h.signout)
	r.Get("/account", h.signedIn, h.accountPage)
	r.Post("/account/password", h.signedIn, h.changePassword)
	r.Post("/account/signout-everywhere", h.signedIn, h.signoutEverywhere)
}

type handler struct {
	svc     *Service
	cookies Cookies
}

func (h handler) signedIn(c *fiber.Ctx) error {
	if _, ok := tenants.ActorFrom(c.UserContext()); !ok {
		return errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	return c.Next()
}

// safeNext keeps redirects after sign-in on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

type signinView struct{ Next string }

func (h handler) signinForm(c *fiber.Ctx) error {
	return page.Render(c, "account/signin", page.New(c, "Sign in", signinView{Next: safeNext(c.Query("next"))}))
}

func (h handler) signin(c *fiber.Ctx) error {
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	d := page.New(c, "Sign in", signinView{Next: next})
	form := map[string]string{"email": email}
	var fe []errs.FieldError
	if email == "" {
		fe = append(fe, errs.FieldError{Field: "email", Message: "Enter your email address"})
	}
	if password == "" {
		fe = append(fe, errs.FieldError{Field: "password", Message: "Enter your password"})
	}
	if len(fe) > 0 {
		return page.Invalid(c, "account/signin", d, errs.Validation(fe...), form)
	}
	token, _, err := h.svc.SignIn(c.UserContext(), email, password, Client{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)})
	if err != nil {
		if errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.TooMany) {
			d.Errors, d.Form = []errs.FieldError{{Field: "email", Message: ErrSignIn}}, form
			c.Status(fiber.StatusUnauthorized)
			if errs.Is(err, errs.TooMany) {
				c.Status(fiber.StatusTooManyRequests)
			}
			return page.Render(c, "account/signin", d)
		}
		return err
	}
	// Rotate: a session this browser held before signing in ends now.
	if old := c.Cookies(SessionCookie); old != "" {
		if err := h.svc.SignOut(c.UserContext(), old); err != nil {
			return err
		}
	}
	h.cookies.SetSession(c, token)
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (h handler) signout(c *fiber.Ctx) error {
	if token := c.Cookies(SessionCookie); token != "" {
		if err := h.svc.SignOut(c.UserContext(), token); err != nil {
			return err
		}
	}
	h.cookies.ClearSession(c)
	page.SetFlash(c, "You have signed out.")
	return c.Redirect("/signin", fiber.StatusSeeOther)
}

func (h handler) accountPage(c *fiber.Ctx) error {
	return page.Render(c, "account/account", page.New(c, "Your account", nil))
}

func (h handler) changePassword(c *fiber.Ctx) error {
	actor, _ := tenants.ActorFrom(c.UserContext())
	current, next, confirm := c.FormValue("current"), c.FormValue("password"), c.FormValue("confirm")
	d := page.New(c, "Your account", nil)
	if next != confirm {
		return page.Invalid(c, "account/account", d, errs.Validation(errs.FieldError{Field: "confirm", Message: "The new passwords do not match"}), nil)
	}
	token, err := h.svc.ChangePassword(c.UserContext(), actor, current, next, Client{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)})
	if err != nil {
		return page.Invalid(c, "account/account", d, err, nil)
	}
	h.cookies.SetSession(c, token)
	page.SetFlash(c, "Your password has been changed. You have been signed out everywhere else.")
	return c.Redirect("/account", fiber.StatusSeeOther)
}

func (h handler) signoutEverywhere(c *fiber.Ctx) error {
	actor, _ := tenants.ActorFrom(c.UserContext())
	if err := h.svc.SignOutEverywhere(c.UserContext(), actor); err != nil {
		return err
	}
	h.cookies.ClearSession(c)
	page.SetFlash(c, "You have signed out on every device.")
	return c.Redirect("/signin", fiber.StatusSeeOther)
}
