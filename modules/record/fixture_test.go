package record_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// start is the fixture clock's first reading.
var start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

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

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type fixture struct {
	t        testing.TB
	db       *testdb.DB
	scoped   *tenants.DB
	store    *tenants.Store
	clock    *clock
	log      *audit.Log
	accounts *account.Service
	enf      *policy.Enforcers
	cats     *catalogue.Service
	svc      *record.Service
}

func newFixture(t testing.TB, cfg record.Config) *fixture {
	t.Helper()
	db := testdb.New(t)
	f := &fixture{t: t, db: db, scoped: tenants.NewDB(db.Gorm), store: tenants.NewStore(db.Gorm), clock: &clock{now: start}}
	f.log = audit.New(f.clock.Now)
	f.accounts = account.NewService(f.scoped, f.log, account.Config{Now: f.clock.Now})
	enf, err := policy.New(context.Background(), db.Pool, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.enf = enf
	f.cats = catalogue.NewService(f.scoped, f.log, f.clock.Now)
	cfg.Now = f.clock.Now
	f.svc = record.NewService(record.Deps{DB: f.scoped, Specs: f.cats, Finder: f.cats, Accounts: f.accounts, Authz: enf, Audit: f.log}, cfg)
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
	f.in(tn, func(tx *gorm.DB) error { return policy.ApplyTemplates(context.Background(), tx, tn.ID.String(), kind) })
	return tn
}

// in runs fn in a transaction scoped to tn (fixture set-up only).
func (f *fixture) in(tn tenants.Tenant, fn func(tx *gorm.DB) error) {
	f.t.Helper()
	if err := f.scoped.Tx(tenants.WithTenant(context.Background(), tn), fn); err != nil {
		f.t.Fatal(err)
	}
}

// account creates an account.
func (f *fixture) account(email, name string) uuid.UUID {
	f.t.Helper()
	var id uuid.UUID
	err := f.scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		a, err := f.accounts.Create(context.Background(), tx, email, name, "a long enough password")
		id = a.ID
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// member makes an account a member of tn with roles.
func (f *fixture) member(tn tenants.Tenant, accountID uuid.UUID, roles ...string) {
	f.t.Helper()
	f.in(tn, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO memberships (tenant_id, id, account_id) VALUES (?, ?, ?)`,
			tn.ID, uuid.Must(uuid.NewV7()), accountID).Error; err != nil {
			return err
		}
		for _, r := range roles {
			if err := policy.AssignRole(context.Background(), tx, tn.ID.String(), accountID.String(), r); err != nil {
				return err
			}
		}
		return nil
	})
	f.enf.Invalidate(tn.ID.String())
}

// staff makes an account that is a member of tn with roles.
func (f *fixture) staff(tn tenants.Tenant, email, name string, roles ...string) uuid.UUID {
	f.t.Helper()
	id := f.account(email, name)
	f.member(tn, id, roles...)
	return id
}

// holder enrols a new person as a holder of tn; linked (when not Nil) is
// the account the person has claimed.
func (f *fixture) holder(tn tenants.Tenant, given, family string, linked uuid.UUID) uuid.UUID {
	f.t.Helper()
	person := uuid.Must(uuid.NewV7())
	id := uuid.Must(uuid.NewV7())
	var acct *uuid.UUID
	if linked != uuid.Nil {
		acct = &linked
	}
	f.in(tn, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO persons (id, account_id) VALUES (?, ?)`, person, acct).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
			VALUES (?, ?, ?, ?, ?, 'staff')`, tn.ID, id, person, given, family).Error
	})
	return id
}

// spec is a competency for the fixture catalogue.
type spec struct {
	code      string
	kind      string
	specific  string // general, equipment or person
	params    []string
	practices int
	months    int
	covers    []string
}

// catalogue inserts a published catalogue version with the competencies and
// returns their ids by code.
func (f *fixture) catalogue(tn tenants.Tenant, key string, specs ...spec) map[string]uuid.UUID {
	f.t.Helper()
	ids := map[string]uuid.UUID{}
	catID := uuid.Must(uuid.NewV7())
	list := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	f.in(tn, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO catalogues (tenant_id, id, key, version, title, status) VALUES (?, ?, ?, 1, ?, 'draft')`,
			tn.ID, catID, key, "Catalogue "+key).Error; err != nil {
			return err
		}
		for _, s := range specs {
			id := uuid.Must(uuid.NewV7())
			ids[s.code] = id
			if s.kind == "" {
				s.kind = "skill"
			}
			if s.specific == "" {
				s.specific = "general"
			}
			if s.months == 0 {
				s.months = 12
			}
			err := tx.Exec(`INSERT INTO competencies (tenant_id, id, catalogue_id, code, title, kind, description, tier,
				key_elements, specificity, prescription_parameters, training_formats, assessment_method, signoff_by,
				supervised_practices, reassess_months, review_date, covers)
				VALUES (?, ?, ?, ?, ?, ?, 'A competency for tests.', 'core', '["Does it safely"]', ?, ?, '["classroom"]',
				'Observed practice', '["Assessor"]', ?, ?, '2027-01-01', ?)`,
				tn.ID, id, catID, s.code, "Title of "+s.code, s.kind, s.specific, list(s.params), s.practices, s.months,
				list(s.covers)).Error
			if err != nil {
				return err
			}
		}
		return tx.Exec(`UPDATE catalogues SET status = 'published', published_at = now() WHERE tenant_id = ? AND id = ?`,
			tn.ID, catID).Error
	})
	return ids
}

