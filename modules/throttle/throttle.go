// Package throttle limits how often something may be done, per client and
// in total, with token buckets held in memory: each process enforces its own
// limits, so a deployment of n processes allows at most n times the rates.
package throttle

import (
	"sync"
	"time"
)

// Limiter allows a client perMinute actions a minute (in a burst of up to
// that many) and everyone together perSecond a second. It is safe for
// concurrent use.
type Limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	rate      float64 // a client's tokens per second
	burst     float64 // a client's bucket size: a minute's allowance
	global    bucket
	gRate     float64
	clients   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxClients bounds the buckets kept; beyond it new clients share one.
const maxClients = 100000

// New returns a limiter reading the time from now.
func New(perMinute, globalPerSecond int, now func() time.Time) *Limiter {
	t := &Limiter{now: now, rate: float64(perMinute) / 60, burst: float64(perMinute),
		gRate: float64(globalPerSecond), clients: map[string]*bucket{}}
	t.global = bucket{tokens: t.gRate, at: now()}
	return t
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(burst, b.tokens+d*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Allow takes one action from client's allowance and the global one, and
// reports whether both had it. A refused action spends nothing.
func (t *Limiter) Allow(client string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > time.Minute {
		t.sweep(now)
	}
	b, ok := t.clients[client]
	if !ok {
		if len(t.clients) >= maxClients {
			client = "\x00overflow"
			if b, ok = t.clients[client]; !ok {
				b = &bucket{tokens: t.burst, at: now}
				t.clients[client] = b
			}
		} else {
			b = &bucket{tokens: t.burst, at: now}
			t.clients[client] = b
		}
	}
	// The client's allowance is checked first so that one client over its
	// limit does not spend everyone's.
	probe := *b
	if !probe.take(now, t.rate, t.burst) {
		*b = probe
		return false
	}
	if !t.global.take(now, t.gRate, t.gRate) {
		return false
	}
	*b = probe
	return true
}

// sweep forgets clients whose buckets have refilled: they are as new.
func (t *Limiter) sweep(now time.Time) {
	refill := time.Duration(t.burst / t.rate * float64(time.Second))
	for k, b := range t.clients {
		if now.Sub(b.at) > refill {
			delete(t.clients, k)
		}
	}
	t.lastSweep = now
}
