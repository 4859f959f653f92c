package notify

import (
	"embed"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
)

// Templates holds this module's page templates, under templates/, for the
// namespace "notify".
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the public preference pages on public, and the person's
// own notifications on portal (the router of signed-in people's own pages,
// mounted at /me):
//
//	GET  /mail/preferences/:token  choose whether to get reminder emails
//	POST /mail/preferences/:token  save the choice (a form with the CSRF token)
//	POST /mail/unsubscribe?t=…     one-click unsubscribe (RFC 8058): no CSRF
//	                               token, so exempt UnsubscribePath
//	GET  /mail/unsubscribe?t=…     a browser's visit: to the preferences page
//	GET  /me/notifications         the person's notifications, newest first
//	POST /me/notifications/read    mark them all read
//
// The preference pages need no sign-in: the signed token in the link
// stands for the recipient. A token that is not valid gets a 404 page.
func Routes(public, portal fiber.Router, n *Notifier) {
	h := handler{n: n}
	public.Get(PreferencesPath+":token", h.preferences)
	public.Post(PreferencesPath+":token", h.savePreferences)
	public.Get(UnsubscribePath, h.unsubscribeVisit)
	public.Post(UnsubscribePath, h.unsubscribe)
	portal.Get("/notifications", policy.SignedIn, h.list)
	portal.Post("/notifications/read", policy.SignedIn, h.markRead)
}

type handler struct{ n *Notifier }

// badLink is the one page for every preference link that cannot be used.
func badLink(c *fiber.Ctx) error {
	c.Status(fiber.StatusNotFound)
	return page.Render(c, "notify/link_invalid", page.New(c, "Link not valid", nil))
}

type prefsView struct {
	Action string // the preferences page of the token
}

func (h handler) preferences(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	token := strings.Clone(c.Params("token"))
	p, err := h.n.Preferences(c.UserContext(), token)
	if errs.Is(err, errs.NotFound) {
		return badLink(c)
	}
	if err != nil {
		return err
	}
	d := page.New(c, "Your email choices", prefsView{Action: PreferencesPath + token})
	d.Form = map[string]string{"reminders": onOff(p.Reminders)}
	return page.Render(c, "notify/preferences", d)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (h handler) savePreferences(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	token := strings.Clone(c.Params("token"))
	ctx := audit.WithClient(c.UserContext(), page.Client(c))
	choice := c.FormValue("reminders")
	if choice != "on" && choice != "off" {
		if _, err := h.n.Preferences(ctx, token); errs.Is(err, errs.NotFound) {
			return badLink(c)
		} else if err != nil {
			return err
		}
		d := page.New(c, "Your email choices", prefsView{Action: PreferencesPath + token})
		return page.Invalid(c, "notify/preferences", d,
			errs.Validation(errs.FieldError{Field: "reminders", Message: "Select whether you want reminder emails"}), nil)
	}
	err := h.n.SetReminders(ctx, token, choice == "on", "page")
	if errs.Is(err, errs.NotFound) {
		return badLink(c)
	}
	if err != nil {
		return err
	}
	page.SetFlash(c, "Your choices are saved.")
	return c.Redirect(PreferencesPath+token, fiber.StatusSeeOther)
}

// unsubscribe is the one-click POST a mail client sends for the
// List-Unsubscribe header. It carries no CSRF token: it only ever turns
// reminders off for the token's owner, so a forged one gains nothing.
func (h handler) unsubscribe(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	token := strings.Clone(c.Query("t"))
	err := h.n.SetReminders(audit.WithClient(c.UserContext(), page.Client(c)), token, false, "one_click")
	if errs.Is(err, errs.NotFound) {
		return badLink(c)
	}
	if err != nil {
		return err
	}
	return page.Render(c, "notify/unsubscribed", page.New(c, "You are unsubscribed", prefsView{Action: PreferencesPath + token}))
}

// unsubscribeVisit sends a browser that opened the unsubscribe address to
// the preferences page: a GET changes nothing (link checkers fetch them).
func (h handler) unsubscribeVisit(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	token := strings.Clone(c.Query("t"))
	if _, ok := h.n.parseToken(token); !ok {
		return badLink(c)
	}
	return c.Redirect(PreferencesPath+token, fiber.StatusSeeOther)
}

type listView struct {
	Notifications []Notification
	Unread        int
}

func (h handler) list(c *fiber.Ctx) error {
	list, err := h.n.Notifications(c.UserContext())
	if err != nil {
		return err
	}
	v := listView{Notifications: list}
	for _, x := range list {
		if x.Unread() {
			v.Unread++
		}
	}
	return page.Render(c, "notify/notifications", page.New(c, "Your notifications", v))
}

func (h handler) markRead(c *fiber.Ctx) error {
	n, err := h.n.MarkAllRead(audit.WithClient(c.UserContext(), page.Client(c)))
	if err != nil {
		return err
	}
	if n > 0 {
		page.SetFlash(c, "All your notifications are marked as read.")
	}
	return c.Redirect(NotificationsPath, fiber.StatusSeeOther)
}
