package training_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// staffSite is the real web application with the staff training routes
// mounted, finding people through the real holder service.
func staffSite(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	prev := f.Invalidate
	f.Invalidate = func(domain string) {
		if prev != nil {
			prev(domain)
		}
		enf.Invalidate(domain)
	}
	holders := holder.NewService(f.Scoped, f.Log, f.clock.Now)
	people := training.PeopleFinderFunc(func(ctx context.Context, q string, limit int) ([]training.FoundPerson, error) {
		list, err := holders.List(ctx, q, limit)
		if err != nil {
			return nil, err
		}
		out := make([]training.FoundPerson, len(list))
		for i, h := range list {
			out[i] = training.FoundPerson{ID: h.ID, Name: h.Name(), Left: h.Left()}
		}
		return out, nil
	})
	return webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{}, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "training", FS: training.Templates}},
		func(srv *web.Server) { training.Routes(srv.Tenant, srv.TenantAPI, f.svc, people, enf) })
}

// staffBrowser is a client of s signed in as accountID holding a CSRF token.
func staffBrowser(t *testing.T, s *webtest.Site, accountID uuid.UUID) *webtest.Client {
	t.Helper()
	b := s.Client(t, accountID)
	b.Get("/t/no-such-tenant-at-all")
	return b
}

func staffExpect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
}

func staffLacks(t *testing.T, r webtest.Response, absent ...string) {
	t.Helper()
	for _, s := range absent {
		if strings.Contains(r.Body, s) {
			t.Errorf("%s %s: body has %q", r.Method, r.Path, s)
		}
	}
}

// staffSeeOther fails unless r redirects to a path starting with prefix,
// and returns the path.
func staffSeeOther(t *testing.T, r webtest.Response, prefix string) string {
	t.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, prefix) {
		t.Fatalf("%s %s: %d to %q, want 303 to %s…\n%s", r.Method, r.Path, r.Status, r.Location, prefix, r.Body)
	}
	return r.Location
}

func staffSessionForm(course uuid.UUID, day, month, year, start, end string) url.Values {
	return url.Values{"course_id": {course.String()}, "date_day": {day}, "date_month": {month}, "date_year": {year},
		"start": {start}, "end": {end}, "location": {"Ward 4 seminar room"}, "cutoff_hours": {"24"}, "count": {"1"}}
}

