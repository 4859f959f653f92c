package training

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
)

// The public calendar: a tenant's sessions marked public, for anyone,
// signed in or not. It shows no one's name, no online link and no trainer.

// Calendar views.
const (
	ViewList  = "list"
	ViewWeek  = "week"
	ViewMonth = "month"
)

// publicMaxLocation bounds the place filter's text.
const publicMaxLocation = 100

// CalendarFilter chooses what a tenant's public calendar shows.
type CalendarFilter struct {
	View string // ViewList (the default), ViewWeek or ViewMonth
	// Date is any day of the month (list and month views) or week (week
	// view) to show, as a London date; zero: today.
	Date       time.Time
	Competency uuid.UUID // only courses training this competency; uuid.Nil: any
	Audience   string    // only courses for this audience (or for anyone); "": any
	// Location keeps sessions whose place contains this text, ignoring
	// case; "online" keeps online sessions too.
	Location string
}

// normalise returns f with its view known, its date a London midnight and
// its text trimmed, at now.
func (f CalendarFilter) normalise(now time.Time) CalendarFilter {
	switch f.View {
	case ViewWeek, ViewMonth:
	default:
		f.View = ViewList
	}
	d := f.Date
	if d.IsZero() || d.Year() < 2000 || d.Year() > 2200 {
		d = now
	}
	d = d.In(London)
	f.Date = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, London)
	if label(Audiences, f.Audience) == f.Audience {
		f.Audience = ""
	}
	f.Location = strings.Join(strings.Fields(f.Location), " ")
	if utf8.RuneCountInString(f.Location) > publicMaxLocation {
		f.Location = string([]rune(f.Location)[:publicMaxLocation])
	}
	return f
}

// PublicSession is a session as the public calendar shows it.
type PublicSession struct {
	ID          uuid.UUID
	CourseID    uuid.UUID
	CourseTitle string
	Audience    string
	Format      string
	StartsAt    time.Time
	EndsAt      time.Time
	Location    string
	Online      bool // it has an online link (never shown here)
	Capacity    int
	Booked      int
	Waiting     int
	CutoffHours int
	Status      string
	Sequence    int
	UpdatedAt   time.Time
	// Closed is why a place cannot be booked now ("" while bookings are
	// open).
	Closed string
}

// Free is the number of places left.
func (p PublicSession) Free() int { return max(0, p.Capacity-p.Booked) }

// Full reports whether every place is taken.
func (p PublicSession) Full() bool { return p.Booked >= p.Capacity }

// Cancelled reports whether the session was cancelled.
func (p PublicSession) Cancelled() bool { return p.Status == Cancelled }

// Place is where the session happens: its location, "Online", or both.
func (p PublicSession) Place() string {
	switch {
	case p.Location != "" && p.Online:
		return p.Location + " or online"
	case p.Location != "":
		return p.Location
	}
	return "Online"
}

// AudienceLabel and FormatLabel name the course's audience and format.
func (p PublicSession) AudienceLabel() string { return label(Audiences, p.Audience) }
func (p PublicSession) FormatLabel() string   { return label(Formats, p.Format) }

// Day is the session's date in London, such as "Tuesday 16 March 2027".
func (p PublicSession) Day() string { return p.StartsAt.In(London).Format("Monday 2 January 2006") }

// Times is the session's London start and end, such as "10:00 to 12:00".
func (p PublicSession) Times() string {
	return p.StartsAt.In(London).Format("15:04") + " to " + p.EndsAt.In(London).Format("15:04")
}

// Start is the session's London start time, such as "10:00".
func (p PublicSession) Start() string { return p.StartsAt.In(London).Format("15:04") }

// Cutoff is the last moment a place may be booked.
func (p PublicSession) Cutoff() time.Time {
	return p.StartsAt.Add(-time.Duration(p.CutoffHours) * time.Hour)
}