// rec describes a record inserted directly, in any state, for set-up.
type rec struct {
	state     record.State
	practices int
	signedOff *time.Time
	reassess  bool
	caredFor  *uuid.UUID
	version   *int
}

// insertRecord stores a record as it would be after earlier transitions
// (fixture set-up: it bypasses the lifecycle on purpose).
func (f *fixture) insertRecord(tn tenants.Tenant, holderID, competencyID uuid.UUID, r rec) uuid.UUID {
	f.t.Helper()
	id := uuid.Must(uuid.NewV7())
	f.in(tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, cared_for_id, state,
			practices_done, signed_off_at, assessor_name, prescription_version, reassessment_required)
			SELECT ?, ?, h.id, h.person_id, ?, ?, ?, ?, ?, CASE WHEN ?::timestamptz IS NULL THEN '' ELSE 'Founding assessor' END, ?, ?
			FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			tn.ID, id, competencyID, r.caredFor, string(r.state), r.practices, r.signedOff, r.signedOff, r.version, r.reassess,
			tn.ID, holderID).Error
	})
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

// stored is a record's row as stored, for before/after comparisons.
type stored struct {
	State                string
	PracticesDone        int
	SignedOffAt          *time.Time
	AssessorName         string
	PrescriptionVersion  *int
	ReassessmentRequired bool
	UpdatedAt            time.Time
}

// String shows every field by value, so two readings compare with ==.
func (s stored) String() string {
	signed, version := "none", "none"
	if s.SignedOffAt != nil {
		signed = s.SignedOffAt.UTC().Format(time.RFC3339Nano)
	}
	if s.PrescriptionVersion != nil {
		version = fmt.Sprint(*s.PrescriptionVersion)
	}
	return fmt.Sprintf("state=%s practices=%d signed=%s assessor=%q version=%s reassess=%t updated=%s", s.State, s.PracticesDone,
		signed, s.AssessorName, version, s.ReassessmentRequired, s.UpdatedAt.UTC().Format(time.RFC3339Nano))
}

func (f *fixture) stored(tn tenants.Tenant, id uuid.UUID) stored {
	f.t.Helper()
	var s stored
	f.in(tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT state, practices_done, signed_off_at, assessor_name, prescription_version, reassessment_required, updated_at
			FROM competency_records WHERE tenant_id = ? AND id = ?`, tn.ID, id).Scan(&s).Error
	})
	return s
}

// count returns the number of rows of a tenant-owned table in tn matching where.
func (f *fixture) count(tn tenants.Tenant, table, where string, args ...any) int64 {
	f.t.Helper()
	var n int64
	f.in(tn, func(tx *gorm.DB) error {
		q := tx.Table(table).Where("tenant_id = ?", tn.ID)
		if where != "" {
			q = q.Where(where, args...)
		}
		return q.Count(&n).Error
	})
	return n
}

type auditEvent struct {
	Action     string
	ObjectType string
	ObjectID   string
	Outcome    string
	Detail     map[string]string
}

// events returns tn's audit trail in order, checking the chain is intact.
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
			Action, ObjectType, ObjectID, Outcome string
			Detail                                []byte
		}
		if err := tx.Raw(`SELECT action, object_type, object_id, outcome, detail FROM audit_events WHERE tenant_id = ? ORDER BY seq`,
			tn.ID).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			e := auditEvent{Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID, Outcome: r.Outcome}
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

// successes counts tn's audit events with outcome success.
func (f *fixture) successes(tn tenants.Tenant) int {
	f.t.Helper()
	n := 0
	for _, e := range f.events(tn) {
		if e.Outcome == "success" {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }
