package billing_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/migrations/testdb"
)

// TestMigrationStartsExistingTenantsOnTheirPlan upgrades a database that
// already has tenants: each gets a billing row, a charity on the free plan
// and every other kind a 30-day trial from the day of the upgrade.
func TestMigrationStartsExistingTenantsOnTheirPlan(t *testing.T) {
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
	kinds := map[string]string{"carers_charity": "community", "gp_practice": "practice", "care_home": "care_home", "paediatric_trust": "trust"}
	ids := map[string]uuid.UUID{}
	slugs := map[string]string{"carers_charity": "old-charity", "gp_practice": "old-practice", "care_home": "old-home", "paediatric_trust": "old-trust"}
	for kind := range kinds {
		ids[kind] = uuid.New()
		if _, err := db.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, kind) VALUES ($1, $2, $3, $4)`,
			ids[kind], slugs[kind], "Old "+kind, kind); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for kind, plan := range kinds {
		var gotPlan, state string
		var trialEnd sql.NullTime
		if err := db.QueryRowContext(ctx, `SELECT plan, state, trial_ends_at FROM billing_accounts WHERE billed_tenant = $1`, ids[kind]).
			Scan(&gotPlan, &state, &trialEnd); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if gotPlan != plan {
			t.Errorf("%s: plan %s; want %s", kind, gotPlan, plan)
		}
		if kind == "carers_charity" {
			if state != "active" || trialEnd.Valid {
				t.Errorf("charity: %s %v", state, trialEnd)
			}
			continue
		}
		if d := time.Until(trialEnd.Time); state != "trialing" || d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("%s: %s until %v", kind, state, trialEnd.Time)
		}
	}
}
