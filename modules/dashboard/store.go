package dashboard

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// store reads one tenant's figures inside its transaction: each figure is
// one grouped query over the whole window, never a query per month.
type store struct {
	tx     *gorm.DB
	tenant uuid.UUID
	w      Window
}

// monthKey is the UK calendar month of a timestamp column, as YYYY-MM.
func monthKey(col string) string {
	return "to_char(" + col + " AT TIME ZONE 'Europe/London', 'YYYY-MM')"
}

type monthCount struct {
	Month string
	N     int64
}

func (s store) spread(rows []monthCount, n int) []int64 {
	out := make([]int64, n)
	for _, r := range rows {
		if i := s.w.index(r.Month); i >= 0 {
			out[i] += r.N
		}
	}
	return out
}

func storeErr(what string, err error) error { return fmt.Errorf("dashboard: %s: %w", what, err) }

// signOffs counts sign-offs (transitions to competent) per month.
func (s store) signOffs(n int) ([]int64, error) {
	var rows []monthCount
	err := s.tx.Raw(`SELECT `+monthKey("e.at")+` AS month, count(*) AS n
		FROM record_events e
		WHERE e.tenant_id = ? AND e.to_state = 'competent' AND e.at >= ? AND e.at < ?
		GROUP BY 1`, s.tenant, s.w.From, s.w.To).Scan(&rows).Error
	if err != nil {
		return nil, storeErr("sign-offs", err)
	}
	return s.spread(rows, n), nil
}

// passports counts carer passports issued per month, and checks that
// confirmed one of them (the platform-wide check log, by issuer).
func (s store) passports(n int) (issued, verified []int64, err error) {
	var rows []monthCount
	if err := s.tx.Raw(`SELECT `+monthKey("p.created_at")+` AS month, count(*) AS n
		FROM carer_passports p
		WHERE p.tenant_id = ? AND p.created_at >= ? AND p.created_at < ?
		GROUP BY 1`, s.tenant, s.w.From, s.w.To).Scan(&rows).Error; err != nil {
		return nil, nil, storeErr("passports issued", err)
	}
	issued = s.spread(rows, n)
	rows = nil
	if err := s.tx.Raw(`SELECT `+monthKey("c.at")+` AS month, count(*) AS n
		FROM passport_checks c
		WHERE c.passport_tenant = ? AND c.outcome = 'confirmed' AND c.at >= ? AND c.at < ?
		GROUP BY 1`, s.tenant, s.w.From, s.w.To).Scan(&rows).Error; err != nil {
		return nil, nil, storeErr("passports verified", err)
	}
	return issued, s.spread(rows, n), nil
}

// training counts sessions that were not cancelled, by the month they start
// in, and the places on them.
func (s store) training(n int) ([]TrainingMonth, error) {
	var rows []struct {
		Month                              string
		Sessions, Booked, Attended, Absent int64
	}
	err := s.tx.Raw(`SELECT `+monthKey("ts.starts_at")+` AS month, count(DISTINCT ts.id) AS sessions,
			count(b.id) FILTER (WHERE b.status IN ('booked', 'attended', 'absent')) AS booked,
			count(b.id) FILTER (WHERE b.status = 'attended') AS attended,
			count(b.id) FILTER (WHERE b.status = 'absent') AS absent
		FROM training_sessions ts
		LEFT JOIN bookings b ON b.tenant_id = ts.tenant_id AND b.session_id = ts.id
		WHERE ts.tenant_id = ? AND ts.status <> 'cancelled' AND ts.starts_at >= ? AND ts.starts_at < ?
		GROUP BY 1`, s.tenant, s.w.From, s.w.To).Scan(&rows).Error
	if err != nil {
		return nil, storeErr("training", err)
	}
	out := make([]TrainingMonth, n)
	for _, r := range rows {
		if i := s.w.index(r.Month); i >= 0 {
			out[i] = TrainingMonth{Sessions: r.Sessions, Booked: r.Booked, Attended: r.Attended, Absent: r.Absent}
		}
	}
	return out, nil
}

// expiring counts signed-off records of current holders expiring after
// today and within 30, 60 and 90 days. The expiry date is the UK date of
// the sign-off plus the competency's interval in calendar months, as the
// records module derives it (a day the month lacks becomes its last day).
func (s store) expiring(today time.Time) (Expiring, error) {
	var e Expiring
	day := today.Format(time.DateOnly)
	err := s.tx.Raw(`SELECT count(*) FILTER (WHERE x.expires <= ?::date + 30) AS in30,
			count(*) FILTER (WHERE x.expires <= ?::date + 60) AS in60,
			count(*) AS in90
		FROM (SELECT ((r.signed_off_at AT TIME ZONE 'Europe/London')::date + make_interval(months => c.reassess_months))::date AS expires
		      FROM competency_records r
		      JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		      JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
		      WHERE r.tenant_id = ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL AND h.status = 'active') x
		WHERE x.expires > ?::date AND x.expires <= ?::date + 90`, day, day, s.tenant, day, day).Row().Scan(&e.In30, &e.In60, &e.In90)
	if err != nil {
		return Expiring{}, storeErr("expiring", err)
	}
	return e, nil
}
