package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/notify"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/web/webtest"
)

// londonAt is hour:00 on a London date.
func londonAt(date string, hour int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, date, london)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, london)
}

func TestDayBeforeReminderIsSentOnceHoweverOftenTheSweepRuns(t *testing.T) {
	f := newFixture(t)
	ada, adaPerson := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	ben, _ := f.holder("Ben", "Okafor", "ben@example.org", uuid.Nil)
	cy, _ := f.holder("Cy", "Waiting", "cy@example.org", uuid.Nil)
	dee, _ := f.holder("Dee", "Cancelled", "dee@example.org", uuid.Nil)
	s23 := f.session("2027-03-23", 1)
	s24 := f.session("2027-03-24", 4)
	f.book(s23, ada)
	deeWaits := f.book(s23, dee)
	if _, err := f.svc.CancelBooking(f.ctx(), deeWaits.ID); err != nil {
		t.Fatal(err)
	}
	f.book(s23, cy) // on the waiting list
	f.book(s24, ben)
	f.start()
	f.settle()
	f.sink.Reset()

	// The day before, at noon: two sweeps at once, then another.
	f.clock.Set(londonAt("2027-03-22", 12))
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.n.SweepTomorrow(context.Background())
			if err != nil {
				t.Errorf("sweep: %v", err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Fatalf("concurrent sweeps enqueued %v, want 1 in all", counts)
	}
	if n, err := f.n.SweepTomorrow(context.Background()); n != 0 || err != nil {
		t.Fatalf("third sweep enqueued %d (%v)", n, err)
	}
	f.settle()
	if n := len(f.sink.Messages()); n != 1 {
		t.Fatalf("%d reminders, want Ada's only", n)
	}
	m := f.only("ada@example.org")
	if m.Subject != "Reminder: Suction and airway care tomorrow at 10:00" {
		t.Errorf("subject %q", m.Subject)
	}
	token := notify.PersonToken(f.n, adaPerson)
	if got := m.Header.Get("List-Unsubscribe"); got != "<"+publicURL+notify.UnsubscribePath+"?t="+token+">" {
		t.Errorf("List-Unsubscribe %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
	has(t, "reminder text", m.Text, "you have a place on Suction and airway care, run by "+orgName+", tomorrow.",
		"When: Tuesday 23 March 2027, 10:00 to 12:00 (UK time)", publicURL+notify.PreferencesPath+token)
	has(t, "reminder HTML", m.HTML, `href="`+publicURL+notify.PreferencesPath+token+`"`)
	if n := f.Rows(f.trust, "notification_sends", "reason = 'session_tomorrow'"); n != 1 {
		t.Errorf("%d sends claimed", n)
	}
	if n := f.Rows(f.trust, "notifications", "kind = 'session_tomorrow'"); n != 1 {
		t.Errorf("%d in-app reminders", n)
	}

	// The next morning, the sessions of the 24th.
	f.sink.Reset()
	f.clock.Set(londonAt("2027-03-23", 7))
	if n, err := f.n.SweepTomorrow(context.Background()); n != 1 || err != nil {
		t.Fatalf("sweep of the 23rd enqueued %d (%v), want Ben's", n, err)
	}
	f.settle()
	if m := f.only("ben@example.org"); !strings.HasPrefix(m.Subject, "Reminder: ") {
		t.Errorf("Ben's reminder %q", m.Subject)
	}
	if n := len(f.sink.Messages()); n != 1 {
		t.Errorf("%d messages, want Ben's only", n)
	}
}

func TestPeriodicSweepSendsTheDayBeforeReminder(t *testing.T) {
	f := newFixture(t, withPeriodic)
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	f.book(f.session("2027-03-16", 4), ada) // tomorrow
	f.start()
	f.sink.WaitFor(t, 2, 40*time.Second)
	got := map[string]bool{}
	for _, m := range f.mailsTo("ada@example.org") {
		got[m.Subject] = true
	}
	if !got["Booking confirmed: Suction and airway care"] || !got["Reminder: Suction and airway care tomorrow at 10:00"] {
		t.Errorf("subjects %v", got)
	}
}

// sweepExpiry runs the expiry sweep twice and checks the first claimed
// want reminders and the second none.
func (f *fixture) sweepExpiry(want int) {
	f.t.Helper()
	if n, err := f.n.SweepExpiry(context.Background()); n != want || err != nil {
		f.t.Fatalf("%s: sweep claimed %d (%v), want %d", f.clock.Now().In(london).Format(time.DateOnly), n, err, want)
	}
	if n, err := f.n.SweepExpiry(context.Background()); n != 0 || err != nil {
		f.t.Fatalf("second sweep claimed %d (%v)", n, err)
	}
	f.settle()
}

func TestExpiryRemindersAtEachOffsetOnceToHolderAndManager(t *testing.T) {
	f := newFixture(t)
	acct := f.Account("ada.account@example.org", "Ada Lovelace")
	ada, adaPerson := f.holder("Ada", "Lovelace", "ada@example.org", acct)
	signed := time.Date(2026, 6, 20, 10, 0, 0, 0, london)
	rec := f.Record(f.trust, ada, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "Ash"})
	if want := time.Date(2027, 6, 20, 0, 0, 0, 0, london); !record.ExpiresAt(signed, 12).Equal(want) {
		t.Fatalf("fixture: the record expires %v", record.ExpiresAt(signed, 12))
	}
	// Never reminded: a suspended record, one still in training, one of
	// a holder who has left.
	ben, _ := f.holder("Ben", "Suspended", "ben@example.org", uuid.Nil)
	f.Record(f.trust, ben, f.comps["PCC-01"], moduletest.Record{State: "suspended", SignedOff: &signed})
	f.Record(f.trust, ada, f.comps["PCC-02"], moduletest.Record{State: "training_attended"})
	cy, _ := f.holder("Cy", "Left", "cy@example.org", uuid.Nil)
	f.Record(f.trust, cy, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: &signed})
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = ?`, f.trust.ID, cy).Error
	})
	f.start()

	steps := []struct {
		day     string
		claims  int
		subject string // the holder's
		manager string // the manager's
		text    string
	}{
		{day: "2027-03-15"},
		{"2027-03-22", 1, "Your competency PCC-01 expires on 20 June 2027", "Ada Lovelace: PCC-01 expires on 20 June 2027", "expires on 20 June 2027, in 90 days."},
		{day: "2027-03-23"},
		{"2027-05-21", 1, "Your competency PCC-01 expires on 20 June 2027", "Ada Lovelace: PCC-01 expires on 20 June 2027", "in 30 days."},
		{"2027-06-13", 1, "Your competency PCC-01 expires on 20 June 2027", "Ada Lovelace: PCC-01 expires on 20 June 2027", "in 7 days."},
		{day: "2027-06-19"},
		{"2027-06-20", 1, "Your competency PCC-01 has expired", "Ada Lovelace: PCC-01 has expired", "expired on 20 June 2027."},
		{day: "2027-06-21"},
	}
	for _, st := range steps {
		f.sink.Reset()
		f.clock.Set(londonAt(st.day, 6))
		f.sweepExpiry(st.claims)
		if st.claims == 0 {
			if n := len(f.sink.Messages()); n != 0 {
				t.Fatalf("%s: %d messages, want none", st.day, n)
			}
			continue
		}
		if n := len(f.sink.Messages()); n != 2 {
			t.Fatalf("%s: %d messages, want the holder's and the manager's", st.day, n)
		}
		h := f.only("ada@example.org")
		if h.Subject != st.subject {
			t.Errorf("%s: holder's subject %q", st.day, h.Subject)
		}
		has(t, st.day+" holder's text", h.Text, "Dear Ada,", "PCC-01 Title of PCC-01", st.text,
			publicURL+"/me/passport")
		if got := h.Header.Get("List-Unsubscribe"); got != "<"+publicURL+notify.UnsubscribePath+"?t="+notify.PersonToken(f.n, adaPerson)+">" {
			t.Errorf("%s: holder's List-Unsubscribe %q", st.day, got)
		}
		m := f.only("educator@trust.example")
		if m.Subject != st.manager {
			t.Errorf("%s: manager's subject %q", st.day, m.Subject)
		}
		has(t, st.day+" manager's text", m.Text, "Dear Pat Educator,", st.text, publicURL+"/t/trust/holders/"+ada.String(),
			"you can see staff and their training at "+orgName)
		if got := m.Header.Get("List-Unsubscribe"); got != "<"+publicURL+notify.UnsubscribePath+"?t="+notify.AccountToken(f.n, f.educator)+">" {
			t.Errorf("%s: manager's List-Unsubscribe %q", st.day, got)
		}
		if n := len(f.mailsTo("assessor@trust.example")); n != 0 {
			t.Errorf("%s: the assessor, no manager, got %d", st.day, n)
		}
	}

	// Renewed: signed off again, so a new expiry date, reminded about anew.
	renewed := time.Date(2027, 6, 25, 11, 0, 0, 0, london)
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE competency_records SET signed_off_at = ? WHERE tenant_id = ? AND id = ?`, renewed, f.trust.ID, rec).Error
	})
	f.sink.Reset()
	f.clock.Set(londonAt("2028-03-26", 6))
	f.sweepExpiry(0)
	f.clock.Set(londonAt("2028-03-27", 6)) // 90 days before 25 June 2028
	f.sweepExpiry(1)
	if h := f.only("ada@example.org"); h.Subject != "Your competency PCC-01 expires on 25 June 2028" {
		t.Errorf("after renewal: %q", h.Subject)
	}
	if m := f.only("educator@trust.example"); m.Subject != "Ada Lovelace: PCC-01 expires on 25 June 2028" {
		t.Errorf("manager after renewal: %q", m.Subject)
	}

	if n := f.Rows(f.trust, "notification_sends", "reason = 'competency_expiry' AND subject_id = ?", rec); n != 5 {
		t.Errorf("%d reminders claimed, want 5", n)
	}
	if n := f.Rows(f.trust, "notification_sends", ""); n != 5 {
		t.Errorf("%d claims in all, want 5", n)
	}
	for kind, want := range map[string]int64{notify.KindCompetencyExpiring: 4, notify.KindCompetencyExpired: 1} {
		if n := f.Rows(f.trust, "notifications", "kind = ?", kind); n != want {
			t.Errorf("%d %s notifications, want %d", n, kind, want)
		}
	}
	// Ada, signed in, sees hers.
	if n := f.Count(nil, acct, `SELECT count(*) FROM notifications WHERE kind LIKE 'competency%'`); n != 5 {
		t.Errorf("Ada sees %d", n)
	}
}

