package ical

import (
	"testing"
	"time"
)

// TestRepeatedAgainstBruteForce compares repeated with its definition, every
// quarter of an hour of every March and October (the months London's clocks
// change) from MinYear to 2100: a London wall-clock time is repeated when
// the instant an hour earlier or later shows the same one.
func TestRepeatedAgainstBruteForce(t *testing.T) {
	wall := func(t time.Time) time.Time {
		_, off := t.In(london).Zone()
		return t.Add(time.Duration(off) * time.Second)
	}
	var n int
	for year := MinYear; year <= 2100; year++ {
		for _, month := range []time.Month{time.March, time.October} {
			end := time.Date(year, month+1, 1, 0, 0, 0, 0, time.UTC)
			for at := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC); at.Before(end); at = at.Add(15 * time.Minute) {
				w := wall(at)
				want := wall(at.Add(-time.Hour)).Equal(w) || wall(at.Add(time.Hour)).Equal(w)
				if got := repeated(at.In(london)); got != want {
					t.Fatalf("repeated(%s = %s London) = %v, want %v", at, w.Format(localFormat), got, want)
				}
				if want {
					n++
				}
			}
		}
	}
	// two hours a year (before and after the clocks go back), four quarters
	// each
	if want := (2100 - MinYear + 1) * 2 * 4; n != want {
		t.Errorf("%d repeated quarter-hours, want %d", n, want)
	}
}
