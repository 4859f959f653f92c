package record_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
)

var london, _ = time.LoadLocation("Europe/London")

// TestExpiryIsCalendarMonthsInLondonDates checks the expiry date rule.
func TestExpiryIsCalendarMonthsInLondonDates(t *testing.T) {
	cases := []struct {
		name      string
		signedOff time.Time
		months    int
		want      string
	}{
		{"31 January plus one month is the end of February", time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), 1, "2026-02-28"},
		{"leap years keep 29 February", time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC), 1, "2024-02-29"},
		{"31 March plus one month is 30 April", time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), 1, "2026-04-30"},
		{"a year is the same date next year", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), 12, "2027-01-15"},
		{"months carry into the next year", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), 4, "2027-02-28"},
		{"late evening UTC in summer is the next London day", time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC), 1, "2026-08-01"},
		{"late evening UTC in winter is the same London day", time.Date(2026, 1, 30, 23, 30, 0, 0, time.UTC), 1, "2026-02-28"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := record.ExpiresAt(c.signedOff, c.months)
			if d := got.In(london).Format(time.DateOnly); d != c.want {
				t.Errorf("expires %s, want %s", d, c.want)
			}
			if h, m, _ := got.In(london).Clock(); h != 0 || m != 0 {
				t.Errorf("expires at %s, want the start of the London day", got.In(london))
			}
		})
	}
}

// TestStateIsDerivedFromTheClockAtReadTime signs off a one-month
// competency on 31 January 2026 and reads it as the clock moves: nothing
// derived is stored, so the same row reads differently at each time.
func TestStateIsDerivedFromTheClockAtReadTime(t *testing.T) {
	w := newWorld(t, record.Config{DueWindowDays: 7})
	h := w.learner("Cal Clock")
	signed := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	w.clock.Set(signed)
	id := w.insertRecord(w.tn, h, w.comp["PCC-03"], rec{state: record.TrainingAttended})
	if _, err := w.svc.Transition(as(w.tn, w.assessor), id, record.TransitionInput{Action: record.ActSignOff, Setting: "home"}); err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2026, 2, 28, 0, 0, 0, 0, london)
	cases := []struct {
		name string
		at   time.Time
		want record.State
	}{
		{"current on the day of sign-off", signed, record.Competent},
		{"current the day before the window", time.Date(2026, 2, 20, 23, 59, 0, 0, london), record.Competent},
		{"due for update when the 7-day window opens", time.Date(2026, 2, 21, 0, 0, 0, 0, london), record.DueForUpdate},
		{"still due the minute before expiry", expires.Add(-time.Minute), record.DueForUpdate},
		{"expired from the start of the expiry date", expires, record.Expired},
		{"expired later on", time.Date(2026, 6, 1, 0, 0, 0, 0, london), record.Expired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.clock.Set(c.at)
			p, err := w.svc.Passport(as(w.tn, w.viewer), h, record.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			e := p.Entries[0]
			if e.State != c.want || e.StoredState != record.Competent {
				t.Errorf("state %s (stored %s), want %s", e.State, e.StoredState, c.want)
			}
			if !e.ExpiresAt.Equal(expires) {
				t.Errorf("expires %s, want %s", e.ExpiresAt, expires)
			}
			if got := w.stored(w.tn, id).State; got != string(record.Competent) {
				t.Errorf("reading stored the derived state %s", got)
			}
		})
	}
}

