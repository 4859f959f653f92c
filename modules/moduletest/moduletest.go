// Package moduletest sets up what the modules' tests start from: a freshly
// migrated database with the tenant-scoped handle, an audit log and the
// account service over it, and the rows most tests need — tenants with
// their roles, accounts, memberships, holders, published catalogues and
// competency records. It also reads a tenant's audit trail back.
//
// It is for tests only; no production package imports it. Every helper
// fails the test at once when its set-up cannot be done.
package moduletest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Password is the password of every account Env makes.
const Password = "a long enough password"

// Clock is a settable clock for the services under test. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Env is one test's database and the services every module's tests need.
type Env struct {
	T        testing.TB
	DB       *testdb.DB     // connected as the app role, so row-level security applies
	Scoped   *tenants.DB    // tenant-scoped transactions over DB
	Store    *tenants.Store // tenants by slug and id
	Log      *audit.Log
	Accounts *account.Service

	// SetUpRoles gives each tenant Tenant makes its roles, inside the
	// tenant's transaction. Nil: the kind's policy templates only.
	SetUpRoles func(ctx context.Context, tx *gorm.DB, kind tenants.Kind) error
	// AddMember, when set, is what Member adds each role through, in a
	// context in the tenant (a service that audits the membership, say).
	// Nil: Member writes the membership and its roles itself, auditing
	// nothing.
	AddMember func(ctx context.Context, accountID uuid.UUID, role string) error
	// Invalidate, when set, is told the domain of each tenant whose roles
	// Member has changed (an enforcer's Invalidate, say).
	Invalidate func(domain string)
}

// New returns an Env over a new database for t; now is the clock of the
// audit log and the account service.
func New(t testing.TB, now func() time.Time) *Env {
	t.Helper()
	db := testdb.New(t)
	e := &Env{T: t, DB: db, Scoped: tenants.NewDB(db.Gorm), Store: tenants.NewStore(db.Gorm), Log: audit.New(now)}
	e.Accounts = account.NewService(e.Scoped, e.Log, account.Config{Now: now})
	return e
}

// As returns a context in tn acting as actor (no actor for uuid.Nil).
func As(tn tenants.Tenant, actor uuid.UUID) context.Context {
	ctx := tenants.WithTenant(context.Background(), tn)
	if actor != uuid.Nil {
		ctx = tenants.WithActor(ctx, actor)
	}
	return ctx
}

// Self returns a context acting as actor in no tenant.
func Self(actor uuid.UUID) context.Context {
	return tenants.WithActor(context.Background(), actor)
}

// Enforcers returns new policy enforcers over the test's database.
func (e *Env) Enforcers() *policy.Enforcers {
	e.T.Helper()
	enf, err := policy.New(context.Background(), e.DB.Pool, policy.Options{})
	if err != nil {
		e.T.Fatal(err)
	}
	return enf
}

// In runs fn in a transaction scoped to tn, with no actor.
func (e *Env) In(tn tenants.Tenant, fn func(tx *gorm.DB) error) {
	e.T.Helper()
	if err := e.Scoped.Tx(As(tn, uuid.Nil), fn); err != nil {
		e.T.Fatal(err)
	}
}

// Tenant makes an active tenant of kind called "Org <slug>", with its roles.
func (e *Env) Tenant(slug string, kind tenants.Kind) tenants.Tenant {
	e.T.Helper()
	return e.NamedTenant(slug, "Org "+slug, kind)
}

