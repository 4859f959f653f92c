package register_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/register"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// as returns a context acting as an account in a tenant.
var as = moduletest.As

// fixture is a database with the register service over it; its tenants'
// roles and members are made through the access service.
type fixture struct {
	*moduletest.Env
	clock    *moduletest.Clock
	access   *access.Service
	register *register.Service
	checker  *fakeChecker
}

// newFixture starts the clock at start (the real time when zero).
func newFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock, checker: &fakeChecker{valid: map[string]register.CheckResult{}}}
	f.access = access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, nil, clock.Now)
	f.register = register.NewService(f.Scoped, f.Log, clock.Now)
	f.SetUpRoles, f.AddMember = f.access.SetUpRoles, f.access.AddMember
	return f
}

// practice makes a GP practice tenant and an account holding its
// administrator role.
func (f *fixture) practice(slug string) (tenants.Tenant, uuid.UUID) {
	f.T.Helper()
	tn := f.Tenant(slug, tenants.KindGPPractice)
	admin := f.Staff(tn, "admin@"+slug+".example", "Admin "+slug, policy.AdminRole(tn.Kind))
	return tn, admin
}

// add records an entry in tn as actor, failing the test on an error.
func (f *fixture) add(tn tenants.Tenant, actor uuid.UUID, in register.Input) register.Entry {
	f.T.Helper()
	e, err := f.register.Add(as(tn, actor), in)
	if err != nil {
		f.T.Fatalf("add %s %s: %v", in.GivenName, in.FamilyName, err)
	}
	return e
}

// entries counts tn's register entries.
func (f *fixture) entries(tn tenants.Tenant) int64 {
	f.T.Helper()
	return f.Rows(tn, "carer_register_entries", "")
}

// actions returns the actions of tn's audit trail that start with prefix.
func (f *fixture) actions(tn tenants.Tenant, prefix string) []string {
	f.T.Helper()
	var out []string
	for _, e := range f.Events(tn) {
		if strings.HasPrefix(e.Action, prefix) {
			out = append(out, e.Action)
		}
	}
	return out
}

func date(s string) register.Date { return register.DateFromISO(s) }

// valid is an input that passes validation, recorded on recorded.
func valid(given, family, recorded string) register.Input {
	return register.Input{GivenName: given, FamilyName: family, SNOMEDCode: "302767002", RecordedOn: date(recorded)}
}

// fakeChecker confirms the codes it knows, and no other.
type fakeChecker struct {
	mu    sync.Mutex
	valid map[string]register.CheckResult
	calls int
}

func (c *fakeChecker) Check(_ context.Context, code string) (register.CheckResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if r, ok := c.valid[strings.TrimSpace(code)]; ok {
		return r, nil
	}
	return register.CheckResult{}, nil
}

func (c *fakeChecker) set(code string, r register.CheckResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Confirmed {
		c.valid[code] = r
	} else {
		delete(c.valid, code)
	}
}
