package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Reasons a reminder is claimed for, in notification_sends.
const (
	reasonTomorrow = "session_tomorrow"
	reasonExpiry   = "competency_expiry"
)

// expiredGrace is how long after its expiry date a record that was never
// reminded about (the sweep did not run, or the record was just loaded)
// still gets its reminder; older lapses are left alone.
const expiredGrace = 7

// activeTenants lists the tenants that are sent reminders: every active
// one (a suspended tenant's holders hear nothing new from it).
func (n *Notifier) activeTenants(ctx context.Context) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := n.db.PlatformRead(ctx).Raw(`SELECT id FROM tenants WHERE status = 'active' ORDER BY id`).Scan(&ids).Error
	return ids, storeErr("list tenants", err)
}

// claim records, in tx, that a reminder is being sent, and reports whether
// it is new: the unique key of notification_sends lets each one through
// once, ever, however often (or however concurrently) sweeps run.
func (n *Notifier) claim(tx *gorm.DB, tenant, holder uuid.UUID, reason string, subjectID uuid.UUID, offset int, due time.Time) (bool, error) {
	res := tx.Exec(`INSERT INTO notification_sends (tenant_id, id, holder_id, reason, subject_id, offset_days, due_on, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		tenant, newID(), holder, reason, subjectID, offset, due.Format(time.DateOnly), n.now().UTC())
	if res.Error != nil {
		return false, storeErr("claim reminder", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SweepTomorrow enqueues the day-before reminder of every place booked on
// a scheduled session that starts tomorrow (by the London date), in every
// active tenant, each tenant in a transaction of its own. Each booking is
// reminded about once, however often the sweep runs; it returns how many
// reminders it enqueued. A failing tenant does not stop the others; their
// errors are returned together.
func (n *Notifier) SweepTomorrow(ctx context.Context) (int, error) {
	ids, err := n.activeTenants(ctx)
	if err != nil {
		return 0, err
	}
	y, m, d := n.now().In(london).Date()
	from := time.Date(y, m, d+1, 0, 0, 0, 0, london)
	to := time.Date(y, m, d+2, 0, 0, 0, 0, london)
	total := 0
	var failed []error
	for _, id := range ids {
		k, err := n.sweepTomorrowIn(ctx, id, from, to)
		total += k
		if err != nil {
			n.log.Warn("notify: day-before sweep failed in a tenant", "tenant", id, "err", err)
			failed = append(failed, fmt.Errorf("tenant %s: %w", id, err))
		}
	}
	return total, errors.Join(failed...)
}

func (n *Notifier) sweepTomorrowIn(ctx context.Context, tenant uuid.UUID, from, to time.Time) (int, error) {
	count := 0
	err := n.inTenant(ctx, tenant, func(ctx context.Context, tx *gorm.DB) error {
		count = 0
		var due []struct {
			ID, HolderID, PersonID uuid.UUID
			Title                  string
			StartsAt               time.Time
		}
		err := tx.Raw(`SELECT b.id, b.holder_id, h.person_id, c.title, s.starts_at FROM bookings b
			JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id
			JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
			JOIN holders h ON h.tenant_id = b.tenant_id AND h.id = b.holder_id
			WHERE b.tenant_id = ? AND b.status = 'booked' AND s.status = 'scheduled'
			  AND s.starts_at >= ? AND s.starts_at < ? AND h.status = 'active'
			ORDER BY s.starts_at, b.id`, tenant, from.UTC(), to.UTC()).Scan(&due).Error
		if err != nil {
			return storeErr("find tomorrow's bookings", err)
		}
		for _, b := range due {
			ok, err := n.claim(tx, tenant, b.HolderID, reasonTomorrow, b.ID, 1, londonDate(b.StartsAt))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := n.enqueue(ctx, tx, tomorrowArgs{TenantID: tenant, BookingID: b.ID}); err != nil {
				return err
			}
			body := fmt.Sprintf("Reminder: %s is tomorrow, %s.", b.Title, b.StartsAt.In(london).Format("Monday 2 January 2006 at 15:04"))
			if err := n.addNotification(tx, tenant, b.PersonID, KindSessionTomorrow, body, TrainingPath); err != nil {
				return err
			}
			count++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}

// offsetFor returns the reminder due for an expiry daysLeft days away: the
// most urgent offset reached, so a record first seen 5 days before expiry
// gets the 7-day reminder and not the 90- and 30-day ones too.
func (n *Notifier) offsetFor(daysLeft int) (int, bool) {
	for _, o := range n.offsets { // ascending
		if daysLeft <= o {
			return o, true
		}
	}
	return 0, false
}

// SweepExpiry enqueues, in every active tenant, the reminders of competency
// records that are current (competent, holder still enrolled) and whose
// expiry date falls on or before today plus an offset (Deps.Offsets), to
// the holder and to each of the tenant's managers, and adds the holder's
// in-app notification. Each record is reminded about once per offset and
// expiry date, ever: renewing it (a new expiry date) makes its reminders
// due again. It returns how many reminders (records and offsets) it
// claimed. A failing tenant does not stop the others.
func (n *Notifier) SweepExpiry(ctx context.Context) (int, error) {
	ids, err := n.activeTenants(ctx)
	if err != nil {
		return 0, err
	}
	today := londonDate(n.now())
	total := 0
	var failed []error
	for _, id := range ids {
		k, err := n.sweepExpiryIn(ctx, id, today)
		total += k
		if err != nil {
			n.log.Warn("notify: expiry sweep failed in a tenant", "tenant", id, "err", err)
			failed = append(failed, fmt.Errorf("tenant %s: %w", id, err))
		}
	}
	return total, errors.Join(failed...)
}

func (n *Notifier) sweepExpiryIn(ctx context.Context, tenant uuid.UUID, today time.Time) (int, error) {
	managers, err := n.managers.Managers(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("notify: managers: %w", err)
	}
	count := 0
	err = n.inTenant(ctx, tenant, func(ctx context.Context, tx *gorm.DB) error {
		count = 0
		var due []struct {
			ID, HolderID, PersonID uuid.UUID
			AccountID              *uuid.UUID
			Code, Title            string
			ExpiresOn              time.Time
		}
		err := tx.Raw(`SELECT * FROM (
				SELECT r.id, r.holder_id, h.person_id, p.account_id, c.code, c.title, `+expiresOnSQL+` AS expires_on
				FROM competency_records r
				JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
				JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
				JOIN persons p ON p.id = h.person_id
				WHERE r.tenant_id = ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL AND h.status = 'active'
			) x WHERE expires_on BETWEEN ? AND ? ORDER BY expires_on, id`,
			tenant, today.AddDate(0, 0, -expiredGrace).Format(time.DateOnly),
			today.AddDate(0, 0, n.offsets[len(n.offsets)-1]).Format(time.DateOnly)).Scan(&due).Error
		if err != nil {
			return storeErr("find expiring records", err)
		}
		for _, r := range due {
			on := dateOf(r.ExpiresOn)
			left := int(on.Sub(today) / (24 * time.Hour))
			offset, ok := n.offsetFor(left)
			if !ok {
				continue
			}
			claimed, err := n.claim(tx, tenant, r.HolderID, reasonExpiry, r.ID, offset, on)
			if err != nil {
				return err
			}
			if !claimed {
				continue
			}
			args := expiryArgs{TenantID: tenant, RecordID: r.ID, OffsetDays: offset, ExpiresOn: on.Format(time.DateOnly)}
			if err := n.enqueue(ctx, tx, args); err != nil {
				return err
			}
			for _, m := range managers {
				if r.AccountID != nil && *r.AccountID == m.AccountID {
					continue // they hear about it as the holder
				}
				args.AccountID = m.AccountID
				if err := n.enqueue(ctx, tx, args); err != nil {
					return err
				}
			}
			e := expiry{Code: r.Code, Title: r.Title, ExpiresOn: on}
			kind, body := KindCompetencyExpiring, fmt.Sprintf("Your competency %s %s expires on %s.", r.Code, r.Title, e.date())
			if left <= 0 {
				kind, body = KindCompetencyExpired, fmt.Sprintf("Your competency %s %s expired on %s.", r.Code, r.Title, e.date())
			}
			if err := n.addNotification(tx, tenant, r.PersonID, kind, body, PassportPath); err != nil {
				return err
			}
			count++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}