// NamedTenant makes an active tenant of kind called name, with its roles
// (see SetUpRoles).
func (e *Env) NamedTenant(slug, name string, kind tenants.Kind) tenants.Tenant {
	e.T.Helper()
	id := uuid.Must(uuid.NewV7())
	if err := e.DB.Gorm.Exec(`INSERT INTO tenants (id, slug, name, kind) VALUES (?, ?, ?, ?)`,
		id, slug, name, string(kind)).Error; err != nil {
		e.T.Fatal(err)
	}
	tn, err := e.Store.ByID(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	ctx := As(tn, uuid.Nil)
	e.In(tn, func(tx *gorm.DB) error {
		if e.SetUpRoles != nil {
			return e.SetUpRoles(ctx, tx, kind)
		}
		return policy.ApplyTemplates(ctx, tx, tn.ID.String(), kind)
	})
	return tn
}

// Account makes an account with Password and returns its id.
func (e *Env) Account(email, name string) uuid.UUID {
	e.T.Helper()
	var id uuid.UUID
	err := e.Scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		a, err := e.Accounts.Create(context.Background(), tx, email, name, Password)
		id = a.ID
		return err
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return id
}

// Member makes an account an active member of tn holding roles, with no
// invitation (see AddMember).
func (e *Env) Member(tn tenants.Tenant, accountID uuid.UUID, roles ...string) {
	e.T.Helper()
	ctx := As(tn, uuid.Nil)
	if e.AddMember != nil {
		for _, r := range roles {
			if err := e.AddMember(ctx, accountID, r); err != nil {
				e.T.Fatal(err)
			}
		}
	} else {
		e.In(tn, func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO memberships (tenant_id, id, account_id) VALUES (?, ?, ?)`,
				tn.ID, uuid.Must(uuid.NewV7()), accountID).Error; err != nil {
				return err
			}
			for _, r := range roles {
				if err := policy.AssignRole(ctx, tx, tn.ID.String(), accountID.String(), r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if e.Invalidate != nil {
		e.Invalidate(tn.ID.String())
	}
}

// Staff makes an account that is a member of tn holding roles.
func (e *Env) Staff(tn tenants.Tenant, email, name string, roles ...string) uuid.UUID {
	e.T.Helper()
	id := e.Account(email, name)
	e.Member(tn, id, roles...)
	return id
}

// Holder enrols a new person as a holder of tn in the role of staff and
// returns the holder's id; linked, unless uuid.Nil, is the account the
// person has claimed.
func (e *Env) Holder(tn tenants.Tenant, given, family string, linked uuid.UUID) uuid.UUID {
	e.T.Helper()
	person, id := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	var acct *uuid.UUID
	if linked != uuid.Nil {
		acct = &linked
	}
	e.In(tn, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO persons (id, account_id) VALUES (?, ?)`, person, acct).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
			VALUES (?, ?, ?, ?, ?, 'staff')`, tn.ID, id, person, given, family).Error
	})
	return id
}

// Competency is one competency of a catalogue Catalogue makes. Its title
// is "Title of <Code>".
type Competency struct {
	Code        string
	Kind        string // default skill
	Specificity string // general (the default), equipment or person
	Params      []string
	Practices   int        // supervised practices
	Months      int        // re-assessment interval; default 12
	Covers      []string   // for an assessor competency, the codes it covers
	Std         *uuid.UUID // the standard competency it is equivalent to, if any
}

// Catalogue makes a published version 1 of a catalogue of tn titled
// "Catalogue <key>" with the competencies and returns their ids by code.
func (e *Env) Catalogue(tn tenants.Tenant, key string, comps ...Competency) map[string]uuid.UUID {
	e.T.Helper()
	ids := map[string]uuid.UUID{}
	catID := uuid.Must(uuid.NewV7())
	list := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	e.In(tn, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO catalogues (tenant_id, id, key, version, title, status) VALUES (?, ?, ?, 1, ?, 'draft')`,
			tn.ID, catID, key, "Catalogue "+key).Error; err != nil {
			return err
		}
		for _, c := range comps {
			id := uuid.Must(uuid.NewV7())
			ids[c.Code] = id
			if c.Kind == "" {
				c.Kind = "skill"
			}
			if c.Specificity == "" {
				c.Specificity = "general"
			}
			if c.Months == 0 {
				c.Months = 12
			}
			err := tx.Exec(`INSERT INTO competencies (tenant_id, id, catalogue_id, code, title, kind, description, tier,
				key_elements, specificity, prescription_parameters, training_formats, assessment_method, signoff_by,
				supervised_practices, reassess_months, review_date, covers, std_competency_id)
				VALUES (?, ?, ?, ?, ?, ?, 'A competency for tests.', 'core', '["Does it safely"]', ?, ?, '["classroom"]',
				'Observed practice', '["Assessor"]', ?, ?, '2027-01-01', ?, ?)`,
				tn.ID, id, catID, c.Code, "Title of "+c.Code, c.Kind, c.Specificity, list(c.Params), c.Practices, c.Months,
				list(c.Covers), c.Std).Error
			if err != nil {
				return err
			}
		}
		return tx.Exec(`UPDATE catalogues SET status = 'published', published_at = now() WHERE tenant_id = ? AND id = ?`,
			tn.ID, catID).Error
	})
	return ids
}

