package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/training"
)

// Job arguments: ids only, never names or addresses.

// bookingArgs asks for the email of one booking change.
type bookingArgs struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	BookingID uuid.UUID `json:"booking_id"`
	Change    string    `json:"change"`
}

func (bookingArgs) Kind() string { return "notify_booking" }

// tomorrowArgs asks for the day-before reminder of one booking.
type tomorrowArgs struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	BookingID uuid.UUID `json:"booking_id"`
}

func (tomorrowArgs) Kind() string { return "notify_session_tomorrow" }

// expiryArgs asks for one reminder that a competency record expires on
// ExpiresOn: to its holder (AccountID uuid.Nil) or to one manager.
type expiryArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	RecordID   uuid.UUID `json:"record_id"`
	OffsetDays int       `json:"offset_days"`
	ExpiresOn  string    `json:"expires_on"` // YYYY-MM-DD
	AccountID  uuid.UUID `json:"account_id"` // the manager; uuid.Nil for the holder
}

func (expiryArgs) Kind() string { return "notify_competency_expiry" }

// sweepTomorrowArgs and sweepExpiryArgs are the periodic sweeps.
type sweepTomorrowArgs struct{}

func (sweepTomorrowArgs) Kind() string { return "notify_sweep_tomorrow" }

type sweepExpiryArgs struct{}

func (sweepExpiryArgs) Kind() string { return "notify_sweep_expiry" }

// How often the sweeps run, and how long one may take.
const (
	TomorrowEvery = 15 * time.Minute
	ExpiryEvery   = 24 * time.Hour
	sweepTimeout  = 30 * time.Minute
)

// Workers registers the Notifier's workers. They need nothing of the
// queue, so the queue can be built with them and given to UseQueue after.
func (n *Notifier) Workers(w *river.Workers) {
	river.AddWorker(w, &bookingWorker{n: n})
	river.AddWorker(w, &tomorrowWorker{n: n})
	river.AddWorker(w, &expiryWorker{n: n})
	river.AddWorker(w, &sweepTomorrowWorker{n: n})
	river.AddWorker(w, &sweepExpiryWorker{n: n})
}

// Periodic returns the sweeps, for jobs.Options.Periodic: the day-before
// reminders every 15 minutes and the expiry reminders daily, each also
// once at start-up. Running a sweep twice sends nothing twice.
func (n *Notifier) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(TomorrowEvery),
			func() (river.JobArgs, *river.InsertOpts) { return sweepTomorrowArgs{}, nil },
			&river.PeriodicJobOpts{ID: "notify_sweep_tomorrow", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(ExpiryEvery),
			func() (river.JobArgs, *river.InsertOpts) { return sweepExpiryArgs{}, nil },
			&river.PeriodicJobOpts{ID: "notify_sweep_expiry", RunOnStart: true}),
	}
}

type bookingWorker struct {
	river.WorkerDefaults[bookingArgs]
	n *Notifier
}

func (w *bookingWorker) Work(ctx context.Context, job *river.Job[bookingArgs]) error {
	return w.n.sendBooking(ctx, job.ID, job.Args)
}

type tomorrowWorker struct {
	river.WorkerDefaults[tomorrowArgs]
	n *Notifier
}

func (w *tomorrowWorker) Work(ctx context.Context, job *river.Job[tomorrowArgs]) error {
	return w.n.sendTomorrow(ctx, job.ID, job.Args)
}

type expiryWorker struct {
	river.WorkerDefaults[expiryArgs]
	n *Notifier
}

func (w *expiryWorker) Work(ctx context.Context, job *river.Job[expiryArgs]) error {
	return w.n.sendExpiry(ctx, job.ID, job.Args)
}

type sweepTomorrowWorker struct {
	river.WorkerDefaults[sweepTomorrowArgs]
	n *Notifier
}

func (w *sweepTomorrowWorker) Work(ctx context.Context, _ *river.Job[sweepTomorrowArgs]) error {
	_, err := w.n.SweepTomorrow(ctx)
	return err
}

func (w *sweepTomorrowWorker) Timeout(*river.Job[sweepTomorrowArgs]) time.Duration {
	return sweepTimeout
}

type sweepExpiryWorker struct {
	river.WorkerDefaults[sweepExpiryArgs]
	n *Notifier
}

func (w *sweepExpiryWorker) Work(ctx context.Context, _ *river.Job[sweepExpiryArgs]) error {
	_, err := w.n.SweepExpiry(ctx)
	return err
}

