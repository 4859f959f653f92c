package carehome_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/moduletest"
)

// BenchmarkMatrix computes the compliance matrix of one home of 500 staff
// who must each hold 60 competencies (30,000 cells, every one signed off,
// in all four states), with the audit event every read writes. In the same
// run it measures a floor, one tenant-scoped transaction reading one row,
// and reports the matrix's time as a multiple of it (x_floor) and in
// milliseconds (ms/matrix; the target is 100 ms or less).
func BenchmarkMatrix(b *testing.B) {
	const staff, comps = 500, 60
	f := newFixture(b)
	f.clock.Set(start)
	specs := make([]moduletest.Competency, comps)
	codes := make([]uuid.UUID, comps)
	for i := range specs {
		specs[i] = moduletest.Competency{Code: fmt.Sprintf("BEN-%02d", i), Months: 24}
	}
	ids := f.Catalogue(f.meadow, "bench", specs...)
	for i, s := range specs {
		codes[i] = ids[s.Code]
	}
	home, role := f.place("Bench House", "Care assistant", codes...)
	// Bulk set-up in the tenant's scope (row-level security is forced):
	// persons, holders, current employments and, per cell, a competent
	// record signed off between 1 and 36 months ago.
	f.In(f.meadow, func(tx *gorm.DB) error {
		steps := []string{
			`CREATE TEMP TABLE bench_people ON COMMIT DROP AS
				SELECT g AS n, gen_random_uuid() AS person, gen_random_uuid() AS holder FROM generate_series(1, ?) g`,
			`INSERT INTO persons (id) SELECT person FROM bench_people`,
			`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
				SELECT ?, holder, person, 'Staff', 'Member ' || lpad(n::text, 3, '0'), 'staff' FROM bench_people`,
			`INSERT INTO employments (tenant_id, id, holder_id, home_id, role_id, started_on, created_at, updated_at)
				SELECT ?, gen_random_uuid(), holder, ?, ?, '2024-01-01', now(), now() FROM bench_people`,
			`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state, signed_off_at, assessor_name)
				SELECT ?, gen_random_uuid(), p.holder, p.person, c.id, 'competent',
				       ?::timestamptz - make_interval(days => (30 + ((p.n * 7 + c.k * 13) % 1080))::int), 'Bench Assessor'
				FROM bench_people p, (SELECT id, row_number() OVER (ORDER BY code) AS k FROM competencies WHERE tenant_id = ? AND code LIKE 'BEN-%') c`,
		}
		args := [][]any{{staff}, nil, {f.meadow.ID}, {f.meadow.ID, home.ID, role.ID}, {f.meadow.ID, start, f.meadow.ID}}
		for i, q := range steps {
			if err := tx.Exec(q, args[i]...).Error; err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		return nil
	})
	// Statistics, as autovacuum would gather them: only the tables' owner
	// may analyse them.
	owner, err := pgx.Connect(context.Background(), f.DB.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	_ = owner.Close(context.Background())
	m, err := f.svc.Matrix(f.ctx, carehome.Filter{HomeID: home.ID})
	if err != nil {
		b.Fatal(err)
	}
	if m.Staff != staff || len(m.Columns) != comps || m.Total.Required != staff*comps || m.Total.Valid == 0 || m.Total.Expired == 0 || m.Total.Due == 0 {
		b.Fatalf("fixture: %d staff, %d columns, %+v", m.Staff, len(m.Columns), m.Total)
	}

	// The floor: one tenant-scoped transaction reading one row, timed over
	// as many runs here (a nested testing.Benchmark would wait on this one).
	floorOnce := func() {
		if err := f.Scoped.Tx(f.ctx, func(tx *gorm.DB) error {
			var n int
			return tx.Raw(`SELECT count(*) FROM care_homes WHERE tenant_id = ? AND id = ?`, f.meadow.ID, home.ID).Row().Scan(&n)
		}); err != nil {
			b.Fatal(err)
		}
	}
	floorOnce()
	const floorRuns = 500
	t0 := time.Now()
	for range floorRuns {
		floorOnce()
	}
	floor := time.Since(t0) / floorRuns
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	for b.Loop() {
		if _, err := f.svc.Matrix(f.ctx, carehome.Filter{HomeID: home.ID}); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(begin) / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/matrix")
	b.ReportMetric(float64(floor.Microseconds())/1000, "ms/floor")
	b.ReportMetric(float64(per)/float64(floor), "x_floor")
}
