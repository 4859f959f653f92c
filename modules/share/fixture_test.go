package share_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// as and self return contexts acting as an account in a tenant and in none.
var as, self = moduletest.As, moduletest.Self

// fixture is a database with the share, holder and claim services over it;
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

// competency publishes a one-competency catalogue in tn and returns the
// competency's id. std may be nil.
func (f *fixture) competency(tn tenants.Tenant, key, code string, months int, std *uuid.UUID) uuid.UUID {
	f.T.Helper()
	return f.Catalogue(tn, key, moduletest.Competency{Code: code, Practices: 1, Months: months, Std: std})[code]
}
