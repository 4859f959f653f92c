package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

var _ training.Events = (*Notifier)(nil)

// Kinds of in-app notification, beyond the booking changes (whose kinds
// are training's Change kinds).
const (
	KindSessionTomorrow    = "session_tomorrow"
	KindCompetencyExpiring = "competency_expiring"
	KindCompetencyExpired  = "competency_expired"
)

// Where the person's own pages are.
const (
	TrainingPath      = "/me/training"
	PassportPath      = "/me/passport"
	NotificationsPath = "/me/notifications"
)

// BookingChanged is told of every booking change inside the booking's
// tenant transaction tx: it adds the in-app notification for the holder's
// person and enqueues the email, both in tx, so both exist if and only if
// the change commits. An error rolls the change back.
func (n *Notifier) BookingChanged(ctx context.Context, tx *gorm.DB, c training.Change) error {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return errors.New("notify: booking change without a tenant")
	}
	if !bookingChange(c.Kind) {
		return fmt.Errorf("notify: unknown booking change %q", c.Kind)
	}
	var (
		person   uuid.UUID
		title    string
		startsAt time.Time
	)
	err := tx.Raw(`SELECT b.person_id, c.title, s.starts_at FROM bookings b
		JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id
		JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		WHERE b.tenant_id = ? AND b.id = ?`, t.ID, c.BookingID).Row().Scan(&person, &title, &startsAt)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("notify: booking %s of the change is not there", c.BookingID)
	}
	if err != nil {
		return storeErr("read booking", err)
	}
	if err := n.addNotification(tx, t.ID, person, c.Kind, bookingNote(c.Kind, title, startsAt), TrainingPath); err != nil {
		return err
	}
	return n.enqueue(ctx, tx, bookingArgs{TenantID: t.ID, BookingID: c.BookingID, Change: c.Kind})
}

func bookingChange(kind string) bool {
	switch kind {
	case training.ChangeBooked, training.ChangeWaiting, training.ChangePromoted, training.ChangeCancelled,
		training.ChangeSessionCancelled:
		return true
	}
	return false
}

// bookingNote is the in-app text of a booking change.
func bookingNote(kind, title string, startsAt time.Time) string {
	when := startsAt.In(london).Format("Monday 2 January 2006 at 15:04")
	switch kind {
	case training.ChangeBooked:
		return fmt.Sprintf("Your place on %s on %s is booked.", title, when)
	case training.ChangeWaiting:
		return fmt.Sprintf("You are on the waiting list for %s on %s.", title, when)
	case training.ChangePromoted:
		return fmt.Sprintf("A place came free: you now have a place on %s on %s.", title, when)
	case training.ChangeCancelled:
		return fmt.Sprintf("Your booking on %s on %s is cancelled.", title, when)
	default: // session cancelled
		return fmt.Sprintf("%s on %s has been cancelled by the organiser, and your booking with it.", title, when)
	}
}

// maxNote bounds an in-app notification's text, as the table does.
const maxNote = 500

// addNotification inserts an in-app notification for person in tx, a
// transaction of tenant.
func (n *Notifier) addNotification(tx *gorm.DB, tenant, person uuid.UUID, kind, body, link string) error {
	if r := []rune(body); len(r) > maxNote {
		body = string(r[:maxNote-1]) + "…"
	}
	err := tx.Exec(`INSERT INTO notifications (tenant_id, id, person_id, kind, body, link, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tenant, newID(), person, kind, body, link, n.now().UTC()).Error
	return storeErr("add notification", err)
}
