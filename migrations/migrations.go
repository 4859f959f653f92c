// Package migrations holds the SQL schema changes, embedded in the binary and
// applied with goose as the owner role. They are the only way the schema changes.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed *.sql library/*.json
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// Provider returns a goose provider over db for the embedded migrations.
func Provider(db *sql.DB) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration, then loads any standard library
// catalogue version not yet in the database.
func Up(ctx context.Context, db *sql.DB) error {
	p, err := Provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return LoadLibrary(ctx, db)
}
