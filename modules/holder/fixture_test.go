package holder_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

const password = moduletest.Password

var client = account.Client{IP: "192.0.2.10", UserAgent: "test"}

// as and self return contexts acting as an account in a tenant and in none.
var as, self = moduletest.As, moduletest.Self

// fixture is a database with the holder, claim and share services over it;
// its tenants' roles and members are made through the access service.
type fixture struct {
	*moduletest.Env
	clock   *moduletest.Clock
	access  *access.Service
	holders *holder.Service
	claims  *holder.Claims
	shares  *share.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	// Row-level security compares share expiry with the database's clock,
	// so the services' clock starts at the real time.
	clock := moduletest.NewClock(time.Now().UTC().Truncate(time.Second))
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	f.access = access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, nil, clock.Now)
	f.holders = holder.NewService(f.Scoped, f.Log, clock.Now, holder.WithShares(share.OwnShareIDs))
	f.shares = share.NewService(f.Scoped, f.Store, f.holders, f.Log, clock.Now)
	f.claims = holder.NewClaims(f.Scoped, f.Store, f.Accounts, f.Log, clock.Now)
	f.SetUpRoles, f.AddMember = f.access.SetUpRoles, f.access.AddMember
	return f
}

// staff makes a new account that holds tn's admin role.
func (f *fixture) staff(tn tenants.Tenant, email string) uuid.UUID {
	f.T.Helper()
	return f.Staff(tn, email, "Staff "+email, policy.AdminRole(tn.Kind))
}

func dob(s string) holder.Date { return holder.DateFromISO(s) }

// enrol adds a holder to tn as actor.
func (f *fixture) enrol(tn tenants.Tenant, actor uuid.UUID, given, family, born, email string) holder.Holder {
	f.T.Helper()
	h, err := f.holders.Enrol(as(tn, actor), holder.Input{GivenName: given, FamilyName: family, DateOfBirth: dob(born),
		Email: email, RoleInCare: "parent"}, false)
	if err != nil {
		f.T.Fatalf("enrol %s %s: %v", given, family, err)
	}
	return h
}

// competency publishes a one-competency catalogue in tn and returns the
// competency's id. std may be nil.
func (f *fixture) competency(tn tenants.Tenant, key, code string, months int, std *uuid.UUID) uuid.UUID {
	f.T.Helper()
	return f.Catalogue(tn, key, moduletest.Competency{Code: code, Practices: 1, Months: months, Std: std})[code]
}

// personOf returns the person of a holder, read in its own tenant.
func (f *fixture) personOf(tn tenants.Tenant, holderID uuid.UUID) uuid.UUID {
	f.T.Helper()
	var p uuid.UUID
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?`, tn.ID, holderID).Row().Scan(&p)
	})
	return p
}

func ptr[T any](v T) *T { return &v }
