package throttle_test

import (
	"testing"
	"time"

	"github.com/carepass/carepass/modules/throttle"
)

func TestThrottleLimitsEachClientAndEveryone(t *testing.T) {
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	th := throttle.New(3, 4, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if !th.Allow("a") {
			t.Fatalf("a's check %d refused", i+1)
		}
	}
	if th.Allow("a") {
		t.Error("a's fourth check in a minute allowed")
	}
	if !th.Allow("b") {
		t.Error("b refused for a's checks")
	}
	if th.Allow("c") {
		t.Error("fifth check in a second allowed")
	}
	now = now.Add(time.Second)
	if !th.Allow("c") || th.Allow("a") {
		t.Error("next second: c refused, or a allowed within its minute")
	}
	now = now.Add(time.Minute)
	if !th.Allow("a") {
		t.Error("a refused in the next minute")
	}
}
