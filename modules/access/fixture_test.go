package access_test

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
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// password is the password of every account the fixture makes.
const password = "a long enough password"

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

// invalidations records the domains whose policy the service invalidated.
type invalidations struct {
	mu      sync.Mutex
	domains []string
}

func (i *invalidations) Invalidate(domain string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.domains = append(i.domains, domain)
}

func (i *invalidations) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.domains)
}

type fixture struct {
	t        *testing.T
	db       *testdb.DB
	scoped   *tenants.DB
	store    *tenants.Store
	clock    *clock
	log      *audit.Log
	accounts *account.Service
	svc      *access.Service
	inval    *invalidations
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testdb.New(t)
	f := &fixture{t: t, db: db, scoped: tenants.NewDB(db.Gorm), store: tenants.NewStore(db.Gorm),
		clock: &clock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}, inval: &invalidations{}}
	f.log = audit.New(f.clock.Now)
	f.accounts = account.NewService(f.scoped, f.log, account.Config{Now: f.clock.Now})
	f.svc = access.NewService(f.scoped, f.store, f.accounts, f.log, f.inval, f.clock.Now)
	return f
}

// tenant inserts a tenant of kind and sets up its template roles.
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
	if err := f.scoped.Tx(ctx, func(tx *gorm.DB) error { return f.svc.SetUpRoles(ctx, tx, kind) }); err != nil {
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

// addMember makes an account a member of tn with roles, as provisioning does.
func (f *fixture) addMember(tn tenants.Tenant, accountID uuid.UUID, roles ...string) {
	f.t.Helper()
	ctx := tenants.WithTenant(context.Background(), tn)
	err := f.scoped.Tx(ctx, func(tx *gorm.DB) error {
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
	if err != nil {
		f.t.Fatal(err)
	}
}

// admin makes a new account that holds tn's admin role.
func (f *fixture) admin(tn tenants.Tenant, email string) uuid.UUID {
	f.t.Helper()
	id := f.account(email, "Admin "+email)
	f.addMember(tn, id, policy.AdminRole(tn.Kind))
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

type auditEvent struct {
	Action   string
	ObjectID string
	Detail   map[string]string
}

// events returns tn's audit trail in order, and checks the chain is intact.
func (f *fixture) events(tn tenants.Tenant) []auditEvent {
	f.t.Helper()
	ctx := tenants.WithTenant(context.Background(), tn)
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

// lastEvent returns the last audit event with action, failing if there is none.
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

// count returns the number of rows of a tenant-owned table in tn.
func (f *fixture) count(tn tenants.Tenant, table string) int64 {
	f.t.Helper()
	var n int64
	ctx := tenants.WithTenant(context.Background(), tn)
	err := f.scoped.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Table(table).Where("tenant_id = ?", tn.ID).Count(&n).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// invite invites email to tn as role, acting as inviter, and returns the token.
func (f *fixture) invite(tn tenants.Tenant, inviter uuid.UUID, email, role string) string {
	f.t.Helper()
	_, token, err := f.svc.InviteMember(as(tn, inviter), email, role)
	if err != nil {
		f.t.Fatalf("invite %s as %s: %v", email, role, err)
	}
	return token
}

// memberByEmail returns the member of tn with email, or false.
func (f *fixture) memberByEmail(tn tenants.Tenant, actor uuid.UUID, email string) (access.Member, bool) {
	f.t.Helper()
	ms, err := f.svc.Members(as(tn, actor))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range ms {
		if m.Email == email {
			return m, true
		}
	}
	return access.Member{}, false
}
