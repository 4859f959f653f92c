package carehome

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
)

// Point is the provider-wide compliance of one day.
type Point struct {
	Day      time.Time `json:"day"` // the London date, as midnight UTC
	Percent  float64   `json:"percent"`
	Valid    int       `json:"valid"`    // required cells holding a current sign-off
	Required int       `json:"required"` // required cells
}

// Snapshot records today's (London date) compliance of the tenant in ctx,
// provider-wide and per home, replacing any snapshot of the same day, and
// returns the provider-wide point. Audited as carehome.snapshot.
func (s *Service) Snapshot(ctx context.Context) (Point, error) {
	t, err := scope(ctx)
	if err != nil {
		return Point{}, err
	}
	var p Point
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		m, err := s.compute(tx, t.ID, Filter{})
		if err != nil {
			return err
		}
		day := dayOf(m.At)
		put := func(home *uuid.UUID, c Count) error {
			err := tx.Exec(`INSERT INTO compliance_snapshots (tenant_id, id, day, home_id, valid, required, taken_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, day, COALESCE(home_id, '00000000-0000-0000-0000-000000000000'))
				DO UPDATE SET valid = EXCLUDED.valid, required = EXCLUDED.required, taken_at = EXCLUDED.taken_at`,
				t.ID, newID(), day, home, c.Compliant(), c.Required, m.At).Error
			if err != nil {
				return storeErr("snapshot", err)
			}
			return nil
		}
		if err := put(nil, m.Total); err != nil {
			return err
		}
		for _, h := range m.ByHome {
			id := h.ID
			if err := put(&id, h.Count); err != nil {
				return err
			}
		}
		p = Point{Day: day, Percent: m.Total.Percent(), Valid: m.Total.Compliant(), Required: m.Total.Required}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.snapshot", ObjectType: "compliance",
			Detail: map[string]string{"day": day.Format(time.DateOnly), "valid": fmt.Sprint(p.Valid), "required": fmt.Sprint(p.Required)}})
	})
	return p, err
}

// History returns the provider-wide compliance of the tenant in ctx on
// each day from from to to (London dates, both included) that has a
// snapshot, oldest first.
func (s *Service) History(ctx context.Context, from, to time.Time) ([]Point, error) {
	t, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []Point
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT day, valid, required FROM compliance_snapshots
			WHERE tenant_id = ? AND home_id IS NULL AND day BETWEEN ? AND ? ORDER BY day`, t.ID, dayOf(from), dayOf(to)).Rows()
		if err != nil {
			return storeErr("read history", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p Point
			if err := rows.Scan(&p.Day, &p.Valid, &p.Required); err != nil {
				return storeErr("read history", err)
			}
			p.Percent = Count{Required: p.Required, Valid: p.Valid}.Percent()
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}
