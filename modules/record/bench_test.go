package record_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
)

// BenchmarkPassportRead reads one holder's passport of 60 competency records
// with 300 history entries (derived states, specifications, history and the
// audit event every read writes). BenchmarkPgxFloor, in the same run, is one
// raw single-row query on the same pool: make bench reports the ratio.
func BenchmarkPassportRead(b *testing.B) {
	f := newFixture(b, record.Config{})
	tn := f.Tenant("bench", tenants.KindPaediatricTrust)
	specs := make([]moduletest.Competency, 60)
	for i := range specs {
		specs[i] = moduletest.Competency{Code: fmt.Sprintf("BEN-%02d", i), Practices: 1}
	}
	comps := f.Catalogue(tn, "bench", specs...)
	holderID := f.Holder(tn, "Bea", "Bench", uuid.Nil)
	signed := start.AddDate(0, -3, 0)
	f.In(tn, func(tx *gorm.DB) error {
		for _, s := range specs {
			id := uuid.Must(uuid.NewV7())
			if err := tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state, practices_done,
				signed_off_at, assessor_name, setting)
				SELECT ?, ?, h.id, h.person_id, ?, 'competent', 1, ?, 'Ada Assessor', 'Ward 3B' FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
				tn.ID, id, comps[s.Code], signed, tn.ID, holderID).Error; err != nil {
				return err
			}
			for j, to := range []string{"enrolled", "training_attended", "supervised_practice", "supervised_practice", "competent"} {
				if err := tx.Exec(`INSERT INTO record_events (tenant_id, id, record_id, to_state, at, by_name, setting, notes)
					VALUES (?, ?, ?, ?, ?, 'Ada Assessor', 'Ward 3B', 'benchmark history')`,
					tn.ID, uuid.Must(uuid.NewV7()), id, to, signed.Add(time.Duration(j-5)*24*time.Hour)).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	reader := f.Staff(tn, "reader@bench.example", "Rea Reader", "tenant_admin")
	ctx := as(tn, reader)
	p, err := f.svc.Passport(ctx, holderID, record.Filter{})
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Entries) != 60 || len(p.Entries[0].History) != 5 {
		b.Fatalf("fixture: %d entries, %d history each", len(p.Entries), len(p.Entries[0].History))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Passport(ctx, holderID, record.Filter{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPgxFloor is the floor for BenchmarkPassportRead.
func BenchmarkPgxFloor(b *testing.B) {
	f := newFixture(b, record.Config{})
	ctx := context.Background()
	var n int
	for b.Loop() {
		if err := f.DB.Pool.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
}
