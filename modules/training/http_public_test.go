package training_test

import (
	"bytes"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/credential/verify"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// pubSite is the real web application with the public side of training
// mounted.
func pubSite(t *testing.T, p *pubFixture) *webtest.Site {
	t.Helper()
	enf := p.Enforcers()
	return webtest.NewSite(t, p.Scoped, p.Accounts,
		web.Deps{Pool: p.DB.Pool, Members: webtest.Memberships{}, Tenants: p.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "training", FS: training.Templates}, {Namespace: "account", FS: account.Templates}},
		func(srv *web.Server) {
			account.Routes(srv.Public, p.Accounts, srv)
			training.PublicRoutes(training.PublicRouters{Tenant: srv.Tenant, Portal: srv.App.Group("/me")}, p.svc, pubBase)
		})
}

func pubExpect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
	// Pages carry no inline style or script (CSP).
	if strings.Contains(r.Body, "style=") || strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, "<style") {
		t.Errorf("%s %s: inline style or script", r.Method, r.Path)
	}
}

func pubLacks(t *testing.T, r webtest.Response, not ...string) {
	t.Helper()
	for _, s := range not {
		if strings.Contains(r.Body, s) {
			t.Errorf("%s %s: body has %q", r.Method, r.Path, s)
		}
	}
}

