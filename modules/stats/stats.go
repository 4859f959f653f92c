// Package stats is the platform's national statistics: carer passports
// active and issued, skills competencies signed off and verifications, by
// kind of organisation and region and month by month, for the platform
// operator and, when the operator enables it, for anyone on a public page.
//
// Every figure is suppressed in the database before it reaches this package
// (migrations/00017_statistics.sql): a count below 5, zero included, reads
// "<5"; any other count is rounded to the nearest 5. The package never sees
// a raw count, so no page, download or API answer can show one.
package stats

import (
	"strconv"
	"time"

	"github.com/carepass/carepass/tenants"
)

// Figure is a count as published: "<5", or a multiple of 5.
type Figure string

// Small is how a suppressed count reads.
const Small Figure = "<5"

// Suppressed reports whether the count was below 5.
func (f Figure) Suppressed() bool { return f == Small }

// Value is the published number, for drawing: 0 when suppressed.
func (f Figure) Value() float64 {
	n, err := strconv.Atoi(string(f))
	if err != nil {
		return 0
	}
	return float64(n)
}

// Row is one line of the table by kind of organisation and region. Kind
// is empty on the grand total; Region is nil on a kind's subtotal and the
// grand total.
type Row struct {
	Kind            tenants.Kind
	Region          *string
	Organisations   Figure
	PassportsActive Figure
	PassportsIssued Figure
	SignedOff       Figure
	Verifications   Figure
}

// Total reports whether the row adds up a kind's regions or everything.
func (r Row) Total() bool { return r.Region == nil }

// KindLabel names the row's kind of organisation.
func (r Row) KindLabel() string {
	if r.Kind == "" {
		return "All organisations"
	}
	return r.Kind.Label()
}

// RegionLabel names the row's region.
func (r Row) RegionLabel() string {
	switch {
	case r.Region == nil:
		return "All regions"
	case *r.Region == "":
		return "Region not recorded"
	}
	return *r.Region
}

// Month is one calendar month (UK time) of national figures.
type Month struct {
	Month           time.Time // the first day, midnight in London
	PassportsIssued Figure
	SignedOff       Figure
	Verifications   Figure
}

// Snapshot is the national figures as computed at one time.
type Snapshot struct {
	ComputedAt time.Time
	Rows       []Row
	Months     []Month
}

// london is the zone months are counted in.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("stats: Europe/London: " + err.Error()) // embedded tzdata makes this unreachable
	}
	return loc
}()

// window is the twelve UK calendar months that end with the one now is in.
func window(now time.Time) (from, to time.Time) {
	y, m, _ := now.In(london).Date()
	return time.Date(y, m-11, 1, 0, 0, 0, 0, london), time.Date(y, m+1, 1, 0, 0, 0, 0, london)
}
