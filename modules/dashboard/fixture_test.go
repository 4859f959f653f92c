package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/dashboard"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

var london, _ = time.LoadLocation("Europe/London")

// at is a London wall-clock time.
func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, london)
}

// fixture is a database with the rows the dashboard counts, put there
// directly, and a clock fixed at noon on 15 March 2026 (UK time).
type fixture struct {
	*moduletest.Env
	clock *moduletest.Clock
	seq   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(at(2026, 3, 15, 12, 0))
	return &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
}

func (f *fixture) service(opts ...dashboard.Option) *dashboard.Service {
	return dashboard.NewService(f.Scoped, f.clock.Now, opts...)
}

func (f *fixture) exec(tn tenants.Tenant, sql string, args ...any) {
	f.T.Helper()
	f.In(tn, func(tx *gorm.DB) error { return tx.Exec(sql, args...).Error })
}

// signOffs records n sign-offs (transitions to competent) in tn at when,
// each on a record of its own.
func (f *fixture) signOffs(tn tenants.Tenant, comp uuid.UUID, n int, when time.Time) {
	f.T.Helper()
	for i := 0; i < n; i++ {
		f.seq++
		h := f.Holder(tn, "Signed", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
		rec := f.Record(tn, h, comp, moduletest.Record{State: "competent", SignedOff: &when, Assessor: "Ada"})
		f.exec(tn, `INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at) VALUES (?, ?, ?, 'supervised_practice', 'competent', ?)`,
			tn.ID, uuid.Must(uuid.NewV7()), rec, when)
	}
}

// passports issues n carer passports in tn at when and records checks
// confirmed of each at checked (none when checked is zero).
func (f *fixture) passports(tn tenants.Tenant, n int, when time.Time, checks int, checked time.Time) {
	f.T.Helper()
	var ids []uuid.UUID
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM schemes WHERE tenant_id = ? LIMIT 1`, tn.ID).Scan(&ids).Error
	})
	var scheme uuid.UUID
	if len(ids) > 0 {
		scheme = ids[0]
	} else {
		scheme = uuid.Must(uuid.NewV7())
		f.exec(tn, `INSERT INTO schemes (tenant_id, id, name, audience, validity_kind, validity_days, created_at, updated_at)
			VALUES (?, ?, 'Carer passport', 'adult_carer', 'days', 365, now(), now())`, tn.ID, scheme)
	}
	for i := 0; i < n; i++ {
		f.seq++
		h := f.Holder(tn, "Carer", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
		id := uuid.Must(uuid.NewV7())
		f.exec(tn, `INSERT INTO carer_passports (tenant_id, id, holder_id, person_id, scheme_id, code, holder_name, scheme_name,
				cared_for_name, relationship, valid_from, valid_until, status_index, kid, qr, created_at, updated_at)
			SELECT ?, ?, h.id, h.person_id, ?, ?, 'A Carer', 'Carer passport', 'Someone', 'Parent', ?, ?, ?, 'k1', 'qr', ?, ?
			FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, id, scheme, fmt.Sprintf("CODE%012d", f.seq), when, when.AddDate(1, 0, 0), f.seq, when, when, tn.ID, h)
		for j := 0; j < checks; j++ {
			f.exec(tn, `INSERT INTO passport_checks (id, at, passport_tenant, passport_id, channel, outcome) VALUES (?, ?, ?, ?, 'code', 'confirmed')`,
				uuid.Must(uuid.NewV7()), checked, tn.ID, id)
		}
	}
}

// session makes a session of a course of tn starting at starts, with
// bookings in the given states.
func (f *fixture) session(tn tenants.Tenant, starts time.Time, status string, bookings ...string) {
	f.T.Helper()
	course := uuid.Must(uuid.NewV7())
	f.seq++
	f.exec(tn, `INSERT INTO courses (tenant_id, id, title, format, duration_minutes, audience, default_capacity, created_at, updated_at)
		VALUES (?, ?, ?, 'classroom', 60, 'any', 10, now(), now())`, tn.ID, course, fmt.Sprintf("Course %d", f.seq))
	sess := uuid.Must(uuid.NewV7())
	f.exec(tn, `INSERT INTO training_sessions (tenant_id, id, course_id, starts_at, ends_at, location, capacity, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'Room 1', 10, ?, now(), now())`, tn.ID, sess, course, starts, starts.Add(time.Hour), status)
	for _, st := range bookings {
		f.seq++
		h := f.Holder(tn, "Learner", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
		f.exec(tn, `INSERT INTO bookings (tenant_id, id, session_id, holder_id, person_id, status, created_at, updated_at)
			SELECT ?, ?, ?, h.id, h.person_id, ?, now(), now() FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, uuid.Must(uuid.NewV7()), sess, st, tn.ID, h)
	}
}

// expiringOn signs off a 12-month competency of a new holder of tn so that
// it expires on the London date day; left makes the holder a leaver.
func (f *fixture) expiringOn(tn tenants.Tenant, comp uuid.UUID, day time.Time, left bool) {
	f.T.Helper()
	f.seq++
	h := f.Holder(tn, "Expiring", fmt.Sprintf("Holder %d", f.seq), uuid.Nil)
	signed := time.Date(day.Year()-1, day.Month(), day.Day(), 10, 0, 0, 0, london)
	f.Record(tn, h, comp, moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "Ada"})
	if left {
		f.exec(tn, `UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = ?`, tn.ID, h)
	}
}

// history is a compliance history given by the test.
type history []dashboard.CompliancePoint

func (h history) History(_ context.Context, from, to time.Time) ([]dashboard.CompliancePoint, error) {
	var out []dashboard.CompliancePoint
	for _, p := range h {
		if !p.Day.Before(from) && p.Day.Before(to) {
			out = append(out, p)
		}
	}
	return out, nil
}
