package training

import (
	"context"
	"embed"
	"fmt"
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

// Templates holds every page of the module (staff, public and the
// holder's own), rendered in the "training" namespace.
//
//go:embed templates/*.html
var Templates embed.FS

// FoundPerson is one of the tenant's holders found by name.
type FoundPerson struct {
	ID   uuid.UUID
	Name string
	Left bool // has left the organisation
}

// PeopleFinder searches the tenant of ctx's holders by name, for the forms
// that book someone onto a session and assign a trainer. Searches are the
// finder's to audit.
type PeopleFinder interface {
	FindPeople(ctx context.Context, query string, limit int) ([]FoundPerson, error)
}

// PeopleFinderFunc adapts a function to a PeopleFinder.
type PeopleFinderFunc func(ctx context.Context, query string, limit int) ([]FoundPerson, error)

// FindPeople calls f.
func (f PeopleFinderFunc) FindPeople(ctx context.Context, query string, limit int) ([]FoundPerson, error) {
	return f(ctx, query, limit)
}

// Routes mounts the staff training pages on the tenant router (/t/:slug)
// and their JSON on the tenant API router (/api/v1/t/:slug). Courses,
// sessions and the trainer and assessor views need session:read to see and
// session:write to change; the bookings on a session need booking:read to
// see and booking:write to make or cancel; the attendance register needs
// record:write, as marking someone present writes into their passport.
// Fixed paths are registered before the parameter paths that would
// otherwise take them.
func Routes(tenant, api fiber.Router, svc *Service, people PeopleFinder, enf *policy.Enforcers) {
	h := staffHandler{svc: svc, people: people, enf: enf}
	read, write := enf.Require("session", "read"), enf.Require("session", "write")
	bookRead, bookWrite := enf.Require("booking", "read"), enf.Require("booking", "write")
	attend := enf.Require("record", "write")

	tenant.Get("/training", read, h.overview)
	tenant.Get("/training/courses", read, h.courses)
	tenant.Get("/training/courses/new", write, h.newCourse)
	tenant.Post("/training/courses", write, h.createCourse)
	tenant.Get("/training/courses/:id", read, h.course)
	tenant.Get("/training/sessions/new", write, h.newSession)
	tenant.Post("/training/sessions", write, h.createSessions)
	tenant.Get("/training/sessions/:id", read, h.session)
	tenant.Post("/training/sessions/:id/trainers", write, h.assignTrainer)
	tenant.Post("/training/sessions/:id/capacity", write, h.setCapacity)
	tenant.Post("/training/sessions/:id/cancel", write, h.cancelSession)
	tenant.Post("/training/sessions/:id/bookings", bookWrite, h.book)
	tenant.Get("/training/sessions/:id/register", attend, h.register)
	tenant.Post("/training/sessions/:id/register", attend, h.mark)
	tenant.Post("/training/bookings/:id/cancel", bookWrite, h.cancelBooking)
	tenant.Get("/training/trainers", read, h.pipeline)
	tenant.Get("/training/assessor-capacity", read, h.capacity)

	api.Get("/training/courses", read, h.coursesJSON)
	api.Post("/training/courses", write, h.createCourseJSON)
	api.Get("/training/courses/:id", read, h.courseJSON)
	api.Get("/training/sessions", read, h.sessionsJSON)
	api.Post("/training/sessions", write, h.createSessionsJSON)
	api.Get("/training/sessions/:id", read, h.sessionJSON)
	api.Get("/training/sessions/:id/bookings", bookRead, h.bookingsJSON)
	api.Post("/training/sessions/:id/bookings", bookWrite, h.bookJSON)
	api.Post("/training/sessions/:id/trainers", write, h.assignTrainerJSON)
	api.Post("/training/sessions/:id/attendance", attend, h.attendanceJSON)
	api.Post("/training/bookings/:id/cancel", bookWrite, h.cancelBookingJSON)
	api.Get("/training/trainers", read, h.pipelineJSON)
	api.Get("/training/assessor-capacity", read, h.capacityJSON)
}

type staffHandler struct {
	svc    *Service
	people PeopleFinder
	enf    *policy.Enforcers
}

// Messages of the handlers' own errors.
const (
	staffNoCourse   = "No course with that reference"
	staffNoSession  = "No session with that reference"
	staffNoBooking  = "No booking with that reference"
	staffNoPlace    = "This person has no place on the session"
	staffChooseWho  = "Choose who to book from the search results"
	staffChooseTrnr = "Choose who will run the session from the search results"
)

// staffOverviewWeeks is how far ahead the overview looks.
const staffOverviewWeeks = 8

// staffSearchLimit bounds the people a name search offers.
const staffSearchLimit = 20

// staffForm copies the named fields of the posted form.
func staffForm(c *fiber.Ctx, names ...string) map[string]string {
	form := make(map[string]string, len(names))
	for _, n := range names {
		form[n] = strings.Clone(c.FormValue(n))
	}
	return form
}

// staffDayStart is the start, in London, of the day t falls on there.
func staffDayStart(t time.Time) time.Time {
	y, m, d := t.In(London).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, London)
}

