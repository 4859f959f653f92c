package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/policy"
)

// TestRowLevelSecurity proves tenant isolation for every table that has a
// tenant_id column, found from the catalog so a new table is covered (or
// fails) without anyone editing this test.
func TestRowLevelSecurity(t *testing.T) {
	a, db := testApp(t)
	ctx := context.Background()
	// A and B share a member (the demo trust admin also trains at the
	// charity), whose account is set too: the policy letting an account list
	// its own memberships must not widen a tenant-scoped transaction.
	ta, errA := a.tenants.BySlug(ctx, demoTenants[0].slug)
	tb, errB := a.tenants.BySlug(ctx, demoTenants[3].slug)
	if errA != nil || errB != nil {
		t.Fatalf("seeded tenants: %v %v", errA, errB)
	}
	tenantA, tenantB := ta.ID.String(), tb.ID.String()
	var shared string
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM accounts WHERE lower(email) = $1`,
		demoEmail(policy.AdminRole(demoTenants[0].kind), demoTenants[0].short)).Scan(&shared); err != nil {
		t.Fatal(err)
	}

	var tables []string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
		if err != nil {
			return err
		}
		tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("catalog lists only %d tenant tables: %v", len(tables), tables)
	}

	for _, table := range tables {
		t.Run(table, func(t *testing.T) {
			ident := pgx.Identifier{table}.Sanitize()
			var enabled, forced bool
			if err := db.Pool.QueryRow(ctx, `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass`, table).
				Scan(&enabled, &forced); err != nil {
				t.Fatal(err)
			}
			if !enabled || !forced {
				t.Fatalf("row-level security enabled=%v forced=%v; both must be on", enabled, forced)
			}

			// Tenant B must have rows here, or isolation is not being tested.
			var bRow []byte
			err := scoped(ctx, db.Pool, tenantB, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT to_jsonb(t) FROM %s t WHERE tenant_id = $1 LIMIT 1`, ident), tenantB).Scan(&bRow)
			})
			if err != nil {
				t.Fatalf("tenant B has no row in %s (seed demo must populate every tenant table): %v", table, err)
			}

			// With A's setting: none of B's rows are visible, changeable or insertable.
			err = scopedAs(ctx, db.Pool, tenantA, shared, func(tx pgx.Tx) error {
				var n int
				if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id = $1`, ident), tenantB).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					return fmt.Errorf("tenant A sees %d of B's rows", n)
				}
				if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id <> $1`, ident), tenantA).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					return fmt.Errorf("tenant A sees %d rows of other tenants", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				fmt.Sprintf(`UPDATE %s SET tenant_id = tenant_id WHERE tenant_id = $1`, ident),
				fmt.Sprintf(`DELETE FROM %s WHERE tenant_id = $1`, ident),
			} {
				var affected int64
				err := scoped(ctx, db.Pool, tenantA, func(tx pgx.Tx) error {
					tag, err := tx.Exec(ctx, stmt, tenantB)
					affected = tag.RowsAffected()
					return err
				})
				// Either RLS hides the rows (0 affected) or the role lacks the privilege (insert-only tables).
				if err != nil && pg.SQLState(err) != "42501" {
					t.Fatalf("%s: %v", stmt, err)
				}
				if affected != 0 {
					t.Fatalf("%s: changed %d of B's rows under A's setting", stmt, affected)
				}
			}
			// Re-inserting B's row (fresh primary key) under A's setting must be refused.
			err = scoped(ctx, db.Pool, tenantA, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s SELECT * FROM jsonb_populate_record(NULL::%[1]s,
					$1::jsonb || jsonb_build_object('id', gen_random_uuid()))`, ident), bRow)
				return err
			})
			if err == nil {
				t.Fatal("inserted a row for tenant B under tenant A's setting")
			}
			if code := pg.SQLState(err); code != "42501" {
				t.Fatalf("insert of B's row failed for the wrong reason (want 42501 RLS/privilege): %v", err)
			}

			// With no tenant set at all: no rows.
			var n int
			err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, ident)).Scan(&n)
			})
			if err != nil || n != 0 {
				t.Fatalf("with no tenant set: %d rows visible (err %v)", n, err)
			}
		})
	}
}

// scoped runs fn in a transaction with app.tenant_id set, as tenants.Tx does.
func scoped(ctx context.Context, pool *pgxpool.Pool, tenant string, fn func(pgx.Tx) error) error {
	return scopedAs(ctx, pool, tenant, "", fn)
}

// scopedAs is scoped with the acting account set as well.
func scopedAs(ctx context.Context, pool *pgxpool.Pool, tenant, account string, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true), set_config('app.account_id', $2, true)`,
			tenant, account); err != nil {
			return err
		}
		return fn(tx)
	})
}
