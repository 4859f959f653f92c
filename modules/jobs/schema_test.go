package jobs_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivershared/sqlctemplate"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/migrations/testdb"
)

// update rewrites the goose files of riverFiles from the pinned river's own
// migrator: go test ./modules/jobs -run TestRiverSchema -update
var update = flag.Bool("update", false, "rewrite the river goose migrations from the pinned river's migrator")

// riverFile is one goose migration that installs a contiguous range of
// river's migration versions (line "main").
type riverFile struct {
	Path     string // under migrations/
	From, To int    // river versions, inclusive
}

// riverFiles are the goose migrations that install river's schema, in
// order. A file that has been released is never regenerated for a wider
// range: when an upgrade of river brings versions beyond the last To, add a
// new file here for just those versions (say {"000NN_river_v8.sql", 8, 8})
// and run the test with -update. Databases that already applied the earlier
// files then receive only the new versions, as river's migrator would.
var riverFiles = []riverFile{
	{Path: "00010_river.sql", From: 1, To: 7},
}

// riverGrants gives the server's role what river's client uses at the
// schema version riverFiles end at: jobs, leader election, queues and the
// notification outbox read and written; the version table read only, so
// the app role can check but never change river's schema history. LISTEN
// and NOTIFY need no privilege. river_client and river_client_queue do not
// exist at this version (river version 7 dropped them).
const riverGrants = `GRANT SELECT, INSERT, UPDATE, DELETE ON river_job, river_leader, river_queue TO carepass_app;
GRANT SELECT, INSERT, DELETE ON river_notification TO carepass_app;
GRANT SELECT ON river_migration TO carepass_app;
GRANT USAGE ON SEQUENCE river_job_id_seq, river_notification_id_seq TO carepass_app;
GRANT USAGE ON TYPE river_job_state TO carepass_app;
GRANT EXECUTE ON FUNCTION river_job_state_in_bitmask(bit, river_job_state) TO carepass_app;`

// TestRiverSchema fails when the goose migrations that install river's
// schema are not exactly what the pinned river's migrator holds, or stop
// short of its latest version: an upgrade of river cannot silently skip a
// migration. Then it proves, on a migrated database and through river's own
// migrator, that every version is recorded as applied.
func TestRiverSchema(t *testing.T) {
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := migrator.AllVersions()
	latest := all[len(all)-1].Version

	next := 1
	for i, f := range riverFiles {
		if f.From != next || f.To < f.From {
			t.Fatalf("riverFiles[%d] %s covers river versions %d..%d; want a range starting at %d", i, f.Path, f.From, f.To, next)
		}
		next = f.To + 1
	}
	if next-1 != latest {
		t.Fatalf("the goose migrations install river's schema up to version %d, but the pinned river's migrator expects version %d: "+
			"add a goose migration for versions %d..%d to riverFiles and run go test ./modules/jobs -run TestRiverSchema -update",
			next-1, latest, next, latest)
	}

	for i, f := range riverFiles {
		want, err := gooseFile(migrator, f, i == len(riverFiles)-1)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "migrations", f.Path)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (generate it: go test ./modules/jobs -run TestRiverSchema -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("migrations/%s differs from the SQL of river versions %d..%d in the pinned river; "+
				"regenerate it with go test ./modules/jobs -run TestRiverSchema -update (only if it has never been released)", f.Path, f.From, f.To)
		}
	}

	// On a migrated database, connected as the app role: river's migrator
	// finds every version of its line applied.
	db := testdb.New(t)
	live, err := rivermigrate.New(riverpgxv5.New(db.Pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := live.Validate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Errorf("river's migrator finds the database incomplete: %v", res.Messages)
	}
	existing, err := live.ExistingVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(existing) != latest || existing[len(existing)-1].Version != latest {
		t.Errorf("river_migration records %d versions; want 1..%d", len(existing), latest)
	}
}

