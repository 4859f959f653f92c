package training_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/training"
)

// pubBase is the public address the public side is given in tests.
const pubBase = "https://carepass.example"

// holder.Service is what self-booking enrols people through.
var _ training.Enroller = (*holder.Service)(nil)

// pubFixture is the training fixture with a service that may enrol people
// as they book, and courses for the public calendar.
type pubFixture struct {
	*fixture
	holders *holder.Service
	parents training.Course // for parents and carers: PCC-01 and PCC-02
	staff   training.Course // for care staff: PCC-01 only
}

func newPubFixture(t testing.TB) *pubFixture {
	t.Helper()
	f := newFixture(t)
	p := &pubFixture{fixture: f, holders: holder.NewService(f.Scoped, f.Log, f.clock.Now)}
	f.svc = training.NewService(f.Scoped, f.Log, f.records, f.events, f.clock.Now,
		training.WithEnroller(p.holders), training.WithPublicURL(pubBase))
	p.parents = p.pubCourse("Suction and airway care", training.AudienceParentsCarers, "PCC-01", "PCC-02")
	p.staff = p.pubCourse("Moving and handling", training.AudienceCareStaff, "PCC-01")
	return p
}

func (p *pubFixture) pubCourse(title, audience string, codes ...string) training.Course {
	p.T.Helper()
	var ids []uuid.UUID
	for _, c := range codes {
		ids = append(ids, p.comps[c])
	}
	c, err := p.svc.CreateCourse(p.ctx(), training.CourseInput{Title: title, Format: training.FormatClassroom,
		DurationMinutes: 120, Audience: audience, DefaultCapacity: 4, Competencies: ids})
	if err != nil {
		p.T.Fatalf("course %s: %v", title, err)
	}
	return c
}

// pubSession makes one session of c on date (London), 10:00 to 12:00, at
// location or online (location "" makes it online only).
func (p *pubFixture) pubSession(c training.Course, date, location string, public bool, capacity int) training.Session {
	p.T.Helper()
	in := training.SessionInput{CourseID: c.ID, Date: date, Start: "10:00", End: "12:00", Location: location,
		Capacity: capacity, Public: public}
	if location == "" {
		in.OnlineURL = "https://meet.example/room-" + date
	}
	list, err := p.svc.CreateSessions(p.ctx(), in)
	if err != nil {
		p.T.Fatalf("session on %s: %v", date, err)
	}
	return list[0]
}

func pubDate(s string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, s, training.London)
	if err != nil {
		panic(err)
	}
	return d
}

