package carehome_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// start is the fixture clock's first reading.
var start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// window is the update window the fixture's services use.
const window = 60

// fixture is a database with a care-home tenant ("meadow") and another
// ("other"), the compliance service over it wired to the real holder and
// share services, and the record service to compare derived states with.
type fixture struct {
	*moduletest.Env
	clock   *moduletest.Clock
	holders *holder.Service
	shares  *share.Service
	records *record.Service
	svc     *carehome.Service
	meadow  tenants.Tenant
	other   tenants.Tenant
	admin   uuid.UUID // meadow's provider administrator
	ctx     context.Context
}

// staffHolders and sharedCompetencies adapt the real services as
// cmd/carepass does.
type staffHolders struct{ h *holder.Service }

func (s staffHolders) CreateStaff(ctx context.Context, tx *gorm.DB, given, family, email string) (uuid.UUID, error) {
	h, err := s.h.Create(ctx, tx, holder.NewHolder{GivenName: given, FamilyName: family, Email: email, RoleInCare: "staff"})
	return h.ID, err
}

type sharedCompetencies struct{ s *share.Service }

func (a sharedCompetencies) Recognisable(ctx context.Context, holderID uuid.UUID) ([]carehome.SharedCompetency, error) {
	received, err := a.s.Received(ctx)
	if err != nil {
		return nil, err
	}
	var out []carehome.SharedCompetency
	for _, r := range received {
		if r.HolderID == nil || *r.HolderID != holderID {
			continue
		}
		p, err := a.s.View(ctx, r.Share.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range p.Competencies {
			if !c.Recognisable() {
				continue
			}
			for _, t := range c.Targets {
				out = append(out, carehome.SharedCompetency{ShareID: r.Share.ID, RecordID: c.RecordID, CompetencyID: t.CompetencyID,
					Code: t.Code, Title: t.Title, From: c.Issuer, SignedOffAt: c.SignedOffAt, ExpiresAt: c.ExpiresAt})
			}
		}
	}
	return out, nil
}

func (a sharedCompetencies) Recognise(ctx context.Context, c carehome.SharedCompetency) error {
	_, err := a.s.Recognise(ctx, c.ShareID, share.Recognition{Record: c.RecordID, CompetencyID: c.CompetencyID})
	return err
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	enf := f.Enforcers()
	acc := access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, nil, clock.Now)
	f.SetUpRoles, f.AddMember, f.Invalidate = acc.SetUpRoles, acc.AddMember, enf.Invalidate
	f.holders = holder.NewService(f.Scoped, f.Log, clock.Now, holder.WithShares(share.OwnShareIDs))
	f.shares = share.NewService(f.Scoped, f.Store, f.holders, f.Log, clock.Now)
	cats := catalogue.NewService(f.Scoped, f.Log, clock.Now)
	f.records = record.NewService(record.Deps{DB: f.Scoped, Specs: cats, Finder: cats, Accounts: f.Accounts, Authz: enf, Audit: f.Log},
		record.Config{Now: clock.Now, DueWindowDays: window})
	f.svc = carehome.NewService(carehome.Deps{DB: f.Scoped, Audit: f.Log, Holders: staffHolders{f.holders},
		Shares: sharedCompetencies{f.shares}}, carehome.Config{Now: clock.Now, DueWindowDays: window})
	f.meadow = f.NamedTenant("meadow", "Meadow Homes", tenants.KindCareHome)
	f.other = f.NamedTenant("other", "Other Homes", tenants.KindCareHome)
	f.admin = f.Staff(f.meadow, "admin@meadow.example", "Meadow Admin", policy.AdminRole(tenants.KindCareHome))
	f.ctx = moduletest.As(f.meadow, f.admin)
	return f
}

// ok fails the test on err.
func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// place makes a home and a role requiring the competencies.
func (f *fixture) place(home, role string, comps ...uuid.UUID) (carehome.Home, carehome.Role) {
	f.T.Helper()
	h, err := f.svc.AddHome(f.ctx, home)
	ok(f.T, err)
	r, err := f.svc.AddRole(f.ctx, role)
	ok(f.T, err)
	if err := f.svc.SetRoleRequirements(f.ctx, r.ID, comps); err != nil {
		f.T.Fatal(err)
	}
	return h, r
}

// employ makes a holder employed at home in role and returns the holder's id.
func (f *fixture) employ(given, family string, h carehome.Home, r carehome.Role) (uuid.UUID, carehome.Employment) {
	f.T.Helper()
	id := f.Holder(f.meadow, given, family, uuid.Nil)
	e, err := f.svc.Start(f.ctx, carehome.StartInput{HolderID: id, HomeID: h.ID, RoleID: r.ID, StartedOn: "2025-01-06"})
	ok(f.T, err)
	return id, e
}

// signedOff stores a competent record of holder signed off at at.
func (f *fixture) signedOff(holderID, comp uuid.UUID, at time.Time) uuid.UUID {
	f.T.Helper()
	return f.Record(f.meadow, holderID, comp, moduletest.Record{State: "competent", SignedOff: &at, Assessor: "Assessor"})
}

// cell returns the matrix cell of holder and competency code.
func cell(t testing.TB, m carehome.Matrix, holderID uuid.UUID, code string) carehome.Cell {
	t.Helper()
	for _, r := range m.Rows {
		if r.HolderID != holderID {
			continue
		}
		for j, c := range m.Columns {
			if c.Code == code {
				return r.Cells[j]
			}
		}
		t.Fatalf("no column %s", code)
	}
	t.Fatalf("no row for holder %s", holderID)
	return carehome.Cell{}
}
