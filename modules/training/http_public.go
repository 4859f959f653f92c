package training

import (
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// PublicRouters are the route groups the public and holder side of
// training mounts on.
type PublicRouters struct {
	Tenant fiber.Router // /t/:slug: the public calendar and self-booking
	Portal fiber.Router // /me: the signed-in person's own bookings
}

// Cache lifetimes of what the public side serves.
const (
	publicQRMaxAge   = 24 * time.Hour
	publicFeedMaxAge = 15 * time.Minute
	publicQRSize     = 600 // pixels, for printing on a poster
)

// PublicRoutes mounts the public calendar of each tenant (anyone may read
// it: no sign-in), its iCalendar feed and QR codes for posters, booking a
// place for oneself (signed in), and the signed-in person's own bookings
// under /me with their personal calendar feed (the feed's secret link
// needs no sign-in, as calendar applications fetch it). baseURL is the
// site's public address, encoded in the QR codes and feed links.
func PublicRoutes(r PublicRouters, svc *Service, baseURL string) {
	h := publicHandler{svc: svc, baseURL: strings.TrimRight(baseURL, "/")}
	r.Tenant.Get("/calendar", h.calendar)
	r.Tenant.Get("/calendar.ics", h.calendarFeed)
	r.Tenant.Get("/calendar/qr.png", h.calendarQR(false))
	r.Tenant.Get("/calendar/qr.svg", h.calendarQR(true))
	r.Tenant.Get("/calendar/sessions/:id", h.session)
	r.Tenant.Get("/calendar/sessions/:id/qr.png", h.sessionQR(false))
	r.Tenant.Get("/calendar/sessions/:id/qr.svg", h.sessionQR(true))
	r.Tenant.Post("/calendar/sessions/:id/book", policy.SignedIn, h.book)

	r.Portal.Get("/training", policy.SignedIn, h.own)
	r.Portal.Post("/training/bookings/:id/cancel", policy.SignedIn, h.cancelOwn)
	r.Portal.Post("/training/feed", policy.SignedIn, h.newFeed)
	r.Portal.Get("/training/feed/:token.ics", h.personalFeed)
}

type publicHandler struct {
	svc     *Service
	baseURL string
}

func publicSessionID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.E(errs.NotFound, msgNoPublicSession)
	}
	return id, nil
}

// The public calendar.

// publicViewLink is one of the calendar's view switches.
type publicViewLink struct {
	Label, Href string
	Current     bool
}

type publicCalendarView struct {
	CalendarPage
	Views        []publicViewLink
	PrevHref     string
	PrevLabel    string
	NextHref     string
	NextLabel    string
	Audiences    []Choice
	Base         string       // the calendar's path
	FeedURL      string       // the calendar's iCalendar feed, absolute
	WebcalURL    template.URL // the same, for calendar applications
	CalendarURL  string       // the calendar's address, absolute, for posters
	HasFilter    bool
	CompetencyID string
}

// publicFilter reads the calendar's query string.
func publicFilter(c *fiber.Ctx) CalendarFilter {
	f := CalendarFilter{View: strings.Clone(c.Query("view")), Audience: strings.Clone(c.Query("audience")),
		Location: strings.Clone(c.Query("location"))}
	if d, err := time.ParseInLocation(time.DateOnly, c.Query("date"), London); err == nil {
		f.Date = d
	}
	if id, err := uuid.Parse(c.Query("competency")); err == nil {
		f.Competency = id
	}
	return f
}

// publicCalendarHref is the calendar's path showing view at date, with
// filter's other choices kept.
func publicCalendarHref(base string, f CalendarFilter, view string, date time.Time) string {
	q := url.Values{}
	q.Set("view", view)
	q.Set("date", date.Format(time.DateOnly))
	if f.Competency != uuid.Nil {
		q.Set("competency", f.Competency.String())
	}
	if f.Audience != "" {
		q.Set("audience", f.Audience)
	}
	if f.Location != "" {
		q.Set("location", f.Location)
	}
	return base + "?" + q.Encode()
}

// absolute returns path under the public address (the request's own
// scheme and host when none is configured).
func (h publicHandler) absolute(c *fiber.Ctx, path string) string {
	if h.baseURL == "" {
		return c.BaseURL() + path
	}
	return h.baseURL + path
}

