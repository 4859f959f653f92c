package notify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/mail/mailtest"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/notify"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

// The clock starts on Monday 15 March 2027, before the clocks go forward.
var start = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

const (
	publicURL = "https://carepass.example"
	orgName   = "Wrenford Children's Hospital"
)

var sender = mail.Address{Name: "Carepass", Email: "no-reply@carepass.example"}

// fixture is a migrated database with a paediatric trust, its catalogue
// and a course; the training service tells a Notifier of its bookings;
// the Notifier sends through a real SMTP sink, from real river workers.
type fixture struct {
	*moduletest.Env
	t        *testing.T
	clock    *moduletest.Clock
	sink     *mailtest.Sink
	n        *notify.Notifier
	q        *jobs.Queue
	records  *record.Service
	svc      *training.Service
	trust    tenants.Tenant
	educator uuid.UUID // a practice educator: holds staff:read, so a manager
	assessor uuid.UUID // an assessor: no staff:read
	comps    map[string]uuid.UUID
	course   training.Course
	started  bool
}

// quickRetry retries a failed job almost at once.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(20 * time.Millisecond)
}

type options struct {
	periodic bool
	offsets  []int
}

func newFixture(t *testing.T, opts ...func(*options)) *fixture {
	t.Helper()
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock, t: t}
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	cats := catalogue.NewService(f.Scoped, f.Log, clock.Now)
	f.records = record.NewService(record.Deps{DB: f.Scoped, Specs: cats, Finder: cats, Accounts: f.Accounts, Authz: enf, Audit: f.Log},
		record.Config{Now: clock.Now})

	f.sink = mailtest.Start(t)
	host, port := f.sink.Addr()
	smtp, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, From: sender, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.n, err = notify.New(notify.Deps{DB: f.Scoped, Audit: f.Log, Mail: smtp, PublicURL: publicURL + "/", Organizer: sender,
		Key: bytes.Repeat([]byte("k"), 32), Offsets: o.offsets, Now: clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	f.n.Workers(workers)
	jo := jobs.Options{RetryPolicy: quickRetry{}, PollInterval: 100 * time.Millisecond, StopTimeout: time.Second}
	if o.periodic {
		jo.Periodic = f.n.Periodic()
	}
	if f.q, err = jobs.New(f.DB.Pool, log, workers, jo); err != nil {
		t.Fatal(err)
	}
	f.n.UseQueue(f.q)
	f.svc = training.NewService(f.Scoped, f.Log, f.records, f.n, clock.Now, training.WithPublicURL(publicURL))
	f.n.UseEvents(f.svc)

	f.trust = f.NamedTenant("trust", orgName, tenants.KindPaediatricTrust)
	f.educator = f.Staff(f.trust, "educator@trust.example", "Pat Educator", "practice_educator")
	f.assessor = f.Staff(f.trust, "assessor@trust.example", "Ash Assessor", "assessor")
	f.comps = f.Catalogue(f.trust, "pcc", moduletest.Competency{Code: "PCC-01"}, moduletest.Competency{Code: "PCC-02"})
	f.course, err = f.svc.CreateCourse(f.ctx(), training.CourseInput{Title: "Suction and airway care", Format: training.FormatManikin,
		DurationMinutes: 120, Audience: training.AudienceParentsCarers, DefaultCapacity: 4,
		Competencies: []uuid.UUID{f.comps["PCC-01"], f.comps["PCC-02"]}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func withPeriodic(o *options) { o.periodic = true }

// ctx acts as the practice educator in the trust.
func (f *fixture) ctx() context.Context { return moduletest.As(f.trust, f.educator) }

// start runs the workers until the test ends.
func (f *fixture) start() {
	f.t.Helper()
	if f.started {
		return
	}
	f.started = true
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.q.Start(ctx); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := f.q.Stop(stop); err != nil {
			f.t.Errorf("stop: %v", err)
		}
		cancel()
	})
}

// holder enrols a holder with an email address ("" for none), linked to
// account unless uuid.Nil, and returns the holder's and the person's ids.
func (f *fixture) holder(given, family, email string, account uuid.UUID) (uuid.UUID, uuid.UUID) {
	f.t.Helper()
	id := f.Holder(f.trust, given, family, account)
	var person uuid.UUID
	f.In(f.trust, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE holders SET email = ? WHERE tenant_id = ? AND id = ?`, email, f.trust.ID, id).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?`, f.trust.ID, id).Row().Scan(&person)
	})
	return id, person
}

// session schedules a session of the course on a London date, 10:00 to 12:00.
func (f *fixture) session(date string, capacity int) training.Session {
	f.t.Helper()
	list, err := f.svc.CreateSessions(f.ctx(), training.SessionInput{CourseID: f.course.ID, Date: date, Start: "10:00", End: "12:00",
		Location: "Ward 4 seminar room", Capacity: capacity})
	if err != nil {
		f.t.Fatalf("session: %v", err)
	}
	return list[0]
}

func (f *fixture) book(s training.Session, holder uuid.UUID) training.Booking {
	f.t.Helper()
	b, err := f.svc.Book(f.ctx(), s.ID, holder)
	if err != nil {
		f.t.Fatalf("book: %v", err)
	}
	return b
}

// settle waits until every job has finished (completed, cancelled or
// discarded) and returns them all, newest first.
func (f *fixture) settle() []jobs.Job {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := f.q.Recent(context.Background(), "", 500)
		if err != nil {
			f.t.Fatal(err)
		}
		done := true
		for _, j := range list {
			switch j.State {
			case jobs.StateCompleted, jobs.StateCancelled, jobs.StateDiscarded:
			default:
				done = false
			}
		}
		if done {
			return list
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("jobs still unfinished: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailsTo returns the messages received for email, oldest first.
func (f *fixture) mailsTo(email string) []mailtest.Received {
	var out []mailtest.Received
	for _, m := range f.sink.Messages() {
		for _, to := range m.EnvelopeTo {
			if strings.EqualFold(to, email) {
				out = append(out, m)
			}
		}
	}
	return out
}

// only returns the one message received for email, failing the test
// unless there is exactly one.
func (f *fixture) only(email string) mailtest.Received {
	f.t.Helper()
	got := f.mailsTo(email)
	if len(got) != 1 {
		var subjects []string
		for _, m := range got {
			subjects = append(subjects, m.Subject)
		}
		f.t.Fatalf("%d messages to %s, want 1: %q", len(got), email, subjects)
	}
	return got[0]
}

// calendar parses a message's one calendar attachment.
func calendar(t *testing.T, m mailtest.Received) (mailtest.Attachment, *ics.Calendar, *ics.VEvent) {
	t.Helper()
	if len(m.Attachments) != 1 {
		t.Fatalf("%q has %d attachments, want 1", m.Subject, len(m.Attachments))
	}
	a := m.Attachments[0]
	if a.MediaType != "text/calendar" {
		t.Fatalf("attachment of type %s", a.ContentType)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", a.Filename, err, a.Data)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events in %s", len(evs), a.Filename)
	}
	return a, cal, evs[0]
}

func calProp(cal *ics.Calendar, p ics.Property) string {
	for _, cp := range cal.CalendarProperties {
		if cp.IANAToken == string(p) {
			return cp.Value
		}
	}
	return ""
}

func evProp(ev *ics.VEvent, p ics.ComponentProperty) string {
	if prop := ev.GetProperty(p); prop != nil {
		return prop.Value
	}
	return ""
}

func has(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func lacks(t *testing.T, what, s string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			t.Errorf("%s has %q:\n%s", what, w, s)
		}
	}
}