// Views of sessions.

// staffSessionRow is a session as the tables and summaries show it.
type staffSessionRow struct {
	Session
	Day         string // Tuesday 23 March 2027
	Times       string // 09:30 to 11:00
	Place       string
	StatusLabel string
	StatusTag   string
	Cutoff      string // when bookings close, in words
}

func staffRow(s Session) staffSessionRow {
	r := staffSessionRow{Session: s, Day: s.StartsAt.In(London).Format("Monday 2 January 2006"),
		Times: s.StartsAt.In(London).Format("15:04") + " to " + s.EndsAt.In(London).Format("15:04"),
		Place: s.Location, Cutoff: s.Cutoff().In(London).Format("Monday 2 January 2006 at 15:04")}
	if r.Place == "" {
		r.Place = "Online"
	} else if s.OnlineURL != "" {
		r.Place += " and online"
	}
	switch s.Status {
	case Cancelled:
		r.StatusLabel, r.StatusTag = "Cancelled", "nhsuk-tag--red"
	case Completed:
		r.StatusLabel, r.StatusTag = "Completed", "nhsuk-tag--grey"
	default:
		switch {
		case s.Booked >= s.Capacity:
			r.StatusLabel, r.StatusTag = "Full", "nhsuk-tag--orange"
		default:
			r.StatusLabel, r.StatusTag = "Places available", "nhsuk-tag--green"
		}
	}
	return r
}

func staffRows(list []Session) []staffSessionRow {
	out := make([]staffSessionRow, len(list))
	for i, s := range list {
		out[i] = staffRow(s)
	}
	return out
}

// The overview.

type staffOverviewView struct {
	Sessions []staffSessionRow
	Weeks    int
	CanWrite bool
}

func (h staffHandler) overview(c *fiber.Ctx) error {
	from := staffDayStart(h.svc.StaffNow())
	list, err := h.svc.StaffSessions(c.UserContext(), SessionQuery{From: from, To: from.AddDate(0, 0, 7*staffOverviewWeeks)})
	if err != nil {
		return err
	}
	return page.Render(c, "training/staff_overview", page.New(c, "Training", staffOverviewView{Sessions: staffRows(list),
		Weeks: staffOverviewWeeks, CanWrite: h.enf.Can(c, "session", "write")}))
}

// Courses.

type staffCoursesView struct {
	Courses  []Course
	CanWrite bool
}

func (h staffHandler) courses(c *fiber.Ctx) error {
	list, err := h.svc.Courses(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "training/staff_courses", page.New(c, "Courses", staffCoursesView{Courses: list,
		CanWrite: h.enf.Can(c, "session", "write")}))
}

type staffCourseView struct {
	Course   Course
	Sessions []staffSessionRow
	CanWrite bool
}

func (h staffHandler) course(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", staffNoCourse)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	co, err := h.svc.Course(ctx, id)
	if err != nil {
		return err
	}
	from := staffDayStart(h.svc.StaffNow())
	list, err := h.svc.StaffSessions(ctx, SessionQuery{From: from, To: from.AddDate(1, 0, 0), CourseID: id, Limit: 200})
	if err != nil {
		return err
	}
	return page.Render(c, "training/staff_course", page.New(c, co.Title, staffCourseView{Course: co, Sessions: staffRows(list),
		CanWrite: h.enf.Can(c, "session", "write")}))
}

// staffCompetencyItem is one checkbox of the course form.
type staffCompetencyItem struct {
	CompetencyChoice
	InputID string
	Checked bool
}

// staffCatalogueGroup is the checkboxes of one catalogue.
type staffCatalogueGroup struct {
	Title string
	Items []staffCompetencyItem
}

type staffCourseFormView struct {
	Formats   []Choice
	Audiences []Choice
	Groups    []staffCatalogueGroup
}

var staffCourseFields = []string{"title", "description", "format", "duration_minutes", "audience", "prerequisites",
	"default_capacity", "sign_off"}