func pubIDs(list []training.PublicSession) []uuid.UUID {
	var out []uuid.UUID
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func pubSame(got []uuid.UUID, want ...uuid.UUID) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestCalendarShowsPublicSessionsInRangeWithFilters(t *testing.T) {
	p := newPubFixture(t)
	private := p.pubCourse("Private refresher", training.AudienceAny, "PCC-02")
	gmt := p.pubSession(p.parents, "2027-03-26", "Ward 4 seminar room", true, 4) // Friday, before the clocks change
	staff := p.pubSession(p.staff, "2027-03-27", "Riverside House", true, 4)
	bst := p.pubSession(p.parents, "2027-03-30", "", true, 4) // Tuesday, after: online
	gone := p.pubSession(p.parents, "2027-03-31", "Ward 4 seminar room", true, 4)
	hidden := p.pubSession(private, "2027-03-24", "Ward 9", false, 4)
	april := p.pubSession(p.parents, "2027-04-06", "Ward 4 seminar room", true, 4)
	if err := p.svc.CancelSession(p.ctx(), gone.ID); err != nil {
		t.Fatal(err)
	}
	// Three of the four places of the first session are taken.
	for i := range 3 {
		if _, err := p.svc.Book(p.ctx(), gmt.ID, p.Holder(p.trust, fmt.Sprint("Carer", i), "Booked", uuid.Nil)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := p.ctx()

	month, err := p.svc.Calendar(ctx, training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-10")})
	if err != nil {
		t.Fatal(err)
	}
	if !pubSame(pubIDs(month.Sessions), gmt.ID, staff.ID, bst.ID, gone.ID) {
		t.Fatalf("March shows %v; want the four public sessions of March in order (not the private one %s, not April's %s)",
			pubIDs(month.Sessions), hidden.ID, april.ID)
	}
	byID := map[uuid.UUID]training.PublicSession{}
	for _, s := range month.Sessions {
		byID[s.ID] = s
	}
	if s := byID[gmt.ID]; s.Booked != 3 || s.Free() != 1 || s.Places() != "1 place left" || s.Place() != "Ward 4 seminar room" {
		t.Errorf("first session: %d booked, %q, at %q", s.Booked, s.Places(), s.Place())
	}
	if s := byID[gone.ID]; !s.Cancelled() || s.Places() != "Cancelled" || s.Closed == "" {
		t.Errorf("the cancelled session is shown as %q (closed: %q)", s.Places(), s.Closed)
	}
	if s := byID[bst.ID]; s.Place() != "Online" || !s.Online {
		t.Errorf("online session's place: %q", s.Place())
	}
	// London times on both sides of the change on Sunday 28 March.
	if a, b := byID[gmt.ID], byID[bst.ID]; a.Times() != "10:00 to 12:00" || b.Times() != "10:00 to 12:00" ||
		a.StartsAt.Hour() != 10 || b.StartsAt.Hour() != 9 {
		t.Errorf("times: %s (%s UTC) and %s (%s UTC)", a.Times(), a.StartsAt, b.Times(), b.StartsAt)
	}
	// The grid: five weeks, Monday 1 March to Sunday 4 April, the days of
	// April outside the month and empty.
	if len(month.Weeks) != 5 || month.Weeks[0][0].Key() != "2027-03-01" || month.Weeks[4][6].Key() != "2027-04-04" {
		t.Fatalf("grid: %d weeks from %s", len(month.Weeks), month.Weeks[0][0].Key())
	}
	if d := month.Weeks[4][1]; d.Key() != "2027-03-30" || len(d.Sessions) != 1 || d.Sessions[0].ID != bst.ID || !d.InRange {
		t.Errorf("Tuesday 30 March: %+v", d)
	}
	if d := month.Weeks[4][4]; d.InRange || len(d.Sessions) != 0 {
		t.Errorf("Friday 2 April is in March's grid as %+v", d)
	}
	if !month.Weeks[2][0].Today || month.Weeks[2][0].Key() != "2027-03-15" {
		t.Error("today is not marked")
	}
	if month.Prev.Format(time.DateOnly) != "2027-02-01" || month.Next.Format(time.DateOnly) != "2027-04-01" || month.Title != "March 2027" {
		t.Errorf("navigation: %s, %s, %q", month.Prev, month.Next, month.Title)
	}
	if len(month.Competencies) != 2 || month.Competencies[0].Code != "PCC-01" {
		t.Errorf("competency choices: %+v", month.Competencies)
	}

	cases := []struct {
		name string
		f    training.CalendarFilter
		want []uuid.UUID
	}{
		{"audience: parents and carers", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"),
			Audience: training.AudienceParentsCarers}, []uuid.UUID{gmt.ID, bst.ID, gone.ID}},
		{"audience: care staff", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"),
			Audience: training.AudienceCareStaff}, []uuid.UUID{staff.ID}},
		{"competency trained by one course", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"),
			Competency: p.comps["PCC-02"]}, []uuid.UUID{gmt.ID, bst.ID, gone.ID}},
		{"place, any case", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"),
			Location: "  riverside  "}, []uuid.UUID{staff.ID}},
		{"online", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"), Location: "Online"},
			[]uuid.UUID{bst.ID}},
		{"wildcards are text", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"), Location: "%"}, nil},
		{"unknown audience is ignored", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-03-01"),
			Audience: "martians"}, []uuid.UUID{gmt.ID, staff.ID, bst.ID, gone.ID}},
		{"list: from today to the month's end", training.CalendarFilter{}, []uuid.UUID{gmt.ID, staff.ID, bst.ID, gone.ID}},
		{"list of April", training.CalendarFilter{Date: pubDate("2027-04-20")}, []uuid.UUID{april.ID}},
		{"week across the change", training.CalendarFilter{View: training.ViewWeek, Date: pubDate("2027-04-01")},
			[]uuid.UUID{bst.ID, gone.ID}},
		{"February is empty", training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-02-14")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.svc.Calendar(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !pubSame(pubIDs(got.Sessions), tc.want...) {
				t.Fatalf("sessions %v, want %v", pubIDs(got.Sessions), tc.want)
			}
		})
	}

	week, err := p.svc.Calendar(ctx, training.CalendarFilter{View: training.ViewWeek, Date: pubDate("2027-04-01")})
	if err != nil {
		t.Fatal(err)
	}
	if len(week.Days) != 7 || week.Days[0].Key() != "2027-03-29" || len(week.Days[1].Sessions) != 1 ||
		week.Title != "Week beginning 29 March 2027" || week.Next.Format(time.DateOnly) != "2027-04-05" {
		t.Fatalf("week: %q, %d days from %s", week.Title, len(week.Days), week.Days[0].Key())
	}
	list, err := p.svc.Calendar(ctx, training.CalendarFilter{View: "nonsense"})
	if err != nil {
		t.Fatal(err)
	}
	if list.Filter.View != training.ViewList || len(list.Days) != 4 || list.Days[0].Key() != "2027-03-26" {
		t.Fatalf("list: view %q, %d days", list.Filter.View, len(list.Days))
	}
}

