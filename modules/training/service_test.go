package training_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

// The fixture clock starts on a Monday in mid-March 2027, so sessions can
// cross the clock change on Sunday 28 March.
var start = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

type fixture struct {
	*moduletest.Env
	clock   *moduletest.Clock
	records *record.Service
	svc     *training.Service
	events  *recorder
	trust   tenants.Tenant
	admin   uuid.UUID
	comps   map[string]uuid.UUID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	cats := catalogue.NewService(f.Scoped, f.Log, clock.Now)
	f.records = record.NewService(record.Deps{DB: f.Scoped, Specs: cats, Finder: cats, Accounts: f.Accounts, Authz: enf, Audit: f.Log},
		record.Config{Now: clock.Now})
	f.events = &recorder{}
	f.svc = training.NewService(f.Scoped, f.Log, f.records, f.events, clock.Now)
	f.trust = f.Tenant("trust", tenants.KindPaediatricTrust)
	f.admin = f.Staff(f.trust, "educator@trust.example", "Pat Educator", "practice_educator")
	f.comps = f.Catalogue(f.trust, "pcc",
		moduletest.Competency{Code: "PCC-01"}, moduletest.Competency{Code: "PCC-02"},
		moduletest.Competency{Code: "PCC-T01", Kind: "trainer", Covers: []string{"PCC-01", "PCC-02"}},
		moduletest.Competency{Code: "PCC-T02", Kind: "trainer", Covers: []string{"PCC-01"}},
		moduletest.Competency{Code: "PCC-A01", Kind: "assessor", Covers: []string{"PCC-01", "PCC-02"}})
	return f
}

// recorder keeps the booking changes the service told, and fails the next
// one when fail is set.
type recorder struct {
	mu      sync.Mutex
	changes []training.Change
	fail    bool
}

func (r *recorder) BookingChanged(_ context.Context, _ *gorm.DB, c training.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		r.fail = false
		return errors.New("enqueue failed")
	}
	r.changes = append(r.changes, c)
	return nil
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		out = append(out, c.Kind)
	}
	return out
}

func (f *fixture) ctx() context.Context { return moduletest.As(f.trust, f.admin) }

func (f *fixture) course(signOff bool) training.Course {
	f.T.Helper()
	title := "Suction and airway care"
	if signOff {
		title = "Airway care assessment"
	}
	c, err := f.svc.CreateCourse(f.ctx(), training.CourseInput{Title: title, Format: training.FormatManikin, DurationMinutes: 120,
		Audience: training.AudienceParentsCarers, DefaultCapacity: 4, SignOff: signOff,
		Competencies: []uuid.UUID{f.comps["PCC-01"], f.comps["PCC-02"]}})
	if err != nil {
		f.T.Fatalf("course: %v", err)
	}
	return c
}

func (f *fixture) sessionOn(c training.Course, date string, capacity int) training.Session {
	f.T.Helper()
	list, err := f.svc.CreateSessions(f.ctx(), training.SessionInput{CourseID: c.ID, Date: date, Start: "10:00", End: "12:00",
		Location: "Ward 4 seminar room", Capacity: capacity})
	if err != nil {
		f.T.Fatalf("session: %v", err)
	}
	return list[0]
}

func fields(err error) map[string]string {
	out := map[string]string{}
	for _, fe := range errs.FieldsOf(err) {
		out[fe.Field] = fe.Message
	}
	return out
}

func TestSessionTimesAreLondonWallClockAcrossTheClockChange(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	// Every second Tuesday from 23 March 2027: before and after BST starts.
	list, err := f.svc.CreateSessions(f.ctx(), training.SessionInput{CourseID: c.ID, Date: "2027-03-23", Start: "09:30",
		End: "11:00", Location: "Ward 4", EveryWeeks: 2, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2027-03-23T09:30:00Z", "2027-04-06T08:30:00Z", "2027-04-20T08:30:00Z"}
	for i, s := range list {
		if got := s.StartsAt.Format(time.RFC3339); got != want[i] {
			t.Errorf("session %d starts %s, want %s", i, got, want[i])
		}
		if local := s.StartsAt.In(training.London).Format("Mon 15:04"); local != "Tue 09:30" {
			t.Errorf("session %d is %s in London", i, local)
		}
		if s.SeriesID == nil || *s.SeriesID != *list[0].SeriesID {
			t.Errorf("session %d is not in the series", i)
		}
	}
	// The night of the change in October: a session at 01:30 on the Sunday
	// happens once, at the first 01:30 (BST).
	late, err := f.svc.CreateSessions(f.ctx(), training.SessionInput{CourseID: c.ID, Date: "2027-10-31", Start: "00:30",
		End: "03:00", Location: "Ward 4"})
	if err != nil {
		t.Fatal(err)
	}
	if d := late[0].EndsAt.Sub(late[0].StartsAt); d != 3*time.Hour+30*time.Minute {
		t.Errorf("00:30 to 03:00 on the night the clocks go back lasts %s, want 3h30m", d)
	}
}

func TestBadSessionsAreRefusedAndNothingIsStored(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	cases := []struct {
		name  string
		in    training.SessionInput
		field string
	}{
		{"in the past", training.SessionInput{Date: "2027-03-01", Start: "10:00", End: "11:00", Location: "X"}, "date"},
		{"earlier today", training.SessionInput{Date: "2027-03-15", Start: "08:00", End: "11:00", Location: "X"}, "date"},
		{"end before start", training.SessionInput{Date: "2027-04-01", Start: "11:00", End: "10:00", Location: "X"}, "end"},
		{"not a date", training.SessionInput{Date: "2027-02-30", Start: "10:00", End: "11:00", Location: "X"}, "date"},
		{"nowhere", training.SessionInput{Date: "2027-04-01", Start: "10:00", End: "11:00"}, "location"},
		{"insecure link", training.SessionInput{Date: "2027-04-01", Start: "10:00", End: "11:00", OnlineURL: "http://meet.example"}, "online_url"},
		{"too many places", training.SessionInput{Date: "2027-04-01", Start: "10:00", End: "11:00", Location: "X", Capacity: 501}, "capacity"},
		{"series without a gap", training.SessionInput{Date: "2027-04-01", Start: "10:00", End: "11:00", Location: "X", Count: 3}, "every_weeks"},
		{"unknown course", training.SessionInput{CourseID: uuid.New(), Date: "2027-04-01", Start: "10:00", End: "11:00", Location: "X"}, "course_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.CourseID == uuid.Nil {
				tc.in.CourseID = c.ID
			}
			_, err := f.svc.CreateSessions(f.ctx(), tc.in)
			if fields(err)[tc.field] == "" {
				t.Fatalf("want a message on %s, got %v", tc.field, err)
			}
		})
	}
	if n := f.Rows(f.trust, "training_sessions", "true"); n != 0 {
		t.Fatalf("%d sessions stored by refused input", n)
	}
}

func TestOnlyQualifiedTrainersAndAssessorsMayRunASession(t *testing.T) {
	f := newFixture(t)
	taught, assessed := f.course(false), f.course(true)
	teach, assess := f.sessionOn(taught, "2027-04-01", 0), f.sessionOn(assessed, "2027-04-02", 0)
	signed := start.AddDate(0, -1, 0)
	person := func(name string, code string, state string) uuid.UUID {
		h := f.Holder(f.trust, name, "Holder", uuid.Nil)
		if code != "" {
			f.Record(f.trust, h, f.comps[code], moduletest.Record{State: state, SignedOff: &signed, Assessor: "A"})
		}
		return h
	}
	full := person("Full", "PCC-T01", "competent")
	partial := person("Partial", "PCC-T02", "competent")
	suspended := person("Suspended", "PCC-T01", "suspended")
	nobody := person("Nobody", "", "")
	assessor := person("Assessor", "PCC-A01", "competent")

	if err := f.svc.AssignTrainer(f.ctx(), teach.ID, full); err != nil {
		t.Fatalf("a covering trainer refused: %v", err)
	}
	for name, h := range map[string]uuid.UUID{"partial": partial, "suspended": suspended, "nobody": nobody, "assessor": assessor} {
		err := f.svc.AssignTrainer(f.ctx(), teach.ID, h)
		msg := fields(err)["holder_id"]
		if !strings.Contains(msg, "no current trainer competency covering") {
			t.Fatalf("%s assigned to train, or refused without the reason: %v", name, err)
		}
		if name == "partial" && !strings.Contains(msg, "PCC-02") || strings.Contains(msg, "PCC-01") && name == "partial" {
			t.Fatalf("partial trainer's refusal should name only PCC-02: %s", msg)
		}
	}
	if err := f.svc.AssignTrainer(f.ctx(), assess.ID, assessor); err != nil {
		t.Fatalf("an assessor refused for a sign-off session: %v", err)
	}
	if err := f.svc.AssignTrainer(f.ctx(), assess.ID, full); !strings.Contains(fields(err)["holder_id"], "no current assessor competency") {
		t.Fatalf("a trainer assigned to a sign-off session: %v", err)
	}
	got, _ := f.svc.Session(f.ctx(), teach.ID)
	if len(got.Trainers) != 1 || got.Trainers[0].HolderID != full {
		t.Fatalf("trainers: %+v", got.Trainers)
	}
}

