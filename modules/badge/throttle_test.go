package badge

import (
	"testing"
	"time"
)

func TestThrottleLimitsEachClientAndEveryone(t *testing.T) {
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	th := newThrottle(3, 4, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if !th.allow("a") {
			t.Fatalf("a's check %d refused", i+1)
		}
	}
	if th.allow("a") {
		t.Error("a's fourth check in a minute allowed")
	}
	if !th.allow("b") {
		t.Error("b refused for a's checks")
	}
	if th.allow("c") {
		t.Error("fifth check in a second allowed")
	}
	now = now.Add(time.Second)
	if !th.allow("c") || th.allow("a") {
		t.Error("next second: c refused, or a allowed within its minute")
	}
	now = now.Add(time.Minute)
	if !th.allow("a") {
		t.Error("a refused in the next minute")
	}
}