func (h publicHandler) calendar(c *fiber.Ctx) error {
	p, err := h.svc.Calendar(c.UserContext(), publicFilter(c))
	if err != nil {
		return err
	}
	base := tenants.Path(c, "/calendar")
	f := p.Filter
	v := publicCalendarView{CalendarPage: p, Audiences: Audiences, Base: base,
		FeedURL: h.absolute(c, base+".ics"), CalendarURL: h.absolute(c, base),
		HasFilter: f.Competency != uuid.Nil || f.Audience != "" || f.Location != ""}
	if f.Competency != uuid.Nil {
		v.CompetencyID = f.Competency.String()
	}
	if u, err := url.Parse(v.FeedURL); err == nil && u.Host != "" {
		u.Scheme = "webcal"
		v.WebcalURL = template.URL(u.String()) // built here from the configured address
	}
	for _, view := range []struct{ key, label string }{{ViewList, "List"}, {ViewWeek, "Week"}, {ViewMonth, "Month"}} {
		v.Views = append(v.Views, publicViewLink{Label: view.label, Href: publicCalendarHref(base, f, view.key, f.Date),
			Current: view.key == f.View})
	}
	v.PrevHref, v.NextHref = publicCalendarHref(base, f, f.View, p.Prev), publicCalendarHref(base, f, f.View, p.Next)
	if f.View == ViewWeek {
		v.PrevLabel = "Week beginning " + p.Prev.Format("2 January 2006")
		v.NextLabel = "Week beginning " + p.Next.Format("2 January 2006")
	} else {
		v.PrevLabel, v.NextLabel = p.Prev.Format("January 2006"), p.Next.Format("January 2006")
	}
	t, _ := tenants.FromContext(c.UserContext())
	return page.Render(c, "training/public_calendar", page.New(c, "Training calendar: "+p.Title+" – "+t.Name, v))
}

func (h publicHandler) calendarFeed(c *fiber.Ctx) error {
	cal, err := h.svc.PublicFeed(c.UserContext())
	if err != nil {
		return err
	}
	body, err := cal.Bytes()
	if err != nil {
		return fmt.Errorf("training: public feed: %w", err)
	}
	c.Set(fiber.HeaderContentType, cal.ContentType())
	c.Set(fiber.HeaderCacheControl, fmt.Sprintf("public, max-age=%d", int(publicFeedMaxAge.Seconds())))
	t, _ := tenants.FromContext(c.UserContext())
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+t.Slug+`-training.ics"`)
	return c.Send(body)
}