// TestRiverSchemaComesDownAndUpAgain migrates a database, takes river's
// goose migrations down (leaving nothing of river behind) and up again.
func TestRiverSchemaComesDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := migrations.Provider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	versions := make([]int64, len(riverFiles))
	for i, f := range riverFiles {
		n, _, _ := strings.Cut(f.Path, "_")
		if versions[i], err = strconv.ParseInt(n, 10, 64); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
	}
	leftovers := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM pg_class WHERE relname LIKE 'river\_%' AND relnamespace = 'public'::regnamespace) +
				(SELECT count(*) FROM pg_type WHERE typname LIKE 'river\_%' AND typnamespace = 'public'::regnamespace) +
				(SELECT count(*) FROM pg_proc WHERE proname LIKE 'river\_%' AND pronamespace = 'public'::regnamespace)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if leftovers() == 0 {
		t.Fatal("no river relations after migrating up")
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if _, err := p.ApplyVersion(ctx, versions[i], false); err != nil {
			t.Fatalf("down %d: %v", versions[i], err)
		}
	}
	if n := leftovers(); n != 0 {
		t.Errorf("%d river relations, types or functions left after migrating down", n)
	}
	for _, v := range versions {
		if _, err := p.ApplyVersion(ctx, v, true); err != nil {
			t.Fatalf("up %d again: %v", v, err)
		}
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := m.Validate(ctx, nil); err != nil || !res.OK {
		t.Errorf("after down and up again: %+v, %v", res, err)
	}
}

// gooseFile renders the goose migration for f from migrator's SQL. Each
// river version becomes one goose statement holding river's SQL and the
// row river's migrator would record for it. The file runs without a goose
// transaction, so each statement (several SQL commands sent as one simple
// query) commits on its own, as river's migrator commits each version on
// its own: version 6 uses the enum value version 4 adds, which PostgreSQL
// refuses until that value is committed.
func gooseFile(migrator *rivermigrate.Migrator[pgx.Tx], f riverFile, last bool) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `-- River's job queue schema: river migration line "main", versions %d to %d,
-- for the module versions of github.com/riverqueue/river pinned in go.mod.
-- Generated from river's own migrator by
--   go test ./modules/jobs -run TestRiverSchema -update
-- which also fails when this file and the pinned river disagree. Do not edit.
-- The job tables are platform-wide (no tenant_id): they hold only job kinds,
-- ids in job arguments, and errors; package jobs is their only user.
-- +goose NO TRANSACTION

-- +goose Up
`, f.From, f.To)
	for v := f.From; v <= f.To; v++ {
		m, err := migrator.GetVersion(v)
		if err != nil {
			return nil, err
		}
		sql, err := render(m.SQLUp)
		if err != nil {
			return nil, fmt.Errorf("river version %d up: %w", v, err)
		}
		record := fmt.Sprintf("INSERT INTO river_migration (line, version) VALUES ('main', %d);", v)
		if v < 5 { // river_migration has no line column before version 5
			record = fmt.Sprintf("INSERT INTO river_migration (version) VALUES (%d);", v)
		}
		fmt.Fprintf(&b, "\n-- river version %03d up: %s\n-- +goose StatementBegin\n%s\n%s\n-- +goose StatementEnd\n", v, m.Name, sql, record)
	}
	if last {
		fmt.Fprintf(&b, "\n-- The server's role (carepass_app) uses river's tables; it owns none of them.\n-- +goose StatementBegin\n%s\n-- +goose StatementEnd\n", riverGrants)
	}
	b.WriteString("\n-- +goose Down\n")
	for v := f.To; v >= f.From; v-- {
		m, err := migrator.GetVersion(v)
		if err != nil {
			return nil, err
		}
		sql, err := render(m.SQLDown)
		if err != nil {
			return nil, fmt.Errorf("river version %d down: %w", v, err)
		}
		forget := fmt.Sprintf("\nDELETE FROM river_migration WHERE version = %d;", v)
		if v == 1 { // version 1 down drops river_migration itself
			forget = ""
		}
		fmt.Fprintf(&b, "\n-- river version %03d down: %s\n-- +goose StatementBegin\n%s%s\n-- +goose StatementEnd\n", v, m.Name, sql, forget)
	}
	return []byte(b.String()), nil
}

// render fills river's schema placeholder as its migrator does when no
// schema is configured (the search path decides), and ends the SQL with a
// semicolon so the recording statement can follow it.
func render(sql string) (string, error) {
	ctx := sqlctemplate.WithReplacements(context.Background(), map[string]sqlctemplate.Replacement{"schema": {Value: ""}}, nil)
	var r sqlctemplate.Replacer
	out, _, err := r.RunSafely(ctx, "$", sql, nil)
	if err != nil {
		return "", err
	}
	out = strings.TrimSpace(out)
	if strings.Contains(out, "+goose") {
		return "", fmt.Errorf("river's SQL contains a goose annotation")
	}
	if !strings.HasSuffix(out, ";") {
		out += ";"
	}
	return out, nil
}