func (w *sweepExpiryWorker) Timeout(*river.Job[sweepExpiryArgs]) time.Duration { return sweepTimeout }

// Reading what a message needs, inside the tenant's transaction.

type bookingRow struct {
	SessionID uuid.UUID
	HolderID  uuid.UUID
	Status    string
}

var errGone = errors.New("notify: not there any more")

func readBooking(tx *gorm.DB, tenant, id uuid.UUID) (bookingRow, error) {
	var b bookingRow
	err := tx.Raw(`SELECT session_id, holder_id, status FROM bookings WHERE tenant_id = ? AND id = ?`, tenant, id).
		Row().Scan(&b.SessionID, &b.HolderID, &b.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return b, errGone
	}
	return b, storeErr("read booking", err)
}

func readSession(tx *gorm.DB, tenant, id uuid.UUID) (sessionRow, error) {
	var s sessionRow
	err := tx.Raw(`SELECT s.id, c.title, s.starts_at, s.ends_at, s.location, s.online_url, s.status
		FROM training_sessions s JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		WHERE s.tenant_id = ? AND s.id = ?`, tenant, id).Row().
		Scan(&s.ID, &s.Title, &s.StartsAt, &s.EndsAt, &s.Location, &s.OnlineURL, &s.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return s, errGone
	}
	return s, storeErr("read session", err)
}

// recipient is a holder as an email needs them.
type recipient struct {
	PersonID uuid.UUID
	Given    string
	Family   string
	Email    string // the tenant's record of it, else their account's; "" when neither
	Active   bool
}

func (r recipient) name() string { return r.Given + " " + r.Family }

func (r recipient) address() mail.Address { return mail.Address{Name: r.name(), Email: r.Email} }

// readRecipient reads a holder, and where their email goes: the address
// the tenant recorded, or else the one of the account they claimed their
// passport with.
func readRecipient(tx *gorm.DB, tenant, holder uuid.UUID) (recipient, error) {
	var r recipient
	var status string
	err := tx.Raw(`SELECT h.person_id, h.given_name, h.family_name,
			COALESCE(NULLIF(btrim(h.email), ''), a.email, ''), h.status
		FROM holders h JOIN persons p ON p.id = h.person_id
		LEFT JOIN accounts a ON a.id = p.account_id AND a.status = 'active'
		WHERE h.tenant_id = ? AND h.id = ?`, tenant, holder).Row().Scan(&r.PersonID, &r.Given, &r.Family, &r.Email, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errGone
	}
	r.Active = status == "active"
	return r, storeErr("read holder", err)
}

// org is the tenant as emails name it.
type org struct{ Name, Slug string }

func readOrg(tx *gorm.DB, tenant uuid.UUID) (org, error) {
	var o org
	err := tx.Raw(`SELECT name, slug FROM tenants WHERE id = ?`, tenant).Row().Scan(&o.Name, &o.Slug)
	return o, storeErr("read tenant", err)
}

// stale reports whether the booking has moved on since the change, so its
// email would mislead: a confirmation for a booking since cancelled (its
// cancellation email follows), a waiting-list email for someone since
// given a place or cancelled.
func stale(change, status string) bool {
	switch change {
	case training.ChangeBooked, training.ChangePromoted:
		return status == training.Cancel
	case training.ChangeWaiting:
		return status != training.Waiting
	}
	return false
}