// Places says how many places are left, for the calendar.
func (p PublicSession) Places() string {
	switch n := p.Free(); {
	case p.Cancelled():
		return "Cancelled"
	case n == 0:
		return "Full – join the waiting list"
	case n == 1:
		return "1 place left"
	default:
		return fmt.Sprintf("%d places left", n)
	}
}

// CalendarDay is one day of a calendar page.
type CalendarDay struct {
	Date     time.Time // London midnight
	InRange  bool      // in the month or week shown (month view pads whole weeks)
	Today    bool
	Sessions []PublicSession
}

// Weekday names the day, such as "Monday".
func (d CalendarDay) Weekday() string { return d.Date.Weekday().String() }

// Label is the day's date, such as "Monday 15 March 2027".
func (d CalendarDay) Label() string { return d.Date.Format("Monday 2 January 2006") }

// Number is the day of the month.
func (d CalendarDay) Number() int { return d.Date.Day() }

// Month names the day's month, such as "March".
func (d CalendarDay) Month() string { return d.Date.Month().String() }

// Key is the day as YYYY-MM-DD.
func (d CalendarDay) Key() string { return d.Date.Format(time.DateOnly) }

// CalendarPage is one page of a tenant's public calendar.
type CalendarPage struct {
	Filter   CalendarFilter // as normalised
	Title    string         // "March 2027", "Week beginning 15 March 2027"
	From, To time.Time      // the London midnights bounding the page
	Prev     time.Time      // a date of the previous page
	Next     time.Time      // a date of the next page
	Today    time.Time      // today's London midnight
	Sessions []PublicSession
	// Days are the week view's seven days, or the list view's days that
	// have sessions.
	Days []CalendarDay
	// Weeks are the month view's rows, Monday to Sunday, padded with the
	// days of the months either side.
	Weeks [][]CalendarDay
	// Competencies are the choices of the competency filter: those trained
	// by courses with public sessions to come.
	Competencies []Competency
}

// Calendar returns a page of the public calendar of the tenant in ctx:
// public sessions that are scheduled or cancelled, with the places taken.
// It reads with two queries however many sessions there are: the sessions
// with their booking counts (one aggregate join), and the competency
// filter's choices.
func (s *Service) Calendar(ctx context.Context, f CalendarFilter) (CalendarPage, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return CalendarPage{}, err
	}
	now := s.now()
	f = f.normalise(now)
	n := now.In(London)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, London)
	p := CalendarPage{Filter: f, Today: today}
	first := time.Date(f.Date.Year(), f.Date.Month(), 1, 0, 0, 0, 0, London)
	switch f.View {
	case ViewWeek:
		p.From = f.Date.AddDate(0, 0, -((int(f.Date.Weekday()) + 6) % 7))
		p.To = p.From.AddDate(0, 0, 7)
		p.Prev, p.Next = p.From.AddDate(0, 0, -7), p.To
		p.Title = "Week beginning " + p.From.Format("2 January 2006")
	default:
		p.From, p.To = first, first.AddDate(0, 1, 0)
		p.Prev, p.Next = first.AddDate(0, -1, 0), p.To
		p.Title = first.Format("January 2006")
		// The list is of what is to come: it starts today in this month.
		if f.View == ViewList && today.After(p.From) && today.Before(p.To) {
			p.From = today
		}
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		p.Sessions, err = s.publicSessions(tx, publicQuery{tenant: t.ID, from: p.From, to: p.To, filter: f,
			statuses: []string{Scheduled, Cancelled}})
		if err != nil {
			return err
		}
		p.Competencies, err = s.publicCompetencies(tx, t.ID, now)
		return err
	})
	if err != nil {
		return CalendarPage{}, err
	}
	byDay := map[string][]PublicSession{}
	for _, ss := range p.Sessions {
		k := ss.StartsAt.In(London).Format(time.DateOnly)
		byDay[k] = append(byDay[k], ss)
	}
	day := func(d time.Time) CalendarDay {
		k := d.Format(time.DateOnly)
		in := !d.Before(p.From) && d.Before(p.To)
		cd := CalendarDay{Date: d, InRange: in, Today: d.Equal(today)}
		if in {
			cd.Sessions = byDay[k]
		}
		return cd
	}
	switch f.View {
	case ViewWeek:
		for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
			p.Days = append(p.Days, day(d))
		}
	case ViewMonth:
		start := p.From.AddDate(0, 0, -((int(p.From.Weekday()) + 6) % 7))
		for w := start; w.Before(p.To); w = w.AddDate(0, 0, 7) {
			var week []CalendarDay
			for i := range 7 {
				week = append(week, day(w.AddDate(0, 0, i)))
			}
			p.Weeks = append(p.Weeks, week)
		}
	default:
		for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
			if cd := day(d); len(cd.Sessions) > 0 {
				p.Days = append(p.Days, cd)
			}
		}
	}
	return p, nil
}

