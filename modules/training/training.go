// Package training runs a tenant's training: courses and the competencies
// they train, sessions (one-off or a recurring series, in Europe/London
// time), the trainers and assessors who may run them, bookings with a
// waiting list, and the attendance register that records training attended
// in each holder's passport.
package training

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// Course formats, audiences and statuses.
const (
	FormatClassroom  = "classroom"
	FormatManikin    = "manikin"
	FormatSimulation = "simulation"
	FormatOnline     = "online"
	FormatOnTheWard  = "on_the_ward"

	AudienceParentsCarers = "parents_carers"
	AudienceCareStaff     = "care_staff"
	AudienceSchoolStaff   = "school_staff"
	AudienceAny           = "any"
)

// Choice is one option of a form's list.
type Choice struct {
	Key   string
	Label string
}

// Formats and Audiences are the choices, in form order.
var (
	Formats = []Choice{{FormatClassroom, "Classroom"}, {FormatManikin, "Manikin practice"},
		{FormatSimulation, "Simulation"}, {FormatOnline, "Online"}, {FormatOnTheWard, "On the ward"}}
	Audiences = []Choice{{AudienceParentsCarers, "Parents and carers"}, {AudienceCareStaff, "Care staff"},
		{AudienceSchoolStaff, "School staff"}, {AudienceAny, "Anyone"}}
)

func label(choices []Choice, key string) string {
	for _, c := range choices {
		if c.Key == key {
			return c.Label
		}
	}
	return key
}

// Course is a course a tenant runs.
type Course struct {
	ID              uuid.UUID     `json:"id"`
	Title           string        `json:"title"`
	Description     string        `json:"description"`
	Format          string        `json:"format"`
	DurationMinutes int           `json:"duration_minutes"`
	Audience        string        `json:"audience"`
	Prerequisites   string        `json:"prerequisites"`
	DefaultCapacity int           `json:"default_capacity"`
	SignOff         bool          `json:"sign_off"`
	Status          string        `json:"status"`
	Competencies    []Competency  `json:"competencies"`
	Duration        time.Duration `json:"-"`
}

// FormatLabel and AudienceLabel name the course's format and audience.
func (c Course) FormatLabel() string   { return label(Formats, c.Format) }
func (c Course) AudienceLabel() string { return label(Audiences, c.Audience) }

// Competency is one competency a course trains.
type Competency struct {
	ID    uuid.UUID `json:"id"`
	Code  string    `json:"code"`
	Title string    `json:"title"`
}

// CourseInput is what a course is made from.
type CourseInput struct {
	Title           string      `json:"title"`
	Description     string      `json:"description"`
	Format          string      `json:"format"`
	DurationMinutes int         `json:"duration_minutes"`
	Audience        string      `json:"audience"`
	Prerequisites   string      `json:"prerequisites"`
	DefaultCapacity int         `json:"default_capacity"`
	SignOff         bool        `json:"sign_off"`
	Competencies    []uuid.UUID `json:"competency_ids"`
}

func (in CourseInput) validate() (CourseInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.Prerequisites = strings.TrimSpace(in.Prerequisites)
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	switch n := utf8.RuneCountInString(in.Title); {
	case n == 0:
		add("title", "Enter the course title")
	case n > 200:
		add("title", "Title must be 200 characters or fewer")
	}
	if utf8.RuneCountInString(in.Description) > 5000 {
		add("description", "Description must be 5,000 characters or fewer")
	}
	if label(Formats, in.Format) == in.Format {
		add("format", "Select how the course is taught")
	}
	if in.DurationMinutes < 15 || in.DurationMinutes > 1440 {
		add("duration_minutes", "Duration must be between 15 minutes and 24 hours, in minutes")
	}
	if label(Audiences, in.Audience) == in.Audience {
		add("audience", "Select who the course is for")
	}
	if utf8.RuneCountInString(in.Prerequisites) > 2000 {
		add("prerequisites", "Prerequisites must be 2,000 characters or fewer")
	}
	if in.DefaultCapacity < 1 || in.DefaultCapacity > 500 {
		add("default_capacity", "Places must be a number from 1 to 500")
	}
	if len(in.Competencies) == 0 {
		add("competency_ids", "Choose at least one competency the course trains")
	}
	if len(fe) > 0 {
		return in, errs.Validation(fe...)
	}
	return in, nil
}

// Session statuses.
const (
	Scheduled = "scheduled"
	Cancelled = "cancelled"
	Completed = "completed"
)

