package training_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/training"
)

// staffLondon is a London wall-clock time, for sign-off dates.
func staffLondon(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, training.London)
}

// staffEntry finds the pipeline entry of a holder's competency.
func staffEntry(t *testing.T, list []training.PipelineEntry, holder uuid.UUID, code string) training.PipelineEntry {
	t.Helper()
	for _, e := range list {
		if e.HolderID == holder && e.Code == code {
			return e
		}
	}
	t.Fatalf("no %s entry for %s in %+v", code, holder, list)
	return training.PipelineEntry{}
}

func staffHas(list []training.PipelineEntry, holder uuid.UUID) bool {
	for _, e := range list {
		if e.HolderID == holder {
			return true
		}
	}
	return false
}

func TestPipelineShowsWhoIsWorkingTowardsTrainingAndAssessing(t *testing.T) {
	f := newFixture(t)
	extra := f.Catalogue(f.trust, "staff-dev",
		moduletest.Competency{Code: "ST-T01", Kind: "trainer", Practices: 2, Covers: []string{"PCC-01"}})
	person := func(given string) uuid.UUID { return f.Holder(f.trust, given, "Holder", uuid.Nil) }
	rec := func(h uuid.UUID, comp uuid.UUID, r moduletest.Record) { f.Record(f.trust, h, comp, r) }

	// Signed off on 20 March 2026 for 12 months: current until the start
	// of 20 March 2027 in London, so within 60 days of the clock.
	ann := person("Ann")
	rec(ann, f.comps["PCC-T01"], moduletest.Record{State: "competent", SignedOff: staffPtr(staffLondon(2026, 3, 20)), Assessor: "X"})
	// Signed off on 15 March 2026: lapses at the start of 15 March 2027.
	bea := person("Bea")
	rec(bea, f.comps["PCC-A01"], moduletest.Record{State: "competent", SignedOff: staffPtr(staffLondon(2026, 3, 15)), Assessor: "X"})
	cal := person("Cal")
	rec(cal, extra["ST-T01"], moduletest.Record{State: "supervised_practice", Practices: 1})
	dee := person("Dee")
	rec(dee, f.comps["PCC-T02"], moduletest.Record{State: "enrolled"})
	eve := person("Eve")
	rec(eve, extra["ST-T01"], moduletest.Record{State: "supervised_practice", Practices: 2})
	// Not in the pipeline: a skill, a revoked trainer, a trainer who left.
	skill := person("Sid")
	rec(skill, f.comps["PCC-01"], moduletest.Record{State: "supervised_practice"})
	revoked := person("Rev")
	rec(revoked, f.comps["PCC-T01"], moduletest.Record{State: "revoked"})
	left := person("Lee")
	rec(left, f.comps["PCC-T01"], moduletest.Record{State: "competent", SignedOff: staffPtr(staffLondon(2026, 9, 1)), Assessor: "X"})
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = ?`, f.trust.ID, left).Error
	})

	// One second before Bea's assessor competency lapses.
	f.clock.Set(staffLondon(2027, 3, 15).Add(-time.Second))
	p, err := f.svc.TrainerPipeline(f.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Current) != 2 || p.Current[0].HolderID != bea || p.Current[1].HolderID != ann {
		t.Fatalf("current, soonest to lapse first: %+v", p.Current)
	}
	a := staffEntry(t, p.Current, ann, "PCC-T01")
	if a.Kind != "trainer" || strings.Join(a.Covers, ",") != "PCC-01,PCC-02" || !a.ExpiresSoon ||
		!a.ExpiresAt.Equal(staffLondon(2027, 3, 20)) || a.StateLabel != "Current" {
		t.Fatalf("Ann: %+v", a)
	}
	for _, h := range []uuid.UUID{skill, revoked, left} {
		if staffHas(p.Current, h) || staffHas(p.InProgress, h) {
			t.Fatalf("holder %s should not be in the pipeline: %+v", h, p)
		}
	}

	// At the moment it lapses, Bea is re-qualifying, not current.
	f.clock.Set(staffLondon(2027, 3, 15))
	if p, err = f.svc.TrainerPipeline(f.ctx()); err != nil {
		t.Fatal(err)
	}
	if len(p.Current) != 1 || p.Current[0].HolderID != ann {
		t.Fatalf("current at Bea's expiry: %+v", p.Current)
	}
	b := staffEntry(t, p.InProgress, bea, "PCC-A01")
	if b.State != "expired" || b.Kind != "assessor" || !strings.HasPrefix(b.Next, "Expired on 15 March 2027") {
		t.Fatalf("Bea at expiry: %+v", b)
	}
	// Closest to appointment first: Eve has done her practices, Cal has
	// one of two, Dee has only enrolled.
	var order []string
	for _, e := range p.InProgress {
		order = append(order, e.HolderName)
	}
	if got := strings.Join(order, ", "); got != "Eve Holder, Cal Holder, Bea Holder, Dee Holder" {
		t.Fatalf("in progress order: %s", got)
	}
	if e := staffEntry(t, p.InProgress, eve, "ST-T01"); e.Stage != training.PipelineStages || e.Next != "Ready to be appointed" {
		t.Fatalf("Eve: %+v", e)
	}
	if c := staffEntry(t, p.InProgress, cal, "ST-T01"); c.Stage != 3 || c.Next != "Observed practice: 1 of 2 done" ||
		strings.Join(c.Covers, ",") != "PCC-01" {
		t.Fatalf("Cal: %+v", c)
	}
	if d := staffEntry(t, p.InProgress, dee, "PCC-T02"); d.Stage != 1 || d.StateLabel != "Enrolled" || d.ExpiresAt != nil {
		t.Fatalf("Dee: %+v", d)
	}
	// 60 days is the edge of "expires soon": on 19 January Ann is flagged,
	// a day earlier she is not.
	f.clock.Set(staffLondon(2027, 1, 19))
	p, _ = f.svc.TrainerPipeline(f.ctx())
	if a := staffEntry(t, p.Current, ann, "PCC-T01"); !a.ExpiresSoon {
		t.Fatalf("Ann 60 days before expiry: %+v", a)
	}
	f.clock.Set(staffLondon(2027, 1, 18))
	p, _ = f.svc.TrainerPipeline(f.ctx())
	if a := staffEntry(t, p.Current, ann, "PCC-T01"); a.ExpiresSoon {
		t.Fatalf("Ann 61 days before expiry: %+v", a)
	}
	if ev := f.LastEvent(f.trust, "training.pipeline"); ev.Detail["records"] != "5" {
		t.Fatalf("pipeline read audited as %+v", ev)
	}
}

func staffPtr(t time.Time) *time.Time { return &t }

// TestPipelineExpiryIsThePassportsExpiry: the views work expiry out in
// SQL; it must be the date the passport shows, at month ends and across
// the clock changes.
func TestPipelineExpiryIsThePassportsExpiry(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.trust, "expiry",
		moduletest.Competency{Code: "EX-T01", Kind: "trainer", Months: 1, Covers: []string{"PCC-01"}},
		moduletest.Competency{Code: "EX-T13", Kind: "trainer", Months: 13, Covers: []string{"PCC-01"}})
	f.clock.Set(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	signedOn := []time.Time{
		time.Date(2026, 1, 31, 12, 0, 0, 0, training.London),  // 31 January + 1 month: 28 February
		time.Date(2026, 3, 29, 0, 30, 0, 0, training.London),  // just after the clocks go forward
		time.Date(2026, 10, 25, 0, 30, 0, 0, training.London), // 00:30 BST: still 25 October in London
		time.Date(2026, 3, 28, 23, 59, 0, 0, time.UTC),        // 29 March in London
	}
	for _, code := range []string{"EX-T01", "EX-T13"} {
		months := map[string]int{"EX-T01": 1, "EX-T13": 13}[code]
		for i, at := range signedOn {
			h := f.Holder(f.trust, code, string(rune('A'+i)), uuid.Nil)
			f.Record(f.trust, h, comps[code], moduletest.Record{State: "competent", SignedOff: staffPtr(at), Assessor: "X"})
			p, err := f.svc.TrainerPipeline(f.ctx())
			if err != nil {
				t.Fatal(err)
			}
			got := staffEntry(t, p.Current, h, code).ExpiresAt
			if want := record.ExpiresAt(at, months); got == nil || !got.Equal(want) {
				t.Errorf("%s signed off %s: expires %v, the passport says %s", code, at, got, want)
			}
		}
	}
}
