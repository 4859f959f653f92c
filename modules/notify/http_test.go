package notify_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/notify"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newSite is the real web application with the notify routes mounted: the
// preference pages in public, the notifications under /me, and the
// one-click unsubscribe exempt from the CSRF check.
func newSite(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	return webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{}, Tenants: f.Store, Policy: f.Enforcers()},
		[]web.TemplateSet{{Namespace: "notify", FS: notify.Templates}},
		func(srv *web.Server) {
			notify.Routes(srv.Public, srv.App.Group("/me"), f.n)
			srv.Stateless(notify.UnsubscribePath)
		})
}

func expect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
}

func TestNotificationsPageMarkReadAndOnlyYourOwn(t *testing.T) {
	f := newFixture(t)
	site := newSite(t, f)
	adaAcct := f.Account("ada@example.org", "Ada Lovelace")
	benAcct := f.Account("ben@example.org", "Ben Okafor")
	stranger := f.Account("sam@example.org", "Sam Stranger") // claimed no passport
	ada, adaPerson := f.holder("Ada", "Lovelace", "ada@example.org", adaAcct)
	ben, _ := f.holder("Ben", "Okafor", "ben@example.org", benAcct)
	f.book(f.session("2027-03-23", 4), ada)
	f.book(f.session("2027-03-30", 4), ben)

	adaCtx, benCtx := moduletest.Self(adaAcct), moduletest.Self(benAcct)
	for who, want := range map[uuid.UUID]int64{adaAcct: 1, benAcct: 1, stranger: 0} {
		if n := f.Count(nil, who, `SELECT count(*) FROM notifications`); n != want {
			t.Errorf("account %s sees %d notifications, want %d", who, n, want)
		}
	}
	if n, err := f.n.Unread(adaCtx); n != 1 || err != nil {
		t.Fatalf("Ada's unread: %d (%v)", n, err)
	}
	if n, err := f.n.Unread(moduletest.Self(uuid.Nil)); n != 0 || err != nil {
		t.Errorf("signed out unread: %d (%v)", n, err)
	}

	a := site.Client(t, adaAcct)
	r := a.Get("/me/notifications")
	expect(t, r, 200, "Your notifications", "You have 1 unread notification.", "New",
		"Your place on Suction and airway care on Tuesday 23 March 2027 at 10:00 is booked.",
		"Wrenford Children&#39;s Hospital", `href="/me/training"`, "Mark all as read")
	if strings.Contains(r.Body, "30 March") {
		t.Error("Ada's page shows Ben's notification")
	}
	r = a.PostForm("/me/notifications/read", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/me/notifications" {
		t.Fatalf("mark read: %d %s", r.Status, r.Location)
	}
	r = a.Get("/me/notifications")
	expect(t, r, 200, "All your notifications are marked as read.", "You have no unread notifications.", "is booked.")
	if strings.Contains(r.Body, "Mark all as read") || strings.Contains(r.Body, "nhsuk-tag--blue") {
		t.Error("read notifications still shown as new")
	}
	if n, _ := f.n.Unread(adaCtx); n != 0 {
		t.Errorf("Ada's unread after marking: %d", n)
	}
	if n, _ := f.n.Unread(benCtx); n != 1 {
		t.Errorf("Ben's unread after Ada marked hers: %d", n)
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM platform_audit_events WHERE action = 'notifications.read'`); n != 1 {
		t.Errorf("%d audit events of marking read", n)
	}

	// Someone with no passport has none; signed out, the pages ask to sign in.
	expect(t, site.Client(t, stranger).Get("/me/notifications"), 200, "You have no notifications.")
	out := site.Client(t, uuid.Nil)
	if r := out.Get("/me/notifications"); r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("signed out: %d %s", r.Status, r.Location)
	}
	out.Get(notify.PreferencesPath + notify.PersonToken(f.n, adaPerson)) // a form, for a CSRF token
	expect(t, out.PostForm("/me/notifications/read", nil), 401)
}

func TestPreferencesPage(t *testing.T) {
	f := newFixture(t)
	site := newSite(t, f)
	_, person := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	token := notify.PersonToken(f.n, person)
	path := notify.PreferencesPath + token
	b := site.Client(t, uuid.Nil)

	r := b.Get(path)
	expect(t, r, 200, "Your email choices", "Do you want reminder emails?", `value="on" checked`)
	if r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", r.Header.Get("Referrer-Policy"))
	}
	expect(t, b.PostForm(path, url.Values{}), 422, "There is a problem", "Select whether you want reminder emails")
	r = b.PostForm(path, url.Values{"reminders": {"off"}})
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("save: %d %s", r.Status, r.Location)
	}
	expect(t, b.Get(path), 200, "Your choices are saved.", `value="off" checked`)
	if p, err := f.n.Preferences(moduletest.Self(uuid.Nil), token); err != nil || p.Reminders {
		t.Errorf("preferences %+v (%v)", p, err)
	}
	// Without the CSRF token the form is refused.
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("reminders=on"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := webtest.NewClient(t, site.Server).Do(req); r.Status != http.StatusForbidden {
		t.Errorf("form without CSRF token: %d", r.Status)
	}
	// A browser opening the unsubscribe address is sent to the page; a
	// GET changes nothing.
	expect(t, b.PostForm(path, url.Values{"reminders": {"on"}}), http.StatusSeeOther)
	r = b.Get(notify.UnsubscribePath + "?t=" + token)
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Errorf("unsubscribe visit: %d %s", r.Status, r.Location)
	}
	if p, _ := f.n.Preferences(moduletest.Self(uuid.Nil), token); !p.Reminders {
		t.Error("a GET unsubscribed")
	}

	// Tokens that are not valid: a 404 page, the same for each.
	other := notify.PersonToken(f.n, uuid.Must(uuid.NewV7())) // well signed, nobody's
	tampered := []byte(token)
	tampered[len(tampered)-2] ^= 1
	for _, bad := range []string{"nonsense", other, string(tampered), token[1:], strings.ToUpper(token)} {
		expect(t, b.Get(notify.PreferencesPath+bad), 404, "This link is not valid")
		expect(t, b.PostForm(notify.PreferencesPath+bad, url.Values{"reminders": {"off"}}), 404, "This link is not valid")
		req := httptest.NewRequest(http.MethodPost, notify.UnsubscribePath+"?t="+url.QueryEscape(bad), strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		expect(t, webtest.NewClient(t, site.Server).Do(req), 404, "This link is not valid")
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM mail_preferences WHERE NOT reminders`); n != 0 {
		t.Errorf("%d refusals saved by bad links", n)
	}
}
