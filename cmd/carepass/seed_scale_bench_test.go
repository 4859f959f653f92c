package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/synth"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// benchEnv reads a positive whole number from the environment.
func benchEnv(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s must be a positive whole number", name)
	}
	return n
}

// BenchmarkTenantGrowth shows whether one tenant's heavy pages get slower
// as other tenants grow. It loads two databases with the same synthetic
// population but for its size: 10 tenants, and SCALE_BENCH_TENANTS (1000),
// whose reference tenant (the first, a care home of 250 holders) is the
// same in both. It then measures the reference tenant's pages through the
// whole HTTP app, signed in as its administrator, alternating between the
// two databases for SCALE_BENCH_ROUNDS rounds (3), so that a busy machine
// slows both alike. Other tenants have SCALE_BENCH_HOLDERS holders each on
// average (20), every holder SCALE_BENCH_RECORDS records (25).
// scripts/bench.sh prints each page's ratio of the best ns/op at the two
// sizes.
func BenchmarkTenantGrowth(b *testing.B) {
	grown := benchEnv(b, "SCALE_BENCH_TENANTS", 1000)
	rounds := benchEnv(b, "SCALE_BENCH_ROUNDS", 3)
	sides := []*growthSide{newGrowthSide(b, 10), newGrowthSide(b, grown)}
	for range rounds {
		for i := range sides[0].pages {
			for _, s := range sides {
				p := s.pages[i]
				b.Run(fmt.Sprintf("tenants=%d/%s", s.tenants, p.name), func(b *testing.B) {
					c := webtest.NewClient(b, s.srv)
					c.SignIn(s.a.db, s.a.accounts, s.admin)
					if r := c.Get(p.path); r.Status != 200 {
						b.Fatalf("GET %s: %d", p.path, r.Status)
					}
					b.ResetTimer()
					for range b.N {
						if r := c.Get(p.path); r.Status != 200 {
							b.Fatalf("GET %s: %d", p.path, r.Status)
						}
					}
				})
			}
		}
	}
}

// growthSide is one database of BenchmarkTenantGrowth with its app.
type growthSide struct {
	tenants int
	a       *app
	srv     *web.Server
	admin   uuid.UUID
	pages   []growthPage
}

type growthPage struct{ name, path string }

// newGrowthSide loads a population of tenants into a new database (10
// first, then the rest, as a population grows) and finds the reference
// tenant's administrator and pages.
func newGrowthSide(b *testing.B, tenants int) *growthSide {
	ctx := context.Background()
	perTenant := benchEnv(b, "SCALE_BENCH_HOLDERS", 20)
	perHolder := benchEnv(b, "SCALE_BENCH_RECORDS", 25)
	const ref = 250
	db := testdb.New(b)
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"CAREPASS_ENV": "development", "DATABASE_URL": db.AppURL}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	a, err := assemble(ctx, cfg, slog.New(slog.NewJSONHandler(testLogOut(), nil)), db.Pool, db.Gorm, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := a.server()
	if err != nil {
		b.Fatal(err)
	}
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close()
	today := time.Now()
	for _, n := range []int{10, tenants} {
		holders := ref + (n-1)*perTenant
		spec := synth.Spec{Tenants: n, Holders: holders, Records: holders * perHolder, Seed: 1, AsOf: today, RefHolders: ref}
		rep, err := synth.Load(ctx, owner, spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Tenants > 0 {
			// Printed, not logged: a parent benchmark's log is not shown.
			fmt.Fprintf(os.Stderr, "loaded %d tenants of %d: %d holders, %d records, %d sessions, %d bookings in %s", rep.Tenants, n, rep.Holders,
				rep.Records, rep.Sessions, rep.Bookings, rep.Elapsed.Round(time.Millisecond))
			fmt.Fprintln(os.Stderr)
		}
	}
	slug := synth.Slug(1, 1)
	s := &growthSide{tenants: tenants, a: a, srv: srv}
	var tenant, holder uuid.UUID
	if err := owner.QueryRow(ctx, `SELECT t.id, a.id FROM tenants t, accounts a WHERE t.slug = $1 AND a.email = $2`,
		slug, "admin@"+slug+"."+synth.EmailDomain).Scan(&tenant, &s.admin); err != nil {
		b.Fatal(err)
	}
	// The holder with the most records (the same person in both databases).
	tx, err := owner.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	err = tx.QueryRow(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant.String()).Scan(new(string))
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT h.id FROM holders h JOIN competency_records r ON r.tenant_id = h.tenant_id AND r.holder_id = h.id
			WHERE h.tenant_id = $1 GROUP BY h.id, h.email ORDER BY count(*) DESC, h.email LIMIT 1`, tenant).Scan(&holder)
	}
	_ = tx.Rollback(ctx)
	if err != nil {
		b.Fatal(err)
	}
	base := "/t/" + slug
	s.pages = append([]growthPage{
		{"holders", base + "/holders"},
		{"passport", base + "/holders/" + holder.String() + "/passport"},
		{"calendar-month", base + "/calendar?view=month&date=" + today.Format(time.DateOnly)},
	}, growthPages(base)...)
	return s
}

// growthPages are further pages of the reference tenant to measure, under
// base: the care-home compliance matrix, provider-wide.
func growthPages(base string) []growthPage {
	return []growthPage{{"compliance-matrix", base + "/compliance"}}
}