// Record is a competency record as earlier transitions would have left it.
type Record struct {
	State     string
	Practices int // supervised practices done
	SignedOff *time.Time
	Assessor  string
	Setting   string
	Reassess  bool       // re-assessment required
	CaredFor  *uuid.UUID // for a person-specific competency
	Version   *int       // the prescription version signed off against
}

// Record stores a record of a holder of tn directly, bypassing the
// lifecycle on purpose, and returns its id.
func (e *Env) Record(tn tenants.Tenant, holderID, competencyID uuid.UUID, r Record) uuid.UUID {
	e.T.Helper()
	id := uuid.Must(uuid.NewV7())
	e.In(tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, cared_for_id, state,
			practices_done, signed_off_at, assessor_name, setting, prescription_version, reassessment_required)
			SELECT ?, ?, h.id, h.person_id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, id, competencyID, r.CaredFor, r.State, r.Practices, r.SignedOff, r.Assessor, r.Setting, r.Version, r.Reassess,
			tn.ID, holderID).Error
	})
	return id
}

// Rows counts the rows of a tenant-owned table in tn that match where
// (all of tn's rows when where is empty).
func (e *Env) Rows(tn tenants.Tenant, table, where string, args ...any) int64 {
	e.T.Helper()
	var n int64
	e.In(tn, func(tx *gorm.DB) error {
		q := tx.Table(table).Where("tenant_id = ?", tn.ID)
		if where != "" {
			q = q.Where(where, args...)
		}
		return q.Count(&n).Error
	})
	return n
}

// Count runs a counting query acting as actor in tn, or in the platform's
// scope when tn is nil, so that it sees what row-level security lets that
// scope see.
func (e *Env) Count(tn *tenants.Tenant, actor uuid.UUID, query string, args ...any) int64 {
	e.T.Helper()
	var n int64
	run := func(tx *gorm.DB) error { return tx.Raw(query, args...).Row().Scan(&n) }
	var err error
	if tn == nil {
		err = e.Scoped.Platform(Self(actor), run)
	} else {
		err = e.Scoped.Tx(As(*tn, actor), run)
	}
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Event is one entry of a tenant's audit trail.
type Event struct {
	Action     string
	ObjectType string
	ObjectID   string
	Outcome    string
	Detail     map[string]string
}

// Events returns tn's audit trail in order, and fails the test (without
// stopping it) when the chain is broken.
func (e *Env) Events(tn tenants.Tenant) []Event {
	e.T.Helper()
	ctx := As(tn, uuid.Nil)
	var out []Event
	err := e.Scoped.Tx(ctx, func(tx *gorm.DB) error {
		res, err := e.Log.Verify(ctx, tx, false)
		if err != nil {
			return err
		}
		if !res.OK() {
			e.T.Errorf("audit chain broken: %+v", res)
		}
		var rows []struct {
			Action, ObjectType, ObjectID, Outcome string
			Detail                                []byte
		}
		if err := tx.Raw(`SELECT action, object_type, object_id, outcome, detail FROM audit_events WHERE tenant_id = ? ORDER BY seq`,
			tn.ID).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			ev := Event{Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID, Outcome: r.Outcome}
			if err := json.Unmarshal(r.Detail, &ev.Detail); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return out
}

// LastEvent returns tn's last audit event with action, failing the test
// when there is none.
func (e *Env) LastEvent(tn tenants.Tenant, action string) Event {
	e.T.Helper()
	evs := e.Events(tn)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == action {
			return evs[i]
		}
	}
	e.T.Fatalf("no %s audit event in %+v", action, evs)
	return Event{}
}