func TestExpirySweepSendsOnlyTheMostUrgentReminderDue(t *testing.T) {
	f := newFixture(t)
	soon, _ := f.holder("Ben", "Soon", "ben@example.org", uuid.Nil)
	lapsed, _ := f.holder("Dan", "Lapsed", "dan@example.org", uuid.Nil)
	long, _ := f.holder("Eve", "Long", "eve@example.org", uuid.Nil)
	at := func(d string) *time.Time { t := londonAt(d, 10); return &t }
	f.Record(f.trust, soon, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: at("2026-03-20")})   // expires in 5 days
	f.Record(f.trust, lapsed, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: at("2026-03-12")}) // expired 3 days ago
	f.Record(f.trust, long, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: at("2026-03-01")})   // expired 14 days ago
	f.start()
	f.sweepExpiry(2)
	var got []string
	f.In(f.trust, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT h.given_name || ' ' || s.offset_days || ' ' || s.due_on FROM notification_sends s
			JOIN holders h ON h.tenant_id = s.tenant_id AND h.id = s.holder_id ORDER BY 1`).Scan(&got).Error
	})
	if strings.Join(got, "; ") != "Ben 7 2027-03-20; Dan 0 2027-03-12" {
		t.Errorf("claims %q", got)
	}
	if s := f.only("ben@example.org").Subject; s != "Your competency PCC-01 expires on 20 March 2027" {
		t.Errorf("Ben's %q", s)
	}
	if s := f.only("dan@example.org").Subject; s != "Your competency PCC-01 has expired" {
		t.Errorf("Dan's %q", s)
	}
	if n := len(f.mailsTo("eve@example.org")); n != 0 {
		t.Errorf("Eve, lapsed long ago, got %d", n)
	}
	if n := len(f.mailsTo("educator@trust.example")); n != 2 {
		t.Errorf("the manager got %d, want 2", n)
	}
	// Two days on, Ben's expiry is 3 days away: the 7-day reminder is
	// already sent and no other is due yet.
	f.clock.Set(londonAt("2027-03-17", 9))
	f.sweepExpiry(0)
}

func TestExpiryOffsetsAreConfigurable(t *testing.T) {
	f := newFixture(t, func(o *options) { o.offsets = []int{14} })
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	signed := londonAt("2026-04-10", 10)
	f.Record(f.trust, ada, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: &signed})
	f.start()
	f.clock.Set(londonAt("2027-03-26", 9)) // 15 days before
	f.sweepExpiry(0)
	f.clock.Set(londonAt("2027-03-27", 9)) // 14 days before
	f.sweepExpiry(1)
	f.clock.Set(londonAt("2027-04-10", 9)) // on the day: no offset 0 configured
	f.sweepExpiry(0)
	if s := f.only("ada@example.org").Subject; s != "Your competency PCC-01 expires on 10 April 2027" {
		t.Errorf("subject %q", s)
	}
}

func TestUnsubscribedPersonGetsNoRemindersButStillConfirmations(t *testing.T) {
	f := newFixture(t)
	site := newSite(t, f)
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	signed := time.Date(2026, 6, 20, 10, 0, 0, 0, london)
	f.Record(f.trust, ada, f.comps["PCC-01"], moduletest.Record{State: "competent", SignedOff: &signed})
	f.start()
	f.clock.Set(londonAt("2027-03-22", 9))
	f.sweepExpiry(1)
	h := f.only("ada@example.org")
	link := strings.Trim(h.Header.Get("List-Unsubscribe"), "<>")
	u, err := url.Parse(link)
	if err != nil || u.Path != notify.UnsubscribePath {
		t.Fatalf("List-Unsubscribe %q", link)
	}

	// The one-click POST a mail client sends (RFC 8058): no session, no
	// cookie, no CSRF token.
	req := httptest.NewRequest(http.MethodPost, u.RequestURI(), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := webtest.NewClient(t, site.Server).Do(req)
	webtest.Expect(t, "one-click unsubscribe", r, 200, "You are unsubscribed", "still get emails about your bookings")
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM mail_preferences WHERE NOT reminders`); n != 1 {
		t.Fatalf("%d preferences saved", n)
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM platform_audit_events WHERE action = 'mail.preferences'`); n != 1 {
		t.Errorf("%d audit events of the change", n)
	}

	// The 30-day reminder: the manager's only.
	f.sink.Reset()
	f.clock.Set(londonAt("2027-05-21", 9))
	f.sweepExpiry(1)
	if n := len(f.mailsTo("ada@example.org")); n != 0 {
		t.Errorf("Ada got %d reminders after unsubscribing", n)
	}
	f.only("educator@trust.example")

	// A booking is still confirmed, but no day-before reminder follows.
	f.sink.Reset()
	f.book(f.session("2027-05-25", 4), ada)
	f.sink.WaitFor(t, 1, 20*time.Second)
	f.clock.Set(londonAt("2027-05-24", 12))
	if n, err := f.n.SweepTomorrow(context.Background()); n != 1 || err != nil {
		t.Fatalf("day-before sweep: %d (%v)", n, err)
	}
	f.settle()
	if m := f.only("ada@example.org"); m.Subject != "Booking confirmed: Suction and airway care" {
		t.Errorf("Ada's only message: %q", m.Subject)
	}
	// Her in-app notifications go on.
	if n := f.Rows(f.trust, "notifications", "kind = 'session_tomorrow'"); n != 1 {
		t.Errorf("%d in-app reminders", n)
	}
}

// The sweep's expiry date is the passport's: the sign-off's London date
// plus the interval in calendar months, a missing day becoming the month's
// last.
func TestExpiryDateIsThePassportsExpiryDate(t *testing.T) {
	f := newFixture(t)
	comps := f.Catalogue(f.trust, "intervals", moduletest.Competency{Code: "M-04", Months: 4},
		moduletest.Competency{Code: "M-09", Months: 9}, moduletest.Competency{Code: "M-10", Months: 10},
		moduletest.Competency{Code: "M-15", Months: 15})
	ada, _ := f.holder("Ada", "Lovelace", "", uuid.Nil)
	cases := []struct {
		code   string
		months int
		signed time.Time
		want   string
	}{
		{"M-09", 9, time.Date(2026, 7, 1, 0, 30, 0, 0, london), "2027-04-01"},   // 30 June in UTC
		{"M-10", 10, time.Date(2026, 5, 31, 12, 0, 0, 0, london), "2027-03-31"}, // a 31st that March has
		{"M-04", 4, time.Date(2026, 12, 31, 12, 0, 0, 0, london), "2027-04-30"}, // a 31st that April lacks
		{"M-15", 15, time.Date(2026, 1, 31, 23, 30, 0, 0, london), "2027-04-30"},
	}
	ids := map[uuid.UUID]string{}
	for _, c := range cases {
		if got := record.ExpiresAt(c.signed, c.months).Format(time.DateOnly); got != c.want {
			t.Fatalf("%s: the passport says %s, the case %s", c.code, got, c.want)
		}
		signed := c.signed
		ids[f.Record(f.trust, ada, comps[c.code], moduletest.Record{State: "competent", SignedOff: &signed})] = c.want
	}
	f.start()
	f.sweepExpiry(len(cases))
	for id, want := range ids {
		var got []string
		f.In(f.trust, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT to_char(due_on, 'YYYY-MM-DD') FROM notification_sends WHERE tenant_id = ? AND subject_id = ?`,
				f.trust.ID, id).Scan(&got).Error
		})
		if len(got) != 1 || got[0] != want {
			t.Errorf("record %s: claimed for %v, want %s", id, got, want)
		}
	}
}
