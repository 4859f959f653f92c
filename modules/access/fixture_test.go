package access_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// password is the password of every account the fixture makes.
const password = moduletest.Password

// as returns a context acting as actor in tn.
var as = moduletest.As

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

// fixture is a database with the access service over it; its tenants get
// their roles from the service.
type fixture struct {
	*moduletest.Env
	clock *moduletest.Clock
	svc   *access.Service
	inval *invalidations
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock, inval: &invalidations{}}
	f.svc = access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, f.inval, f.clock.Now)
	f.SetUpRoles = func(ctx context.Context, tx *gorm.DB, kind tenants.Kind) error {
		return f.svc.SetUpRoles(ctx, tx, kind)
	}
	return f
}

// admin makes a new account that holds tn's admin role.
func (f *fixture) admin(tn tenants.Tenant, email string) uuid.UUID {
	f.T.Helper()
	return f.Staff(tn, email, "Admin "+email, policy.AdminRole(tn.Kind))
}

// invite invites email to tn as role, acting as inviter, and returns the token.
func (f *fixture) invite(tn tenants.Tenant, inviter uuid.UUID, email, role string) string {
	f.T.Helper()
	_, token, err := f.svc.InviteMember(as(tn, inviter), email, role)
	if err != nil {
		f.T.Fatalf("invite %s as %s: %v", email, role, err)
	}
	return token
}

// memberByEmail returns the member of tn with email, or false.
func (f *fixture) memberByEmail(tn tenants.Tenant, actor uuid.UUID, email string) (access.Member, bool) {
	f.T.Helper()
	ms, err := f.svc.Members(as(tn, actor))
	if err != nil {
		f.T.Fatal(err)
	}
	for _, m := range ms {
		if m.Email == email {
			return m, true
		}
	}
	return access.Member{}, false
}
