package training

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// The holder's side: a signed-in person books a public session for
// themselves (becoming a holder of the tenant when they are not one yet),
// lists their own bookings across tenants and cancels them.

// SelfRoles are the roles in care a person may give when they enrol
// themselves by booking.
var SelfRoles = []Choice{{"parent", "Parent"}, {"unpaid_carer", "Unpaid carer"}, {"paid_carer", "Paid carer"},
	{"staff", "Staff member"}}

// SelfDetails are what someone who is not yet a holder of the tenant gives
// to become one as they book.
type SelfDetails struct {
	GivenName   string
	FamilyName  string
	DateOfBirth string // YYYY-MM-DD
	RoleInCare  string
}

// validate checks what the person typed, in their own words; the enroller
// checks the details again by its own rules.
func (d SelfDetails) validate(now time.Time) error {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	if strings.TrimSpace(d.GivenName) == "" {
		add("given_name", "Enter your first name")
	}
	if strings.TrimSpace(d.FamilyName) == "" {
		add("family_name", "Enter your last name")
	}
	switch dob, err := time.Parse(time.DateOnly, d.DateOfBirth); {
	case strings.TrimSpace(d.DateOfBirth) == "":
		add("date_of_birth", "Enter your date of birth")
	case err != nil:
		add("date_of_birth", "Date of birth must be a real date, with a 4-digit year")
	case !dob.Before(now):
		add("date_of_birth", "Date of birth must be in the past")
	}
	if label(SelfRoles, d.RoleInCare) == d.RoleInCare {
		add("role_in_care", "Select your role in care")
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// ErrNotEnrolled is wrapped by BookSelf's error for a person who is not yet
// a holder of the tenant and gave no SelfDetails: ask for them and book
// again.
var ErrNotEnrolled = errors.New("training: not yet a holder of the tenant")

// SelfBooking is the outcome of booking oneself onto a session.
type SelfBooking struct {
	Booking  Booking
	Session  PublicSession
	Position int  // place on the waiting list, from 1; 0 with a place
	Enrolled bool // became a holder of the tenant in the same transaction
}

// BookSelf books the signed-in account's person onto a public session of
// the tenant in ctx: a place, or a place on the waiting list when it is
// full. A person who is not yet a holder of the tenant becomes one with
// details (nil: an error wrapping ErrNotEnrolled asks for them) in the same
// transaction, so a refused booking enrols no one. Sessions not on the
// public calendar are not found.
func (s *Service) BookSelf(ctx context.Context, sessionID uuid.UUID, details *SelfDetails) (SelfBooking, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return SelfBooking{}, err
	}
	if actor == uuid.Nil {
		return SelfBooking{}, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	var out SelfBooking
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		list, err := s.publicSessions(tx, publicQuery{tenant: t.ID, id: sessionID, statuses: []string{Scheduled, Cancelled, Completed}})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return errs.E(errs.NotFound, msgNoPublicSession)
		}
		if list[0].Closed != "" {
			return errs.E(errs.Conflict, list[0].Closed)
		}
		var person uuid.UUID
		err = tx.Raw(`SELECT id FROM persons WHERE account_id = ?`, actor).Row().Scan(&person)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Conflict, "Your Carepass account is not linked to a passport yet, so it cannot be used to book. "+
				"Ask "+t.Name+" to add you, or use the invitation link an organisation sent you, then book again.")
		}
		if err != nil {
			return storeErr("read person", err)
		}
		holderID, err := s.selfHolder(ctx, tx, t, person, details)
		if err != nil {
			return err
		}
		out.Enrolled = holderID.enrolled
		var live string
		err = tx.Raw(`SELECT status FROM bookings WHERE tenant_id = ? AND session_id = ? AND holder_id = ? AND status IN ('booked', 'waiting')`,
			t.ID, sessionID, holderID.id).Row().Scan(&live)
		switch {
		case err == nil && live == Waiting:
			return errs.E(errs.Conflict, "You are already on the waiting list for this session")
		case err == nil:
			return errs.E(errs.Conflict, "You already have a place on this session")
		case !errors.Is(err, sql.ErrNoRows):
			return storeErr("read own booking", err)
		}
		if out.Booking, err = s.book(ctx, tx, t.ID, actor, sessionID, holderID.id); err != nil {
			return err
		}
		if out.Booking.Status == Waiting {
			if err := tx.Raw(`SELECT count(*) FROM bookings WHERE tenant_id = ? AND session_id = ? AND status = 'waiting'
				AND (created_at, id) <= (SELECT created_at, id FROM bookings WHERE tenant_id = ? AND id = ?)`,
				t.ID, sessionID, t.ID, out.Booking.ID).Row().Scan(&out.Position); err != nil {
				return storeErr("read waiting list", err)
			}
		}
		list, err = s.publicSessions(tx, publicQuery{tenant: t.ID, id: sessionID, statuses: []string{Scheduled}})
		if err != nil {
			return err
		}
		if len(list) == 1 {
			out.Session = list[0]
		}
		return nil
	})
	return out, err
}