func TestStaffCreateACourseAndASeriesOverTheWeb(t *testing.T) {
	f := newFixture(t)
	s := staffSite(t, f)
	b := staffBrowser(t, s, f.admin)

	staffExpect(t, b.Get("/t/trust/training"), 200, "Training", "Schedule a session", "No sessions are scheduled",
		"/t/trust/training/trainers", "/t/trust/training/assessor-capacity")
	staffExpect(t, b.Get("/t/trust/training/courses/new"), 200, "Add a course", "PCC-01: Title of PCC-01",
		"PCC-T01: Title of PCC-T01 (trainer competency)", `id="competency_ids"`)

	// Nothing chosen: every field says what is wrong, nothing is stored.
	r := b.PostForm("/t/trust/training/courses", url.Values{"title": {"  "}, "duration_minutes": {"ten"}})
	staffExpect(t, r, 422, "There is a problem", `href="#title"`, "Enter the course title", `href="#format"`,
		`href="#duration_minutes"`, `href="#audience"`, `href="#default_capacity"`, `href="#competency_ids"`, `value="ten"`)
	if n := f.Rows(f.trust, "courses", ""); n != 0 {
		t.Fatalf("%d courses stored from a refused form", n)
	}

	form := url.Values{"title": {"Suction and airway care"}, "format": {training.FormatManikin}, "duration_minutes": {"90"},
		"audience": {training.AudienceParentsCarers}, "default_capacity": {"6"},
		"competency_ids": {f.comps["PCC-01"].String(), f.comps["PCC-02"].String()}}
	course := staffSeeOther(t, b.PostForm("/t/trust/training/courses", form), "/t/trust/training/courses/")
	courseID := strings.TrimPrefix(course, "/t/trust/training/courses/")
	staffExpect(t, b.Get(course), 200, "Suction and airway care has been added", "Manikin practice", "90 minutes",
		"PCC-01: Title of PCC-01", "PCC-02: Title of PCC-02", "No sessions of this course are scheduled",
		"/t/trust/training/sessions/new?course="+courseID)
	staffExpect(t, b.Get("/t/trust/training/courses"), 200, "Suction and airway care", "PCC-01, PCC-02")
	staffExpect(t, b.Get("/t/trust/training/sessions/new?course="+courseID), 200,
		`<option value="`+courseID+`" selected>Suction and airway care</option>`, `value="6"`)

	// Bad sessions: 422 with the field's message, nothing stored.
	cid := uuid.MustParse(courseID)
	bad := []struct {
		name string
		form url.Values
		want []string
	}{
		{"in the past", staffSessionForm(cid, "1", "3", "2027", "10:00", "12:00"), []string{`href="#date"`, "The session must start in the future"}},
		{"end before start", staffSessionForm(cid, "1", "4", "2027", "12:00", "10:00"), []string{`href="#end"`, "The session must end after it starts"}},
		{"not a date", staffSessionForm(cid, "30", "2", "2027", "10:00", "12:00"), []string{`href="#date"`, "Enter the date as a real date"}},
		{"places not a number", func() url.Values {
			v := staffSessionForm(cid, "1", "4", "2027", "10:00", "12:00")
			v.Set("capacity", "lots")
			return v
		}(), []string{`href="#capacity"`, "Places must be a number from 1 to 500", `value="lots"`}},
	}
	for _, tc := range bad {
		staffExpect(t, b.PostForm("/t/trust/training/sessions", tc.form), 422, append([]string{"There is a problem"}, tc.want...)...)
	}
	if n := f.Rows(f.trust, "training_sessions", ""); n != 0 {
		t.Fatalf("%d sessions stored from refused forms", n)
	}

	// One session, then a fortnightly series across the clock change.
	one := staffSeeOther(t, b.PostForm("/t/trust/training/sessions", staffSessionForm(cid, "18", "3", "2027", "10:00", "12:00")),
		"/t/trust/training/sessions/")
	staffExpect(t, b.Get(one), 200, "The session on Thursday 18 March 2027 has been scheduled", "10:00 to 12:00", "0 of 6 taken")
	series := staffSessionForm(cid, "23", "3", "2027", "09:30", "11:00")
	series.Set("count", "3")
	series.Set("every_weeks", "2")
	staffSeeOther(t, b.PostForm("/t/trust/training/sessions", series), course)
	staffExpect(t, b.Get(course), 200, "A series of 3 sessions has been scheduled, from Tuesday 23 March 2027 to Tuesday 20 April 2027",
		"Tuesday 23 March 2027", "Tuesday 6 April 2027", "Tuesday 20 April 2027", "09:30 to 11:00", "4 upcoming sessions")
	if n := f.Rows(f.trust, "training_sessions", "series_id IS NOT NULL"); n != 3 {
		t.Fatalf("%d sessions in the series, want 3", n)
	}
	staffExpect(t, b.Get("/t/trust/training"), 200, "Thursday 18 March 2027", "Tuesday 20 April 2027", "0 of 6")

	// The same over the API.
	r = b.API("POST", "/api/v1/t/trust/training/sessions", `{"course_id":"`+courseID+`","date":"2027-03-10","start":"10:00","end":"09:00","location":"X"}`)
	staffExpect(t, r, 422, `"field":"end"`)
	r = b.API("POST", "/api/v1/t/trust/training/sessions", `{"course_id":"`+courseID+`","date":"2027-05-04","start":"10:00","end":"11:00","location":"Ward 4"}`)
	staffExpect(t, r, 201, `"starts_at":"2027-05-04T09:00:00Z"`)
	r = b.API("GET", "/api/v1/t/trust/training/sessions?from=2027-04-01&to=2027-05-04", "")
	staffExpect(t, r, 200)
	var list struct{ Sessions []training.Session }
	if err := json.Unmarshal([]byte(r.Body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sessions) != 3 { // 6 April, 20 April, 4 May (the "to" date is included)
		t.Fatalf("sessions from 1 April to 4 May: %d\n%s", len(list.Sessions), r.Body)
	}
	staffExpect(t, b.API("GET", "/api/v1/t/trust/training/sessions?from=soon", ""), 422, `"field":"from"`)
	staffExpect(t, b.API("GET", "/api/v1/t/trust/training/courses/"+courseID, ""), 200, `"title":"Suction and airway care"`, `"code":"PCC-02"`)
}

func TestStaffRunASessionTrainersBookingsAndTheRegister(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	sess := f.sessionOn(c, "2027-03-16", 2) // tomorrow at 10:00; bookings close at 10:00 today
	signed := start.AddDate(0, -1, 0)
	full := f.Holder(f.trust, "Fran", "Fulltrainer", uuid.Nil)
	f.Record(f.trust, full, f.comps["PCC-T01"], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "A"})
	partial := f.Holder(f.trust, "Pip", "Parttrainer", uuid.Nil)
	f.Record(f.trust, partial, f.comps["PCC-T02"], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "A"})
	came := f.Holder(f.trust, "Cara", "Came", uuid.Nil)
	missed := f.Holder(f.trust, "Mo", "Missed", uuid.Nil)
	waiter := f.Holder(f.trust, "Wyn", "Waiting", uuid.Nil)
	s := staffSite(t, f)
	b := staffBrowser(t, s, f.admin)
	page := "/t/trust/training/sessions/" + sess.ID.String()

	// An ineligible trainer is refused with what they lack.
	staffExpect(t, b.Get(page+"?trainer_q=parttrainer"), 200, "Who runs it", "Pip Parttrainer", `id="trainer_id"`)
	r := b.PostForm(page+"/trainers", url.Values{"holder_id": {partial.String()}, "trainer_q": {"parttrainer"}})
	staffExpect(t, r, 422, `href="#trainer_id"`, "They cannot run this session: they hold no current trainer competency covering PCC-02",
		`id="trainer_id-error"`, "Pip Parttrainer")
	staffExpect(t, b.PostForm(page+"/trainers", url.Values{"trainer_q": {"parttrainer"}}), 422, "Choose who will run the session")
	staffSeeOther(t, b.PostForm(page+"/trainers", url.Values{"holder_id": {full.String()}}), page)
	staffExpect(t, b.Get(page), 200, "The trainer has been assigned", "Fran Fulltrainer")

	// Staff book people on their behalf; the third waits.
	staffExpect(t, b.Get(page+"?q=came"), 200, "Book someone on this session", "Cara Came", `id="holder_id"`)
	staffExpect(t, b.PostForm(page+"/bookings", url.Values{"q": {"came"}}), 422, `href="#holder_id"`, "Choose who to book")
	for _, h := range []uuid.UUID{came, missed} {
		staffSeeOther(t, b.PostForm(page+"/bookings", url.Values{"holder_id": {h.String()}}), page)
	}
	staffExpect(t, b.Get(page), 200, "Mo Missed has a place on the session", "2 of 2 taken", "Cara Came", "Nobody is waiting")
	staffSeeOther(t, b.PostForm(page+"/bookings", url.Values{"holder_id": {waiter.String()}}), page)
	staffExpect(t, b.Get(page), 200, "The session is full: Wyn Waiting is on the waiting list", "1 waiting")
	staffExpect(t, b.PostForm(page+"/bookings", url.Values{"holder_id": {came.String()}, "q": {"came"}}), 422,
		"Cara Came already has a place on this session")
	staffExpect(t, b.PostForm(page+"/bookings", url.Values{"holder_id": {uuid.NewString()}, "q": {"came"}}), 422,
		"Choose someone recorded by the organisation")

	// Capacity cannot fall below the places taken.
	staffExpect(t, b.PostForm(page+"/capacity", url.Values{"capacity": {"1"}}), 422, `href="#capacity"`,
		"2 places are already taken", `value="1"`)
	staffExpect(t, b.PostForm(page+"/capacity", url.Values{"capacity": {"many"}}), 422, "Places must be a number from 1 to 500")
	if got, _ := f.svc.Session(f.ctx(), sess.ID); got.Capacity != 2 {
		t.Fatalf("capacity changed to %d by a refused form", got.Capacity)
	}

	// The register opens an hour before the start; present writes into the passport.
	staffExpect(t, b.Get(page+"/register"), 200, "You can record attendance from 09:00 on Tuesday 16 March 2027", "Cara Came")
	f.clock.Set(time.Date(2027, 3, 16, 10, 15, 0, 0, time.UTC))
	b = staffBrowser(t, s, f.admin) // the earlier sign-in has timed out
	r = b.Get(page + "/register")
	staffExpect(t, r, 200, "Cara Came", "Mo Missed", `name="present" value="yes"`, `name="present" value="no"`, "PCC-01, PCC-02")
	staffLacks(t, r, "Wyn Waiting")
	staffSeeOther(t, b.PostForm(page+"/register", url.Values{"holder_id": {came.String()}, "present": {"yes"}}), page+"/register#person-")
	staffExpect(t, b.Get(page+"/register"), 200, "Cara Came is recorded as present. Recorded in their passport: training attended in PCC-01, PCC-02.",
		"Training attended is recorded in their passport")
	if n := f.Rows(f.trust, "competency_records", "holder_id = ? AND state = 'training_attended'", came); n != 2 {
		t.Fatalf("%d training-attended records after present, want 2", n)
	}
	staffSeeOther(t, b.PostForm(page+"/register", url.Values{"holder_id": {missed.String()}, "present": {"no"}}), page+"/register")
	staffExpect(t, b.Get(page+"/register"), 200, "Mo Missed is recorded as absent")
	if n := f.Rows(f.trust, "competency_records", "holder_id = ?", missed); n != 0 {
		t.Fatalf("an absent holder got %d records", n)
	}
	staffExpect(t, b.PostForm(page+"/register", url.Values{"holder_id": {came.String()}, "present": {"no"}}), 422,
		"already recorded in their passport")
	staffExpect(t, b.PostForm(page+"/register", url.Values{"holder_id": {waiter.String()}, "present": {"yes"}}), 404)

	// The same over the API.
	r = b.API("POST", "/api/v1/t/trust/training/sessions/"+sess.ID.String()+"/attendance", `{"holder_id":"`+missed.String()+`","present":true}`)
	staffExpect(t, r, 200, `"status":"attended"`, `"recorded":["PCC-01","PCC-02"]`)
	staffExpect(t, b.API("POST", "/api/v1/t/trust/training/sessions/"+sess.ID.String()+"/attendance", `{"holder_id":"`+missed.String()+`"}`),
		422, `"field":"present"`)
	r = b.API("GET", "/api/v1/t/trust/training/sessions/"+sess.ID.String()+"/bookings", "")
	staffExpect(t, r, 200, `"holder_name":"Cara Came"`, `"status":"waiting"`)
	if ev := f.LastEvent(f.trust, "booking.list"); ev.ObjectID != sess.ID.String() {
		t.Fatalf("the bookings read was audited as %+v", ev)
	}
}