func (h staffHandler) courseFormData(c *fiber.Ctx, selected []string) (page.Data, error) {
	choices, err := h.svc.StaffCompetencyChoices(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	chosen := map[string]bool{}
	for _, id := range selected {
		chosen[id] = true
	}
	v := staffCourseFormView{Formats: Formats, Audiences: Audiences}
	for i, ch := range choices {
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].Title != ch.Catalogue {
			v.Groups = append(v.Groups, staffCatalogueGroup{Title: ch.Catalogue})
		}
		id := "competency_ids"
		if i > 0 {
			id = fmt.Sprintf("competency_ids-%d", i)
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Items = append(g.Items, staffCompetencyItem{CompetencyChoice: ch, InputID: id, Checked: chosen[ch.ID.String()]})
	}
	return page.New(c, "Add a course", v), nil
}

func (h staffHandler) newCourse(c *fiber.Ctx) error {
	d, err := h.courseFormData(c, nil)
	if err != nil {
		return err
	}
	d.Form = map[string]string{"duration_minutes": "120", "default_capacity": "8"}
	return page.Render(c, "training/staff_course_form", d)
}

// staffAtoi reads a whole number typed into a form; bad is returned for
// anything else, so that the service's range check explains it.
func staffAtoi(s string, bad int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return bad
	}
	return n
}

func (h staffHandler) createCourse(c *fiber.Ctx) error {
	form := staffForm(c, staffCourseFields...)
	var selected []string
	in := CourseInput{Title: form["title"], Description: form["description"], Format: form["format"],
		DurationMinutes: staffAtoi(form["duration_minutes"], 0), Audience: form["audience"],
		Prerequisites: form["prerequisites"], DefaultCapacity: staffAtoi(form["default_capacity"], 0),
		SignOff: form["sign_off"] == "yes"}
	for _, raw := range c.Request().PostArgs().PeekMulti("competency_ids") {
		v := string(raw)
		selected = append(selected, v)
		id, err := uuid.Parse(v)
		if err != nil {
			id = uuid.Nil // not one of the choices: refused as such
		}
		in.Competencies = append(in.Competencies, id)
	}
	co, err := h.svc.CreateCourse(c.UserContext(), in)
	if err != nil {
		d, derr := h.courseFormData(c, selected)
		if derr != nil {
			return derr
		}
		return page.Invalid(c, "training/staff_course_form", d, err, form)
	}
	page.SetFlash(c, co.Title+" has been added.")
	return c.Redirect(tenants.Path(c, "/training/courses/"+co.ID.String()), fiber.StatusSeeOther)
}

// Scheduling sessions.

type staffSessionFormView struct {
	Courses []Course
}

var staffSessionFields = []string{"course_id", "date_day", "date_month", "date_year", "start", "end", "location",
	"online_url", "capacity", "cutoff_hours", "public", "count", "every_weeks"}

func (h staffHandler) sessionFormData(c *fiber.Ctx) (page.Data, error) {
	list, err := h.svc.Courses(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	return page.New(c, "Schedule a session", staffSessionFormView{Courses: list}), nil
}

func (h staffHandler) newSession(c *fiber.Ctx) error {
	d, err := h.sessionFormData(c)
	if err != nil {
		return err
	}
	d.Form = map[string]string{"count": "1", "cutoff_hours": "24", "start": "10:00", "end": "12:00"}
	if id, err := uuid.Parse(c.Query("course")); err == nil {
		for _, co := range d.Content.(staffSessionFormView).Courses {
			if co.ID == id {
				d.Form["course_id"] = id.String()
				d.Form["capacity"] = strconv.Itoa(co.DefaultCapacity)
			}
		}
	}
	return page.Render(c, "training/staff_session_form", d)
}

// staffSessionInput reads the session form. A number that is not one is
// given a value the service refuses with the field's own message; a count
// that is not a number is refused here, with nothing made.
func staffSessionInput(form map[string]string) (SessionInput, error) {
	in := SessionInput{Date: staffDate(form["date_day"], form["date_month"], form["date_year"]), Start: form["start"],
		End: form["end"], Location: form["location"], OnlineURL: form["online_url"], Public: form["public"] == "yes"}
	in.CourseID, _ = uuid.Parse(form["course_id"])
	if strings.TrimSpace(form["capacity"]) != "" {
		in.Capacity = staffAtoi(form["capacity"], -1)
	}
	if strings.TrimSpace(form["cutoff_hours"]) != "" {
		n := staffAtoi(form["cutoff_hours"], -1)
		in.CutoffHours = &n
	}
	in.Count = 1
	if strings.TrimSpace(form["count"]) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(form["count"]))
		if err != nil || n < 1 {
			return in, errs.Validation(errs.FieldError{Field: "count", Message: "Enter how many sessions, from 1 to 52"})
		}
		in.Count = n
	}
	if in.Count > 1 {
		in.EveryWeeks = staffAtoi(form["every_weeks"], 0)
	}
	return in, nil
}

