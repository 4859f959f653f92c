package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/tenants"
)

func newTenant(t *testing.T, db *testdb.DB, slug string) tenants.Tenant {
	t.Helper()
	tn := tenants.Tenant{ID: uuid.Must(uuid.NewV7()), Slug: slug, Name: "Tenant " + slug, Kind: tenants.KindCareHome, Status: tenants.StatusActive}
	if err := db.Gorm.Exec(`INSERT INTO tenants (id, slug, name, kind) VALUES (?, ?, ?, ?)`, tn.ID, tn.Slug, tn.Name, string(tn.Kind)).Error; err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestChainVerifiesAndDetectsTampering(t *testing.T) {
	db := testdb.New(t)
	scoped := tenants.NewDB(db.Gorm)
	clock := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	log := audit.New(func() time.Time { clock = clock.Add(time.Second); return clock })
	a, b := newTenant(t, db, "tenant-a"), newTenant(t, db, "tenant-b")
	ctxA := audit.WithClient(tenants.WithActor(tenants.WithTenant(context.Background(), a), uuid.Must(uuid.NewV7())), "192.0.2.1")
	ctxB := tenants.WithTenant(context.Background(), b)

	for i := 0; i < 5; i++ {
		for _, ctx := range []context.Context{ctxA, ctxB} {
			err := scoped.Tx(ctx, func(tx *gorm.DB) error {
				return log.Record(ctx, tx, audit.Event{Action: "holder.read", ObjectType: "holder", ObjectID: "h1", Detail: map[string]string{"n": "x"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	verify := func(ctx context.Context) audit.Result {
		t.Helper()
		var res audit.Result
		if err := scoped.Tx(ctx, func(tx *gorm.DB) (err error) { res, err = log.Verify(ctx, tx, false); return err }); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := verify(ctxA); !res.OK() || res.Events != 5 {
		t.Fatalf("intact chain A: %+v", res)
	}

	// The app role cannot alter the trail at all.
	err := scoped.Tx(ctxA, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE audit_events SET action = 'x' WHERE tenant_id = ?`, a.ID).Error
	})
	if err == nil {
		t.Fatal("app role could UPDATE audit_events")
	}

	// The owner can; the chain must then report the first altered link.
	conn, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `SELECT set_config('app.tenant_id', $1, true)`, a.ID.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `UPDATE audit_events SET object_id = 'h2' WHERE tenant_id = $1 AND seq = 3`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := verify(ctxA); res.BrokenAt != 3 {
		t.Fatalf("tampered chain A: want broken at 3, got %+v", res)
	}
	if res := verify(ctxB); !res.OK() || res.Events != 5 {
		t.Fatalf("chain B must be unaffected: %+v", res)
	}
}
