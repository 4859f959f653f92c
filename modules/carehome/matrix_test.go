package carehome_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
)

// londonDay returns midnight, London time, of a date, plus offset.
func londonDay(y int, m time.Month, d int, offset time.Duration) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, carehome.London).Add(offset)
}

// TestCellStatesAtWindowBoundaries moves the clock across the start of the
// update window and the expiry date, checking each cell against the state
// the passport itself derives for the same record at the same time.
func TestCellStatesAtWindowBoundaries(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01", Months: 12})
	home, role := f.place("Meadowbank House", "Care assistant", comps["CHS-01"])
	id, _ := f.employ("Ada", "Lovell", home, role)
	// Signed off 15 January 2026 at 10:00: expires at the start of 15
	// January 2027 (London), due for update 60 days before, 16 November 2026.
	f.signedOff(id, comps["CHS-01"], time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	due, exp := londonDay(2026, 11, 16, 0), londonDay(2027, 1, 15, 0)
	cases := []struct {
		name string
		at   time.Time
		want carehome.Status
	}{
		{"the day before the update window", due.Add(-12 * time.Hour), carehome.Valid},
		{"the last moment before the update window", due.Add(-time.Microsecond), carehome.Valid},
		{"the first moment of the update window", due, carehome.Due},
		{"the day after the window opens", due.AddDate(0, 0, 1).Add(9 * time.Hour), carehome.Due},
		{"the day before expiry", exp.AddDate(0, 0, -1).Add(23 * time.Hour), carehome.Due},
		{"the first moment of the expiry date", exp, carehome.Expired},
		{"the day after expiry", exp.AddDate(0, 0, 1).Add(9 * time.Hour), carehome.Expired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(tc.at)
			m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
			ok(t, err)
			got := cell(t, m, id, "CHS-01")
			if got.Status != tc.want {
				t.Errorf("at %s: %s, want %s", tc.at, got.Status, tc.want)
			}
			if got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
				t.Errorf("expires at %v, want %v", got.ExpiresAt, exp)
			}
			p, err := f.records.Passport(f.ctx, id, record.Filter{})
			ok(t, err)
			want := map[record.State]carehome.Status{record.Competent: carehome.Valid, record.DueForUpdate: carehome.Due,
				record.Expired: carehome.Expired}[p.Entries[0].State]
			if got.Status != want {
				t.Errorf("matrix says %s, the passport says %s", got.Status, p.Entries[0].State)
			}
		})
	}
}

// TestMatrixCountsAdditionsAndLeavers: a home's additions are required of
// everyone there only; a leaver leaves the matrix but keeps the passport;
// counts and percentages add up per home, role and competency.
func TestMatrixCountsAdditionsAndLeavers(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01"}, moduletest.Competency{Code: "CHS-02"},
		moduletest.Competency{Code: "CHS-03"})
	house, carer := f.place("Meadowbank House", "Care assistant", comps["CHS-01"], comps["CHS-02"])
	willow, err := f.svc.AddHome(f.ctx, "Willow Court")
	ok(t, err)
	ok(t, f.svc.SetHomeAdditions(f.ctx, willow.ID, []uuid.UUID{comps["CHS-03"]}))
	recent := start.AddDate(0, -1, 0)
	ada, _ := f.employ("Ada", "Lovell", house, carer)
	f.signedOff(ada, comps["CHS-01"], recent)
	f.signedOff(ada, comps["CHS-02"], recent)
	ben, _ := f.employ("Ben", "Okoro", willow, carer)
	f.signedOff(ben, comps["CHS-01"], recent)
	f.signedOff(ben, comps["CHS-03"], start.AddDate(-2, 0, 0)) // expired
	cal, calJob := f.employ("Cal", "Reyes", house, carer)
	f.signedOff(cal, comps["CHS-01"], recent)

	m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	if m.Staff != 3 || m.Total.Required != 7 || m.Total.Valid != 4 || m.Total.Expired != 1 || m.Total.Missing != 2 {
		t.Fatalf("total %+v over %d staff; want 7 required: 4 valid, 1 expired, 2 missing over 3", m.Total, m.Staff)
	}
	if got := m.Total.PercentText(); got != "57%" {
		t.Errorf("percent %s, want 57%%", got)
	}
	if c := cell(t, m, ada, "CHS-03"); c.Required {
		t.Error("CHS-03 is required of Ada, who does not work at Willow Court")
	}
	if c := cell(t, m, ben, "CHS-03"); !c.Required || c.Status != carehome.Expired {
		t.Errorf("Ben's CHS-03: %+v, want required and expired", c)
	}
	byHome := map[string]carehome.Count{}
	for _, h := range m.ByHome {
		byHome[h.Name] = h.Count
	}
	if byHome["Meadowbank House"].Required != 4 || byHome["Meadowbank House"].Valid != 3 || byHome["Willow Court"].Required != 3 {
		t.Errorf("by home %+v", byHome)
	}
	for _, s := range m.ByCompetency {
		if s.Name == "CHS-01 Title of CHS-01" && (s.Count.Required != 3 || s.Count.Valid != 3) {
			t.Errorf("CHS-01 count %+v, want 3 of 3", s.Count)
		}
	}

	// Filters: one home; staff with something expired.
	hm, err := f.svc.Matrix(f.ctx, carehome.Filter{HomeID: willow.ID})
	ok(t, err)
	if len(hm.Rows) != 1 || hm.Rows[0].HolderID != ben {
		t.Errorf("Willow Court shows %d rows", len(hm.Rows))
	}
	ex, err := f.svc.Matrix(f.ctx, carehome.Filter{Status: carehome.Expired})
	ok(t, err)
	if len(ex.Rows) != 1 || ex.Rows[0].HolderID != ben || ex.Total.Required != 7 {
		t.Errorf("expired filter: %d rows, total %+v", len(ex.Rows), ex.Total)
	}

	// Cal leaves: out of the matrix; the employment and the passport stay.
	_, err = f.svc.End(f.ctx, calJob.ID, carehome.EndInput{EndedOn: "2025-01-01", Reason: "Resigned"})
	if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Field != "ended_on" {
		t.Fatalf("a leaving date before the start: %v", err)
	}
	_, err = f.svc.End(f.ctx, calJob.ID, carehome.EndInput{EndedOn: "2026-03-31", Reason: "Resigned"})
	ok(t, err)
	m, err = f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	if m.Staff != 2 || m.Total.Required != 5 {
		t.Errorf("after Cal left: %d staff, %d required", m.Staff, m.Total.Required)
	}
	for _, r := range m.Rows {
		if r.HolderID == cal {
			t.Error("a leaver is still in the matrix")
		}
	}
	st, err := f.svc.StaffMember(f.ctx, cal)
	ok(t, err)
	if len(st.Employments) != 1 || st.Employments[0].EndReason != "Resigned" || st.Current() != nil {
		t.Errorf("Cal's employments: %+v", st.Employments)
	}
	if n := f.Rows(f.meadow, "competency_records", "holder_id = ?", cal); n != 1 {
		t.Errorf("Cal's passport has %d records, want 1 kept", n)
	}
	if e := f.LastEvent(f.meadow, "carehome.employment.end"); e.Detail["reason"] != "Resigned" {
		t.Errorf("audit %+v", e)
	}

	// Moving home is a change, audited; the additions follow the person.
	list, err := f.svc.StaffMember(f.ctx, ada)
	ok(t, err)
	_, err = f.svc.Change(f.ctx, list.Current().ID, carehome.ChangeInput{HomeID: willow.ID, RoleID: carer.ID})
	ok(t, err)
	if e := f.LastEvent(f.meadow, "carehome.employment.change"); e.Detail["from_home"] != "Meadowbank House" || e.Detail["to_home"] != "Willow Court" {
		t.Errorf("audit %+v", e)
	}
	m, err = f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	if c := cell(t, m, ada, "CHS-03"); !c.Required || c.Status != carehome.Missing {
		t.Errorf("Ada at Willow Court, CHS-03: %+v", c)
	}

	// What expires: Ada's and Ben's sign-offs of a month ago expire in 11 months.
	f.clock.Set(start.AddDate(0, 10, 10))
	soon, err := f.svc.Expiring(f.ctx, 30, carehome.Filter{})
	ok(t, err)
	if len(soon) != 3 {
		t.Errorf("expiring in 30 days: %d, want 3 (Ada's two, Ben's CHS-01)", len(soon))
	}
	for _, e := range soon {
		if e.DaysLeft < 0 || e.DaysLeft > 30 {
			t.Errorf("days left %d", e.DaysLeft)
		}
	}
}

