package billing

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// account is a tenant's row of billing_accounts together with the tenant
// facts its defaults depend on; stored is false while the tenant has no
// row and the fields hold its kind's defaults.
type account struct {
	tenantID      uuid.UUID
	tenantName    string
	tenantSlug    string
	kind          tenants.Kind
	tenantCreated time.Time
	stored        bool

	plan              string
	state             State
	trialEndsAt       *time.Time
	pastDueSince      *time.Time
	periodEnd         *time.Time
	cancelAtPeriodEnd bool
	customer          string
	subscription      string
	subCreated        *time.Time
	item              string
	subStatus         string
	seats             int
	seatSeq           int64
	lastEventID       string
	lastEventType     string
	lastEventAt       *time.Time
}

// accountSelect reads tenants with their billing rows, if any.
const accountSelect = `SELECT t.id, t.name, t.slug, t.kind, t.created_at, b.billed_tenant IS NOT NULL,
	coalesce(b.plan, ''), coalesce(b.state, ''), b.trial_ends_at, b.past_due_since, b.current_period_end,
	coalesce(b.cancel_at_period_end, false), coalesce(b.stripe_customer, ''), coalesce(b.stripe_subscription, ''),
	b.subscription_created, coalesce(b.subscription_item, ''), coalesce(b.subscription_status, ''),
	coalesce(b.seats, 0), coalesce(b.seat_sync_seq, 0), coalesce(b.last_event_id, ''), coalesce(b.last_event_type, ''),
	b.last_event_at
	FROM tenants t LEFT JOIN billing_accounts b ON b.billed_tenant = t.id`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(r scanner) (account, error) {
	var a account
	var kind, state string
	err := r.Scan(&a.tenantID, &a.tenantName, &a.tenantSlug, &kind, &a.tenantCreated, &a.stored,
		&a.plan, &state, &a.trialEndsAt, &a.pastDueSince, &a.periodEnd,
		&a.cancelAtPeriodEnd, &a.customer, &a.subscription,
		&a.subCreated, &a.item, &a.subStatus,
		&a.seats, &a.seatSeq, &a.lastEventID, &a.lastEventType,
		&a.lastEventAt)
	a.kind, a.state = tenants.Kind(kind), State(state)
	return a, err
}

// withDefaults fills a tenant without a row with its kind's default plan: a
// free plan is active at once; a paid one starts a trial of trialDays from
// the tenant's creation.
func (a account) withDefaults(trialDays int) account {
	if a.stored {
		return a
	}
	p := DefaultPlan(a.kind)
	a.plan = p.Key
	a.state = StateActive
	if p.Trial && !p.Free() {
		a.state = StateTrialing
		end := a.tenantCreated.Add(time.Duration(trialDays) * 24 * time.Hour).UTC()
		a.trialEndsAt = &end
	}
	return a
}

// readAccount returns the billing of tenant id, with defaults when it has
// no row. lock (inside a transaction) creates the row when missing and
// locks it until the transaction ends.
func readAccount(ctx context.Context, tx *gorm.DB, id uuid.UUID, trialDays int, now time.Time, lock bool) (account, error) {
	a, err := queryAccount(ctx, tx, id)
	if err != nil || !lock {
		return a.withDefaults(trialDays), err
	}
	if !a.stored {
		a = a.withDefaults(trialDays)
		err := tx.WithContext(ctx).Exec(`INSERT INTO billing_accounts (billed_tenant, plan, state, trial_ends_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (billed_tenant) DO NOTHING`,
			a.tenantID, a.plan, string(a.state), a.trialEndsAt, now, now).Error
		if err != nil {
			return account{}, storeErr("create billing account", err)
		}
	}
	// The row lock (not the tenant's): every change to a tenant's billing
	// waits here for the one before it to commit.
	if err := tx.WithContext(ctx).Exec(`SELECT 1 FROM billing_accounts WHERE billed_tenant = ? FOR UPDATE`, id).Error; err != nil {
		return account{}, storeErr("lock billing account", err)
	}
	a, err = queryAccount(ctx, tx, id)
	if err == nil && !a.stored {
		err = errors.New("billing: account row missing after insert")
	}
	return a, err
}