func (n *Notifier) sendBooking(ctx context.Context, jobID int64, a bookingArgs) error {
	if !bookingChange(a.Change) {
		return river.JobCancel(fmt.Errorf("notify: unknown booking change %q", a.Change))
	}
	var (
		msg  *mail.Message
		rcpt []string
	)
	err := n.inTenant(ctx, a.TenantID, func(ctx context.Context, tx *gorm.DB) error {
		b, err := readBooking(tx, a.TenantID, a.BookingID)
		if err != nil {
			return err
		}
		if stale(a.Change, b.Status) {
			n.log.Info("notify: booking moved on; email not sent", "job", jobID, "change", a.Change, "status", b.Status)
			return nil
		}
		s, err := readSession(tx, a.TenantID, b.SessionID)
		if err != nil {
			return err
		}
		r, err := readRecipient(tx, a.TenantID, b.HolderID)
		if err != nil {
			return err
		}
		if r.Email == "" {
			n.log.Info("notify: holder has no email address; email not sent", "job", jobID, "kind", a.Change)
			return nil
		}
		rcpt = append(rcpt, r.Email)
		o, err := readOrg(tx, a.TenantID)
		if err != nil {
			return err
		}
		var attach []mail.Attachment
		n.mu.RLock()
		events := n.events
		n.mu.RUnlock()
		switch a.Change {
		case training.ChangeBooked, training.ChangePromoted, training.ChangeCancelled, training.ChangeSessionCancelled:
			if events == nil {
				n.log.Warn("notify: no source of calendar events; email sent without an invitation", "job", jobID)
				break
			}
			ev, err := events.BookingEvent(ctx, tx, a.TenantID, a.BookingID)
			if err != nil {
				return err
			}
			// An address the calendar cannot name (one a mailto URI would
			// have to escape) still gets the email, without the invite.
			if ics, err := n.invite(ev, o.Name, r.address()); err == nil {
				attach = append(attach, ics)
			} else {
				n.log.Info("notify: no calendar invite for this recipient", "job", jobID, "kind", a.Change)
			}
		}
		m, err := n.message(jobID, r.address(), n.bookingLetter(a.Change, r.Given, o.Name, s), "", attach)
		if err != nil {
			return err
		}
		msg = &m
		return n.audit.Record(ctx, tx, audit.Event{Action: "notification.email", ObjectType: "booking",
			ObjectID: a.BookingID.String(), Detail: map[string]string{"kind": a.Change}})
	})
	return n.deliver(ctx, jobID, msg, rcpt, err)
}

func (n *Notifier) sendTomorrow(ctx context.Context, jobID int64, a tomorrowArgs) error {
	var (
		msg  *mail.Message
		rcpt []string
	)
	err := n.inTenant(ctx, a.TenantID, func(ctx context.Context, tx *gorm.DB) error {
		b, err := readBooking(tx, a.TenantID, a.BookingID)
		if err != nil {
			return err
		}
		s, err := readSession(tx, a.TenantID, b.SessionID)
		if err != nil {
			return err
		}
		if b.Status != training.Booked || s.Status != training.Scheduled || !n.now().Before(s.StartsAt) {
			n.log.Info("notify: booking or session moved on; reminder not sent", "job", jobID)
			return nil
		}
		r, err := readRecipient(tx, a.TenantID, b.HolderID)
		if err != nil {
			return err
		}
		if r.Email == "" {
			n.log.Info("notify: holder has no email address; reminder not sent", "job", jobID)
			return nil
		}
		rcpt = append(rcpt, r.Email)
		who := subject{kind: subjectPerson, id: r.PersonID}
		if ok, err := wantsReminders(tx, who); err != nil || !ok {
			if err == nil {
				n.log.Info("notify: reminders turned off; reminder not sent", "job", jobID)
			}
			return err
		}
		o, err := readOrg(tx, a.TenantID)
		if err != nil {
			return err
		}
		m, err := n.message(jobID, r.address(), n.tomorrowLetter(r.Given, o.Name, s), n.token(who), nil)
		if err != nil {
			return err
		}
		msg = &m
		return n.audit.Record(ctx, tx, audit.Event{Action: "notification.email", ObjectType: "booking",
			ObjectID: a.BookingID.String(), Detail: map[string]string{"kind": KindSessionTomorrow}})
	})
	return n.deliver(ctx, jobID, msg, rcpt, err)
}

// expiryRow is a competency record as a reminder needs it.
type expiryRow struct {
	expiry
	State string
}

// expiresOnSQL is a record's expiry date: its sign-off's London date plus
// the competency's re-assessment interval in calendar months, a day the
// later month lacks becoming its last (as package record derives it).
const expiresOnSQL = `((r.signed_off_at AT TIME ZONE 'Europe/London')::date + make_interval(months => c.reassess_months))::date`

func readExpiry(tx *gorm.DB, tenant, record uuid.UUID) (expiryRow, error) {
	var e expiryRow
	var on sql.NullTime
	err := tx.Raw(`SELECT r.holder_id, c.code, c.title, r.state, `+expiresOnSQL+`
		FROM competency_records r JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		WHERE r.tenant_id = ? AND r.id = ?`, tenant, record).Row().Scan(&e.HolderID, &e.Code, &e.Title, &e.State, &on)
	if errors.Is(err, sql.ErrNoRows) {
		return e, errGone
	}
	if on.Valid {
		e.ExpiresOn = dateOf(on.Time)
	}
	return e, storeErr("read record", err)
}

