package policy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
)

// snapshot is one domain's loaded policy. It is never changed after it is
// published: a reload or a re-check publishes a new snapshot, so readers
// need no lock and casbin's Enforce only ever runs on an enforcer that
// nothing mutates.
type snapshot struct {
	enf     *casbin.Enforcer
	members map[string]struct{} // subjects holding any role in the domain
	version int64               // policy_versions.version the rules reflect
	checked time.Time           // when version was last known to be current
	// decisions memoises casbin's answers for members. It lives and dies
	// with this immutable snapshot, so it can never outlast a policy change
	// (unlike casbin's own decision caches).
	decisions *memo
}

// memoKey is one decision; a struct key keeps lookups free of allocation,
// which matters because every allocation makes the collector walk the heap
// of every cached enforcer.
type memoKey struct {
	subject string
	p       Permission
}

// memo is a snapshot's decision memo.
type memo struct {
	mu sync.RWMutex
	m  map[memoKey]bool
}

func newMemo() *memo { return &memo{m: map[memoKey]bool{}} }

func (m *memo) get(k memoKey) (allowed, ok bool) {
	m.mu.RLock()
	allowed, ok = m.m[k]
	m.mu.RUnlock()
	return allowed, ok
}

func (m *memo) put(k memoKey, allowed bool) {
	m.mu.Lock()
	m.m[k] = allowed
	m.mu.Unlock()
}

// entry is one domain's slot in the cache. The goroutine that creates it
// loads the domain; others wait for ready.
type entry struct {
	domain   string
	ready    chan struct{}            // closed once the first load has finished
	err      error                    // the first load's error; written before ready is closed
	snap     atomic.Pointer[snapshot] // nil until the first load succeeds
	refresh  sync.Mutex               // one version re-check at a time
	lastUsed atomic.Int64             // the cache's clock at the last use
}

// lru is a bounded map from domain to entry that evicts the least recently
// used entry beyond its size. Entries still loading count towards the size.
// A hit takes only a read lock and stamps the entry; the scan for the
// oldest entry happens on a miss, which pays for a database load anyway.
// That keeps hits cheap at tens of thousands of tenants, where moving list
// nodes on every hit costs cache misses on shared memory.
type lru struct {
	mu    sync.RWMutex
	size  int
	clock atomic.Int64
	m     map[string]*entry
}

func newLRU(size int) *lru {
	return &lru{size: size, m: make(map[string]*entry, size)}
}

// getOrAdd returns domain's entry and marks it used. If there is none it
// adds a new, unloaded entry, evicting beyond the size, and reports created;
// the caller must then load it.
func (c *lru) getOrAdd(domain string) (ent *entry, created bool) {
	c.mu.RLock()
	ent, ok := c.m[domain]
	c.mu.RUnlock()
	if ok {
		ent.lastUsed.Store(c.clock.Add(1))
		return ent, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ent, ok := c.m[domain]; ok {
		ent.lastUsed.Store(c.clock.Add(1))
		return ent, false
	}
	ent = &entry{domain: domain, ready: make(chan struct{})}
	ent.lastUsed.Store(c.clock.Add(1))
	for len(c.m) >= c.size {
		var oldest *entry
		for _, e := range c.m {
			if oldest == nil || e.lastUsed.Load() < oldest.lastUsed.Load() {
				oldest = e
			}
		}
		delete(c.m, oldest.domain)
	}
	c.m[domain] = ent
	return ent, true
}

// remove drops domain's entry. If only is not nil, it drops the entry only
// if it is still that one.
func (c *lru) remove(domain string, only *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent, ok := c.m[domain]
	if !ok || (only != nil && ent != only) {
		return
	}
	delete(c.m, domain)
}

// clear drops every entry.
func (c *lru) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// len returns the number of entries.
func (c *lru) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
