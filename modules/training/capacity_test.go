package training_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/training"
)

func staffCapRow(t *testing.T, c training.Capacity, code string) training.CapacityRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Code == code {
			return r
		}
	}
	t.Fatalf("no row for %s in %+v", code, c.Rows)
	return training.CapacityRow{}
}

// TestAssessorCapacityCountsNeedAgainstAssessorsAtTheWindowsEdges: the
// clock stands at midnight in London in winter, so that six weeks on is
// itself a London midnight, when a competency can lapse and a session can
// start exactly at the end of the window.
func TestAssessorCapacityCountsNeedAgainstAssessorsAtTheWindowsEdges(t *testing.T) {
	f := newFixture(t)
	now := staffLondon(2027, 1, 4) // 00:00 GMT; six weeks on is 00:00 on 15 February
	f.clock.Set(now)
	comps := f.Catalogue(f.trust, "cap",
		moduletest.Competency{Code: "CAP-01", Practices: 2}, moduletest.Competency{Code: "CAP-02"},
		moduletest.Competency{Code: "CAP-03"},
		moduletest.Competency{Code: "CAP-A1", Kind: "assessor", Covers: []string{"CAP-01", "CAP-03"}},
		moduletest.Competency{Code: "CAP-A2", Kind: "assessor", Covers: []string{"CAP-02"}})
	rec := func(comp string, r moduletest.Record) uuid.UUID {
		h := f.Holder(f.trust, "Person", comp, uuid.Nil)
		f.Record(f.trust, h, comps[comp], r)
		return h
	}
	signed := func(y int, m time.Month, d int) moduletest.Record {
		return moduletest.Record{State: "competent", SignedOff: staffPtr(staffLondon(y, m, d)), Assessor: "X"}
	}
	// CAP-01 (two observed practices): one ready, one not yet.
	rec("CAP-01", moduletest.Record{State: "supervised_practice", Practices: 2})
	rec("CAP-01", moduletest.Record{State: "supervised_practice", Practices: 1})
	rec("CAP-01", moduletest.Record{State: "enrolled"})
	// Expiring: on the last day of the window (in), the day after (out),
	// at this very moment (already expired, out) and tomorrow (in).
	rec("CAP-01", signed(2026, 2, 15))
	rec("CAP-01", signed(2026, 2, 16))
	rec("CAP-01", signed(2026, 1, 4))
	rec("CAP-01", signed(2026, 1, 5))
	// Marked for re-assessment (a changed care prescription).
	reassess := signed(2026, 6, 1)
	reassess.Reassess = true
	rec("CAP-01", reassess)
	// Ready, but no longer with the organisation; and suspended: neither counts.
	gone := rec("CAP-01", moduletest.Record{State: "supervised_practice", Practices: 5})
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = ?`, f.trust.ID, gone).Error
	})
	rec("CAP-01", moduletest.Record{State: "suspended", SignedOff: staffPtr(staffLondon(2026, 6, 1))})
	// CAP-02 (no practices required): ready straight after training.
	rec("CAP-02", moduletest.Record{State: "training_attended"})

	// Assessors of CAP-01 and CAP-03: current all window; lapsing in it;
	// lapsed this moment; one suspended.
	rec("CAP-A1", signed(2026, 6, 1))
	rec("CAP-A1", signed(2026, 1, 20))
	rec("CAP-A1", signed(2026, 1, 4))
	rec("CAP-A1", moduletest.Record{State: "suspended", SignedOff: staffPtr(staffLondon(2026, 6, 1))})
	// Nobody assesses CAP-02: its assessor left.
	left := rec("CAP-A2", signed(2026, 6, 1))
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = ?`, f.trust.ID, left).Error
	})

	// Sign-off sessions: one starting exactly at the end of the window (in),
	// one a minute later (out), one cancelled (out); a taught session (out).
	course := func(title string, signOff bool, codes ...string) training.Course {
		var ids []uuid.UUID
		for _, c := range codes {
			ids = append(ids, comps[c])
		}
		c, err := f.svc.CreateCourse(f.ctx(), training.CourseInput{Title: title, Format: training.FormatClassroom,
			DurationMinutes: 60, Audience: training.AudienceAny, DefaultCapacity: 3, SignOff: signOff, Competencies: ids})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	session := func(c training.Course, date, start string, capacity int) training.Session {
		list, err := f.svc.CreateSessions(f.ctx(), training.SessionInput{CourseID: c.ID, Date: date, Start: start, End: "01:30",
			Location: "Skills lab", Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		return list[0]
	}
	assess := course("CAP assessment", true, "CAP-01", "CAP-03")
	session(assess, "2027-02-15", "00:00", 2)
	session(assess, "2027-02-15", "00:01", 5)
	gone2 := session(assess, "2027-01-20", "00:00", 7)
	if err := f.svc.CancelSession(f.ctx(), gone2.ID); err != nil {
		t.Fatal(err)
	}
	session(course("CAP training", false, "CAP-01"), "2027-01-20", "00:00", 9)

	got, err := f.svc.AssessorCapacity(f.ctx(), 6)
	if err != nil {
		t.Fatal(err)
	}
	if !got.To.Equal(staffLondon(2027, 2, 15)) || got.Weeks != 6 {
		t.Fatalf("window %s to %s", got.From, got.To)
	}
	one := staffCapRow(t, got, "CAP-01")
	want := training.CapacityRow{Code: "CAP-01", Title: "Title of CAP-01", Ready: 1, Reassessment: 1, Expiring: 2, Need: 4,
		Assessors: 2, Lapsing: 1, Sessions: 1, Places: 2, Unstaffed: 1, Shortfall: 2, Bottleneck: true,
		Reason: "2 more sign-offs needed than places on sign-off sessions"}
	if one != want {
		t.Fatalf("CAP-01:\n got %+v\nwant %+v", one, want)
	}
	two := staffCapRow(t, got, "CAP-02")
	if two.Need != 1 || two.Assessors != 0 || !two.Bottleneck || !strings.Contains(two.Reason, "Nobody holds") {
		t.Fatalf("CAP-02: %+v", two)
	}
	three := staffCapRow(t, got, "CAP-03")
	if three.Need != 0 || three.Places != 2 || three.Assessors != 2 || three.Bottleneck {
		t.Fatalf("CAP-03: %+v", three)
	}
	if len(got.Rows) != 3 || got.Rows[0].Code != "CAP-02" || got.Rows[1].Code != "CAP-01" || got.Bottlenecks != 2 {
		t.Fatalf("worst first: %+v", got.Rows)
	}

	// A second earlier, the window ends a second before 15 February: the
	// expiry and the session at its end fall out, and the competencies
	// lapsing on 4 January are still current, so expiring, and an assessor.
	f.clock.Set(now.Add(-time.Second))
	got, err = f.svc.AssessorCapacity(f.ctx(), 6)
	if err != nil {
		t.Fatal(err)
	}
	one = staffCapRow(t, got, "CAP-01")
	if one.Expiring != 2 || one.Need != 4 || one.Places != 0 || one.Sessions != 0 || one.Assessors != 3 || one.Lapsing != 2 ||
		one.Shortfall != 4 {
		t.Fatalf("CAP-01 a second earlier: %+v", one)
	}
	if _, ok := func() (training.CapacityRow, bool) {
		for _, r := range got.Rows {
			if r.Code == "CAP-03" {
				return r, true
			}
		}
		return training.CapacityRow{}, false
	}(); ok {
		t.Fatalf("CAP-03 has neither need nor places a second earlier, yet is listed: %+v", got.Rows)
	}

	for _, weeks := range []int{0, 27} {
		if _, err := f.svc.AssessorCapacity(f.ctx(), weeks); !errs.Is(err, errs.Invalid) {
			t.Fatalf("%d weeks: %v", weeks, err)
		}
	}
	if ev := f.LastEvent(f.trust, "training.assessor_capacity"); ev.Detail["weeks"] != "6" {
		t.Fatalf("capacity read audited as %+v", ev)
	}

	// Over the web: the bottlenecks come first, and a bad window is 422.
	f.clock.Set(now)
	s := staffSite(t, f)
	b := staffBrowser(t, s, f.admin)
	r := b.Get("/t/trust/training/assessor-capacity")
	staffExpect(t, r, 200, "2 bottlenecks", "CAP-02", "Nobody holds a current assessor competency covering it", "from 4 January 2027 to 15 February 2027")
	if strings.Index(r.Body, "CAP-02") > strings.Index(r.Body, "CAP-01<br>") {
		t.Fatal("CAP-02 should be listed before CAP-01")
	}
	staffExpect(t, b.Get("/t/trust/training/assessor-capacity?weeks=27"), 422, `href="#weeks"`)
	staffExpect(t, b.API("GET", "/api/v1/t/trust/training/assessor-capacity?weeks=2", ""), 200, `"weeks":2`, `"code":"CAP-02"`)
}
