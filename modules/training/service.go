package training

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Records is what training needs of the holders' passports, inside its own
// tenant transaction.
type Records interface {
	// Unqualified returns the codes the holder holds no current competency
	// of kind covering.
	Unqualified(ctx context.Context, tx *gorm.DB, holderID uuid.UUID, kind catalogue.Kind, codes []string) ([]string, error)
	// TrainingAttended records that the holder attended training in each
	// competency, returning the codes recorded and those left as they were.
	TrainingAttended(ctx context.Context, tx *gorm.DB, holderID uuid.UUID, competencyIDs []uuid.UUID, setting, notes string) (recorded, left []string, err error)
}

// Change is something that happened to a booking, told to Events.
type Change struct {
	Kind      string // one of the Change* constants
	BookingID uuid.UUID
	SessionID uuid.UUID
	HolderID  uuid.UUID
}

// Kinds of Change.
const (
	ChangeBooked           = "booked"            // a place was taken
	ChangeWaiting          = "waiting"           // a place on the waiting list was taken
	ChangePromoted         = "promoted"          // a freed place went to someone waiting
	ChangeCancelled        = "cancelled"         // the booking was cancelled
	ChangeSessionCancelled = "session_cancelled" // the session was cancelled, and the booking with it
)

// Events hears of every booking change inside the transaction that makes
// it, so what follows (an email, a notification) is enqueued if and only
// if the change commits. An error rolls the change back.
type Events interface {
	BookingChanged(ctx context.Context, tx *gorm.DB, c Change) error
}

type noEvents struct{}

func (noEvents) BookingChanged(context.Context, *gorm.DB, Change) error { return nil }

// Enroller enrols an existing person as a holder of the tenant in ctx,
// inside the caller's tenant transaction, returning the new holder's id;
// *holder.Service is one. Self-booking uses it for a signed-in person who
// is not yet a holder of the tenant.
type Enroller interface {
	EnrolPerson(ctx context.Context, tx *gorm.DB, personID uuid.UUID, givenName, familyName, dateOfBirth,
		roleInCare string) (uuid.UUID, error)
}

// Service runs courses, sessions, bookings and attendance.
type Service struct {
	db        *tenants.DB
	audit     *audit.Log
	records   Records
	events    Events
	now       func() time.Time
	enroller  Enroller
	publicURL string
}

// Option configures a Service.
type Option func(*Service)

// WithEnroller lets people who are not yet holders of a tenant book its
// public sessions, becoming holders in the same transaction. Without it,
// they are asked to contact the organisation first.
func WithEnroller(e Enroller) Option { return func(s *Service) { s.enroller = e } }

// WithPublicURL sets the public address of the site (https://host), used
// for links and event UIDs in calendar events.
func WithPublicURL(u string) Option {
	return func(s *Service) { s.publicURL = strings.TrimRight(u, "/") }
}

