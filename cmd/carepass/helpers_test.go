package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/carepass/carepass/migrations/testdb"
)

// testApp builds the whole application over a fresh database, connected as
// the app role, with the demo data seeded through the real services.
func testApp(t *testing.T) (*app, *testdb.DB) {
	t.Helper()
	db := testdb.New(t)
	// Verification limits are raised: tests here probe every route once per
	// persona from one address; the limits have tests of their own.
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"CAREPASS_ENV": "development", "DATABASE_URL": db.AppURL,
			"VERIFY_PER_MINUTE": "100000"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(testLogOut(), nil))
	a, err := assemble(context.Background(), cfg, log, db.Pool, db.Gorm, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seedDemo(context.Background(), a); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return a, db
}

// testLogOut is where the test app logs: nowhere, unless CAREPASS_TEST_LOG=1.
func testLogOut() io.Writer {
	if os.Getenv("CAREPASS_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}
