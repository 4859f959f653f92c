package share_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

const password = "a long enough password"

var client = account.Client{IP: "192.0.2.10", UserAgent: "test"}

// clock is a settable clock shared by the services under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t        *testing.T
	db       *testdb.DB
	scoped   *tenants.DB
	store    *tenants.Store
	clock    *clock
	log      *audit.Log
	accounts *account.Service
	access   *access.Service
	holders  *holder.Service
	claims   *holder.Claims
	shares   *share.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testdb.New(t)
	f := &fixture{t: t, db: db, scoped: tenants.NewDB(db.Gorm), store: tenants.NewStore(db.Gorm),
		// Row-level security compares share expiry with the database's
		// clock, so the services' clock starts at the real time.
		clock: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	f.log = audit.New(f.clock.Now)
	f.accounts = account.NewService(f.scoped, f.log, account.Config{Now: f.clock.Now})
	f.access = access.NewService(f.scoped, f.store, f.accounts, f.log, nil, f.clock.Now)
	f.holders = holder.NewService(f.scoped, f.log, f.clock.Now, holder.WithShares(share.OwnShareIDs))
	f.shares = share.NewService(f.scoped, f.store, f.holders, f.log, f.clock.Now)
	f.claims = holder.NewClaims(f.scoped, f.store, f.accounts, f.log, f.clock.Now)
	return f
}

// tenant inserts a tenant of kind with its template roles.
func (f *fixture) tenant(slug string, kind tenants.Kind) tenants.Tenant {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if err := f.db.Gorm.Exec(`INSERT INTO tenants (id, slug, name, kind) VALUES (?, ?, ?, ?)`,
		id, slug, "Org "+slug, string(kind)).Error; err != nil {
		f.t.Fatal(err)
	}
	tn, err := f.store.ByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx := tenants.WithTenant(context.Background(), tn)
	if err := f.scoped.Tx(ctx, func(tx *gorm.DB) error { return f.access.SetUpRoles(ctx, tx, kind) }); err != nil {
		f.t.Fatal(err)
	}
	return tn
}

// account creates an account with the fixture's password.
func (f *fixture) account(email, name string) uuid.UUID {
	f.t.Helper()
	var id uuid.UUID
	err := f.scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		a, err := f.accounts.Create(context.Background(), tx, email, name, password)
		id = a.ID
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// staff makes a new account that holds tn's admin role.
func (f *fixture) staff(tn tenants.Tenant, email string) uuid.UUID {
	f.t.Helper()
	id := f.account(email, "Staff "+email)
	if err := f.access.AddMember(tenants.WithTenant(context.Background(), tn), id, policy.AdminRole(tn.Kind)); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// as returns a context acting as actor in tn.
func as(tn tenants.Tenant, actor uuid.UUID) context.Context {
	ctx := tenants.WithTenant(context.Background(), tn)
	if actor != uuid.Nil {
		ctx = tenants.WithActor(ctx, actor)
	}
	return ctx
}

// self returns a context acting as actor with no tenant.
func self(actor uuid.UUID) context.Context {
	return tenants.WithActor(context.Background(), actor)
}

func dob(s string) holder.Date { return holder.DateFromISO(s) }

// enrol adds a holder to tn as actor.
func (f *fixture) enrol(tn tenants.Tenant, actor uuid.UUID, given, family, born, email string) holder.Holder {
	f.t.Helper()
	h, err := f.holders.Enrol(as(tn, actor), holder.Input{GivenName: given, FamilyName: family, DateOfBirth: dob(born),
		Email: email, RoleInCare: "parent"}, false)
	if err != nil {
		f.t.Fatalf("enrol %s %s: %v", given, family, err)
	}
	return h
}

// competency publishes a one-competency catalogue in tn and returns the
// competency's id. std may be nil.
func (f *fixture) competency(tn tenants.Tenant, key, code string, months int, std *uuid.UUID) uuid.UUID {
	f.t.Helper()
	catID, compID := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	err := f.scoped.Tx(as(tn, uuid.Nil), func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO catalogues (tenant_id, id, key, version, title, status) VALUES (?, ?, ?, 1, ?, 'draft')`,
			tn.ID, catID, key, "Catalogue "+key).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO competencies (tenant_id, id, catalogue_id, code, title, kind, description, tier,
				key_elements, specificity, training_formats, assessment_method, signoff_by, supervised_practices,
				reassess_months, review_date, std_competency_id)
			VALUES (?, ?, ?, ?, ?, 'skill', 'A competency.', 'core', '["One"]', 'general', '["classroom"]', 'Observed',
				'["Assessor"]', 1, ?, '2027-01-01', ?)`, tn.ID, compID, catID, code, "Title of "+code, months, std).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE catalogues SET status = 'published', published_at = now() WHERE tenant_id = ? AND id = ?`,
			tn.ID, catID).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return compID
}

// record inserts a competency record for a holder of tn.
func (f *fixture) record(tn tenants.Tenant, holderID, competencyID uuid.UUID, state string, signedOff *time.Time, assessor string) uuid.UUID {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	err := f.scoped.Tx(as(tn, uuid.Nil), func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state, signed_off_at,
				assessor_name, setting)
			SELECT ?, ?, h.id, h.person_id, ?, ?, ?, ?, 'Ward 4' FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, id, competencyID, state, signedOff, assessor, tn.ID, holderID).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// count runs a counting query in tn's scope (or the platform's when tn is nil).
func (f *fixture) count(tn *tenants.Tenant, actor uuid.UUID, query string, args ...any) int64 {
	f.t.Helper()
	var n int64
	run := func(tx *gorm.DB) error { return tx.Raw(query, args...).Row().Scan(&n) }
	var err error
	if tn == nil {
		err = f.scoped.Platform(self(actor), run)
	} else {
		err = f.scoped.Tx(as(*tn, actor), run)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

type auditEvent struct {
	Action   string
	ObjectID string
	Detail   map[string]string
}

// events returns tn's audit trail in order and checks the chain is intact.
func (f *fixture) events(tn tenants.Tenant) []auditEvent {
	f.t.Helper()
	ctx := as(tn, uuid.Nil)
	var out []auditEvent
	err := f.scoped.Tx(ctx, func(tx *gorm.DB) error {
		res, err := f.log.Verify(ctx, tx, false)
		if err != nil {
			return err
		}
		if !res.OK() {
			f.t.Errorf("audit chain broken: %+v", res)
		}
		var rows []struct {
			Action   string
			ObjectID string
			Detail   []byte
		}
		if err := tx.Raw(`SELECT action, object_id, detail FROM audit_events WHERE tenant_id = ? ORDER BY seq`, tn.ID).
			Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			e := auditEvent{Action: r.Action, ObjectID: r.ObjectID}
			if err := json.Unmarshal(r.Detail, &e.Detail); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// lastEvent returns tn's last audit event with action.
func (f *fixture) lastEvent(tn tenants.Tenant, action string) auditEvent {
	f.t.Helper()
	evs := f.events(tn)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == action {
			return evs[i]
		}
	}
	f.t.Fatalf("no %s audit event in %+v", action, evs)
	return auditEvent{}
}
