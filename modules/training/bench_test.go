package training_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/training"
)

// BenchmarkBookOneSession books many people onto one session at once: every
// booking takes the session's row lock, so this is the contended path. It
// reports bookings/s; run it with a fixed -benchtime such as 1000x, since
// each iteration needs a holder made before the clock starts. Bookings past
// the session's places join its waiting list, which takes the same lock.
func BenchmarkBookOneSession(b *testing.B) {
	f := newFixture(b)
	s := f.sessionOn(f.course(false), "2027-04-01", 500)
	holders := make([]uuid.UUID, b.N)
	f.In(f.trust, func(tx *gorm.DB) error {
		for i := range holders {
			person, id := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
			if err := tx.Exec(`INSERT INTO persons (id) VALUES (?)`, person).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
				VALUES (?, ?, ?, ?, ?, 'staff')`, f.trust.ID, id, person, "Bench", fmt.Sprint("Holder ", i)).Error; err != nil {
				return err
			}
			holders[i] = id
		}
		return nil
	})
	ctx := f.ctx()
	next := make(chan uuid.UUID, len(holders))
	for _, h := range holders {
		next <- h
	}
	close(next)
	b.SetParallelism(8) // 16 bookers on two cores: they queue on the lock
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.Book(ctx, s.ID, <-next); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
	var booked, waiting int64
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FILTER (WHERE status = 'booked'), count(*) FILTER (WHERE status = 'waiting')
			FROM bookings WHERE session_id = ?`, s.ID).Row().Scan(&booked, &waiting)
	})
	if want := min(int64(b.N), 500); booked != want || booked+waiting != int64(b.N) {
		b.Fatalf("%d booked and %d waiting after %d bookings onto 500 places", booked, waiting, b.N)
	}
}

// BenchmarkTxFloor is the floor for BenchmarkBookOneSession: one tenant
// transaction that reads one row, on the same pool, at the same
// parallelism.
func BenchmarkTxFloor(b *testing.B) {
	f := newFixture(b)
	ctx := f.ctx()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var n int
			if err := f.Scoped.Tx(ctx, func(tx *gorm.DB) error { return tx.Raw(`SELECT 1`).Row().Scan(&n) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkCalendarMonth renders the data of a public calendar's month view
// in a tenant with 500 sessions, each full with a waiting list; compare it
// with BenchmarkCalendarFloor, one tenant transaction reading one row.
func BenchmarkCalendarMonth(b *testing.B) {
	p := newPubFixture(b)
	holders := make([]uuid.UUID, 5)
	for i := range holders {
		holders[i] = p.Holder(p.trust, fmt.Sprint("Many", i), "Bookings", uuid.Nil)
	}
	p.manySessions(holders)
	ctx, f := p.ctx(), training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-04-01")}
	b.ResetTimer()
	for b.Loop() {
		if got, err := p.svc.Calendar(ctx, f); err != nil || len(got.Sessions) < 40 {
			b.Fatalf("%d sessions: %v", len(got.Sessions), err)
		}
	}
}

// BenchmarkCalendarFloor is one tenant transaction reading one row, on the
// same pool as BenchmarkCalendarMonth.
func BenchmarkCalendarFloor(b *testing.B) {
	p := newPubFixture(b)
	ctx := p.ctx()
	b.ResetTimer()
	for b.Loop() {
		var n int
		if err := p.Scoped.Tx(ctx, func(tx *gorm.DB) error { return tx.Raw(`SELECT 1`).Row().Scan(&n) }); err != nil {
			b.Fatal(err)
		}
	}
}