// publicQuery chooses public sessions: of tenant, starting in [from, to),
// in one of statuses, matching filter; id, when set, only that session.
type publicQuery struct {
	tenant   uuid.UUID
	from, to time.Time
	filter   CalendarFilter
	statuses []string
	id       uuid.UUID
}

// publicLike escapes the LIKE wildcards of s and wraps it in %…%.
func publicLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// publicSessions reads public sessions with their booking counts in one
// query: the counts come from one aggregate over the bookings of the
// sessions in range, joined to them, never one count per session.
func (s *Service) publicSessions(tx *gorm.DB, q publicQuery) ([]PublicSession, error) {
	where := []string{"s.tenant_id = ?", "s.public", "s.status IN ?"}
	args := []any{q.tenant, q.statuses}
	inner := []string{"b.tenant_id = ?", "x.public"}
	innerArgs := []any{q.tenant}
	if q.id != uuid.Nil {
		where = append(where, "s.id = ?")
		args = append(args, q.id)
		inner = append(inner, "b.session_id = ?")
		innerArgs = append(innerArgs, q.id)
	} else {
		where = append(where, "s.starts_at >= ?", "s.starts_at < ?")
		args = append(args, q.from.UTC(), q.to.UTC())
		inner = append(inner, "x.starts_at >= ?", "x.starts_at < ?")
		innerArgs = append(innerArgs, q.from.UTC(), q.to.UTC())
	}
	if q.filter.Audience != "" {
		where = append(where, "(c.audience = ? OR c.audience = 'any')")
		args = append(args, q.filter.Audience)
	}
	if q.filter.Competency != uuid.Nil {
		where = append(where, `EXISTS (SELECT 1 FROM course_competencies cc
			WHERE cc.tenant_id = s.tenant_id AND cc.course_id = s.course_id AND cc.competency_id = ?)`)
		args = append(args, q.filter.Competency)
	}
	if q.filter.Location != "" {
		where = append(where, "(s.location ILIKE ? OR (? AND s.online_url <> ''))")
		args = append(args, publicLike(q.filter.Location), strings.EqualFold(q.filter.Location, "online"))
	}
	query := `SELECT s.id, s.course_id, c.title, c.audience, c.format, s.starts_at, s.ends_at, s.location, s.online_url <> '',
			s.capacity, s.cutoff_hours, s.status, s.sequence, s.updated_at, coalesce(k.booked, 0), coalesce(k.waiting, 0)
		FROM training_sessions s
		JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		LEFT JOIN (
			SELECT b.session_id, count(*) FILTER (WHERE b.status IN ('booked', 'attended', 'absent')) AS booked,
				count(*) FILTER (WHERE b.status = 'waiting') AS waiting
			FROM bookings b JOIN training_sessions x ON x.tenant_id = b.tenant_id AND x.id = b.session_id
			WHERE ` + strings.Join(inner, " AND ") + `
			GROUP BY b.session_id
		) k ON k.session_id = s.id
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY s.starts_at, c.title, s.id`
	rows, err := tx.Raw(query, append(innerArgs, args...)...).Rows()
	if err != nil {
		return nil, storeErr("read public sessions", err)
	}
	defer rows.Close()
	now := s.now().UTC()
	var out []PublicSession
	for rows.Next() {
		var p PublicSession
		if err := rows.Scan(&p.ID, &p.CourseID, &p.CourseTitle, &p.Audience, &p.Format, &p.StartsAt, &p.EndsAt, &p.Location,
			&p.Online, &p.Capacity, &p.CutoffHours, &p.Status, &p.Sequence, &p.UpdatedAt, &p.Booked, &p.Waiting); err != nil {
			return nil, storeErr("read public sessions", err)
		}
		p.StartsAt, p.EndsAt, p.UpdatedAt = p.StartsAt.UTC(), p.EndsAt.UTC(), p.UpdatedAt.UTC()
		if err := bookingClosed(Session{Status: p.Status, StartsAt: p.StartsAt, CutoffHours: p.CutoffHours}, now); err != nil {
			p.Closed = errs.MessageOf(err)
		}
		out = append(out, p)
	}
	return out, storeErr("read public sessions", rows.Err())
}

