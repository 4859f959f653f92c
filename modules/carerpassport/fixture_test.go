package carerpassport_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

var as, self = moduletest.As, moduletest.Self

// fixture is a database with the passport service over it, the real issuer
// keys and status lists, and schemes read straight from their table.
type fixture struct {
	*moduletest.Env
	clock   *moduletest.Clock
	issuer  *issuer.Service
	svc     *carerpassport.Service
	charity tenants.Tenant
	officer uuid.UUID
	holder  uuid.UUID
	scheme  uuid.UUID
}

func newFixture(t testing.TB, cfg carerpassport.Config) *fixture {
	t.Helper()
	// Verification compares with the database's notion of the passport's
	// dates through parameters, so the clock may start anywhere; it starts
	// near the real time so RLS policies that use now() agree.
	clock := moduletest.NewClock(time.Now().UTC().Truncate(time.Second))
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	var err error
	if f.issuer, err = issuer.New(f.Scoped, make([]byte, credential.ServerKeySize), clock.Now); err != nil {
		t.Fatal(err)
	}
	cfg.Now = clock.Now
	f.svc = carerpassport.NewService(carerpassport.Deps{DB: f.Scoped, Pool: f.DB.Pool, Schemes: tableSchemes{f.Scoped},
		Issuer: f.issuer, Audit: f.Log}, cfg)
	f.charity = f.NamedTenant("lanternfield", "Lanternfield Carers", tenants.KindCarersCharity)
	f.officer = f.Staff(f.charity, "officer@lanternfield.example", "Olu Officer", "passport_officer")
	f.holder = f.Holder(f.charity, "Amira", "Okafor", uuid.Nil)
	f.scheme = f.addScheme(f.charity, "Adult carer passport", "days", 365, true, true)
	return f
}

func (f *fixture) addScheme(tn tenants.Tenant, name, kind string, days int, consent, renewable bool) uuid.UUID {
	f.T.Helper()
	id := uuid.Must(uuid.NewV7())
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO schemes (tenant_id, id, name, audience, benefits, validity_kind, validity_days,
			consent_required, renewable, created_at, updated_at) VALUES (?, ?, ?, 'adult_carer', ?, ?, ?, ?, ?, now(), now())`,
			tn.ID, id, name, `["Flexible visiting","Parking concession"]`, kind, days, consent, renewable).Error
	})
	return id
}

// tableSchemes reads schemes from their table: the scheme module's rules are
// tested there; here only the terms matter.
type tableSchemes struct{ db *tenants.DB }

func (ts tableSchemes) Terms(ctx context.Context, tx *gorm.DB, id uuid.UUID) (carerpassport.Scheme, error) {
	var (
		s        carerpassport.Scheme
		benefits []byte
		kind     string
		days     int
	)
	t, _ := tenants.FromContext(ctx)
	err := tx.Raw(`SELECT id, name, audience, benefits, consent_required, renewable, validity_kind, coalesce(validity_days, 0)
		FROM schemes WHERE tenant_id = ? AND id = ? AND status = 'active'`, t.ID, id).
		Row().Scan(&s.ID, &s.Name, &s.Audience, &benefits, &s.ConsentRequired, &s.Renewable, &kind, &days)
	if err != nil {
		return s, errs.E(errs.NotFound, "no scheme")
	}
	_ = json.Unmarshal(benefits, &s.Benefits)
	s.UntilDischarge = kind == "until_discharge"
	s.ValidUntil = func(from time.Time) (time.Time, error) {
		if days == 0 {
			return time.Time{}, errors.New("no validity")
		}
		return from.AddDate(0, 0, days), nil
	}
	return s, nil
}

func (ts tableSchemes) Options(ctx context.Context) ([]carerpassport.SchemeOption, error) {
	var out []carerpassport.SchemeOption
	err := ts.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT id, name, consent_required, validity_kind = 'until_discharge'
			FROM schemes WHERE status = 'active' ORDER BY name`).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o carerpassport.SchemeOption
			if err := rows.Scan(&o.ID, &o.Name, &o.ConsentRequired, &o.UntilDischarge); err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

func (f *fixture) officerCtx() context.Context { return as(f.charity, f.officer) }

func (f *fixture) consented() carerpassport.IssueInput {
	day := f.clock.Now().AddDate(0, 0, -1)
	return carerpassport.IssueInput{HolderID: f.holder, SchemeID: f.scheme, CaredForName: "Grace Okafor",
		Relationship: "Mother", HealthDetails: "Dementia, early stage", ConsentGivenBy: "Grace Okafor",
		ConsentMethod: "in_person", ConsentDate: &day}
}

func (f *fixture) issue() carerpassport.Passport {
	f.T.Helper()
	p, err := f.svc.Issue(f.officerCtx(), f.consented())
	if err != nil {
		f.T.Fatalf("issue: %v", err)
	}
	return p
}

func (f *fixture) verify(text, client string) carerpassport.Result {
	f.T.Helper()
	r, err := f.svc.Verify(context.Background(), carerpassport.VerifyInput{Text: text, Channel: carerpassport.ChannelCode, Client: client})
	if err != nil {
		f.T.Fatalf("verify %q: %v", text, err)
	}
	return r
}