// NewService returns the service. events may be nil: nothing hears of
// booking changes.
func NewService(db *tenants.DB, log *audit.Log, records Records, events Events, now func() time.Time, opts ...Option) *Service {
	if events == nil {
		events = noEvents{}
	}
	s := &Service{db: db, audit: log, records: records, events: events, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func scope(ctx context.Context) (tenants.Tenant, uuid.UUID, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return tenants.Tenant{}, uuid.Nil, errors.New("training: no tenant in context")
	}
	actor, _ := tenants.ActorFrom(ctx)
	return t, actor, nil
}

func storeErr(op string, err error) error {
	return pg.StoreErr("training", op, err)
}

// Courses.

// CreateCourse adds a course training competencies of the tenant's
// published catalogues.
func (s *Service) CreateCourse(ctx context.Context, in CourseInput) (Course, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Course{}, err
	}
	if in, err = in.validate(); err != nil {
		return Course{}, err
	}
	var out Course
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var found int
		if err := tx.Raw(`SELECT count(*) FROM competencies c JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
			WHERE c.tenant_id = ? AND c.id IN ? AND cat.status = 'published'`, t.ID, in.Competencies).Row().Scan(&found); err != nil {
			return storeErr("check competencies", err)
		}
		if found != len(uniq(in.Competencies)) {
			return errs.Validation(errs.FieldError{Field: "competency_ids", Message: "Choose competencies from the organisation's published catalogues"})
		}
		now := s.now().UTC()
		id := newID()
		err := tx.Exec(`INSERT INTO courses (tenant_id, id, title, description, format, duration_minutes, audience, prerequisites,
			default_capacity, sign_off, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, id, in.Title, in.Description, in.Format, in.DurationMinutes, in.Audience, in.Prerequisites,
			in.DefaultCapacity, in.SignOff, now, now).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "title", Message: "The organisation already has a course with this title"})
		}
		if err != nil {
			return storeErr("create course", err)
		}
		for _, cid := range uniq(in.Competencies) {
			if err := tx.Exec(`INSERT INTO course_competencies (tenant_id, course_id, competency_id) VALUES (?, ?, ?)`,
				t.ID, id, cid).Error; err != nil {
				return storeErr("course competencies", err)
			}
		}
		if out, err = s.course(tx, t.ID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "course.create", ObjectType: "course", ObjectID: id.String()})
	})
	return out, err
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Course returns one course with its competencies.
func (s *Service) Course(ctx context.Context, id uuid.UUID) (Course, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Course{}, err
	}
	var out Course
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		out, err = s.course(tx, t.ID, id)
		return err
	})
	return out, err
}

func (s *Service) course(tx *gorm.DB, tenant, id uuid.UUID) (Course, error) {
	var c Course
	err := tx.Raw(`SELECT id, title, description, format, duration_minutes, audience, prerequisites, default_capacity, sign_off, status
		FROM courses WHERE tenant_id = ? AND id = ?`, tenant, id).Row().
		Scan(&c.ID, &c.Title, &c.Description, &c.Format, &c.DurationMinutes, &c.Audience, &c.Prerequisites,
			&c.DefaultCapacity, &c.SignOff, &c.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return Course{}, errs.E(errs.NotFound, "No course with that reference")
	}
	if err != nil {
		return Course{}, storeErr("read course", err)
	}
	c.Duration = time.Duration(c.DurationMinutes) * time.Minute
	rows, err := tx.Raw(`SELECT c.id, c.code, c.title FROM course_competencies cc
		JOIN competencies c ON c.tenant_id = cc.tenant_id AND c.id = cc.competency_id
		WHERE cc.tenant_id = ? AND cc.course_id = ? ORDER BY c.code`, tenant, id).Rows()
	if err != nil {
		return Course{}, storeErr("read course competencies", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k Competency
		if err := rows.Scan(&k.ID, &k.Code, &k.Title); err != nil {
			return Course{}, storeErr("read course competencies", err)
		}
		c.Competencies = append(c.Competencies, k)
	}
	return c, storeErr("read course competencies", rows.Err())
}

// Courses lists the tenant's active courses by title.
func (s *Service) Courses(ctx context.Context) ([]Course, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []Course
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var ids []uuid.UUID
		if err := tx.Raw(`SELECT id FROM courses WHERE tenant_id = ? AND status = 'active' ORDER BY lower(title)`, t.ID).
			Scan(&ids).Error; err != nil {
			return storeErr("list courses", err)
		}
		for _, id := range ids {
			c, err := s.course(tx, t.ID, id)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// Sessions.

// CreateSessions schedules one session of a course, or a series of them
// every few weeks at the same London wall-clock times.
func (s *Service) CreateSessions(ctx context.Context, in SessionInput) ([]Session, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	in.Location, in.OnlineURL = strings.TrimSpace(in.Location), strings.TrimSpace(in.OnlineURL)
	times, err := in.times(s.now())
	var fe []errs.FieldError
	if err != nil {
		fe = errs.FieldsOf(err)
	}
	if in.Location == "" && in.OnlineURL == "" {
		fe = append(fe, errs.FieldError{Field: "location", Message: "Enter where the session is, or its online link"})
	}
	if in.OnlineURL != "" && !strings.HasPrefix(in.OnlineURL, "https://") {
		fe = append(fe, errs.FieldError{Field: "online_url", Message: "The online link must start with https://"})
	}
	if in.Capacity < 0 || in.Capacity > 500 {
		fe = append(fe, errs.FieldError{Field: "capacity", Message: "Places must be a number from 1 to 500"})
	}
	cutoff := 24
	if in.CutoffHours != nil {
		cutoff = *in.CutoffHours
		if cutoff < 0 || cutoff > 336 {
			fe = append(fe, errs.FieldError{Field: "cutoff_hours", Message: "Bookings must close between 0 and 336 hours before the start"})
		}
	}
	if len(fe) > 0 {
		return nil, errs.Validation(fe...)
	}
	var out []Session
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		c, err := s.course(tx, t.ID, in.CourseID)
		if errs.Is(err, errs.NotFound) || (err == nil && c.Status != "active") {
			return errs.Validation(errs.FieldError{Field: "course_id", Message: "Choose one of the organisation's current courses"})
		}
		if err != nil {
			return err
		}
		capacity := in.Capacity
		if capacity == 0 {
			capacity = c.DefaultCapacity
		}
		var series *uuid.UUID
		if len(times) > 1 {
			id := newID()
			series = &id
		}
		now := s.now().UTC()
		for _, tt := range times {
			id := newID()
			if err := tx.Exec(`INSERT INTO training_sessions (tenant_id, id, course_id, series_id, starts_at, ends_at, location,
				online_url, capacity, cutoff_hours, public, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.ID, id, c.ID, series, tt[0], tt[1], in.Location, in.OnlineURL, capacity, cutoff, in.Public, now, now).Error; err != nil {
				return storeErr("create session", err)
			}
			sess, err := s.session(tx, t.ID, id, false)
			if err != nil {
				return err
			}
			out = append(out, sess)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "session.create", ObjectType: "course", ObjectID: c.ID.String(),
			Detail: map[string]string{"sessions": fmt.Sprint(len(out))}})
	})
	return out, err
}

