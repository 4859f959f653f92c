// Package testdb gives each test its own freshly migrated PostgreSQL database,
// cloned from a template, connected as the non-owner app role so that
// row-level security is in force exactly as in production.
package testdb

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/peterldowns/pgtestdb"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/modules/pg"
)

// DB is one test's database.
type DB struct {
	Pool     *pgxpool.Pool // as the app role
	Gorm     *gorm.DB      // over Pool
	AppURL   string        // the app role's URL for this database
	OwnerURL string        // the owner role's URL for this database
}

// New returns a new database for t, dropped when t passes.
func New(t testing.TB) *DB {
	t.Helper()
	adminURL, ownerURL, appURL := urls(t)
	admin, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("testdb: ADMIN_DATABASE_URL: %v", err)
	}
	owner, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatalf("testdb: MIGRATION_DATABASE_URL: %v", err)
	}
	adminPW, _ := admin.User.Password()
	pw, _ := owner.User.Password()
	conf := pgtestdb.Config{
		// Creating and marking template databases needs a superuser.
		DriverName: "pgx",
		Host:       admin.Hostname(),
		Port:       admin.Port(),
		User:       admin.User.Username(),
		Password:   adminPW,
		Database:   strings.TrimPrefix(admin.Path, "/"),
		Options:    "sslmode=disable",
		// The owner role migrates and owns the template, as in production.
		TestRole: &pgtestdb.Role{
			Username:     owner.User.Username(),
			Password:     pw,
			Capabilities: "NOSUPERUSER NOBYPASSRLS",
		},
		ForceTerminateConnections: true,
	}
	inst := pgtestdb.Custom(t, conf, migrator{})

	app, err := url.Parse(appURL)
	if err != nil {
		t.Fatalf("testdb: DATABASE_URL: %v", err)
	}
	app.Path = "/" + inst.Database
	ownerInst := *owner
	ownerInst.Path = "/" + inst.Database

	pool, gdb, err := pg.Open(context.Background(), app.String(), pg.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(pool.Close)
	return &DB{Pool: pool, Gorm: gdb, AppURL: app.String(), OwnerURL: ownerInst.String()}
}

// Empty returns the owner role's URL of a new, empty database (no
// migrations applied), dropped when t ends: for tests of the migrations
// themselves, such as upgrading a database that already holds data.
func Empty(t testing.TB) string {
	t.Helper()
	adminURL, ownerURL, _ := urls(t)
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	owner, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatalf("testdb: MIGRATION_DATABASE_URL: %v", err)
	}
	name := fmt.Sprintf("testdb_empty_%d", time.Now().UnixNano())
	if _, err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %q OWNER %q`, name, owner.User.Username())); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	owner.Path = "/" + name
	return owner.String()
}

// urls finds the superuser, owner and app URLs in the environment, or in the
// private cluster's .data/pg.env when the tests run outside make.
func urls(t testing.TB) (admin, owner, app string) {
	vars := []string{"ADMIN_DATABASE_URL", "MIGRATION_DATABASE_URL", "DATABASE_URL"}
	got := make([]string, len(vars))
	file, _ := readEnvFile()
	for i, v := range vars {
		if got[i] = os.Getenv(v); got[i] == "" {
			got[i] = file[v]
		}
		if got[i] == "" {
			t.Fatalf("testdb: %s is not set; run `make db-start` (tests read .data/pg.env) or set %s", v, strings.Join(vars, ", "))
		}
	}
	return got[0], got[1], got[2]
}

func readEnvFile() (map[string]string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("testdb: repository root not found")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, ".data", "pg.env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// migrator applies the embedded goose migrations to the template once per
// distinct set of migration files.
type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	return migrations.Up(ctx, db)
}
