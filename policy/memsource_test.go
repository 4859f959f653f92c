package policy

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/carepass/carepass/tenants"
)

// memSource is a source of rules held in memory, for tests that do not need
// Postgres and for the benchmarks.
type memSource struct {
	mu       sync.Mutex
	lines    map[string][][]string
	versions map[string]int64
	fail     error // returned by every call while set

	loads    atomic.Int64
	versionQ atomic.Int64
}

func newMemSource() *memSource {
	return &memSource{lines: map[string][][]string{}, versions: map[string]int64{}}
}

// add stores a rule of domain and bumps the domain's version.
func (m *memSource) add(domain string, line ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines[domain] = append(m.lines[domain], line)
	m.versions[domain]++
}

// removeGroup deletes the g rule (subject, role) of domain and bumps the version.
func (m *memSource) removeGroup(domain, subject, role string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var kept [][]string
	for _, l := range m.lines[domain] {
		if l[0] == "g" && l[1] == subject && l[2] == role {
			continue
		}
		kept = append(kept, l)
	}
	m.lines[domain] = kept
	m.versions[domain]++
}

// applyTemplates stores the p rules of kind's template roles in domain.
func (m *memSource) applyTemplates(domain string, kind tenants.Kind) {
	for _, t := range Templates(kind) {
		for _, p := range t.Permissions {
			m.add(domain, "p", t.Key, domain, p.Object, p.Action)
		}
	}
}

func (m *memSource) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func (m *memSource) rules(ctx context.Context, domain string) ([][]string, int64, error) {
	m.loads.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	out := make([][]string, len(m.lines[domain]))
	copy(out, m.lines[domain])
	return out, m.versions[domain], nil
}

func (m *memSource) version(ctx context.Context, domain string) (int64, error) {
	m.versionQ.Add(1)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	return m.versions[domain], nil
}
