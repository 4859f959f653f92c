package badge

import (
	"sync"
	"time"
)

// Verification limits: per client address, and for everyone together.
// Each node keeps its own counts in memory.
const (
	verifyPerMinute = 60
	verifyPerSecond = 200
	// maxTracked bounds the clients tracked; beyond it the counts restart.
	maxTracked = 50000
)

// throttle counts verifications in fixed one-minute windows per client and
// one-second windows overall. Coarse, but cheap and bounded: verification
// is an Ed25519 check and a status lookup, and the limit only has to stop a
// client from making the service do that without end.
type throttle struct {
	mu        sync.Mutex
	now       func() time.Time
	perClient int
	global    int

	window  time.Time // start of the current minute
	clients map[string]int
	second  time.Time // start of the current second
	inSec   int
}

func newThrottle(perMinute, perSecond int, now func() time.Time) *throttle {
	return &throttle{now: now, perClient: perMinute, global: perSecond, clients: map[string]int{}}
}

// allow counts one verification by client and reports whether it is within
// both limits. A refused request is not counted against the global limit.
func (t *throttle) allow(client string) bool {
	now := t.now()
	minute, second := now.Truncate(time.Minute), now.Truncate(time.Second)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !minute.Equal(t.window) || len(t.clients) >= maxTracked {
		t.window = minute
		clear(t.clients)
	}
	if !second.Equal(t.second) {
		t.second, t.inSec = second, 0
	}
	if t.clients[client] >= t.perClient || t.inSec >= t.global {
		return false
	}
	t.clients[client]++
	t.inSec++
	return true
}