// TestAnotherTenantSeesNothing: the other tenant's matrix is empty, and a
// holder or employment of this one is not found there.
func TestAnotherTenantSeesNothing(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01"})
	house, carer := f.place("Meadowbank House", "Care assistant", comps["CHS-01"])
	ada, job := f.employ("Ada", "Lovell", house, carer)
	otherAdmin := f.Staff(f.other, "admin@other.example", "Other Admin", "provider_admin")
	octx := moduletest.As(f.other, otherAdmin)
	m, err := f.svc.Matrix(octx, carehome.Filter{})
	ok(t, err)
	if m.Staff != 0 || len(m.Homes) != 0 || len(m.Roles) != 0 {
		t.Errorf("the other tenant sees %d staff, %d homes, %d roles", m.Staff, len(m.Homes), len(m.Roles))
	}
	if _, err := f.svc.Matrix(octx, carehome.Filter{HomeID: house.ID}); !errs.Is(err, errs.NotFound) {
		t.Errorf("filtering by another tenant's home: %v", err)
	}
	if _, err := f.svc.StaffMember(octx, ada); !errs.Is(err, errs.NotFound) {
		t.Errorf("another tenant's staff member: %v", err)
	}
	if _, err := f.svc.End(octx, job.ID, carehome.EndInput{EndedOn: "2026-03-31", Reason: "x"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("ending another tenant's employment: %v", err)
	}
	if err := f.svc.SetRoleRequirements(octx, carer.ID, nil); !errs.Is(err, errs.NotFound) {
		t.Errorf("changing another tenant's role: %v", err)
	}
	if _, err := f.svc.Start(octx, carehome.StartInput{HolderID: ada, HomeID: house.ID, RoleID: carer.ID, StartedOn: "2026-01-01"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("employing another tenant's holder: %v", err)
	}
}

// TestSnapshotHistory: the daily snapshot is what the dashboard reads back.
func TestSnapshotHistory(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01"}, moduletest.Competency{Code: "CHS-02"})
	house, carer := f.place("Meadowbank House", "Care assistant", comps["CHS-01"], comps["CHS-02"])
	ada, _ := f.employ("Ada", "Lovell", house, carer)
	f.signedOff(ada, comps["CHS-01"], start.AddDate(0, -1, 0))
	p, err := f.svc.Snapshot(f.ctx)
	ok(t, err)
	if p.Valid != 1 || p.Required != 2 || p.Percent != 50 {
		t.Fatalf("snapshot %+v", p)
	}
	f.clock.Advance(24 * time.Hour)
	f.signedOff(ada, comps["CHS-02"], start)
	_, err = f.svc.Snapshot(f.ctx)
	ok(t, err)
	_, err = f.svc.Snapshot(f.ctx) // twice on one day: replaced, not added
	ok(t, err)
	pts, err := f.svc.History(f.ctx, start.AddDate(0, 0, -7), start.AddDate(0, 0, 7))
	ok(t, err)
	if len(pts) != 2 || pts[0].Percent != 50 || pts[1].Percent != 100 || !pts[1].Day.After(pts[0].Day) {
		t.Errorf("history %+v", pts)
	}
	if n := f.Rows(f.meadow, "compliance_snapshots", "home_id = ?", house.ID); n != 2 {
		t.Errorf("%d per-home snapshots, want 2", n)
	}
	other, err := f.svc.History(moduletest.As(f.other, uuid.Nil), start.AddDate(0, 0, -7), start.AddDate(0, 0, 7))
	ok(t, err)
	if len(other) != 0 {
		t.Errorf("another tenant reads %d points", len(other))
	}
}