func TestStaffCancelBookingsAndSessions(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	sess := f.sessionOn(c, "2027-04-01", 1)
	first, second := f.Holder(f.trust, "First", "Booker", uuid.Nil), f.Holder(f.trust, "Second", "Booker", uuid.Nil)
	b1, err := f.svc.Book(f.ctx(), sess.ID, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Book(f.ctx(), sess.ID, second); err != nil {
		t.Fatal(err)
	}
	s := staffSite(t, f)
	b := staffBrowser(t, s, f.admin)
	page := "/t/trust/training/sessions/" + sess.ID.String()

	staffSeeOther(t, b.PostForm("/t/trust/training/bookings/"+b1.ID.String()+"/cancel", nil), page)
	staffExpect(t, b.Get(page), 200, "The place has gone to Second Booker, who was first on the waiting list", "1 of 1 taken")
	staffExpect(t, b.PostForm("/t/trust/training/bookings/"+b1.ID.String()+"/cancel", nil), 422, "Only a current booking can be cancelled")
	staffExpect(t, b.PostForm("/t/trust/training/bookings/"+uuid.NewString()+"/cancel", nil), 404)

	// Cancelling a session asks first.
	r := b.PostForm(page+"/cancel", nil)
	staffExpect(t, r, 200, "Cancel this session?", "1 person has a place and 0 are waiting", `name="confirm" value="yes"`)
	if got, _ := f.svc.Session(f.ctx(), sess.ID); got.Status != training.Scheduled {
		t.Fatalf("the session is %s before confirmation", got.Status)
	}
	staffSeeOther(t, b.PostForm(page+"/cancel", url.Values{"confirm": {"yes"}}), page)
	r = b.Get(page)
	staffExpect(t, r, 200, "The session has been cancelled", "Cancelled")
	staffLacks(t, r, "Cancel this session", "Book someone on this session")
	staffExpect(t, b.PostForm(page+"/cancel", url.Values{"confirm": {"yes"}}), 422, "Only a scheduled session can be cancelled")
	if got, _ := f.svc.Session(f.ctx(), sess.ID); got.Status != training.Cancelled || got.Booked != 0 {
		t.Fatalf("after cancelling: %s with %d booked", got.Status, got.Booked)
	}
}

func TestStaffRolesSeeOnlyWhatTheyMayDo(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	sess := f.sessionOn(c, "2027-04-01", 4)
	page := "/t/trust/training/sessions/" + sess.ID.String()
	s := staffSite(t, f)
	// A discharge coordinator reads sessions and books people, but does not
	// schedule, staff or cancel sessions, nor keep the register.
	coord := staffBrowser(t, s, f.Staff(f.trust, "dc@trust.example", "Dee Coordinator", "discharge_coordinator"))
	r := coord.Get("/t/trust/training")
	staffExpect(t, r, 200, "Training")
	staffLacks(t, r, "Schedule a session")
	r = coord.Get(page)
	staffExpect(t, r, 200, "Book someone on this session", "People with places")
	staffLacks(t, r, "Cancel this session", "Who runs it", "Open the attendance register")
	for _, req := range []struct{ method, path string }{
		{"GET", "/t/trust/training/courses/new"}, {"POST", "/t/trust/training/courses"},
		{"GET", "/t/trust/training/sessions/new"}, {"POST", "/t/trust/training/sessions"},
		{"POST", page + "/trainers"}, {"POST", page + "/capacity"}, {"POST", page + "/cancel"},
		{"GET", page + "/register"}, {"POST", page + "/register"},
	} {
		var res webtest.Response
		if req.method == "GET" {
			res = coord.Get(req.path)
		} else {
			res = coord.PostForm(req.path, url.Values{"capacity": {"9"}, "confirm": {"yes"}})
		}
		staffExpect(t, res, 403)
	}
	staffExpect(t, coord.API("POST", "/api/v1/t/trust/training/courses", `{}`), 403)
	if got, _ := f.svc.Session(f.ctx(), sess.ID); got.Capacity != 4 || got.Status != training.Scheduled {
		t.Fatalf("a refused request changed the session: %+v", got)
	}
	// Ward staff see no training at all; another tenant's staff find nothing.
	ward := staffBrowser(t, s, f.Staff(f.trust, "ward@trust.example", "Will Ward", "ward_staff"))
	staffExpect(t, ward.Get("/t/trust/training"), 403)
	other := f.Tenant("other", tenants.KindPaediatricTrust)
	outsider := staffBrowser(t, s, f.Staff(other, "pe@other.example", "Oz Other", "practice_educator"))
	staffExpect(t, outsider.Get("/t/trust/training"), 404)
	staffExpect(t, outsider.Get("/t/other/training/sessions/"+sess.ID.String()), 404)
	staffExpect(t, outsider.Get("/t/other/training/courses/"+c.ID.String()), 404)
}

func TestStaffJSONAPI(t *testing.T) {
	f := newFixture(t)
	signed := start.AddDate(0, -1, 0)
	partial := f.Holder(f.trust, "Pip", "Parttrainer", uuid.Nil)
	f.Record(f.trust, partial, f.comps["PCC-T02"], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "A"})
	carer := f.Holder(f.trust, "Cara", "Carer", uuid.Nil)
	s := staffSite(t, f)
	b := staffBrowser(t, s, f.admin)
	api := "/api/v1/t/trust/training"

	staffExpect(t, b.API("POST", api+"/courses", `{"title":"","format":"x","competency_ids":[]}`), 422,
		`"field":"title"`, `"field":"format"`, `"field":"competency_ids"`)
	staffExpect(t, b.API("POST", api+"/courses", `{"title":"X","colour":"red"}`), 422, "Unknown field")
	r := b.API("POST", api+"/courses", `{"title":"Airway care","format":"manikin","duration_minutes":60,"audience":"any",`+
		`"default_capacity":1,"competency_ids":["`+f.comps["PCC-02"].String()+`"]}`)
	staffExpect(t, r, 201, `"title":"Airway care"`, `"code":"PCC-02"`)
	var course training.Course
	if err := json.Unmarshal([]byte(r.Body), &course); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(r.Header.Get("Location"), "/training/courses/"+course.ID.String()) {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	staffExpect(t, b.API("GET", api+"/courses", ""), 200, `"courses":[{`, `"Airway care"`)
	r = b.API("POST", api+"/sessions", `{"course_id":"`+course.ID.String()+`","date":"2027-04-01","start":"10:00","end":"11:00","location":"Ward 4"}`)
	staffExpect(t, r, 201)
	var made struct{ Sessions []training.Session }
	if err := json.Unmarshal([]byte(r.Body), &made); err != nil || len(made.Sessions) != 1 {
		t.Fatalf("%v %s", err, r.Body)
	}
	sess := api + "/sessions/" + made.Sessions[0].ID.String()
	staffExpect(t, b.API("GET", sess, ""), 200, `"capacity":1`, `"course_title":"Airway care"`)

	staffExpect(t, b.API("POST", sess+"/trainers", `{"holder_id":"`+partial.String()+`"}`), 422,
		"no current trainer competency covering PCC-02")
	staffExpect(t, b.API("POST", sess+"/bookings", `{"holder_id":"nobody"}`), 422, `"field":"holder_id"`)
	r = b.API("POST", sess+"/bookings", `{"holder_id":"`+carer.String()+`"}`)
	staffExpect(t, r, 201, `"status":"booked"`, `"holder_name":"Cara Carer"`)
	var booking training.Booking
	if err := json.Unmarshal([]byte(r.Body), &booking); err != nil {
		t.Fatal(err)
	}
	staffExpect(t, b.API("POST", sess+"/bookings", `{"holder_id":"`+partial.String()+`"}`), 201, `"status":"waiting"`)
	staffExpect(t, b.API("POST", api+"/bookings/"+booking.ID.String()+"/cancel", ""), 200, `"status":"cancelled"`,
		`"holder_name":"Pip Parttrainer"`)
	staffExpect(t, b.API("POST", api+"/bookings/"+uuid.NewString()+"/cancel", ""), 404)
	staffExpect(t, b.API("GET", api+"/sessions/"+uuid.NewString()+"/bookings", ""), 404)
	staffExpect(t, b.API("GET", api+"/trainers", ""), 200, `"current":[{`, `"holder_name":"Pip Parttrainer"`, `"in_progress":[]`)
	staffExpect(t, b.API("GET", api+"/assessor-capacity?weeks=99", ""), 422, `"field":"weeks"`)
}