func queryAccount(ctx context.Context, tx *gorm.DB, id uuid.UUID) (account, error) {
	row := tx.WithContext(ctx).Raw(accountSelect+` WHERE t.id = ?`, id).Row()
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return account{}, errs.E(errs.NotFound, "Page not found")
	}
	if err != nil {
		return account{}, storeErr("read billing account", err)
	}
	return a, nil
}

// accountByCustomer returns the tenant whose Stripe customer is customerID,
// and false when no tenant has it.
func accountByCustomer(ctx context.Context, db *gorm.DB, customerID string) (uuid.UUID, bool, error) {
	var ids []uuid.UUID
	err := db.WithContext(ctx).Raw(`SELECT billed_tenant FROM billing_accounts WHERE stripe_customer = ?`, customerID).Scan(&ids).Error
	if err != nil {
		return uuid.Nil, false, storeErr("find customer", err)
	}
	if len(ids) == 0 {
		return uuid.Nil, false, nil
	}
	return ids[0], true, nil
}

// listAccounts returns every tenant's billing, by tenant name.
func listAccounts(ctx context.Context, db *gorm.DB, trialDays int) ([]account, error) {
	rows, err := db.WithContext(ctx).Raw(accountSelect + ` ORDER BY lower(t.name), t.id`).Rows()
	if err != nil {
		return nil, storeErr("list billing accounts", err)
	}
	defer rows.Close()
	var out []account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, storeErr("list billing accounts", err)
		}
		out = append(out, a.withDefaults(trialDays))
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list billing accounts", err)
	}
	return out, nil
}

// saveAccount writes a (whose row exists and is locked) back.
func saveAccount(ctx context.Context, tx *gorm.DB, a account, now time.Time) error {
	res := tx.WithContext(ctx).Exec(`UPDATE billing_accounts SET plan = ?, state = ?, trial_ends_at = ?, past_due_since = ?,
		current_period_end = ?, cancel_at_period_end = ?, stripe_customer = ?, stripe_subscription = ?,
		subscription_created = ?, subscription_item = ?, subscription_status = ?, seats = ?, seat_sync_seq = ?,
		last_event_id = ?, last_event_type = ?, last_event_at = ?, updated_at = ?
		WHERE billed_tenant = ?`,
		a.plan, string(a.state), a.trialEndsAt, a.pastDueSince, a.periodEnd, a.cancelAtPeriodEnd,
		nullable(a.customer), nullable(a.subscription), a.subCreated, nullable(a.item), a.subStatus, a.seats, a.seatSeq,
		nullable(a.lastEventID), nullable(a.lastEventType), a.lastEventAt, now, a.tenantID)
	if res.Error != nil {
		if _, ok := pg.IsUniqueViolation(res.Error); ok {
			return errs.Wrap(errs.Conflict, "This Stripe customer already belongs to another organisation", res.Error)
		}
		return storeErr("save billing account", res.Error)
	}
	if res.RowsAffected != 1 {
		return errors.New("billing: save billing account: no row")
	}
	return nil
}

// recordEvent stores a Stripe event's id and reports whether it is new: a
// second delivery (even a concurrent one, which waits on the first) finds
// the id taken and must change nothing.
func recordEvent(ctx context.Context, tx *gorm.DB, id, typ string, tenant uuid.UUID, now time.Time) (bool, error) {
	res := tx.WithContext(ctx).Exec(`INSERT INTO billing_events (event_id, event_type, billed_tenant, received_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`, id, typ, tenant, now)
	if res.Error != nil {
		return false, storeErr("record event", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// eventSeen reports whether a Stripe event has already been applied.
func eventSeen(ctx context.Context, db *gorm.DB, id string) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM billing_events WHERE event_id = ?`, id).Scan(&n).Error; err != nil {
		return false, storeErr("read event", err)
	}
	return n > 0, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func storeErr(op string, err error) error { return pg.StoreErr("billing", op, err) }
