package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/tenants"
)

// fakeClock is a settable clock for MaxAge tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newMemEnforcers(t testing.TB, src *memSource, opts Options) *Enforcers {
	t.Helper()
	e, err := newEnforcers(src, opts)
	if err != nil {
		t.Fatalf("newEnforcers: %v", err)
	}
	return e
}

func mustAllowed(t testing.TB, e *Enforcers, domain, subject string, p Permission) bool {
	t.Helper()
	ok, err := e.Allowed(context.Background(), domain, subject, p)
	if err != nil {
		t.Fatalf("Allowed(%s, %s, %s): %v", domain, subject, p, err)
	}
	return ok
}

var (
	signoff = Permission{"signoff", "write"}
	billing = Permission{"billing", "manage"}
)

func TestCacheNeverExceedsItsSize(t *testing.T) {
	const size, domains, workers = 8, 50, 8
	src := newMemSource()
	var ds []string
	subject := uuid.NewString()
	for range domains {
		d := uuid.NewString()
		src.applyTemplates(d, tenants.KindPaediatricTrust)
		src.add(d, "g", subject, "assessor", d)
		ds = append(ds, d)
	}
	e := newMemEnforcers(t, src, Options{CacheSize: size})

	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range 100 {
				d := ds[(i*7+w*13)%domains]
				ok, err := e.Allowed(context.Background(), d, subject, signoff)
				if err != nil || !ok {
					errc <- fmt.Errorf("Allowed(%s) = %v, %v; want true", d, ok, err)
					return
				}
				if n := e.cache.len(); n > size {
					errc <- fmt.Errorf("cache holds %d entries, more than its size %d", n, size)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := e.cache.len(); n != size {
		t.Errorf("cache holds %d entries after use, want %d", n, size)
	}
}

func TestLRUEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newLRU(2)
	c.getOrAdd("a")
	c.getOrAdd("b")
	c.getOrAdd("a") // a is now the most recent
	c.getOrAdd("c") // evicts b
	if _, created := c.getOrAdd("a"); created {
		t.Error("a was evicted, want b")
	}
	if _, created := c.getOrAdd("b"); !created {
		t.Error("b was kept, want it evicted")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}

func TestEnforcersUseOnlyTheirDomain(t *testing.T) {
	src := newMemSource()
	a, b, s := uuid.NewString(), uuid.NewString(), uuid.NewString()
	src.applyTemplates(a, tenants.KindPaediatricTrust)
	src.applyTemplates(b, tenants.KindPaediatricTrust)
	src.add(a, "g", s, "assessor", a)
	src.add(b, "g", s, "tenant_admin", b)
	e := newMemEnforcers(t, src, Options{})

	if !mustAllowed(t, e, a, s, signoff) {
		t.Error("assessor in A may not sign off")
	}
	if mustAllowed(t, e, a, s, billing) {
		t.Error("admin role in B gives billing in A")
	}
	if !mustAllowed(t, e, b, s, billing) {
		t.Error("admin in B may not manage billing")
	}
	if mustAllowed(t, e, a, uuid.NewString(), signoff) {
		t.Error("an account with no role is allowed")
	}
}

func TestMaxAgeRechecksTheVersionWithoutAListener(t *testing.T) {
	src := newMemSource()
	d, s := uuid.NewString(), uuid.NewString()
	src.applyTemplates(d, tenants.KindCareHome)
	src.add(d, "g", s, "assessor", d)
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newMemEnforcers(t, src, Options{MaxAge: 5 * time.Second})
	e.now = clock.now

	if !mustAllowed(t, e, d, s, signoff) {
		t.Fatal("assessor may not sign off")
	}
	src.removeGroup(d, s, "assessor")

	clock.advance(4 * time.Second)
	if !mustAllowed(t, e, d, s, signoff) {
		t.Fatal("the cached enforcer was re-checked before MaxAge")
	}
	if n := src.versionQ.Load(); n != 0 {
		t.Fatalf("version asked %d times before MaxAge", n)
	}
	clock.advance(2 * time.Second)
	if mustAllowed(t, e, d, s, signoff) {
		t.Error("a removed role still allows after MaxAge")
	}
	loads := src.loads.Load()
	clock.advance(6 * time.Second)
	mustAllowed(t, e, d, s, signoff)
	if src.loads.Load() != loads {
		t.Error("an unchanged version reloaded the domain")
	}
}

func TestInvalidateDropsTheCachedDecisionAtOnce(t *testing.T) {
	src := newMemSource()
	d, s := uuid.NewString(), uuid.NewString()
	src.applyTemplates(d, tenants.KindCareHome)
	src.add(d, "g", s, "assessor", d)
	e := newMemEnforcers(t, src, Options{MaxAge: time.Hour})
	if ok, _ := e.HasAnyRole(context.Background(), d, s); !ok || !mustAllowed(t, e, d, s, signoff) {
		t.Fatal("assessor is not a member or may not sign off")
	}
	src.removeGroup(d, s, "assessor")
	e.Invalidate(d)
	if mustAllowed(t, e, d, s, signoff) {
		t.Error("a removed role still allows after Invalidate")
	}
	if ok, _ := e.HasAnyRole(context.Background(), d, s); ok {
		t.Error("an account with no role left is still a member")
	}
}

func TestFailedLoadsAreNotCached(t *testing.T) {
	src := newMemSource()
	d, s := uuid.NewString(), uuid.NewString()
	src.applyTemplates(d, tenants.KindCareHome)
	src.add(d, "g", s, "assessor", d)
	e := newMemEnforcers(t, src, Options{})
	boom := errors.New("database down")
	src.setFail(boom)
	if _, err := e.Allowed(context.Background(), d, s, signoff); !errors.Is(err, boom) {
		t.Fatalf("Allowed error = %v, want %v", err, boom)
	}
	src.setFail(nil)
	if !mustAllowed(t, e, d, s, signoff) {
		t.Error("a failed load was cached")
	}
}

func TestAbandonedLoadIsRetriedByWaiters(t *testing.T) {
	src := newMemSource()
	d, s := uuid.NewString(), uuid.NewString()
	src.applyTemplates(d, tenants.KindCareHome)
	src.add(d, "g", s, "assessor", d)
	e := newMemEnforcers(t, src, Options{})

	// The first request's context is already gone when it loads.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Allowed(gone, d, s, signoff); !errors.Is(err, context.Canceled) {
		t.Fatalf("Allowed on a cancelled context = %v", err)
	}
	if !mustAllowed(t, e, d, s, signoff) {
		t.Error("the next request did not load again")
	}
}

// TestConcurrentDecisionsDuringReloads is for the race detector: decisions
// and invalidations at once must never touch a shared enforcer unsafely.
func TestConcurrentDecisionsDuringReloads(t *testing.T) {
	src := newMemSource()
	d, s := uuid.NewString(), uuid.NewString()
	src.applyTemplates(d, tenants.KindPaediatricTrust)
	src.add(d, "g", s, "assessor", d)
	e := newMemEnforcers(t, src, Options{CacheSize: 2, MaxAge: time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !mustAllowed(t, e, d, s, signoff) {
					t.Error("assessor denied")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			e.Invalidate(d)
			src.add(d, "g", uuid.NewString(), "trainer", d)
			if i%50 == 0 {
				e.InvalidateAll()
			}
		}
	})
	wg.Wait()
}

func TestAllowedNeedsADomain(t *testing.T) {
	e := newMemEnforcers(t, newMemSource(), Options{})
	if _, err := e.Allowed(context.Background(), "", uuid.NewString(), signoff); err == nil {
		t.Error("Allowed without a domain did not fail")
	}
	if ok := mustAllowed(t, e, uuid.NewString(), "", signoff); ok {
		t.Error("an empty subject is allowed")
	}
	if err := e.Listen(context.Background()); err == nil {
		t.Error("Listen without a pool did not fail")
	}
}