// staffDate joins the boxes of a date input as YYYY-MM-DD, leaving what
// is not a date for the service to refuse.
func staffDate(day, month, year string) string {
	d, err1 := strconv.Atoi(strings.TrimSpace(day))
	m, err2 := strconv.Atoi(strings.TrimSpace(month))
	y, err3 := strconv.Atoi(strings.TrimSpace(year))
	if err1 != nil || err2 != nil || err3 != nil || y < 1000 || y > 9999 {
		return strings.TrimSpace(year) + "-" + strings.TrimSpace(month) + "-" + strings.TrimSpace(day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func (h staffHandler) createSessions(c *fiber.Ctx) error {
	form := staffForm(c, staffSessionFields...)
	in, err := staffSessionInput(form)
	var made []Session
	if err == nil {
		made, err = h.svc.CreateSessions(c.UserContext(), in)
	}
	if err != nil {
		d, derr := h.sessionFormData(c)
		if derr != nil {
			return derr
		}
		return page.Invalid(c, "training/staff_session_form", d, err, form)
	}
	if len(made) == 1 {
		page.SetFlash(c, "The session on "+staffRow(made[0]).Day+" has been scheduled.")
		return c.Redirect(tenants.Path(c, "/training/sessions/"+made[0].ID.String()), fiber.StatusSeeOther)
	}
	page.SetFlash(c, fmt.Sprintf("A series of %d sessions has been scheduled, from %s to %s.", len(made),
		staffRow(made[0]).Day, staffRow(made[len(made)-1]).Day))
	return c.Redirect(tenants.Path(c, "/training/courses/"+made[0].CourseID.String()), fiber.StatusSeeOther)
}

// One session.

type staffSessionView struct {
	staffSessionRow
	Course       Course
	Places       []Booking
	Waiting      []Booking
	ShowBookings bool
	CanWrite     bool
	CanBook      bool
	CanRegister  bool
	// Bookable: scheduled and before the cut-off; Upcoming: scheduled and
	// not yet started.
	Bookable bool
	Upcoming bool
	// The two name searches: booking someone, and assigning a trainer.
	Query           string
	Found           []FoundPerson
	TrainerQuery    string
	TrainerFound    []FoundPerson
	Role            string // trainer or assessor
	SearchAvailable bool
}

// sessionData builds the session page, with the results of the name
// searches q (book someone) and tq (assign a trainer) when given.
func (h staffHandler) sessionData(c *fiber.Ctx, id uuid.UUID, q, tq string) (page.Data, error) {
	ctx := c.UserContext()
	s, err := h.svc.Session(ctx, id)
	if err != nil {
		return page.Data{}, err
	}
	co, err := h.svc.Course(ctx, s.CourseID)
	if err != nil {
		return page.Data{}, err
	}
	now := h.svc.StaffNow()
	v := staffSessionView{staffSessionRow: staffRow(s), Course: co, ShowBookings: h.enf.Can(c, "booking", "read"),
		CanWrite: h.enf.Can(c, "session", "write"), CanBook: h.enf.Can(c, "booking", "write"),
		CanRegister: h.enf.Can(c, "record", "write"), Bookable: s.Status == Scheduled && !now.After(s.Cutoff()),
		Upcoming: s.Status == Scheduled && now.Before(s.StartsAt), Query: strings.TrimSpace(q),
		TrainerQuery: strings.TrimSpace(tq), Role: "trainer", SearchAvailable: h.people != nil}
	if co.SignOff {
		v.Role = "assessor"
	}
	if v.ShowBookings {
		list, err := h.svc.Bookings(ctx, id)
		if err != nil {
			return page.Data{}, err
		}
		for _, b := range list {
			if b.Status == Waiting {
				v.Waiting = append(v.Waiting, b)
			} else {
				v.Places = append(v.Places, b)
			}
		}
	}
	if v.CanBook && v.Query != "" {
		if v.Found, err = h.find(ctx, v.Query); err != nil {
			return page.Data{}, err
		}
	}
	if v.CanWrite && v.TrainerQuery != "" {
		if v.TrainerFound, err = h.find(ctx, v.TrainerQuery); err != nil {
			return page.Data{}, err
		}
	}
	return page.New(c, s.CourseTitle+": "+v.Day, v), nil
}

func (h staffHandler) find(ctx context.Context, q string) ([]FoundPerson, error) {
	if h.people == nil {
		return nil, nil
	}
	if len([]rune(q)) > 100 {
		return nil, errs.Validation(errs.FieldError{Field: "q", Message: "Search for a name of 100 characters or fewer"})
	}
	list, err := h.people.FindPeople(ctx, q, staffSearchLimit)
	if err != nil {
		return nil, fmt.Errorf("training: find people: %w", err)
	}
	return list, nil
}

func (h staffHandler) session(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", staffNoSession)
	if err != nil {
		return err
	}
	d, err := h.sessionData(c, id, c.Query("q"), c.Query("trainer_q"))
	if err != nil {
		return err
	}
	d.Form = map[string]string{"q": strings.Clone(c.Query("q")), "trainer_q": strings.Clone(c.Query("trainer_q")),
		"capacity": strconv.Itoa(d.Content.(staffSessionView).Capacity)}
	return page.Render(c, "training/staff_session", d)
}

// sessionInvalid shows the session page again with err's field errors,
// field renamed to as where it is the holder (the trainer and booking
// forms both name the person holder_id).
func (h staffHandler) sessionInvalid(c *fiber.Ctx, id uuid.UUID, form map[string]string, err error, as string) error {
	if fe := errs.FieldsOf(err); fe != nil && as != "" {
		for i := range fe {
			if fe[i].Field == "holder_id" {
				fe[i].Field = as
			}
		}
		err = errs.Validation(fe...)
	}
	d, derr := h.sessionData(c, id, form["q"], form["trainer_q"])
	if derr != nil {
		return derr
	}
	if _, ok := form["capacity"]; !ok {
		form["capacity"] = strconv.Itoa(d.Content.(staffSessionView).Capacity)
	}
	return page.Invalid(c, "training/staff_session", d, err, form)
}

// sessionFirst returns the session's id once it is known to be the
// tenant's, so that a form posted to a session that is not gets 404
// whatever it holds.
func (h staffHandler) sessionFirst(c *fiber.Ctx) (Session, error) {
	id, err := page.ParamID(c, "id", staffNoSession)
	if err != nil {
		return Session{}, err
	}
	return h.svc.Session(c.UserContext(), id)
}

func (h staffHandler) sessionPath(c *fiber.Ctx, id uuid.UUID) string {
	return tenants.Path(c, "/training/sessions/"+id.String())
}

func (h staffHandler) assignTrainer(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	form := staffForm(c, "holder_id", "trainer_q")
	who, perr := uuid.Parse(form["holder_id"])
	if perr != nil {
		return h.sessionInvalid(c, s.ID, form, errs.Validation(errs.FieldError{Field: "trainer_id", Message: staffChooseTrnr}), "")
	}
	if err := h.svc.AssignTrainer(c.UserContext(), s.ID, who); err != nil {
		return h.sessionInvalid(c, s.ID, form, err, "trainer_id")
	}
	page.SetFlash(c, "The trainer has been assigned.")
	return c.Redirect(h.sessionPath(c, s.ID), fiber.StatusSeeOther)
}

func (h staffHandler) setCapacity(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	form := staffForm(c, "capacity")
	if err := h.svc.SetCapacity(c.UserContext(), s.ID, staffAtoi(form["capacity"], -1)); err != nil {
		return h.sessionInvalid(c, s.ID, form, err, "")
	}
	page.SetFlash(c, "The number of places is now "+strings.TrimSpace(form["capacity"])+".")
	return c.Redirect(h.sessionPath(c, s.ID), fiber.StatusSeeOther)
}

type staffCancelView struct {
	staffSessionRow
}

func (h staffHandler) cancelSession(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	if s.Status != Scheduled {
		return h.sessionInvalid(c, s.ID, map[string]string{}, errs.E(errs.Conflict, "Only a scheduled session can be cancelled"), "")
	}
	if c.FormValue("confirm") != "yes" {
		return page.Render(c, "training/staff_session_cancel", page.New(c, "Cancel this session?",
			staffCancelView{staffSessionRow: staffRow(s)}))
	}
	if err := h.svc.CancelSession(c.UserContext(), s.ID); err != nil {
		if errs.Is(err, errs.Conflict) {
			return h.sessionInvalid(c, s.ID, map[string]string{}, err, "")
		}
		return err
	}
	page.SetFlash(c, fmt.Sprintf("The session has been cancelled. %d places and %d places on the waiting list were cancelled with it.",
		s.Booked, s.Waiting))
	return c.Redirect(h.sessionPath(c, s.ID), fiber.StatusSeeOther)
}

func (h staffHandler) book(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	form := staffForm(c, "holder_id", "q")
	who, perr := uuid.Parse(form["holder_id"])
	if perr != nil {
		return h.sessionInvalid(c, s.ID, form, errs.Validation(errs.FieldError{Field: "holder_id", Message: staffChooseWho}), "")
	}
	b, err := h.svc.Book(c.UserContext(), s.ID, who)
	if err != nil {
		return h.sessionInvalid(c, s.ID, form, err, "holder_id")
	}
	if b.Status == Waiting {
		page.SetFlash(c, "The session is full: "+b.HolderName+" is on the waiting list.")
	} else {
		page.SetFlash(c, b.HolderName+" has a place on the session.")
	}
	return c.Redirect(h.sessionPath(c, s.ID), fiber.StatusSeeOther)
}

func (h staffHandler) cancelBooking(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", staffNoBooking)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	sid, err := h.svc.StaffBookingSession(ctx, id)
	if err != nil {
		return err
	}
	promoted, err := h.svc.CancelBooking(ctx, id)
	if err != nil {
		if errs.FieldsOf(err) != nil || errs.Is(err, errs.Conflict) {
			return h.sessionInvalid(c, sid, map[string]string{}, err, "")
		}
		return err
	}
	msg := "The booking has been cancelled."
	if promoted != nil {
		msg += " The place has gone to " + promoted.HolderName + ", who was first on the waiting list."
	}
	page.SetFlash(c, msg)
	return c.Redirect(h.sessionPath(c, sid), fiber.StatusSeeOther)
}

// The attendance register.

// staffRegisterRow is one person with a place.
type staffRegisterRow struct {
	Booking
	Label string
	Tag   string
}

type staffRegisterView struct {
	staffSessionRow
	Rows    []staffRegisterRow
	Codes   []string
	Open    bool   // attendance can be recorded now
	OpensAt string // when it can, if not yet
}

func (h staffHandler) registerData(c *fiber.Ctx, s Session) (page.Data, error) {
	ctx := c.UserContext()
	co, err := h.svc.Course(ctx, s.CourseID)
	if err != nil {
		return page.Data{}, err
	}
	list, err := h.svc.Bookings(ctx, s.ID)
	if err != nil {
		return page.Data{}, err
	}
	opens := s.StartsAt.Add(-time.Hour)
	v := staffRegisterView{staffSessionRow: staffRow(s), Open: s.Status != Cancelled && !h.svc.StaffNow().Before(opens),
		OpensAt: opens.In(London).Format("15:04 on Monday 2 January 2006")}
	for _, k := range co.Competencies {
		v.Codes = append(v.Codes, k.Code)
	}
	for _, b := range list {
		r := staffRegisterRow{Booking: b}
		switch b.Status {
		case Waiting:
			continue
		case Attended:
			r.Label, r.Tag = "Present", "nhsuk-tag--green"
		case Absent:
			r.Label, r.Tag = "Absent", "nhsuk-tag--grey"
		default:
			r.Label, r.Tag = "Not recorded", "nhsuk-tag--white"
		}
		v.Rows = append(v.Rows, r)
	}
	return page.New(c, "Register: "+s.CourseTitle+", "+v.Day, v), nil
}

func (h staffHandler) register(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	d, err := h.registerData(c, s)
	if err != nil {
		return err
	}
	return page.Render(c, "training/staff_register", d)
}

func (h staffHandler) mark(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	form := staffForm(c, "holder_id", "present")
	who, perr := uuid.Parse(form["holder_id"])
	if perr != nil {
		return errs.E(errs.NotFound, staffNoPlace)
	}
	var recorded []string
	switch form["present"] {
	case "yes", "no":
		recorded, err = h.svc.MarkAttendance(c.UserContext(), s.ID, who, form["present"] == "yes")
	default:
		err = errs.E(errs.Invalid, "Choose present or absent")
	}
	if err != nil {
		if errs.FieldsOf(err) == nil && !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			return err
		}
		d, derr := h.registerData(c, s)
		if derr != nil {
			return derr
		}
		return page.Invalid(c, "training/staff_register", d, err, form)
	}
	d, err := h.registerData(c, s)
	if err != nil {
		return err
	}
	name := "They"
	for _, r := range d.Content.(staffRegisterView).Rows {
		if r.HolderID == who {
			name = r.HolderName
		}
	}
	msg := name + " is recorded as absent."
	if form["present"] == "yes" {
		msg = name + " is recorded as present."
		if len(recorded) > 0 {
			msg += " Recorded in their passport: training attended in " + strings.Join(recorded, ", ") + "."
		}
		if left := staffMinus(d.Content.(staffRegisterView).Codes, recorded); len(left) > 0 {
			msg += " Left as they were (already further on, or specific to one person cared for): " + strings.Join(left, ", ") + "."
		}
	}
	page.SetFlash(c, msg)
	return c.Redirect(tenants.Path(c, "/training/sessions/"+s.ID.String()+"/register#person-"+who.String()), fiber.StatusSeeOther)
}

// staffMinus returns the codes of all that are not in some.
func staffMinus(all, some []string) []string {
	in := map[string]bool{}
	for _, s := range some {
		in[s] = true
	}
	var out []string
	for _, a := range all {
		if !in[a] {
			out = append(out, a)
		}
	}
	return out
}

// The trainer pipeline and assessor capacity.

type staffPipelineView struct {
	Pipeline
	Stages int
}

func (h staffHandler) pipeline(c *fiber.Ctx) error {
	p, err := h.svc.TrainerPipeline(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "training/staff_trainers", page.New(c, "Trainers and assessors",
		staffPipelineView{Pipeline: p, Stages: PipelineStages}))
}

type staffCapacityView struct {
	Capacity
	FromDay, ToDay string
}

// staffWeeks reads ?weeks=, the capacity window.
func staffWeeks(c *fiber.Ctx) (int, error) {
	raw := strings.TrimSpace(c.Query("weeks"))
	if raw == "" {
		return CapacityDefaultWeeks, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > CapacityMaxWeeks {
		return CapacityDefaultWeeks, errs.Validation(errs.FieldError{Field: "weeks",
			Message: fmt.Sprintf("Enter a number of weeks from 1 to %d", CapacityMaxWeeks)})
	}
	return n, nil
}

func (h staffHandler) capacity(c *fiber.Ctx) error {
	weeks, werr := staffWeeks(c)
	capa, err := h.svc.AssessorCapacity(c.UserContext(), weeks)
	if err != nil {
		return err
	}
	d := page.New(c, "Assessor capacity", staffCapacityView{Capacity: capa,
		FromDay: capa.From.In(London).Format("2 January 2006"), ToDay: capa.To.In(London).Format("2 January 2006")})
	form := map[string]string{"weeks": strings.Clone(c.Query("weeks"))}
	if werr != nil {
		return page.Invalid(c, "training/staff_capacity", d, werr, form)
	}
	form["weeks"] = strconv.Itoa(weeks)
	d.Form = form
	return page.Render(c, "training/staff_capacity", d)
}

// JSON API.

func (h staffHandler) coursesJSON(c *fiber.Ctx) error {
	list, err := h.svc.Courses(c.UserContext())
	if err != nil {
		return err
	}
	if list == nil {
		list = []Course{}
	}
	return c.JSON(fiber.Map{"courses": list})
}

func (h staffHandler) createCourseJSON(c *fiber.Ctx) error {
	var in CourseInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	co, err := h.svc.CreateCourse(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1" + tenants.Path(c, "/training/courses/"+co.ID.String()))
	return c.Status(fiber.StatusCreated).JSON(co)
}

func (h staffHandler) courseJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", staffNoCourse)
	if err != nil {
		return err
	}
	co, err := h.svc.Course(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(co)
}

// staffInstant reads an API time: RFC 3339, or a date (YYYY-MM-DD), which
// is the start of that day in London, or of the day after when end is set
// (so a "to" date includes its day).
func staffInstant(raw, field string, end bool) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseInLocation(time.DateOnly, raw, London)
	if err != nil {
		return time.Time{}, errs.Validation(errs.FieldError{Field: field,
			Message: "Give " + field + " as a date (2027-03-15) or a date and time (2027-03-15T09:00:00Z)"})
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC(), nil
}

// staffMaxDays bounds the period one API listing of sessions covers.
const staffMaxDays = 366

func (h staffHandler) sessionsJSON(c *fiber.Ctx) error {
	q := SessionQuery{From: staffDayStart(h.svc.StaffNow())}
	var err error
	if raw := c.Query("from"); raw != "" {
		if q.From, err = staffInstant(raw, "from", false); err != nil {
			return err
		}
	}
	q.To = q.From.AddDate(0, 0, 7*staffOverviewWeeks)
	if raw := c.Query("to"); raw != "" {
		if q.To, err = staffInstant(raw, "to", true); err != nil {
			return err
		}
	}
	if !q.To.After(q.From) {
		return errs.Validation(errs.FieldError{Field: "to", Message: "to must be after from"})
	}
	if q.To.Sub(q.From) > staffMaxDays*24*time.Hour {
		return errs.Validation(errs.FieldError{Field: "to", Message: fmt.Sprintf("Ask for at most %d days at a time", staffMaxDays)})
	}
	if raw := c.Query("course_id"); raw != "" {
		if q.CourseID, err = uuid.Parse(raw); err != nil {
			return errs.Validation(errs.FieldError{Field: "course_id", Message: "course_id must be a course's id"})
		}
	}
	list, err := h.svc.StaffSessions(c.UserContext(), q)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Session{}
	}
	return c.JSON(fiber.Map{"from": q.From, "to": q.To, "sessions": list})
}

func (h staffHandler) createSessionsJSON(c *fiber.Ctx) error {
	var in SessionInput
	if err := jsonbody.Decode(c, &in); err != nil {
		return err
	}
	made, err := h.svc.CreateSessions(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"sessions": made})
}

func (h staffHandler) sessionJSON(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (h staffHandler) bookingsJSON(c *fiber.Ctx) error {
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	list, err := h.svc.Bookings(c.UserContext(), s.ID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Booking{}
	}
	return c.JSON(fiber.Map{"bookings": list})
}

// staffHolderRequest is the body naming a holder.
type staffHolderRequest struct {
	HolderID string `json:"holder_id"`
}

func (r staffHolderRequest) id() (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(r.HolderID))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.Validation(errs.FieldError{Field: "holder_id", Message: "holder_id must be a holder's id"})
	}
	return id, nil
}

func (h staffHandler) bookJSON(c *fiber.Ctx) error {
	var req staffHolderRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	who, err := req.id()
	if err != nil {
		return err
	}
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	b, err := h.svc.Book(c.UserContext(), s.ID, who)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(b)
}

func (h staffHandler) cancelBookingJSON(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", staffNoBooking)
	if err != nil {
		return err
	}
	promoted, err := h.svc.CancelBooking(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": id, "status": Cancel, "promoted": promoted})
}

func (h staffHandler) assignTrainerJSON(c *fiber.Ctx) error {
	var req staffHolderRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	who, err := req.id()
	if err != nil {
		return err
	}
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	if err := h.svc.AssignTrainer(c.UserContext(), s.ID, who); err != nil {
		return err
	}
	s, err = h.svc.Session(c.UserContext(), s.ID)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

// staffAttendanceRequest is the body of POST sessions/:id/attendance.
type staffAttendanceRequest struct {
	HolderID string `json:"holder_id"`
	Present  *bool  `json:"present"`
}

func (h staffHandler) attendanceJSON(c *fiber.Ctx) error {
	var req staffAttendanceRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	who, err := staffHolderRequest{HolderID: req.HolderID}.id()
	if req.Present == nil {
		fe := errs.FieldsOf(err)
		return errs.Validation(append(fe, errs.FieldError{Field: "present", Message: "present must be true or false"})...)
	}
	if err != nil {
		return err
	}
	s, err := h.sessionFirst(c)
	if err != nil {
		return err
	}
	recorded, err := h.svc.MarkAttendance(c.UserContext(), s.ID, who, *req.Present)
	if err != nil {
		return err
	}
	status := Absent
	if *req.Present {
		status = Attended
	}
	if recorded == nil {
		recorded = []string{}
	}
	return c.JSON(fiber.Map{"session_id": s.ID, "holder_id": who, "status": status, "recorded": recorded})
}

func (h staffHandler) pipelineJSON(c *fiber.Ctx) error {
	p, err := h.svc.TrainerPipeline(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (h staffHandler) capacityJSON(c *fiber.Ctx) error {
	weeks, err := staffWeeks(c)
	if err != nil {
		return err
	}
	capa, err := h.svc.AssessorCapacity(c.UserContext(), weeks)
	if err != nil {
		return err
	}
	return c.JSON(capa)
}