func TestTheLastPlaceGoesToExactlyOneBooking(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	s := f.sessionOn(c, "2027-04-01", 5)
	const people = 40
	holders := make([]uuid.UUID, people)
	for i := range holders {
		holders[i] = f.Holder(f.trust, fmt.Sprintf("Carer%02d", i), "Race", uuid.Nil)
	}
	var wg sync.WaitGroup
	results := make([]training.Booking, people)
	errors := make([]error, people)
	for i := range holders {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errors[i] = f.svc.Book(f.ctx(), s.ID, holders[i])
		}(i)
	}
	wg.Wait()
	booked, waiting := 0, 0
	for i, r := range results {
		if errors[i] != nil {
			t.Fatalf("booking %d: %v", i, errors[i])
		}
		switch r.Status {
		case training.Booked:
			booked++
		case training.Waiting:
			waiting++
		}
	}
	if booked != 5 || waiting != people-5 {
		t.Fatalf("%d booked and %d waiting, want 5 and %d", booked, waiting, people-5)
	}
	got, _ := f.svc.Session(f.ctx(), s.ID)
	if got.Booked != 5 || got.Waiting != people-5 {
		t.Fatalf("stored: %d booked, %d waiting", got.Booked, got.Waiting)
	}
}

func TestWaitingListIsPromotedInOrder(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	s := f.sessionOn(c, "2027-04-01", 2)
	var bookings []training.Booking
	for i := range 4 {
		b, err := f.svc.Book(f.ctx(), s.ID, f.Holder(f.trust, fmt.Sprint("P", i), "Wait", uuid.Nil))
		if err != nil {
			t.Fatal(err)
		}
		bookings = append(bookings, b)
		f.clock.Advance(time.Second)
	}
	if bookings[2].Status != training.Waiting || bookings[3].Status != training.Waiting {
		t.Fatal("the third and fourth should wait")
	}
	if _, err := f.svc.Book(f.ctx(), s.ID, bookings[0].HolderID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a second booking for the same person: %v", err)
	}
	promoted, err := f.svc.CancelBooking(f.ctx(), bookings[1].ID)
	if err != nil || promoted == nil || promoted.ID != bookings[2].ID {
		t.Fatalf("cancelling a place should promote the first waiting: %+v %v", promoted, err)
	}
	// Capacity cannot drop below the places taken; raising it promotes.
	if err := f.svc.SetCapacity(f.ctx(), s.ID, 1); !strings.Contains(fields(err)["capacity"], "2 places are already taken") {
		t.Fatalf("capacity below bookings: %v", err)
	}
	if err := f.svc.SetCapacity(f.ctx(), s.ID, 3); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.Bookings(f.ctx(), s.ID)
	statuses := map[uuid.UUID]string{}
	for _, b := range list {
		statuses[b.ID] = b.Status
	}
	if statuses[bookings[3].ID] != training.Booked || len(list) != 3 {
		t.Fatalf("after raising capacity: %+v", list)
	}
	want := "booked booked waiting waiting cancelled promoted promoted"
	if got := strings.Join(f.events.kinds(), " "); got != want {
		t.Fatalf("booking changes told: %q, want %q", got, want)
	}
	if c := f.events.changes[5]; c.BookingID != bookings[2].ID || c.HolderID != bookings[2].HolderID || c.SessionID != s.ID {
		t.Fatalf("promotion told as %+v", c)
	}
	// A change whose consequences cannot be enqueued does not happen.
	f.events.fail = true
	if _, err := f.svc.CancelBooking(f.ctx(), bookings[0].ID); err == nil {
		t.Fatal("cancelling should fail when its notice cannot be enqueued")
	}
	if n := f.Rows(f.trust, "bookings", "status = 'cancelled'"); n != 1 {
		t.Fatalf("%d cancelled bookings after the failed cancel, want 1", n)
	}
	if err := f.svc.CancelSession(f.ctx(), s.ID); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.events.kinds()[7:], " "); got != "session_cancelled session_cancelled session_cancelled" {
		t.Fatalf("cancelling the session told %q", got)
	}
}