type selfHolderID struct {
	id       uuid.UUID
	enrolled bool
}

// selfHolder returns the person's active enrolment in the tenant, making
// one from details through the enroller when there is none.
func (s *Service) selfHolder(ctx context.Context, tx *gorm.DB, t tenants.Tenant, person uuid.UUID, details *SelfDetails) (selfHolderID, error) {
	var id uuid.UUID
	var status string
	err := tx.Raw(`SELECT id, status FROM holders WHERE tenant_id = ? AND person_id = ?`, t.ID, person).Row().Scan(&id, &status)
	switch {
	case err == nil && status != "active":
		return selfHolderID{}, errs.E(errs.Conflict, "Your record at "+t.Name+" is closed, so you cannot book here online. Contact them to book.")
	case err == nil:
		return selfHolderID{id: id}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return selfHolderID{}, storeErr("read holder", err)
	}
	if s.enroller == nil {
		return selfHolderID{}, errs.E(errs.Conflict, t.Name+" has not added you to Carepass yet. Contact them to book a place.")
	}
	if details == nil {
		return selfHolderID{}, errs.Wrap(errs.Conflict, "Tell us about yourself to book a place", ErrNotEnrolled)
	}
	if err := details.validate(s.now()); err != nil {
		return selfHolderID{}, err
	}
	id, err = s.enroller.EnrolPerson(ctx, tx, person, details.GivenName, details.FamilyName, details.DateOfBirth, details.RoleInCare)
	if err != nil {
		return selfHolderID{}, err
	}
	return selfHolderID{id: id, enrolled: true}, nil
}

// OwnBooking is one of the signed-in person's bookings, in any tenant.
type OwnBooking struct {
	ID            uuid.UUID
	TenantID      uuid.UUID
	TenantName    string
	TenantSlug    string
	Status        string // the booking's
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SessionID     uuid.UUID
	CourseTitle   string
	Description   string
	StartsAt      time.Time
	EndsAt        time.Time
	Location      string
	OnlineURL     string
	SessionStatus string
	Public        bool
	Sequence      int       // the session's
	SessionUpdate time.Time // when the session last changed
	// Bookings is how many bookings the person has made on the session,
	// this one included (a place cancelled and booked again is two).
	Bookings int
	// Past is set by OwnBookings for a session that has ended.
	Past bool
}

// Cancelled reports whether the booking, or its session, was cancelled.
func (b OwnBooking) Cancelled() bool { return b.Status == Cancel || b.SessionStatus == Cancelled }

// StatusLabel says where the booking stands.
func (b OwnBooking) StatusLabel() string {
	switch {
	case b.SessionStatus == Cancelled:
		return "Session cancelled"
	case b.Past && b.Status == Booked:
		return "Attendance not recorded"
	case b.Past && b.Status == Waiting:
		return "Did not get a place"
	case b.Status == Booked:
		return "Booked"
	case b.Status == Waiting:
		return "On the waiting list"
	case b.Status == Cancel:
		return "Cancelled"
	case b.Status == Attended:
		return "Attended"
	case b.Status == Absent:
		return "Did not attend"
	}
	return b.Status
}

// Place is where the session happens.
func (b OwnBooking) Place() string {
	if b.Location != "" {
		return b.Location
	}
	return "Online"
}

// Day and Times are the session's London date and times.
func (b OwnBooking) Day() string { return b.StartsAt.In(London).Format("Monday 2 January 2006") }
func (b OwnBooking) Times() string {
	return b.StartsAt.In(London).Format("15:04") + " to " + b.EndsAt.In(London).Format("15:04")
}

// live reports whether the booking holds a place or a place in the queue
// on a session still to come.
func (b OwnBooking) live(now time.Time) bool {
	return (b.Status == Booked || b.Status == Waiting) && b.SessionStatus == Scheduled && now.Before(b.StartsAt)
}

// OwnTraining is the signed-in person's training bookings.
type OwnTraining struct {
	Upcoming []OwnBooking // soonest first
	Past     []OwnBooking // latest first
	// CanCancel holds the ids of bookings that may be cancelled now.
	CanCancel map[uuid.UUID]bool
	// FeedSince is when the account's calendar feed link was made; nil
	// when it has none.
	FeedSince *time.Time
}