// sendQR answers with a QR code of text, as SVG or PNG, cached publicly.
func (h publicHandler) sendQR(c *fiber.Ctx, text, name string, svg bool) error {
	c.Set(fiber.HeaderCacheControl, fmt.Sprintf("public, max-age=%d", int(publicQRMaxAge.Seconds())))
	if svg {
		out, err := credential.QRSVG(text)
		if err != nil {
			return fmt.Errorf("training: QR code: %w", err)
		}
		c.Set(fiber.HeaderContentType, "image/svg+xml")
		c.Set(fiber.HeaderContentDisposition, `inline; filename="`+name+`.svg"`)
		return c.SendString(out)
	}
	out, err := credential.QRPNG(text, publicQRSize)
	if err != nil {
		return fmt.Errorf("training: QR code: %w", err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="`+name+`.png"`)
	return c.Send(out)
}

func (h publicHandler) calendarQR(svg bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, _ := tenants.FromContext(c.UserContext())
		return h.sendQR(c, h.absolute(c, tenants.Path(c, "/calendar")), t.Slug+"-training-calendar", svg)
	}
}

func (h publicHandler) sessionQR(svg bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := publicSessionID(c)
		if err != nil {
			return err
		}
		if _, err := h.svc.PublicSessionDetails(c.UserContext(), id); err != nil {
			return err
		}
		return h.sendQR(c, h.absolute(c, tenants.Path(c, "/calendar/sessions/"+id.String())), "training-session-"+id.String(), svg)
	}
}

// One session, and booking it.

type publicSessionView struct {
	SessionDetails
	Calendar   string // the calendar's path
	Path       string // the session's path
	BookAction string
	SignInHref string
	SignedIn   bool
	QRPNG      string
}

func (h publicHandler) sessionView(c *fiber.Ctx, d SessionDetails) publicSessionView {
	path := tenants.Path(c, "/calendar/sessions/"+d.ID.String())
	_, signedIn := tenants.ActorFrom(c.UserContext())
	return publicSessionView{SessionDetails: d, Calendar: tenants.Path(c, "/calendar"), Path: path,
		BookAction: path + "/book", SignInHref: "/signin?next=" + url.QueryEscape(path), SignedIn: signedIn,
		QRPNG: path + "/qr.png"}
}

func (h publicHandler) session(c *fiber.Ctx) error {
	id, err := publicSessionID(c)
	if err != nil {
		return err
	}
	d, err := h.svc.PublicSessionDetails(c.UserContext(), id)
	if err != nil {
		return err
	}
	return page.Render(c, "training/public_session", page.New(c, d.CourseTitle+", "+d.Day(), h.sessionView(c, d)))
}

type publicEnrolView struct {
	publicSessionView
	Roles []Choice
}

type publicBookedView struct {
	SelfBooking
	Session  SessionDetails
	Calendar string
}

// publicDate joins the three boxes of a date input as YYYY-MM-DD, or
// returns what was typed when they do not make a date.
func publicDate(day, month, year string) string {
	day, month, year = strings.TrimSpace(day), strings.TrimSpace(month), strings.TrimSpace(year)
	if day == "" && month == "" && year == "" {
		return ""
	}
	d, err1 := strconv.Atoi(day)
	m, err2 := strconv.Atoi(month)
	y, err3 := strconv.Atoi(year)
	if err1 != nil || err2 != nil || err3 != nil || len(year) != 4 {
		return year + "-" + month + "-" + day
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m || t.Year() != y {
		return year + "-" + month + "-" + day + "-invalid"
	}
	return t.Format(time.DateOnly)
}

func (h publicHandler) book(c *fiber.Ctx) error {
	id, err := publicSessionID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	form := map[string]string{}
	for _, k := range []string{"given_name", "family_name", "dob_day", "dob_month", "dob_year", "role_in_care"} {
		form[k] = strings.Clone(c.FormValue(k))
	}
	var details *SelfDetails
	if c.FormValue("enrol") == "1" {
		details = &SelfDetails{GivenName: form["given_name"], FamilyName: form["family_name"],
			DateOfBirth: publicDate(form["dob_day"], form["dob_month"], form["dob_year"]), RoleInCare: form["role_in_care"]}
	}
	res, err := h.svc.BookSelf(ctx, id, details)
	if err == nil {
		d, derr := h.svc.PublicSessionDetails(ctx, id)
		if derr != nil {
			return derr
		}
		title := "Booking confirmed"
		if res.Booking.Status == Waiting {
			title = "You are on the waiting list"
		}
		return page.Render(c, "training/public_booked", page.New(c, title,
			publicBookedView{SelfBooking: res, Session: d, Calendar: tenants.Path(c, "/calendar")}))
	}
	if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
		return err
	}
	d, derr := h.svc.PublicSessionDetails(ctx, id)
	if derr != nil {
		return derr
	}
	v := h.sessionView(c, d)
	if errors.Is(err, ErrNotEnrolled) || (details != nil && errs.Is(err, errs.Invalid)) {
		ev := publicEnrolView{publicSessionView: v, Roles: SelfRoles}
		pd := page.New(c, "Your details", ev)
		if details == nil {
			if b := page.BaseOf(c); b.Viewer != nil {
				given, family := publicSplitName(b.Viewer.Name)
				pd.Form = map[string]string{"given_name": given, "family_name": family}
			}
			return page.Render(c, "training/public_enrol", pd)
		}
		return page.Invalid(c, "training/public_enrol", pd, err, form)
	}
	return page.Invalid(c, "training/public_session", page.New(c, d.CourseTitle+", "+d.Day(), v), err, nil)
}

// publicSplitName guesses first and last names from an account's name, to
// start the form with.
func publicSplitName(name string) (string, string) {
	parts := strings.Fields(name)
	if len(parts) < 2 {
		return strings.Join(parts, " "), ""
	}
	return strings.Join(parts[:len(parts)-1], " "), parts[len(parts)-1]
}

// The holder's own bookings.

type myTrainingView struct {
	OwnTraining
	FeedURL   string       // a new feed link, shown once
	WebcalURL template.URL // the same, for calendar applications
}

func (h publicHandler) own(c *fiber.Ctx) error {
	return h.ownPage(c, "")
}

func (h publicHandler) ownPage(c *fiber.Ctx, token string) error {
	o, err := h.svc.OwnBookings(c.UserContext())
	if err != nil {
		return err
	}
	v := myTrainingView{OwnTraining: o}
	if token != "" {
		v.FeedURL = h.absolute(c, "/me/training/feed/"+token+".ics")
		if u, err := url.Parse(v.FeedURL); err == nil && u.Host != "" {
			u.Scheme = "webcal"
			v.WebcalURL = template.URL(u.String()) // built here from the configured address and a hex token
		}
	}
	return page.Render(c, "training/my_training", page.New(c, "Your training bookings", v))
}

func (h publicHandler) cancelOwn(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil || id == uuid.Nil {
		return errs.E(errs.NotFound, "No booking with that reference")
	}
	b, err := h.svc.CancelOwnBooking(c.UserContext(), id)
	switch {
	case err == nil:
		page.SetFlash(c, "Your booking for "+b.CourseTitle+" on "+b.Day()+" is cancelled.")
	case errs.Is(err, errs.Conflict) || errs.Is(err, errs.ReadOnly):
		page.SetFlash(c, errs.MessageOf(err))
	default:
		return err
	}
	return c.Redirect("/me/training", fiber.StatusSeeOther)
}

func (h publicHandler) newFeed(c *fiber.Ctx) error {
	token, err := h.svc.NewFeedLink(c.UserContext())
	if err != nil {
		return err
	}
	return h.ownPage(c, token)
}

func (h publicHandler) personalFeed(c *fiber.Ctx) error {
	cal, err := h.svc.PersonalFeed(c.UserContext(), strings.Clone(c.Params("token")))
	if err != nil {
		return err
	}
	body, err := cal.Bytes()
	if err != nil {
		return fmt.Errorf("training: personal feed: %w", err)
	}
	c.Set(fiber.HeaderContentType, cal.ContentType())
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="my-training.ics"`)
	return c.Send(body)
}