// session reads one session with its counts and trainers, locking it when
// forUpdate (every booking change of a session takes this lock first, so
// they queue one after another and capacity holds).
func (s *Service) session(tx *gorm.DB, tenant, id uuid.UUID, forUpdate bool) (Session, error) {
	q := `SELECT s.id, s.course_id, c.title, s.series_id, s.starts_at, s.ends_at, s.location, s.online_url, s.capacity,
			s.cutoff_hours, s.public, s.status, s.sequence
		FROM training_sessions s JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		WHERE s.tenant_id = ? AND s.id = ?`
	if forUpdate {
		q += ` FOR UPDATE OF s`
	}
	var ss Session
	err := tx.Raw(q, tenant, id).Row().Scan(&ss.ID, &ss.CourseID, &ss.CourseTitle, &ss.SeriesID, &ss.StartsAt, &ss.EndsAt,
		&ss.Location, &ss.OnlineURL, &ss.Capacity, &ss.CutoffHours, &ss.Public, &ss.Status, &ss.Sequence)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, errs.E(errs.NotFound, "No session with that reference")
	}
	if err != nil {
		return Session{}, storeErr("read session", err)
	}
	ss.StartsAt, ss.EndsAt = ss.StartsAt.UTC(), ss.EndsAt.UTC()
	if err := tx.Raw(`SELECT count(*) FILTER (WHERE status IN ('booked', 'attended', 'absent')),
			count(*) FILTER (WHERE status = 'waiting')
		FROM bookings WHERE tenant_id = ? AND session_id = ?`, tenant, id).Row().Scan(&ss.Booked, &ss.Waiting); err != nil {
		return Session{}, storeErr("count bookings", err)
	}
	rows, err := tx.Raw(`SELECT h.id, h.given_name || ' ' || h.family_name FROM session_trainers st
		JOIN holders h ON h.tenant_id = st.tenant_id AND h.id = st.holder_id
		WHERE st.tenant_id = ? AND st.session_id = ? ORDER BY h.family_name, h.given_name`, tenant, id).Rows()
	if err != nil {
		return Session{}, storeErr("read trainers", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tr Trainer
		if err := rows.Scan(&tr.HolderID, &tr.Name); err != nil {
			return Session{}, storeErr("read trainers", err)
		}
		ss.Trainers = append(ss.Trainers, tr)
	}
	return ss, storeErr("read trainers", rows.Err())
}

// Session returns one session of the tenant.
func (s *Service) Session(ctx context.Context, id uuid.UUID) (Session, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Session{}, err
	}
	var out Session
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		out, err = s.session(tx, t.ID, id, false)
		return err
	})
	return out, err
}

// AssignTrainer makes a holder a trainer of a session: only someone with a
// current trainer competency covering every competency the course trains
// (for a sign-off course, a current assessor competency) may be assigned;
// anyone else is refused with what they lack.
func (s *Service) AssignTrainer(ctx context.Context, sessionID, holderID uuid.UUID) error {
	t, _, err := scope(ctx)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		ss, err := s.session(tx, t.ID, sessionID, true)
		if err != nil {
			return err
		}
		if ss.Status != Scheduled {
			return errs.E(errs.Conflict, "Trainers can only be assigned to a scheduled session")
		}
		c, err := s.course(tx, t.ID, ss.CourseID)
		if err != nil {
			return err
		}
		codes := make([]string, len(c.Competencies))
		for i, k := range c.Competencies {
			codes[i] = k.Code
		}
		kind, role := catalogue.KindTrainer, "trainer"
		if c.SignOff {
			kind, role = catalogue.KindAssessor, "assessor"
		}
		missing, err := s.records.Unqualified(ctx, tx, holderID, kind, codes)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return errs.Validation(errs.FieldError{Field: "holder_id", Message: "Choose someone recorded by the organisation"})
			}
			return err
		}
		if len(missing) > 0 {
			return errs.Validation(errs.FieldError{Field: "holder_id", Message: fmt.Sprintf(
				"They cannot run this session: they hold no current %s competency covering %s", role, strings.Join(missing, ", "))})
		}
		res := tx.Exec(`INSERT INTO session_trainers (tenant_id, session_id, holder_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, sessionID, holderID)
		if res.Error != nil {
			return storeErr("assign trainer", res.Error)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "session.assign_trainer", ObjectType: "session",
			ObjectID: sessionID.String(), Detail: map[string]string{"holder": holderID.String()}})
	})
}

// Bookings.

// Book gives a holder a place on a session, or a place on its waiting list
// when it is full. Refused for a session that is not scheduled, after the
// booking cut-off, or when the holder already has a place.
func (s *Service) Book(ctx context.Context, sessionID, holderID uuid.UUID) (Booking, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Booking{}, err
	}
	var out Booking
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		out, err = s.book(ctx, tx, t.ID, actor, sessionID, holderID)
		return err
	})
	return out, err
}

// book is Book inside the caller's tenant transaction.
func (s *Service) book(ctx context.Context, tx *gorm.DB, tenant, actor, sessionID, holderID uuid.UUID) (Booking, error) {
	ss, err := s.session(tx, tenant, sessionID, true)
	if err != nil {
		return Booking{}, err
	}
	now := s.now().UTC()
	if err := bookingClosed(ss, now); err != nil {
		return Booking{}, err
	}
	var (
		person       uuid.UUID
		given, famly string
		status       string
	)
	err = tx.Raw(`SELECT person_id, given_name, family_name, status FROM holders WHERE tenant_id = ? AND id = ?`, tenant, holderID).
		Row().Scan(&person, &given, &famly, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return Booking{}, errs.Validation(errs.FieldError{Field: "holder_id", Message: "Choose someone recorded by the organisation"})
	}
	if err != nil {
		return Booking{}, storeErr("read holder", err)
	}
	if status != "active" {
		return Booking{}, errs.Validation(errs.FieldError{Field: "holder_id", Message: "This person has left the organisation"})
	}
	out := Booking{ID: newID(), SessionID: sessionID, HolderID: holderID, HolderName: given + " " + famly, Status: Booked, CreatedAt: now}
	change := ChangeBooked
	if ss.Booked >= ss.Capacity {
		out.Status, change = Waiting, ChangeWaiting
	}
	var by *uuid.UUID
	if actor != uuid.Nil {
		by = &actor
	}
	err = tx.Exec(`INSERT INTO bookings (tenant_id, id, session_id, holder_id, person_id, status, booked_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenant, out.ID, sessionID, holderID, person, out.Status, by, now, now).Error
	if _, dup := pg.IsUniqueViolation(err); dup {
		return Booking{}, errs.E(errs.Conflict, out.HolderName+" already has a place on this session, or is on its waiting list")
	}
	if err != nil {
		return Booking{}, storeErr("book", err)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "booking.create", ObjectType: "booking", ObjectID: out.ID.String(),
		Detail: map[string]string{"session": sessionID.String(), "holder": holderID.String(), "status": out.Status}}); err != nil {
		return Booking{}, err
	}
	if err := s.events.BookingChanged(ctx, tx, Change{Kind: change, BookingID: out.ID, SessionID: sessionID, HolderID: holderID}); err != nil {
		return Booking{}, err
	}
	return out, nil
}

// bookingClosed refuses a booking on a session that is not open for bookings at
// now: cancelled, over, or past its cut-off.
func bookingClosed(ss Session, now time.Time) error {
	switch {
	case ss.Status == Cancelled:
		return errs.E(errs.Conflict, "This session has been cancelled")
	case ss.Status != Scheduled || !now.Before(ss.StartsAt):
		return errs.E(errs.Conflict, "This session has already taken place")
	case now.After(ss.Cutoff()):
		return errs.E(errs.Conflict, fmt.Sprintf("Bookings closed %d hours before the session starts", ss.CutoffHours))
	}
	return nil
}

// CancelBooking gives up a place (or a place on the waiting list). A freed
// place goes to the first person waiting, whose booking is returned.
func (s *Service) CancelBooking(ctx context.Context, bookingID uuid.UUID) (promoted *Booking, err error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		promoted, err = s.cancel(ctx, tx, t.ID, bookingID, uuid.Nil)
		return err
	})
	return promoted, err
}

// cancel is CancelBooking inside the caller's tenant transaction. A person
// other than uuid.Nil must be the booking's: anyone else's booking is not
// found.
func (s *Service) cancel(ctx context.Context, tx *gorm.DB, tenant, bookingID, person uuid.UUID) (*Booking, error) {
	var sessionID, holderID, owner uuid.UUID
	var status string
	err := tx.Raw(`SELECT session_id, holder_id, person_id, status FROM bookings WHERE tenant_id = ? AND id = ?`, tenant, bookingID).
		Row().Scan(&sessionID, &holderID, &owner, &status)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && person != uuid.Nil && owner != person) {
		return nil, errs.E(errs.NotFound, "No booking with that reference")
	}
	if err != nil {
		return nil, storeErr("read booking", err)
	}
	ss, err := s.session(tx, tenant, sessionID, true) // the session's lock first, as Book takes it
	if err != nil {
		return nil, err
	}
	if status != Booked && status != Waiting {
		return nil, errs.E(errs.Conflict, "Only a current booking can be cancelled")
	}
	now := s.now().UTC()
	if err := tx.Exec(`UPDATE bookings SET status = 'cancelled', updated_at = ? WHERE tenant_id = ? AND id = ?`,
		now, tenant, bookingID).Error; err != nil {
		return nil, storeErr("cancel booking", err)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "booking.cancel", ObjectType: "booking", ObjectID: bookingID.String()}); err != nil {
		return nil, err
	}
	if err := s.events.BookingChanged(ctx, tx, Change{Kind: ChangeCancelled, BookingID: bookingID, SessionID: sessionID, HolderID: holderID}); err != nil {
		return nil, err
	}
	if status == Booked && ss.Status == Scheduled && now.Before(ss.StartsAt) {
		return s.promote(ctx, tx, tenant, sessionID, 1)
	}
	return nil, nil
}

// promote moves up to n people from the waiting list onto places, first
// come first served, and returns the first promoted.
func (s *Service) promote(ctx context.Context, tx *gorm.DB, tenant, sessionID uuid.UUID, n int) (*Booking, error) {
	rows, err := tx.Raw(`SELECT b.id, b.holder_id, h.given_name || ' ' || h.family_name, b.created_at FROM bookings b
		JOIN holders h ON h.tenant_id = b.tenant_id AND h.id = b.holder_id
		WHERE b.tenant_id = ? AND b.session_id = ? AND b.status = 'waiting' ORDER BY b.created_at, b.id LIMIT ?`, tenant, sessionID, n).Rows()
	if err != nil {
		return nil, storeErr("read waiting list", err)
	}
	var list []Booking
	for rows.Next() {
		b := Booking{SessionID: sessionID, Status: Booked}
		if err := rows.Scan(&b.ID, &b.HolderID, &b.HolderName, &b.CreatedAt); err != nil {
			rows.Close()
			return nil, storeErr("read waiting list", err)
		}
		list = append(list, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, storeErr("read waiting list", err)
	}
	for _, b := range list {
		if err := tx.Exec(`UPDATE bookings SET status = 'booked', updated_at = ? WHERE tenant_id = ? AND id = ?`,
			s.now().UTC(), tenant, b.ID).Error; err != nil {
			return nil, storeErr("promote", err)
		}
		if err := s.audit.Record(ctx, tx, audit.Event{Action: "booking.promote", ObjectType: "booking", ObjectID: b.ID.String()}); err != nil {
			return nil, err
		}
		if err := s.events.BookingChanged(ctx, tx, Change{Kind: ChangePromoted, BookingID: b.ID, SessionID: sessionID, HolderID: b.HolderID}); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	return &list[0], nil
}

// SetCapacity changes a session's places: never below the places taken;
// places added go to the waiting list first.
func (s *Service) SetCapacity(ctx context.Context, sessionID uuid.UUID, capacity int) error {
	t, _, err := scope(ctx)
	if err != nil {
		return err
	}
	if capacity < 1 || capacity > 500 {
		return errs.Validation(errs.FieldError{Field: "capacity", Message: "Places must be a number from 1 to 500"})
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		ss, err := s.session(tx, t.ID, sessionID, true)
		if err != nil {
			return err
		}
		if capacity < ss.Booked {
			return errs.Validation(errs.FieldError{Field: "capacity", Message: fmt.Sprintf(
				"%d places are already taken: cancel bookings first, or keep at least %d places", ss.Booked, ss.Booked)})
		}
		if err := tx.Exec(`UPDATE training_sessions SET capacity = ?, sequence = sequence + 1, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			capacity, s.now().UTC(), t.ID, sessionID).Error; err != nil {
			return storeErr("set capacity", err)
		}
		if capacity > ss.Booked {
			if _, err := s.promote(ctx, tx, t.ID, sessionID, capacity-ss.Booked); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "session.capacity", ObjectType: "session", ObjectID: sessionID.String(),
			Detail: map[string]string{"capacity": fmt.Sprint(capacity)}})
	})
}

// CancelSession cancels a scheduled session and every booking on it.
func (s *Service) CancelSession(ctx context.Context, sessionID uuid.UUID) error {
	t, _, err := scope(ctx)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		ss, err := s.session(tx, t.ID, sessionID, true)
		if err != nil {
			return err
		}
		if ss.Status != Scheduled {
			return errs.E(errs.Conflict, "Only a scheduled session can be cancelled")
		}
		now := s.now().UTC()
		if err := tx.Exec(`UPDATE training_sessions SET status = 'cancelled', sequence = sequence + 1, updated_at = ?
			WHERE tenant_id = ? AND id = ?`, now, t.ID, sessionID).Error; err != nil {
			return storeErr("cancel session", err)
		}
		var gone []struct{ ID, HolderID uuid.UUID }
		if err := tx.Raw(`UPDATE bookings SET status = 'cancelled', updated_at = ?
			WHERE tenant_id = ? AND session_id = ? AND status IN ('booked', 'waiting') RETURNING id, holder_id`,
			now, t.ID, sessionID).Scan(&gone).Error; err != nil {
			return storeErr("cancel bookings", err)
		}
		for _, b := range gone {
			if err := s.events.BookingChanged(ctx, tx, Change{Kind: ChangeSessionCancelled, BookingID: b.ID, SessionID: sessionID,
				HolderID: b.HolderID}); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "session.cancel", ObjectType: "session", ObjectID: sessionID.String()})
	})
}

// Attendance.

// MarkAttendance records on the day whether a booked holder came. Present
// writes "training attended" into their passport for every competency the
// course trains, in the same transaction; it returns the codes recorded.
func (s *Service) MarkAttendance(ctx context.Context, sessionID, holderID uuid.UUID, present bool) ([]string, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var recorded []string
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		ss, err := s.session(tx, t.ID, sessionID, true)
		if err != nil {
			return err
		}
		if ss.Status == Cancelled {
			return errs.E(errs.Conflict, "This session was cancelled")
		}
		if s.now().Before(ss.StartsAt.Add(-time.Hour)) {
			return errs.E(errs.Conflict, "Attendance can be recorded from an hour before the session starts")
		}
		var id uuid.UUID
		var status string
		err = tx.Raw(`SELECT id, status FROM bookings WHERE tenant_id = ? AND session_id = ? AND holder_id = ? AND status <> 'cancelled'`,
			t.ID, sessionID, holderID).Row().Scan(&id, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && status == Waiting) {
			return errs.E(errs.NotFound, "This person has no place on the session")
		}
		if err != nil {
			return storeErr("read booking", err)
		}
		to := Absent
		if present {
			to = Attended
		}
		if status == to {
			return nil
		}
		if status == Attended {
			return errs.E(errs.Conflict, "Attendance is already recorded in their passport and cannot be undone here")
		}
		if err := tx.Exec(`UPDATE bookings SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			to, s.now().UTC(), t.ID, id).Error; err != nil {
			return storeErr("mark attendance", err)
		}
		if present {
			c, err := s.course(tx, t.ID, ss.CourseID)
			if err != nil {
				return err
			}
			ids := make([]uuid.UUID, len(c.Competencies))
			for i, k := range c.Competencies {
				ids[i] = k.ID
			}
			setting := ss.Location
			if setting == "" {
				setting = "Online"
			}
			if recorded, _, err = s.records.TrainingAttended(ctx, tx, holderID, ids, setting, "Attended "+c.Title); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "booking.attendance", ObjectType: "booking", ObjectID: id.String(),
			Detail: map[string]string{"status": to}})
	})
	return recorded, err
}

// Bookings lists a session's bookings: places first, then the waiting list
// in order.
func (s *Service) Bookings(ctx context.Context, sessionID uuid.UUID) ([]Booking, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []Booking
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT b.id, b.session_id, b.holder_id, h.given_name || ' ' || h.family_name, b.status, b.created_at
			FROM bookings b JOIN holders h ON h.tenant_id = b.tenant_id AND h.id = b.holder_id
			WHERE b.tenant_id = ? AND b.session_id = ? AND b.status <> 'cancelled'
			ORDER BY b.status = 'waiting', b.created_at, b.id`, t.ID, sessionID).Rows()
		if err != nil {
			return storeErr("list bookings", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b Booking
			if err := rows.Scan(&b.ID, &b.SessionID, &b.HolderID, &b.HolderName, &b.Status, &b.CreatedAt); err != nil {
				return storeErr("list bookings", err)
			}
			out = append(out, b)
		}
		if err := rows.Err(); err != nil {
			return storeErr("list bookings", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "booking.list", ObjectType: "session", ObjectID: sessionID.String()})
	})
	return out, err
}
