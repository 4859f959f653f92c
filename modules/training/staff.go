package training

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
)

// What the staff pages read beyond the single-session use cases: sessions
// in a period, the competencies a course may train, and where a booking
// belongs.

// SessionQuery selects sessions for StaffSessions.
type SessionQuery struct {
	From, To time.Time // sessions starting in [From, To)
	CourseID uuid.UUID // uuid.Nil: every course
	Limit    int       // at most this many; 0 or above 1000: 1000
}

// staffMaxSessions bounds one listing of sessions.
const staffMaxSessions = 1000

// StaffSessions lists the tenant's sessions starting in the query's period,
// soonest first, cancelled ones included, each with its counts of places
// taken and people waiting and its trainers. It reads in two queries
// whatever the number of sessions.
func (s *Service) StaffSessions(ctx context.Context, q SessionQuery) ([]Session, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if !q.To.After(q.From) {
		return nil, errs.Validation(errs.FieldError{Field: "to", Message: "The end of the period must be after its start"})
	}
	if q.Limit <= 0 || q.Limit > staffMaxSessions {
		q.Limit = staffMaxSessions
	}
	var out []Session
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		query := `SELECT s.id, s.course_id, c.title, s.series_id, s.starts_at, s.ends_at, s.location, s.online_url, s.capacity,
				s.cutoff_hours, s.public, s.status, s.sequence, b.booked, b.waiting
			FROM training_sessions s
			JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
			CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE status IN ('booked', 'attended', 'absent')) AS booked,
					count(*) FILTER (WHERE status = 'waiting') AS waiting
				FROM bookings WHERE tenant_id = s.tenant_id AND session_id = s.id) b
			WHERE s.tenant_id = ? AND s.starts_at >= ? AND s.starts_at < ?`
		args := []any{t.ID, q.From.UTC(), q.To.UTC()}
		if q.CourseID != uuid.Nil {
			query += ` AND s.course_id = ?`
			args = append(args, q.CourseID)
		}
		query += ` ORDER BY s.starts_at, lower(c.title), s.id LIMIT ?`
		args = append(args, q.Limit)
		rows, err := tx.Raw(query, args...).Rows()
		if err != nil {
			return storeErr("list sessions", err)
		}
		defer rows.Close()
		index := map[uuid.UUID]int{}
		var ids []uuid.UUID
		for rows.Next() {
			var ss Session
			if err := rows.Scan(&ss.ID, &ss.CourseID, &ss.CourseTitle, &ss.SeriesID, &ss.StartsAt, &ss.EndsAt, &ss.Location,
				&ss.OnlineURL, &ss.Capacity, &ss.CutoffHours, &ss.Public, &ss.Status, &ss.Sequence, &ss.Booked, &ss.Waiting); err != nil {
				return storeErr("list sessions", err)
			}
			ss.StartsAt, ss.EndsAt = ss.StartsAt.UTC(), ss.EndsAt.UTC()
			index[ss.ID] = len(out)
			ids = append(ids, ss.ID)
			out = append(out, ss)
		}
		if err := rows.Err(); err != nil {
			return storeErr("list sessions", err)
		}
		if len(ids) == 0 {
			return nil
		}
		trs, err := tx.Raw(`SELECT st.session_id, h.id, h.given_name || ' ' || h.family_name FROM session_trainers st
			JOIN holders h ON h.tenant_id = st.tenant_id AND h.id = st.holder_id
			WHERE st.tenant_id = ? AND st.session_id IN ? ORDER BY h.family_name, h.given_name`, t.ID, ids).Rows()
		if err != nil {
			return storeErr("list trainers", err)
		}
		defer trs.Close()
		for trs.Next() {
			var sid uuid.UUID
			var tr Trainer
			if err := trs.Scan(&sid, &tr.HolderID, &tr.Name); err != nil {
				return storeErr("list trainers", err)
			}
			i := index[sid]
			out[i].Trainers = append(out[i].Trainers, tr)
		}
		return storeErr("list trainers", trs.Err())
	})
	return out, err
}

// CompetencyChoice is a competency a course may train: one of the
// tenant's published catalogues.
type CompetencyChoice struct {
	ID        uuid.UUID `json:"id"`
	Code      string    `json:"code"`
	Title     string    `json:"title"`
	Kind      string    `json:"kind"`
	Catalogue string    `json:"catalogue"`
}

// StaffCompetencyChoices lists the competencies of the tenant's published
// catalogues, by catalogue and code, for the course form.
func (s *Service) StaffCompetencyChoices(ctx context.Context) ([]CompetencyChoice, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []CompetencyChoice
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT c.id, c.code, c.title, c.kind, k.title FROM competencies c
			JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
			WHERE c.tenant_id = ? AND k.status = 'published' ORDER BY lower(k.title), k.key, c.code`, t.ID).Rows()
		if err != nil {
			return storeErr("list competencies", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c CompetencyChoice
			if err := rows.Scan(&c.ID, &c.Code, &c.Title, &c.Kind, &c.Catalogue); err != nil {
				return storeErr("list competencies", err)
			}
			out = append(out, c)
		}
		return storeErr("list competencies", rows.Err())
	})
	return out, err
}

// StaffBookingSession returns the session a booking of the tenant is on.
func (s *Service) StaffBookingSession(ctx context.Context, bookingID uuid.UUID) (uuid.UUID, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	var id uuid.UUID
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Raw(`SELECT session_id FROM bookings WHERE tenant_id = ? AND id = ?`, t.ID, bookingID).Row().Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "No booking with that reference")
		}
		return storeErr("read booking", err)
	})
	return id, err
}

// StaffNow is the service's clock, for pages that show what is upcoming.
func (s *Service) StaffNow() time.Time { return s.now() }
