package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/tenants"
)

// BenchmarkAllowed measures a decision on a warm cache for random (tenant,
// account, permission) triples. BenchmarkEnforceCold measures casbin's own
// evaluation, which each triple pays once per policy snapshot. Each tenant has the paediatric trust's
// template roles and 20 accounts holding them; the cache holds every tenant.
// A decision should cost about the same at 10,000 tenants as at 10, since
// each enforcer holds only its own tenant's rules.
func BenchmarkAllowed(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) { benchAllowed(b, n) })
	}
}

func benchAllowed(b *testing.B, tenantCount int) {
	const subjectsPerTenant = 20
	ctx := context.Background()
	src := newMemSource()
	roles := Templates(tenants.KindPaediatricTrust)
	domains := make([]string, tenantCount)
	subjects := make([][]string, tenantCount)
	for i := range domains {
		d := uuid.NewString()
		domains[i] = d
		src.applyTemplates(d, tenants.KindPaediatricTrust)
		for j := range subjectsPerTenant {
			s := uuid.NewString()
			subjects[i] = append(subjects[i], s)
			src.add(d, "g", s, roles[j%len(roles)].Key, d)
		}
	}
	// MaxAge is long so the measurement is of cached decisions only.
	e, err := newEnforcers(src, Options{CacheSize: tenantCount, MaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	heapBefore := heapInUse()
	for i, d := range domains {
		for _, s := range subjects[i] {
			if _, err := e.Allowed(ctx, d, s, Permission{"dashboard", "read"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if got := e.cache.len(); got != tenantCount {
		b.Fatalf("cache holds %d tenants after warming, want %d", got, tenantCount)
	}
	heapPerTenant := float64(heapInUse()-heapBefore) / float64(tenantCount)

	type query struct {
		domain, subject string
		p               Permission
	}
	cat := Catalogue()
	rng := rand.New(rand.NewPCG(1, 2))
	queries := make([]query, 1<<16)
	for i := range queries {
		t := rng.IntN(tenantCount)
		queries[i] = query{
			domain:  domains[t],
			subject: subjects[t][rng.IntN(subjectsPerTenant)],
			p:       cat[rng.IntN(len(cat))].Permission,
		}
	}
	// Every query is asked once before timing: the measurement is of a
	// steady state in which each (account, permission) has been decided by
	// casbin once in the current snapshot and is then answered from the
	// snapshot's memo, as for a signed-in user moving between pages.
	for _, q := range queries {
		if _, err := e.Allowed(ctx, q.domain, q.subject, q.p); err != nil {
			b.Fatal(err)
		}
	}
	loads := src.loads.Load()

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := queries[i&(len(queries)-1)]
		if _, err := e.Allowed(ctx, q.domain, q.subject, q.p); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	b.ReportMetric(heapPerTenant, "heapB/tenant")
	if src.loads.Load() != loads {
		b.Errorf("the cache reloaded %d times while measuring", src.loads.Load()-loads)
	}
}

// heapInUse returns the bytes of live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkEnforceCold measures casbin's evaluation of one decision against a
// tenant's rules, without the snapshot's memo: the cost of a first decision.
func BenchmarkEnforceCold(b *testing.B) {
	ctx := context.Background()
	src := newMemSource()
	d := uuid.NewString()
	src.applyTemplates(d, tenants.KindPaediatricTrust)
	s := uuid.NewString()
	src.add(d, "g", s, "assessor", d)
	e, err := newEnforcers(src, Options{CacheSize: 4, MaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	snap, err := e.snapshot(ctx, d)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := snap.enf.Enforce(s, d, "signoff", "write"); err != nil {
			b.Fatal(err)
		}
	}
}
