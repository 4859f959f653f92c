package badge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/badge"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

// baseURL is the origin every test credential's identifiers are made from.
const baseURL = "https://carepass.test"

var as, self = moduletest.As, moduletest.Self

// start is the test clock's first reading: a Tuesday in March, GMT.
var start = time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)

// fixture is a database with the issuer and badge services over it, and a
// trust where Amira holds a signed-off competency.
type fixture struct {
	*moduletest.Env
	clock  *moduletest.Clock
	keys   *issuer.Service
	badges *badge.Service

	trust     tenants.Tenant
	amira     uuid.UUID // Amira's account
	amiraH    uuid.UUID // her enrolment at the trust
	comps     map[string]uuid.UUID
	competent uuid.UUID // her signed-off record of SUCTION-01
	signedOff time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	var err error
	f.keys, err = issuer.New(f.Scoped, bytes.Repeat([]byte{7}, credential.ServerKeySize), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.badges = badge.NewService(f.Scoped, f.Store, f.keys, f.Log, baseURL+"/", clock.Now)

	f.trust = f.NamedTenant("wrenford", "Wrenford Children's Hospital", tenants.KindPaediatricTrust)
	f.amira = f.Account("amira@example.org", "Amira Okafor")
	f.amiraH = f.Holder(f.trust, "Amira", "Okafor", f.amira)
	f.comps = f.Catalogue(f.trust, "airway",
		moduletest.Competency{Code: "SUCTION-01", Practices: 3, Months: 12},
		moduletest.Competency{Code: "OXYGEN-01", Practices: 2, Months: 6},
		moduletest.Competency{Code: "TRACH-01", Specificity: "person", Practices: 2, Months: 12})
	f.signedOff = start.Add(-24 * time.Hour)
	f.competent = f.signedOffRecord(f.trust, f.amiraH, f.comps["SUCTION-01"], f.signedOff)
	return f
}

// signedOffRecord stores a competent record signed off at when.
func (f *fixture) signedOffRecord(tn tenants.Tenant, holderID, competencyID uuid.UUID, when time.Time) uuid.UUID {
	f.T.Helper()
	return f.Record(tn, holderID, competencyID, moduletest.Record{State: "competent", Practices: 3, SignedOff: &when,
		Assessor: "Alex Assessor", Setting: "Ward 4"})
}

// setState changes a record's stored state as the record service would,
// and tells the badge service in the same transaction, as its hook does.
func (f *fixture) setState(tn tenants.Tenant, recordID uuid.UUID, state string) {
	f.T.Helper()
	ctx := as(tn, uuid.Nil)
	if err := f.Scoped.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE competency_records SET state = ? WHERE tenant_id = ? AND id = ?`, state, tn.ID, recordID).Error; err != nil {
			return err
		}
		return f.badges.RecordChanged(ctx, tx, recordID)
	}); err != nil {
		f.T.Fatal(err)
	}
	// The published status list is served from memory for a few seconds.
	f.clock.Advance(6 * time.Second)
}

// issue makes a credential of recordID as accountID, failing the test on error.
func (f *fixture) issue(accountID, recordID uuid.UUID) badge.Badge {
	f.T.Helper()
	b, err := f.badges.Issue(self(accountID), recordID)
	if err != nil {
		f.T.Fatalf("issue: %v", err)
	}
	return b
}

// verify checks token, failing the test on an internal error.
func (f *fixture) verify(token string) badge.Result {
	f.T.Helper()
	r, err := f.badges.Verify(context.Background(), token)
	if err != nil {
		f.T.Fatalf("verify: %v", err)
	}
	return r
}

// parts decodes a compact JWT's header and payload into maps.
func parts(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	p := strings.Split(token, ".")
	if len(p) != 3 {
		t.Fatalf("%d parts in %q", len(p), token)
	}
	decode := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return decode(p[0]), decode(p[1])
}

// signingKey returns tn's current private key.
func (f *fixture) signingKey(tn tenants.Tenant) credential.SigningKey {
	f.T.Helper()
	var k credential.SigningKey
	if err := f.Scoped.Platform(context.Background(), func(tx *gorm.DB) (err error) {
		k, err = f.keys.SigningKey(context.Background(), tx, tn)
		return err
	}); err != nil {
		f.T.Fatal(err)
	}
	return k
}