// ownBookings reads, in a platform transaction, the bookings row-level
// security lets it see: the acting account's person's, or those of the
// person whose feed link the transaction presents.
func (s *Service) ownBookings(tx *gorm.DB, bookingID uuid.UUID) ([]OwnBooking, error) {
	q := `SELECT b.id, b.tenant_id, t.name, t.slug, b.status, b.created_at, b.updated_at, s.id, c.title, c.description,
			s.starts_at, s.ends_at, s.location, s.online_url, s.status, s.public, s.sequence, s.updated_at,
			count(*) OVER (PARTITION BY b.tenant_id, b.session_id, b.person_id)
		FROM bookings b
		JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id
		JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		JOIN tenants t ON t.id = b.tenant_id
		WHERE b.person_id IN (SELECT app_training_persons())`
	args := []any{}
	if bookingID != uuid.Nil {
		q += ` AND b.id = ?`
		args = append(args, bookingID)
	}
	rows, err := tx.Raw(q+` ORDER BY s.starts_at, b.created_at, b.id`, args...).Rows()
	if err != nil {
		return nil, storeErr("read own bookings", err)
	}
	defer rows.Close()
	var out []OwnBooking
	for rows.Next() {
		var b OwnBooking
		if err := rows.Scan(&b.ID, &b.TenantID, &b.TenantName, &b.TenantSlug, &b.Status, &b.CreatedAt, &b.UpdatedAt, &b.SessionID,
			&b.CourseTitle, &b.Description, &b.StartsAt, &b.EndsAt, &b.Location, &b.OnlineURL, &b.SessionStatus, &b.Public,
			&b.Sequence, &b.SessionUpdate, &b.Bookings); err != nil {
			return nil, storeErr("read own bookings", err)
		}
		b.StartsAt, b.EndsAt, b.CreatedAt = b.StartsAt.UTC(), b.EndsAt.UTC(), b.CreatedAt.UTC()
		b.UpdatedAt, b.SessionUpdate = b.UpdatedAt.UTC(), b.SessionUpdate.UTC()
		out = append(out, b)
	}
	return out, storeErr("read own bookings", rows.Err())
}

// OwnBookings returns the signed-in person's bookings in every tenant:
// those to come first, soonest first, then those past, latest first.
func (s *Service) OwnBookings(ctx context.Context) (OwnTraining, error) {
	if _, ok := tenants.ActorFrom(ctx); !ok {
		return OwnTraining{}, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	out := OwnTraining{CanCancel: map[uuid.UUID]bool{}}
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		list, err := s.ownBookings(tx, uuid.Nil)
		if err != nil {
			return err
		}
		now := s.now()
		for _, b := range list {
			if b.live(now) {
				out.CanCancel[b.ID] = true
			}
			if now.Before(b.EndsAt) {
				out.Upcoming = append(out.Upcoming, b)
			} else {
				b.Past = true
				out.Past = append(out.Past, b)
			}
		}
		sort.SliceStable(out.Past, func(i, j int) bool { return out.Past[i].StartsAt.After(out.Past[j].StartsAt) })
		var since []time.Time
		if err := tx.Raw(`SELECT created_at FROM training_feeds WHERE account_id = NULLIF(current_setting('app.account_id', true), '')::uuid`).
			Scan(&since).Error; err != nil {
			return storeErr("read feed link", err)
		}
		if len(since) > 0 {
			t := since[0].UTC()
			out.FeedSince = &t
		}
		return nil
	})
	return out, err
}

// CancelOwnBooking cancels one of the signed-in person's bookings, in its
// tenant's transaction; a freed place goes to the first person waiting.
// Anyone else's booking is not found.
func (s *Service) CancelOwnBooking(ctx context.Context, bookingID uuid.UUID) (OwnBooking, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return OwnBooking{}, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	var (
		b      OwnBooking
		t      tenants.Tenant
		person uuid.UUID
	)
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		list, err := s.ownBookings(tx, bookingID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return errs.E(errs.NotFound, "No booking with that reference")
		}
		b = list[0]
		var kind, status string
		if err := tx.Raw(`SELECT id, slug, name, kind, status FROM tenants WHERE id = ?`, b.TenantID).Row().
			Scan(&t.ID, &t.Slug, &t.Name, &kind, &status); err != nil {
			return storeErr("read tenant", err)
		}
		t.Kind, t.Status = tenants.Kind(kind), tenants.Status(status)
		if err := tx.Raw(`SELECT id FROM persons WHERE account_id = ?`, actor).Row().Scan(&person); err != nil {
			return storeErr("read person", err)
		}
		return nil
	})
	if err != nil {
		return OwnBooking{}, err
	}
	if t.Suspended() {
		return OwnBooking{}, errs.E(errs.ReadOnly, t.Name+" is suspended on Carepass, so bookings cannot be changed. Contact them to cancel.")
	}
	if !b.live(s.now()) {
		return OwnBooking{}, errs.E(errs.Conflict, "Only a booking for a session still to come can be cancelled")
	}
	tctx := tenants.WithTenant(ctx, t)
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		_, err := s.cancel(tctx, tx, t.ID, bookingID, person)
		return err
	})
	if err != nil {
		return OwnBooking{}, err
	}
	b.Status = Cancel
	return b, nil
}