func TestBookingsAreRefusedAfterTheCutoffAndOnCancelledSessions(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	s := f.sessionOn(c, "2027-03-16", 4) // tomorrow 10:00; cut-off 24 h before
	h := f.Holder(f.trust, "Late", "Comer", uuid.Nil)
	f.clock.Set(time.Date(2027, 3, 15, 10, 30, 0, 0, time.UTC))
	if _, err := f.svc.Book(f.ctx(), s.ID, h); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "closed 24 hours") {
		t.Fatalf("booking after the cut-off: %v", err)
	}
	other := f.sessionOn(c, "2027-04-01", 4)
	if err := f.svc.CancelSession(f.ctx(), other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Book(f.ctx(), other.ID, h); !strings.Contains(errs.MessageOf(err), "cancelled") {
		t.Fatalf("booking a cancelled session: %v", err)
	}
	if n := f.Rows(f.trust, "bookings", "true"); n != 0 {
		t.Fatalf("%d bookings stored", n)
	}
}

func TestAttendanceWritesTrainingAttendedIntoThePassport(t *testing.T) {
	f := newFixture(t)
	c := f.course(false)
	s := f.sessionOn(c, "2027-04-01", 4)
	trainer := f.Staff(f.trust, "trainer@trust.example", "Tia Trainer", "trainer")
	came, missed := f.Holder(f.trust, "Came", "Along", uuid.Nil), f.Holder(f.trust, "Missed", "It", uuid.Nil)
	// One already enrolled in PCC-01, none in PCC-02.
	enrolled := f.Record(f.trust, came, f.comps["PCC-01"], moduletest.Record{State: "enrolled"})
	for _, h := range []uuid.UUID{came, missed} {
		if _, err := f.svc.Book(f.ctx(), s.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	tctx := moduletest.As(f.trust, trainer)
	if _, err := f.svc.MarkAttendance(tctx, s.ID, came, true); !errs.Is(err, errs.Conflict) {
		t.Fatalf("attendance a fortnight early: %v", err)
	}
	f.clock.Set(time.Date(2027, 4, 1, 9, 30, 0, 0, time.UTC)) // 10:30 BST, during the session
	recorded, err := f.svc.MarkAttendance(tctx, s.ID, came, true)
	if err != nil || strings.Join(recorded, ",") != "PCC-01,PCC-02" {
		t.Fatalf("present: %v %v", recorded, err)
	}
	if _, err := f.svc.MarkAttendance(tctx, s.ID, missed, false); err != nil {
		t.Fatal(err)
	}
	p, err := f.records.Passport(tctx, came, record.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, e := range p.Entries {
		states[e.Competency.Code] = string(e.State)
	}
	if states["PCC-01"] != "training_attended" || states["PCC-02"] != "training_attended" {
		t.Fatalf("passport after attendance: %v", states)
	}
	if n := f.Rows(f.trust, "competency_records", "holder_id = ? AND competency_id = ?", came, f.comps["PCC-01"]); n != 1 {
		t.Fatalf("the existing enrolment %s should be reused, found %d records", enrolled, n)
	}
	if n := f.Rows(f.trust, "competency_records", "holder_id = ?", missed); n != 0 {
		t.Fatalf("an absent holder got %d records", n)
	}
	// A role that may not write records cannot mark attendance: nothing changes.
	viewer := f.Staff(f.trust, "ward@trust.example", "Will Ward", "ward_staff")
	if _, err := f.svc.MarkAttendance(moduletest.As(f.trust, viewer), s.ID, missed, true); err == nil {
		t.Fatal("ward staff marked attendance")
	}
	list, _ := f.svc.Bookings(f.ctx(), s.ID)
	for _, b := range list {
		if b.HolderID == missed && b.Status != training.Absent {
			t.Fatalf("a refused change altered the booking: %s", b.Status)
		}
	}
}
