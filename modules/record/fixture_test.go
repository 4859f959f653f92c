package record_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// start is the fixture clock's first reading.
var start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// fixture is a database with the record service over it, and the
// catalogue service that answers its questions about specifications.
type fixture struct {
	*moduletest.Env
	clock *moduletest.Clock
	enf   *policy.Enforcers
	cats  *catalogue.Service
	svc   *record.Service
}

func newFixture(t testing.TB, cfg record.Config) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	f.enf = f.Enforcers()
	f.Invalidate = f.enf.Invalidate
	f.cats = catalogue.NewService(f.Scoped, f.Log, f.clock.Now)
	cfg.Now = f.clock.Now
	f.svc = record.NewService(record.Deps{DB: f.Scoped, Specs: f.cats, Finder: f.cats, Accounts: f.Accounts, Authz: f.enf, Audit: f.Log}, cfg)
	return f
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
// (fixture set-up: it bypasses the lifecycle on purpose). A signed-off
// record names its founding assessor.
func (f *fixture) insertRecord(tn tenants.Tenant, holderID, competencyID uuid.UUID, r rec) uuid.UUID {
	f.T.Helper()
	assessor := ""
	if r.signedOff != nil {
		assessor = "Founding assessor"
	}
	return f.Record(tn, holderID, competencyID, moduletest.Record{State: string(r.state), Practices: r.practices, SignedOff: r.signedOff,
		Assessor: assessor, Reassess: r.reassess, CaredFor: r.caredFor, Version: r.version})
}

// as returns a context acting as actor in tn.
var as = moduletest.As

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
	f.T.Helper()
	var s stored
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT state, practices_done, signed_off_at, assessor_name, prescription_version, reassessment_required, updated_at
			FROM competency_records WHERE tenant_id = ? AND id = ?`, tn.ID, id).Scan(&s).Error
	})
	return s
}

// successes counts tn's audit events with outcome success.
func (f *fixture) successes(tn tenants.Tenant) int {
	f.T.Helper()
	n := 0
	for _, e := range f.Events(tn) {
		if e.Outcome == "success" {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }
