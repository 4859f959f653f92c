package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
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

// TestUpgradeGrantsCarePermissions provisions a trust as version 12 knew it
// (template roles and one role of the administrator's own), then upgrades:
// the template roles gain the discharge and settings permissions their
// templates now carry, the administrator's own role does not, and the
// trust's policy version moves so running servers reload it.
func TestUpgradeGrantsCarePermissions(t *testing.T) {
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
	if _, err := p.UpTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	trust, home := uuid.New(), uuid.New()
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
	mustExec(`INSERT INTO tenants (id, slug, name, kind) VALUES ($1, 'old-trust', 'Old Trust', 'paediatric_trust'),
		($2, 'old-home', 'Old Home', 'care_home')`, trust, home)
	for _, r := range []struct {
		tenant           uuid.UUID
		key, templateKey string
	}{
		{trust, "ward_staff", "ward_staff"},
		{trust, "tenant_admin", "tenant_admin"},
		{trust, "night_sister", ""},
		{home, "provider_admin", "provider_admin"},
	} {
		mustExec(`SELECT set_config('app.tenant_id', $1, true)`, r.tenant.String())
		mustExec(`INSERT INTO roles (tenant_id, id, key, name, template_key, editable) VALUES ($1, $2, $3, $3, $4, true)`,
			r.tenant, uuid.New(), r.key, r.templateKey)
	}
	mustExec(`INSERT INTO policy_versions (domain, version) VALUES ($1, 7)`, trust.String())
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	perms := func(tenant uuid.UUID, role string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT v2 || ':' || v3 FROM casbin_rule
			WHERE ptype = 'p' AND v0 = $1 AND v1 = $2 ORDER BY 1`, role, tenant.String())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		tenant uuid.UUID
		role   string
		want   string
	}{
		{trust, "ward_staff", "[careplan:read setting:read]"},
		{trust, "tenant_admin", "[careplan:read careplan:write setting:read setting:write]"},
		{trust, "night_sister", "[]"},
		{home, "provider_admin", "[]"},
	} {
		if got := fmt.Sprint(perms(c.tenant, c.role)); got != c.want {
			t.Errorf("%s: permissions after upgrade = %s, want %s", c.role, got, c.want)
		}
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT version FROM policy_versions WHERE domain = $1`, trust.String()).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 8 {
		t.Errorf("trust's policy version = %d, want 8", version)
	}
}

// TestTenantScopeIsReadOncePerStatement checks that, once migrated, every
// tenant_isolation policy reads app.tenant_id through a scalar subquery
// (computed once per statement, not once per row), and that the scope
// still works: a tenant sees its own row, and no tenant sees nothing.
func TestTenantScopeIsReadOncePerStatement(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	var total, wrapped int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE qual LIKE '%SELECT (NULLIF(current_setting(%'
			AND with_check = qual)
		FROM pg_policies WHERE policyname = 'tenant_isolation'`).Scan(&total, &wrapped); err != nil {
		t.Fatal(err)
	}
	if total < 30 || wrapped != total {
		t.Fatalf("%d of %d tenant_isolation policies read the setting once per statement", wrapped, total)
	}
	tenant := uuid.New()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, kind) VALUES ($1, 'scoped', 'Scoped', 'carers_charity')`, tenant); err != nil {
		t.Fatal(err)
	}
	count := func(scope string) int {
		t.Helper()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM holders, (SELECT set_config('app.tenant_id', $1, true)) s`, scope).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := tx.ExecContext(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO persons (id) VALUES ($1)`, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
		VALUES ($1, $2, $1, 'Ann', 'Own', 'unpaid_carer')`, tenant, uuid.New()); err != nil {
		t.Fatal(err)
	}
	if n := count(tenant.String()); n != 1 {
		t.Errorf("the tenant sees %d of its holders, want 1", n)
	}
	if n := count(""); n != 0 {
		t.Errorf("no tenant sees %d holders, want 0", n)
	}
}
