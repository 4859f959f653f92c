package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/training"
)

// The demo's drop-in session must be valid whenever the demo is seeded:
// in the future, ending after it starts, even late in the evening.
func TestDropInSessionIsValidAtAnyTimeOfDay(t *testing.T) {
	tests := []struct{ now, date, start, end string }{
		{"2027-03-15T09:02:00Z", "2027-03-15", "09:40", "10:40"},
		{"2027-07-01T12:00:00Z", "2027-07-01", "13:40", "14:40"}, // BST: 13:00 in London
		{"2027-03-15T23:00:00Z", "2027-03-15", "23:40", "23:59"},
		{"2027-03-15T23:30:00Z", "2027-03-16", "00:10", "01:10"},
	}
	for _, tc := range tests {
		now, _ := time.Parse(time.RFC3339, tc.now)
		in := dropIn(uuid.Nil, now)
		if in.Date != tc.date || in.Start != tc.start || in.End != tc.end || !in.Public || *in.CutoffHours != 0 {
			t.Errorf("at %s: %s %s-%s public=%v", tc.now, in.Date, in.Start, in.End, in.Public)
		}
		start, _ := time.ParseInLocation("2006-01-02 15:04", in.Date+" "+in.Start, training.London)
		if d := start.Sub(now); d < 35*time.Minute || d > 45*time.Minute {
			t.Errorf("at %s: starts %v later", tc.now, d)
		}
	}
}