// TestMonthWithManySessionsIsTwoQueries proves the month view reads a
// tenant with 500 public sessions, many booked, with two queries: the
// counts come from one aggregate join, not a query per session.
func TestMonthWithManySessionsIsTwoQueries(t *testing.T) {
	p := newPubFixture(t)
	holders := make([]uuid.UUID, 5)
	for i := range holders {
		holders[i] = p.Holder(p.trust, fmt.Sprint("Many", i), "Bookings", uuid.Nil)
	}
	p.manySessions(holders)
	var queries atomic.Int64
	count := func(*gorm.DB) { queries.Add(1) }
	cb := p.DB.Gorm.Callback()
	if err := cb.Query().After("gorm:query").Register("pubtest:count_query", count); err != nil {
		t.Fatal(err)
	}
	if err := cb.Row().After("gorm:row").Register("pubtest:count_row", count); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := p.svc.Calendar(p.ctx(), training.CalendarFilter{View: training.ViewMonth, Date: pubDate("2027-04-01")})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if n := queries.Load(); n != 2 {
		t.Fatalf("the month view ran %d queries, want 2", n)
	}
	// April in London ends at 23:00 UTC on 30 April (BST).
	want, first, end := 0, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC), time.Date(2027, 4, 30, 23, 0, 0, 0, time.UTC)
	for n := range 500 {
		if first.Add(time.Duration(n) * 17 * time.Hour).Before(end) {
			want++
		}
	}
	if len(got.Sessions) != want || want < 40 {
		t.Fatalf("%d sessions in April, want %d", len(got.Sessions), want)
	}
	for _, s := range got.Sessions {
		if s.Booked != 3 || s.Waiting != 2 || !s.Full() || s.Places() != "Full – join the waiting list" {
			t.Fatalf("session %s: %d booked, %d waiting", s.ID, s.Booked, s.Waiting)
		}
	}
	t.Logf("month view of 500 sessions: %s", elapsed)
	if !strings.HasPrefix(got.Title, "April") {
		t.Fatal(got.Title)
	}
}

// manySessions gives the trust 500 public sessions, one every 17 hours from
// 1 April 2027, each with every one of holders booked: three places taken,
// the rest waiting.
func (p *pubFixture) manySessions(holders []uuid.UUID) {
	p.In(p.trust, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO training_sessions (tenant_id, id, course_id, starts_at, ends_at, location, capacity, public,
				created_at, updated_at)
			SELECT ?, gen_random_uuid(), ?, ts, ts + interval '2 hours', 'Ward ' || (n % 9), 3, true, now(), now()
			FROM generate_series(0, 499) AS n, LATERAL (SELECT timestamptz '2027-04-01 08:00Z' + n * interval '17 hours' AS ts) x`,
			p.trust.ID, p.parents.ID).Error; err != nil {
			return err
		}
		// Every holder on every session: three places, two waiting.
		return tx.Exec(`INSERT INTO bookings (tenant_id, id, session_id, holder_id, person_id, status, created_at, updated_at)
			SELECT s.tenant_id, gen_random_uuid(), s.id, h.id, h.person_id,
				CASE WHEN row_number() OVER (PARTITION BY s.id ORDER BY h.id) <= 3 THEN 'booked' ELSE 'waiting' END, now(), now()
			FROM training_sessions s CROSS JOIN holders h WHERE s.tenant_id = ? AND h.tenant_id = ? AND h.id IN ?`,
			p.trust.ID, p.trust.ID, holders).Error
	})
}
