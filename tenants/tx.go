package tenants

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
)

// DB is the gate to the database for module code. Tenant-owned rows are
// reachable only through Tx, which scopes the transaction to the request's
// tenant so row-level security applies beneath every query.
type DB struct {
	db *gorm.DB
}

// NewDB wraps a gorm handle connected as the app role.
func NewDB(db *gorm.DB) *DB { return &DB{db: db} }

// Tx runs fn in a transaction scoped to the tenant in ctx, with the acting
// account (if any) recorded for policies and audit. It fails when ctx
// carries no tenant: that is a wiring bug, never a reason to run unscoped.
func (d *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	t, ok := FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return errs.E(errs.Internal, "tenant-scoped work without a tenant")
	}
	actor, _ := ActorFrom(ctx)
	return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := setScope(tx, t.ID.String(), optionalID(actor)); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Platform runs fn in a transaction over platform-wide tables only (tenants,
// accounts, sessions, policy rules). Tenant-owned tables stay invisible in it,
// except the acting account's own memberships.
func (d *DB) Platform(ctx context.Context, fn func(tx *gorm.DB) error) error {
	actor, _ := ActorFrom(ctx)
	return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := setScope(tx, "", optionalID(actor)); err != nil {
			return err
		}
		return fn(tx)
	})
}

func optionalID(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// setScope sets the transaction-local settings the RLS policies read.
// set_config(…, true) is local to the transaction, so nothing leaks to the
// next user of a pooled connection; SET LOCAL cannot take parameters.
func setScope(tx *gorm.DB, tenantID, accountID string) error {
	err := tx.Exec(`SELECT set_config('app.tenant_id', ?, true), set_config('app.account_id', ?, true)`,
		tenantID, accountID).Error
	if err != nil {
		return fmt.Errorf("tenants: set scope: %w", err)
	}
	return nil
}