// dateOf keeps the calendar date of a date column, at midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (n *Notifier) sendExpiry(ctx context.Context, jobID int64, a expiryArgs) error {
	due, err := time.Parse(time.DateOnly, a.ExpiresOn)
	if err != nil {
		return river.JobCancel(fmt.Errorf("notify: expiry date %q: %w", a.ExpiresOn, err))
	}
	var manager *Manager
	if a.AccountID != uuid.Nil {
		list, err := n.managers.Managers(ctx, a.TenantID)
		if err != nil {
			return fmt.Errorf("notify: managers: %w", err)
		}
		for i := range list {
			if list[i].AccountID == a.AccountID {
				manager = &list[i]
			}
		}
		if manager == nil || manager.Address.Email == "" {
			n.log.Info("notify: no longer a manager; reminder not sent", "job", jobID)
			return nil
		}
	}
	var (
		msg  *mail.Message
		rcpt []string
	)
	if manager != nil {
		rcpt = append(rcpt, manager.Address.Email)
	}
	err = n.inTenant(ctx, a.TenantID, func(ctx context.Context, tx *gorm.DB) error {
		e, err := readExpiry(tx, a.TenantID, a.RecordID)
		if err != nil {
			return err
		}
		if e.State != "competent" || !e.ExpiresOn.Equal(due) {
			n.log.Info("notify: record renewed or changed; reminder not sent", "job", jobID)
			return nil
		}
		r, err := readRecipient(tx, a.TenantID, e.HolderID)
		if err != nil {
			return err
		}
		if !r.Active {
			n.log.Info("notify: holder has left; reminder not sent", "job", jobID)
			return nil
		}
		e.HolderName = r.name()
		o, err := readOrg(tx, a.TenantID)
		if err != nil {
			return err
		}
		var (
			to  mail.Address
			who subject
			l   letter
		)
		if manager != nil {
			to, who = manager.Address, subject{kind: subjectAccount, id: manager.AccountID}
			l = n.managerLetter(manager.Address.Name, o.Name, o.Slug, e.expiry)
		} else {
			if r.Email == "" {
				n.log.Info("notify: holder has no email address; reminder not sent", "job", jobID)
				return nil
			}
			rcpt = append(rcpt, r.Email)
			to, who = r.address(), subject{kind: subjectPerson, id: r.PersonID}
			l = n.expiryLetter(r.Given, o.Name, e.expiry)
		}
		if ok, err := wantsReminders(tx, who); err != nil || !ok {
			if err == nil {
				n.log.Info("notify: reminders turned off; reminder not sent", "job", jobID)
			}
			return err
		}
		m, err := n.message(jobID, to, l, n.token(who), nil)
		if err != nil {
			return err
		}
		msg = &m
		audience := "holder"
		if manager != nil {
			audience = "manager"
		}
		return n.audit.Record(ctx, tx, audit.Event{Action: "notification.email", ObjectType: "record",
			ObjectID: a.RecordID.String(), Detail: map[string]string{"kind": "competency_expiry",
				"offset_days": fmt.Sprint(a.OffsetDays), "to": audience}})
	})
	return n.deliver(ctx, jobID, msg, rcpt, err)
}

// deliver sends msg to rcpt once its reading transaction (ending in err)
// is done. A booking, session or record gone is nothing to send. A failure
// is retried with back-off, unless retrying cannot mend it (a message or
// calendar invite that is not valid, a server's permanent refusal): then
// the job is cancelled (river.JobCancel). Errors kept on the job name no
// recipient.
func (n *Notifier) deliver(ctx context.Context, jobID int64, msg *mail.Message, rcpt []string, err error) error {
	if errors.Is(err, errGone) {
		n.log.Info("notify: what the job is about is gone; nothing sent", "job", jobID)
		return nil
	}
	if err == nil && msg == nil {
		return nil
	}
	if err == nil {
		err = n.mail.Send(ctx, *msg)
	}
	if err == nil {
		return nil
	}
	err = redact(err, rcpt...)
	if errors.Is(err, mail.ErrRejected) || errors.Is(err, mail.ErrInvalid) ||
		errors.Is(err, ical.ErrEvent) || errors.Is(err, ical.ErrCalendar) {
		return river.JobCancel(err)
	}
	return err
}

// redacted is an error whose message leaves out the recipients' addresses
// (a server's reply often repeats them) but which still wraps the original,
// so errors.Is sees mail.ErrSend and the rest.
type redacted struct {
	msg string
	err error
}

func (r redacted) Error() string { return r.msg }
func (r redacted) Unwrap() error { return r.err }

func redact(err error, emails ...string) error {
	msg := err.Error()
	for _, e := range emails {
		if e != "" {
			msg = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(e)).ReplaceAllLiteralString(msg, "<recipient>")
		}
	}
	return redacted{msg: msg, err: err}
}