// Session is one session of a course.
type Session struct {
	ID          uuid.UUID  `json:"id"`
	CourseID    uuid.UUID  `json:"course_id"`
	CourseTitle string     `json:"course_title"`
	SeriesID    *uuid.UUID `json:"series_id,omitempty"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	Location    string     `json:"location,omitempty"`
	OnlineURL   string     `json:"online_url,omitempty"`
	Capacity    int        `json:"capacity"`
	CutoffHours int        `json:"cutoff_hours"`
	Public      bool       `json:"public"`
	Status      string     `json:"status"`
	Sequence    int        `json:"-"`
	Booked      int        `json:"booked"`
	Waiting     int        `json:"waiting"`
	Trainers    []Trainer  `json:"trainers"`
}

// Free is the number of places left.
func (s Session) Free() int { return max(0, s.Capacity-s.Booked) }

// Cutoff is the last moment a place may be booked.
func (s Session) Cutoff() time.Time { return s.StartsAt.Add(-time.Duration(s.CutoffHours) * time.Hour) }

// Trainer is someone who runs a session.
type Trainer struct {
	HolderID uuid.UUID `json:"holder_id"`
	Name     string    `json:"name"`
}

// SessionInput is what a session, or a series of them, is made from. Date
// and times are Europe/London wall-clock values.
type SessionInput struct {
	CourseID    uuid.UUID `json:"course_id"`
	Date        string    `json:"date"`  // YYYY-MM-DD
	Start       string    `json:"start"` // HH:MM
	End         string    `json:"end"`   // HH:MM
	Location    string    `json:"location"`
	OnlineURL   string    `json:"online_url"`
	Capacity    int       `json:"capacity"` // 0: the course's default
	CutoffHours *int      `json:"cutoff_hours"`
	Public      bool      `json:"public"`
	// EveryWeeks and Count make a series: Count sessions, EveryWeeks weeks
	// apart (every second Tuesday: 2). Count 0 or 1 makes one session.
	EveryWeeks int `json:"every_weeks"`
	Count      int `json:"count"`
}

// maxSeries bounds the sessions one series makes.
const maxSeries = 52

// times turns the input's London wall-clock values into instants for each
// session of the series, checking them against now.
func (in SessionInput) times(now time.Time) ([][2]time.Time, error) {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.Date), London)
	if err != nil {
		add("date", "Enter the date as a real date")
	}
	start, err1 := time.Parse("15:04", strings.TrimSpace(in.Start))
	end, err2 := time.Parse("15:04", strings.TrimSpace(in.End))
	if err1 != nil {
		add("start", "Enter the start time as hours and minutes, for example 09:30")
	}
	if err2 != nil {
		add("end", "Enter the end time as hours and minutes, for example 12:00")
	}
	if err1 == nil && err2 == nil && !end.After(start) {
		add("end", "The session must end after it starts")
	}
	count := max(in.Count, 1)
	if count > maxSeries {
		add("count", "A series can have at most 52 sessions")
	}
	if count > 1 && (in.EveryWeeks < 1 || in.EveryWeeks > 8) {
		add("every_weeks", "Repeat every 1 to 8 weeks")
	}
	if len(fe) > 0 {
		return nil, errs.Validation(fe...)
	}
	var out [][2]time.Time
	for i := range count {
		d := day.AddDate(0, 0, 7*in.EveryWeeks*i)
		// Wall-clock times on that date in London: the offset is the one in
		// force on the day, so 09:30 stays 09:30 across the clock changes.
		s := time.Date(d.Year(), d.Month(), d.Day(), start.Hour(), start.Minute(), 0, 0, London)
		e := time.Date(d.Year(), d.Month(), d.Day(), end.Hour(), end.Minute(), 0, 0, London)
		if i == 0 && !s.After(now) {
			return nil, errs.Validation(errs.FieldError{Field: "date", Message: "The session must start in the future"})
		}
		out = append(out, [2]time.Time{s.UTC(), e.UTC()})
	}
	return out, nil
}

// Booking statuses.
const (
	Booked   = "booked"
	Waiting  = "waiting"
	Cancel   = "cancelled"
	Attended = "attended"
	Absent   = "absent"
)

// Booking is a holder's place on a session, or on its waiting list.
type Booking struct {
	ID         uuid.UUID `json:"id"`
	SessionID  uuid.UUID `json:"session_id"`
	HolderID   uuid.UUID `json:"holder_id"`
	HolderName string    `json:"holder_name"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// London is the time zone sessions are planned in.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("training: no Europe/London time zone: " + err.Error())
	}
	return loc
}()