// publicCompetencies returns the competencies trained by courses that have
// public sessions scheduled after now, by code.
func (s *Service) publicCompetencies(tx *gorm.DB, tenant uuid.UUID, now time.Time) ([]Competency, error) {
	var out []Competency
	err := tx.Raw(`SELECT DISTINCT k.id, k.code, k.title FROM course_competencies cc
		JOIN competencies k ON k.tenant_id = cc.tenant_id AND k.id = cc.competency_id
		JOIN training_sessions s ON s.tenant_id = cc.tenant_id AND s.course_id = cc.course_id
		WHERE cc.tenant_id = ? AND s.public AND s.status = 'scheduled' AND s.starts_at > ?
		ORDER BY k.code`, tenant, now.UTC()).Scan(&out).Error
	if err != nil {
		return nil, storeErr("read calendar competencies", err)
	}
	return out, nil
}

// SessionDetails is a public session with what its course is about.
type SessionDetails struct {
	PublicSession
	Description     string
	Prerequisites   string
	DurationMinutes int
	Competencies    []Competency
	// YourStatus is the signed-in reader's live booking on the session
	// (Booked or Waiting), "" when they have none.
	YourStatus string
	// YourBooking is that booking's id.
	YourBooking uuid.UUID
}

// PublicSessionDetails returns one public session of the tenant in ctx
// (scheduled, cancelled or over); any other session is not found.
func (s *Service) PublicSessionDetails(ctx context.Context, id uuid.UUID) (SessionDetails, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return SessionDetails{}, err
	}
	var out SessionDetails
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		list, err := s.publicSessions(tx, publicQuery{tenant: t.ID, id: id, statuses: []string{Scheduled, Cancelled, Completed}})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return errs.E(errs.NotFound, msgNoPublicSession)
		}
		out.PublicSession = list[0]
		c, err := s.course(tx, t.ID, out.CourseID)
		if err != nil {
			return err
		}
		out.Description, out.Prerequisites, out.DurationMinutes, out.Competencies =
			c.Description, c.Prerequisites, c.DurationMinutes, c.Competencies
		if actor == uuid.Nil {
			return nil
		}
		var mine []struct {
			ID     uuid.UUID
			Status string
		}
		if err := tx.Raw(`SELECT b.id, b.status FROM bookings b JOIN persons p ON p.id = b.person_id
			WHERE b.tenant_id = ? AND b.session_id = ? AND p.account_id = ? AND b.status IN ('booked', 'waiting')`,
			t.ID, id, actor).Scan(&mine).Error; err != nil {
			return storeErr("read own booking", err)
		}
		if len(mine) > 0 {
			out.YourStatus, out.YourBooking = mine[0].Status, mine[0].ID
		}
		return nil
	})
	return out, err
}

// msgNoPublicSession answers for a session that is not on the public
// calendar.
const msgNoPublicSession = "No session with that reference is on this calendar"
