// Package pg opens the one pgx pool the process uses and the gorm handle that
// shares it, and translates driver errors at the store boundary.
package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/carepass/carepass/modules/errs"
)

// Options size the pool.
type Options struct {
	MaxConns int32
	Logger   *slog.Logger
}

// Open connects a pool to url and wraps it for gorm. The pool is the one the
// job queue and hot paths share; gorm never opens connections of its own.
func Open(ctx context.Context, url string, opts Options) (*pgxpool.Pool, *gorm.DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: never echo it.
		return nil, nil, errors.New("pg: DATABASE_URL is not a valid PostgreSQL URL")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.ConnConfig.RuntimeParams["application_name"] = "carepass"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pg: pool: %w", err)
	}
	db, err := Gorm(pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, db, nil
}

// Gorm wraps an existing pool for gorm.
func Gorm(pool *pgxpool.Pool) (*gorm.DB, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		DisableAutomaticPing:   true, // start even while the database is down; /readyz reports it
		SkipDefaultTransaction: true,
		TranslateError:         false,
	})
	if err != nil {
		return nil, fmt.Errorf("pg: gorm: %w", err)
	}
	return db, nil
}

// SQLState returns the PostgreSQL error code of err, or "".
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// and on which constraint.
func IsUniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// IsUnavailable reports whether err means the database could not be reached.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	switch SQLState(err) {
	case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004":
		return true
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded)
}

// StoreErr wraps a store error of package pkg's operation op: nil stays nil,
// an application error passes through unchanged, an unreachable database
// becomes errs.Unavailable with a safe message, and anything else is wrapped
// with the package and operation for the log.
func StoreErr(pkg, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	wrapped := fmt.Errorf("%s: %s: %w", pkg, op, err)
	if IsUnavailable(err) {
		return errs.Wrap(errs.Unavailable, "The service is temporarily unavailable", wrapped)
	}
	return wrapped
}
