package migrations_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/migrations/testdb"
)

// TestUpgradeKeepsExistingHolders applies the first migration, stores a
// tenant with holders the way version 1 knew them, then upgrades: every
// holder must become a person of its own, nothing lost.
func TestUpgradeKeepsExistingHolders(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := migrations.Provider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tenant := uuid.New()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`INSERT INTO tenants (id, slug, name, kind) VALUES ($1, 'old-trust', 'Old Trust', 'paediatric_trust')`, tenant)
	mustExec(`SELECT set_config('app.tenant_id', $1, true)`, tenant.String())
	for _, name := range []string{"Ann", "Bob", "Cy"} {
		mustExec(`INSERT INTO holders (tenant_id, id, given_name, family_name, role_in_care) VALUES ($1, $2, $3, 'Older', 'parent')`,
			tenant, uuid.New(), name)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var holders, persons, distinct int
	row := db.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM holders WHERE tenant_id = $1),
			(SELECT count(*) FROM persons),
			(SELECT count(DISTINCT person_id) FROM holders WHERE tenant_id = $1 AND person_id IS NOT NULL)
		FROM (SELECT set_config('app.tenant_id', $2, false)) s`, tenant, tenant.String())
	if err := row.Scan(&holders, &persons, &distinct); err != nil {
		t.Fatal(err)
	}
	if holders != 3 || persons != 3 || distinct != 3 {
		t.Fatalf("after upgrade: %d holders, %d persons, %d distinct person ids; want 3 of each", holders, persons, distinct)
	}
}