// pubDecodeQR reads the text of the QR code in a PNG: with zbarimg when the
// machine has it, otherwise with the Go ZXing port the verifier uses.
func pubDecodeQR(t *testing.T, img []byte) string {
	t.Helper()
	if _, err := png.DecodeConfig(bytes.NewReader(img)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if bin, err := exec.LookPath("zbarimg"); err == nil {
		file := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(file, img, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "--raw", "-q", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	text, err := verify.DecodePNG(img)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestPublicCalendarPagesFeedAndQRCodes(t *testing.T) {
	p := newPubFixture(t)
	private := p.pubCourse("Private refresher", "any", "PCC-02")
	gmt := p.pubSession(p.parents, "2027-03-26", "Ward 4 seminar room", true, 1)
	bst := p.pubSession(p.parents, "2027-03-30", "", true, 4)
	gone := p.pubSession(p.staff, "2027-03-31", "Riverside House", true, 4)
	hidden := p.pubSession(private, "2027-03-24", "Ward 9", false, 4)
	if err := p.svc.CancelSession(p.ctx(), gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.svc.Book(p.ctx(), gmt.ID, p.Holder(p.trust, "Fay", "Full", uuid.Nil)); err != nil {
		t.Fatal(err)
	}
	s := pubSite(t, p)
	anon := s.Client(t, uuid.Nil)

	month := anon.Get("/t/trust/calendar?view=month&date=2027-03-10")
	pubExpect(t, month, 200, `<table class="nhsuk-table nhsuk-table--responsive" role="table">`,
		`<caption class="nhsuk-table__caption">Training sessions in March 2027</caption>`,
		`<th class="nhsuk-table__header" scope="col" role="columnheader">Monday</th>`,
		`aria-current="date"`, "Full – join the waiting list", "Cancelled",
		`href="/t/trust/calendar/sessions/`+gmt.ID.String()+`">10:00 Suction and airway care</a>`,
		`href="/t/trust/calendar/sessions/`+bst.ID.String()+`">10:00 Suction and airway care</a>`,
		`href="/t/trust/calendar?date=2027-02-01&amp;view=month"`, `href="/t/trust/calendar?date=2027-04-01&amp;view=month"`,
		"webcal://carepass.example/t/trust/calendar.ics")
	pubLacks(t, month, "Private refresher", hidden.ID.String(), "09:00", "meet.example")

	list := anon.Get("/t/trust/calendar")
	pubExpect(t, list, 200, "Friday 26 March 2027", "Tuesday 30 March 2027", "10:00 to 12:00", "Online", "Parents and carers")
	filtered := anon.Get("/t/trust/calendar?view=list&date=2027-03-01&audience=care_staff&location=riverside")
	pubExpect(t, filtered, 200, "Moving and handling", "Clear filters", `value="riverside"`)
	pubLacks(t, filtered, "Suction and airway care</a>")
	week := anon.Get("/t/trust/calendar?view=week&date=2027-03-31")
	pubExpect(t, week, 200, "Week beginning 29 March 2027", "Sunday 4 April 2027", "No sessions.")
	webtest.Expect(t, "unknown tenant", anon.Get("/t/nowhere/calendar"), 404)

	// A session's page: signed out, booking starts with signing in and
	// comes back here.
	page := anon.Get("/t/trust/calendar/sessions/" + bst.ID.String())
	pubExpect(t, page, 200, "Suction and airway care", "Tuesday 30 March 2027", "10:00 to 12:00", "Online",
		`href="/signin?next=%2Ft%2Ftrust%2Fcalendar%2Fsessions%2F`+bst.ID.String()+`"`, "Title of PCC-02 (PCC-02)")
	pubLacks(t, page, "meet.example")
	pubExpect(t, anon.Get("/t/trust/calendar/sessions/"+gone.ID.String()), 200, "This session has been cancelled")
	webtest.Expect(t, "private session", anon.Get("/t/trust/calendar/sessions/"+hidden.ID.String()), 404)
	webtest.Expect(t, "bad id", anon.Get("/t/trust/calendar/sessions/nonsense"), 404)

	// The feed.
	feed := anon.Get("/t/trust/calendar.ics")
	if feed.Status != 200 || feed.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.HasPrefix(feed.Header.Get("Cache-Control"), "public, max-age=") {
		t.Fatalf("feed: %d %q %q", feed.Status, feed.Header.Get("Content-Type"), feed.Header.Get("Cache-Control"))
	}
	cal, err := ics.ParseCalendar(strings.NewReader(feed.Body))
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, e := range cal.Events() {
		statuses = append(statuses, e.Id()+"="+e.GetProperty(ics.ComponentPropertyStatus).Value)
	}
	want := []string{"session-" + gmt.ID.String() + "@carepass.example=CONFIRMED", "session-" + bst.ID.String() + "@carepass.example=CONFIRMED",
		"session-" + gone.ID.String() + "@carepass.example=CANCELLED"}
	if strings.Join(statuses, " ") != strings.Join(want, " ") {
		t.Fatalf("feed events %v, want %v", statuses, want)
	}

	// QR codes for posters: the calendar's and a session's absolute address.
	qr := anon.Get("/t/trust/calendar/qr.png")
	if qr.Status != 200 || qr.Header.Get("Content-Type") != "image/png" || !strings.Contains(qr.Header.Get("Cache-Control"), "max-age=86400") {
		t.Fatalf("QR: %d %q %q", qr.Status, qr.Header.Get("Content-Type"), qr.Header.Get("Cache-Control"))
	}
	if text := pubDecodeQR(t, []byte(qr.Body)); text != pubBase+"/t/trust/calendar" {
		t.Fatalf("the calendar's QR code reads %q", text)
	}
	sq := anon.Get("/t/trust/calendar/sessions/" + bst.ID.String() + "/qr.png")
	if text := pubDecodeQR(t, []byte(sq.Body)); text != pubBase+"/t/trust/calendar/sessions/"+bst.ID.String() {
		t.Fatalf("the session's QR code reads %q", text)
	}
	for _, path := range []string{"/t/trust/calendar/qr.svg", "/t/trust/calendar/sessions/" + bst.ID.String() + "/qr.svg"} {
		r := anon.Get(path)
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(r.Body, "<svg") {
			t.Fatalf("%s: %d %q", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
	webtest.Expect(t, "private session's QR", anon.Get("/t/trust/calendar/sessions/"+hidden.ID.String()+"/qr.png"), 404)
}

func TestBookingThroughThePages(t *testing.T) {
	p := newPubFixture(t)
	open := p.pubSession(p.parents, "2027-04-01", "Ward 4", true, 1)
	private := p.pubSession(p.parents, "2027-04-02", "Ward 4", false, 4)
	tomorrow := p.pubSession(p.parents, "2027-03-16", "Ward 4", true, 4)
	holly := p.Account("holly@example.com", "Holly Holder")
	p.Holder(p.trust, "Holly", "Holder", holly)
	nia := p.Account("nia@example.com", "Nia Jane Newcomer")
	p.Holder(p.Tenant("charity", "carers_charity"), "Nia", "Newcomer", nia)
	s := pubSite(t, p)
	path := "/t/trust/calendar/sessions/" + open.ID.String()

	// Signed out, a forged or stale form gets nowhere.
	anon := s.Client(t, uuid.Nil)
	anon.Get("/signin?next=" + url.QueryEscape(path))
	webtest.Expect(t, "signed-out booking", anon.PostForm(path+"/book", nil), 401)

	hb := s.Client(t, holly)
	pubExpect(t, hb.Get(path), 200, `action="`+path+`/book"`, "Book a place")
	booked := hb.PostForm(path+"/book", nil)
	pubExpect(t, booked, 200, "Booking confirmed", "Ward 4", "Thursday 1 April 2027", "10:00 to 12:00", `href="/me/training"`)
	pubExpect(t, hb.Get(path), 200, "You have a place on this session")
	again := hb.PostForm(path+"/book", nil)
	pubExpect(t, again, 422, "There is a problem", "You already have a place on this session")
	webtest.Expect(t, "private session", hb.PostForm("/t/trust/calendar/sessions/"+private.ID.String()+"/book", nil), 404)
	p.clock.Set(time.Date(2027, 3, 15, 10, 30, 0, 0, time.UTC))
	hb = s.Client(t, holly) // a fresh session: the clock moved past the idle timeout
	hb.Get(path)
	late := hb.PostForm("/t/trust/calendar/sessions/"+tomorrow.ID.String()+"/book", nil)
	pubExpect(t, late, 422, "Bookings closed 24 hours before the session starts")

	// Nia is not a holder of the trust: asked about herself, then booked
	// onto the waiting list (the one place is Holly's).
	nb := s.Client(t, nia)
	pubExpect(t, nb.Get(path), 200, "Join the waiting list")
	form := nb.PostForm(path+"/book", nil)
	pubExpect(t, form, 200, "Tell Org trust about yourself", `name="enrol" value="1"`, `value="Nia Jane"`, `value="Newcomer"`)
	bad := nb.PostForm(path+"/book", url.Values{"enrol": {"1"}, "given_name": {"Nia"}, "family_name": {"Newcomer"},
		"dob_day": {"31"}, "dob_month": {"2"}, "dob_year": {"1988"}})
	pubExpect(t, bad, 422, "There is a problem", `href="#date_of_birth"`, "Date of birth must be a real date", `href="#role_in_care"`,
		`value="Nia"`)
	if n := p.Rows(p.trust, "holders", "true"); n != 1 {
		t.Fatalf("%d holders after a refused form", n)
	}
	ok := nb.PostForm(path+"/book", url.Values{"enrol": {"1"}, "given_name": {"Nia"}, "family_name": {"Newcomer"},
		"dob_day": {"4"}, "dob_month": {"5"}, "dob_year": {"1988"}, "role_in_care": {"unpaid_carer"}})
	pubExpect(t, ok, 200, "You are on the waiting list", "number 1 on the waiting list", "has added you to their records")
	if n := p.Rows(p.trust, "holders", "given_name = 'Nia' AND role_in_care = 'unpaid_carer'"); n != 1 {
		t.Fatalf("Nia is not a holder of the trust: %d", n)
	}
}

func TestOwnBookingsPagesAndPersonalFeed(t *testing.T) {
	p := newPubFixture(t)
	a := p.pubSession(p.parents, "2027-04-01", "Ward 4", true, 4)
	b := p.pubSession(p.parents, "2027-04-08", "", true, 4)
	holly := p.Account("holly@example.com", "Holly Holder")
	p.Holder(p.trust, "Holly", "Holder", holly)
	olu := p.Account("olu@example.com", "Olu Other")
	p.Holder(p.trust, "Olu", "Other", olu)
	staffOnly := p.Account("staff@example.com", "Stan Staff") // no passport at all
	var hollys, olus uuid.UUID
	for _, x := range []struct {
		acct uuid.UUID
		s    uuid.UUID
		out  *uuid.UUID
	}{{holly, a.ID, &hollys}, {holly, b.ID, nil}, {olu, a.ID, &olus}} {
		r, err := p.svc.BookSelf(selfCtx(p.trust, x.acct), x.s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if x.out != nil {
			*x.out = r.Booking.ID
		}
	}
	s := pubSite(t, p)

	anon := s.Client(t, uuid.Nil)
	if r := anon.Get("/me/training"); r.Status != 302 || !strings.HasPrefix(r.Location, "/signin?next=") {
		t.Fatalf("signed out: %d %s", r.Status, r.Location)
	}
	hb := s.Client(t, holly)
	mine := hb.Get("/me/training")
	pubExpect(t, mine, 200, "Your training bookings", "Thursday 1 April 2027", "Thursday 8 April 2027", "Org trust",
		`action="/me/training/bookings/`+hollys.String()+`/cancel"`, "Join online", "Make a calendar link")
	pubLacks(t, mine, olus.String())
	pubExpect(t, s.Client(t, staffOnly).Get("/me/training"), 200, "You have no training booked")

	// Someone else's booking: not found, and still booked.
	webtest.Expect(t, "cancelling Olu's booking", hb.PostForm("/me/training/bookings/"+olus.String()+"/cancel", nil), 404)
	if n := p.Rows(p.trust, "bookings", "id = ? AND status = 'booked'", olus); n != 1 {
		t.Fatal("Olu's booking changed")
	}
	r := hb.PostForm("/me/training/bookings/"+hollys.String()+"/cancel", nil)
	if r.Status != 303 || r.Location != "/me/training" {
		t.Fatalf("cancel: %d %s", r.Status, r.Location)
	}
	pubExpect(t, hb.Get("/me/training"), 200, "Your booking for Suction and airway care on Thursday 1 April 2027 is cancelled.", "Cancelled")

	// The personal feed: a link shown once, fetched with no session.
	made := hb.PostForm("/me/training/feed", nil)
	pubExpect(t, made, 200, "Your new calendar link is shown only once", "webcal://carepass.example/me/training/feed/")
	link := regexp.MustCompile(`https://carepass\.example(/me/training/feed/[0-9a-f]{64}\.ics)`).FindStringSubmatch(made.Body)
	if link == nil {
		t.Fatal("no feed link on the page")
	}
	app := webtest.NewClient(t, s.Server)
	feed := app.Get(link[1])
	if feed.Status != 200 || feed.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("feed: %d %s", feed.Status, feed.Header.Get("Content-Type"))
	}
	cal, err := ics.ParseCalendar(strings.NewReader(feed.Body))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range cal.Events() {
		got[e.Id()] = e.GetProperty(ics.ComponentPropertyStatus).Value
	}
	if len(got) != 2 || got[p.svc.SessionUID(a.ID)] != "CANCELLED" || got[p.svc.SessionUID(b.ID)] != "CONFIRMED" {
		t.Fatalf("personal feed: %v", got)
	}
	pubExpect(t, hb.Get("/me/training"), 200, "You made a link on", "Make a new link")
	// A new link: the old one is gone.
	hb.PostForm("/me/training/feed", nil)
	webtest.Expect(t, "replaced feed link", app.Get(link[1]), 404)
	webtest.Expect(t, "made-up feed link", app.Get("/me/training/feed/"+strings.Repeat("ab", 32)+".ics"), 404)
	webtest.Expect(t, "a token of another shape", app.Get("/me/training/feed/"+account.NewToken()+".ics"), 404)
	// Any signed-in account may make a link, passport or not: its feed is
	// empty until it has bookings.
	sb := s.Client(t, staffOnly)
	sb.Get("/me/training")
	pubExpect(t, sb.PostForm("/me/training/feed", nil), 200, "Your new calendar link is shown only once")
}
