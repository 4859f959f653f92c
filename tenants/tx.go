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
	return d.scoped(ctx, t.ID, actor, fn)
}

// Platform runs fn in a transaction over platform-wide tables only (tenants,
// accounts, sessions, policy rules). Tenant-owned tables stay invisible in it,
// except the acting account's own memberships.
func (d *DB) Platform(ctx context.Context, fn func(tx *gorm.DB) error) error {
	actor, _ := ActorFrom(ctx)
	return d.scoped(ctx, uuid.Nil, actor, fn)
}

// PlatformRead returns a handle for a single statement on platform-wide
// tables, outside any transaction (no tenant is set, so RLS hides every
// tenant-owned row).
func (d *DB) PlatformRead(ctx context.Context) *gorm.DB { return d.db.WithContext(ctx) }

// scoped runs fn in a transaction on one connection whose first round trip
// both begins the transaction and sets the settings the RLS policies read.
// set_config(…, true) is local to the transaction, so nothing leaks to the
// next user of the pooled connection (SET LOCAL cannot take parameters, and
// a session-level setting would leak). The two ids are formatted from UUIDs,
// so inlining them is safe, and a statement without arguments goes over the
// simple protocol, which carries both statements in one message.
// A connection left inside a transaction (say, after a failed ROLLBACK) is
// discarded by the driver rather than reused. fn must not begin a
// transaction of its own.
func (d *DB) scoped(ctx context.Context, tenant, actor uuid.UUID, fn func(tx *gorm.DB) error) error {
	begin := fmt.Sprintf("BEGIN; SELECT set_config('app.tenant_id', '%s', true), set_config('app.account_id', '%s', true)",
		optionalID(tenant), optionalID(actor))
	return d.db.WithContext(ctx).Connection(func(conn *gorm.DB) (err error) {
		// A fresh session on the pinned connection, so statements in fn do
		// not inherit each other's conditions.
		conn = conn.Session(&gorm.Session{NewDB: true})
		if err := conn.Exec(begin).Error; err != nil {
			return fmt.Errorf("tenants: begin: %w", err)
		}
		defer func() {
			if p := recover(); p != nil {
				conn.Exec("ROLLBACK")
				panic(p)
			}
			if err != nil {
				conn.Exec("ROLLBACK")
				return
			}
			if cerr := conn.Exec("COMMIT").Error; cerr != nil {
				err = fmt.Errorf("tenants: commit: %w", cerr)
			}
		}()
		return fn(conn)
	})
}

func optionalID(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