// TestDefaultUpdateWindowIsSixtyDays reads a 12-month competency around
// the start of its update window with the default configuration.
func TestDefaultUpdateWindowIsSixtyDays(t *testing.T) {
	w := newWorld(t, record.Config{})
	h := w.learner("Dee Default")
	signed := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	w.insertRecord(w.tn, h, w.comp["PCC-01"], rec{state: record.Competent, practices: 2, signedOff: &signed})
	// Expires 31 January 2027; due from 60 days before: 2 December 2026.
	for _, c := range []struct {
		at   time.Time
		want record.State
	}{
		{time.Date(2026, 12, 1, 23, 0, 0, 0, london), record.Competent},
		{time.Date(2026, 12, 2, 0, 0, 0, 0, london), record.DueForUpdate},
	} {
		w.clock.Set(c.at)
		p, err := w.svc.Passport(as(w.tn, w.viewer), h, record.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Entries[0].State; got != c.want {
			t.Errorf("at %s: %s, want %s", c.at, got, c.want)
		}
		if p.DueNext == nil || p.DueNext.ID != p.Entries[0].ID {
			t.Errorf("due next = %+v, want the only current competency", p.DueNext)
		}
	}
}

// TestPassportFiltersSummarisesAndAuditsEveryRead checks the passport's
// filters, its summary of what is due, and the passport.read audit event.
func TestPassportFiltersSummarisesAndAuditsEveryRead(t *testing.T) {
	w := newWorld(t, record.Config{})
	h := w.learner("Fay Filter")
	soon := start.AddDate(-2, 0, 10)   // 24-month interval: expires in 10 days, due for update
	later := start.AddDate(0, -1, 0)   // expires in 11 months
	lapsed := start.AddDate(-1, 0, -2) // expired
	w.insertRecord(w.tn, h, w.comp["PCC-01"], rec{state: record.Competent, signedOff: &later})
	w.insertRecord(w.tn, h, w.comp["PCC-A01"], rec{state: record.Competent, signedOff: &soon})
	w.insertRecord(w.tn, h, w.comp["PCC-03"], rec{state: record.Competent, signedOff: &lapsed})
	w.insertRecord(w.tn, h, w.comp["PCC-A02"], rec{state: record.Enrolled})

	p, err := w.svc.Passport(as(w.tn, w.viewer), h, record.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := record.Summary{Total: 4, Current: 2, DueForUpdate: 1, Expired: 1, InProgress: 1}
	if p.Summary != want {
		t.Errorf("summary %+v, want %+v", p.Summary, want)
	}
	if p.DueNext == nil || p.DueNext.Competency.Code != "PCC-A01" {
		t.Errorf("due next %+v, want PCC-A01 (soonest expiry of the current ones)", p.DueNext)
	}
	if p.Holder.Name != "Fay Filter" {
		t.Errorf("holder %+v", p.Holder)
	}
	cases := []struct {
		name  string
		f     record.Filter
		codes string
	}{
		{"no filter lists all by code", record.Filter{}, "PCC-01 PCC-03 PCC-A01 PCC-A02"},
		{"by derived state", record.Filter{State: record.Expired}, "PCC-03"},
		{"by kind", record.Filter{Kind: "assessor"}, "PCC-A01 PCC-A02"},
		{"by tier", record.Filter{Tier: "specialist"}, ""},
		{"by kind and state", record.Filter{Kind: "assessor", State: record.DueForUpdate}, "PCC-A01"},
		{"unknown values filter nothing", record.Filter{State: "bogus", Tier: "x", Kind: "y"}, "PCC-01 PCC-03 PCC-A01 PCC-A02"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := w.svc.Passport(as(w.tn, w.viewer), h, c.f)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, e := range p.Entries {
				if i > 0 {
					got += " "
				}
				got += e.Competency.Code
			}
			if got != c.codes {
				t.Errorf("entries %q, want %q", got, c.codes)
			}
			if p.Summary.Total != 4 {
				t.Errorf("summary counts the filtered list: %+v", p.Summary)
			}
		})
	}
	reads := 0
	for _, e := range w.Events(w.tn) {
		if e.Action == "passport.read" && e.ObjectType == "holder" && e.ObjectID == h.String() {
			reads++
		}
	}
	if reads != 1+len(cases) {
		t.Errorf("%d passport.read events, want one per read (%d)", reads, 1+len(cases))
	}
	if _, err := w.svc.Passport(as(w.tn, w.viewer), uuid.Must(uuid.NewV7()), record.Filter{}); err == nil {
		t.Error("passport of an unknown holder was found")
	}
}

// TestRetiredCatalogueVersionsAreNotAssessedAgainst retires the version a
// record was enrolled in: training steps may still be recorded, but no
// assessment is made against a retired specification.
func TestRetiredCatalogueVersionsAreNotAssessedAgainst(t *testing.T) {
	w := newWorld(t, record.Config{})
	old := w.Catalogue(w.tn, "old", moduletest.Competency{Code: "PCC-01", Practices: 0})
	id := w.insertRecord(w.tn, w.learner("Rita Retired"), old["PCC-01"], rec{state: record.Enrolled})
	w.In(w.tn, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE catalogues SET status = 'retired', retired_at = now() WHERE tenant_id = ? AND key = 'old'`, w.tn.ID).Error
	})
	if _, err := w.svc.Transition(as(w.tn, w.trainer), id, record.TransitionInput{Action: record.ActAttend}); err != nil {
		t.Fatalf("attend: %v", err)
	}
	for _, a := range []record.Action{record.ActSignOff, record.ActNotYetCompetent} {
		_, err := w.svc.Transition(as(w.tn, w.assessor), id, record.TransitionInput{Action: a})
		if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "old version 1, which has been retired") {
			t.Errorf("%s against a retired version: %v", a, err)
		}
	}
	if _, err := w.svc.Enrol(as(w.tn, w.trainer), w.learner("Rob Retired"), record.EnrolInput{CompetencyID: old["PCC-01"]}); !errs.Is(err, errs.Invalid) {
		t.Errorf("enrolling in a retired version: %v", err)
	}
}

// countingSpecs wraps the catalogue to count how competencies are loaded.
type countingSpecs struct {
	record.Specs
	single, batch int
}

func (c *countingSpecs) Competency(ctx context.Context, tx *gorm.DB, id uuid.UUID) (catalogue.Competency, error) {
	c.single++
	return c.Specs.Competency(ctx, tx, id)
}

func (c *countingSpecs) Competencies(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]catalogue.Competency, error) {
	c.batch++
	out := map[uuid.UUID]catalogue.Competency{}
	for _, id := range ids {
		v, err := c.Specs.Competency(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, nil
}

// TestPassportLoadsSpecsInOneBatchWhenItCan checks the optional batch path.
func TestPassportLoadsSpecsInOneBatchWhenItCan(t *testing.T) {
	w := newWorld(t, record.Config{})
	h := w.learner("Bo Batch")
	for _, code := range []string{"PCC-01", "PCC-03", "PCC-A01", "PCC-A02"} {
		w.insertRecord(w.tn, h, w.comp[code], rec{state: record.Enrolled})
	}
	specs := &countingSpecs{Specs: w.cats}
	svc := record.NewService(record.Deps{DB: w.Scoped, Specs: specs, Accounts: w.Accounts, Authz: w.enf, Audit: w.Log}, record.Config{Now: w.clock.Now})
	p, err := svc.Passport(as(w.tn, w.viewer), h, record.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 4 || specs.batch != 1 || specs.single != 0 {
		t.Errorf("%d entries with %d batch and %d single loads, want 4 with one batch", len(p.Entries), specs.batch, specs.single)
	}
}
