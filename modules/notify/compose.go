package notify

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/training"
)

// letter is one email as people read it; text and HTML are both made from it.
type letter struct {
	Subject  string
	Greeting string   // "Dear Ada,"
	Paras    []string // before the facts
	Facts    []fact
	Actions  []action
	After    []string // after the actions
	Org      string   // the organisation it is from
	Why      string   // why the recipient gets it (reminders)
	Prefs    string   // the preferences page (reminders); empty for essential mail
}

type fact struct{ Label, Value, Href string }

type action struct{ Text, URL string }

//go:embed email/*.html
var emailFS embed.FS

var letterHTML = template.Must(template.ParseFS(emailFS, "email/letter.html"))

// text renders the plain-text part.
func (l letter) text() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\n") }
	line(l.Greeting)
	line("")
	for _, p := range l.Paras {
		line(p)
		line("")
	}
	if len(l.Facts) > 0 {
		for _, f := range l.Facts {
			line(f.Label + ": " + f.Value)
		}
		line("")
	}
	for _, a := range l.Actions {
		line(a.Text + ": " + a.URL)
	}
	if len(l.Actions) > 0 {
		line("")
	}
	for _, p := range l.After {
		line(p)
		line("")
	}
	line("From " + l.Org + ", through Carepass.")
	if l.Prefs != "" {
		line("")
		line("-- ")
		if l.Why != "" {
			line(l.Why)
		}
		line("To stop reminder emails, or to choose again: " + l.Prefs)
	}
	return b.String()
}

// html renders the HTML part.
func (l letter) html() (string, error) {
	var b bytes.Buffer
	if err := letterHTML.Execute(&b, l); err != nil {
		return "", fmt.Errorf("notify: render email: %w", err)
	}
	return b.String(), nil
}

// message builds the email of l to one recipient. prefsToken, for a
// reminder, adds the one-click unsubscribe headers (RFC 8058). The
// Message-ID derives from the job, so a retry re-sends the same message.
func (n *Notifier) message(jobID int64, to mail.Address, l letter, prefsToken string, attach []mail.Attachment) (mail.Message, error) {
	if prefsToken != "" {
		l.Prefs = n.url(PreferencesPath + prefsToken)
	}
	html, err := l.html()
	if err != nil {
		return mail.Message{}, err
	}
	m := mail.Message{To: []mail.Address{to}, Subject: l.Subject, Text: l.text(), HTML: html, Attachments: attach,
		ID: fmt.Sprintf("notify-%d", jobID)}
	if prefsToken != "" {
		m.Headers = map[string]string{
			"List-Unsubscribe":      "<" + n.url(UnsubscribePath+"?t="+prefsToken) + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}
	}
	return m, nil
}

// sessionRow is what a message says of a session.
type sessionRow struct {
	ID        uuid.UUID
	Title     string
	StartsAt  time.Time
	EndsAt    time.Time
	Location  string
	OnlineURL string
	Status    string
}

// when says when a session is, in London time.
func (s sessionRow) when() string {
	st, en := s.StartsAt.In(london), s.EndsAt.In(london)
	day := "Monday 2 January 2006"
	if st.Format(day) == en.Format(day) {
		return st.Format(day) + ", " + st.Format("15:04") + " to " + en.Format("15:04") + " (UK time)"
	}
	return st.Format(day+", 15:04") + " to " + en.Format(day+", 15:04") + " (UK time)"
}

// facts are the lines of an email that say when and where a session is.
func (s sessionRow) facts() []fact {
	out := []fact{{Label: "When", Value: s.when()}}
	if s.Location != "" {
		out = append(out, fact{Label: "Where", Value: s.Location})
	}
	if s.OnlineURL != "" {
		out = append(out, fact{Label: "Online link", Value: s.OnlineURL, Href: s.OnlineURL})
	}
	return out
}

// invite is the calendar attachment of a booking: the event its holder's
// own feed shows (ev), sent from the organisation to the recipient as a
// REQUEST adding it to their calendar, or a CANCEL taking it out.
func (n *Notifier) invite(ev ical.Event, org string, to mail.Address) (mail.Attachment, error) {
	ev.Organizer = ical.Person{Name: org, Email: n.organizer.Email}
	ev.Attendees = []ical.Person{{Name: to.Name, Email: to.Email}}
	cal := ical.Calendar{Method: ical.MethodRequest, Events: []ical.Event{ev}}
	file := "invite.ics"
	if ev.Cancelled {
		cal.Method, file = ical.MethodCancel, "cancellation.ics"
	}
	data, err := cal.Bytes()
	if err != nil {
		return mail.Attachment{}, fmt.Errorf("notify: calendar: %w", err)
	}
	return mail.Attachment{Filename: file, ContentType: cal.ContentType(), Data: data}, nil
}

// bookingLetter is the email of a booking change.
func (n *Notifier) bookingLetter(change, given, org string, s sessionRow) letter {
	l := letter{Greeting: "Dear " + given + ",", Org: org, Facts: s.facts(),
		Actions: []action{{Text: "See your training and bookings", URL: n.url(TrainingPath)}}}
	switch change {
	case training.ChangeBooked:
		l.Subject = "Booking confirmed: " + s.Title
		l.Paras = []string{"Your place is booked on " + s.Title + ", run by " + org + "."}
		l.After = []string{"The invitation attached to this email adds the session to your calendar.",
			"If you can no longer come, please cancel your booking so someone else can have the place."}
	case training.ChangeWaiting:
		l.Subject = "On the waiting list: " + s.Title
		l.Paras = []string{"The session of " + s.Title + " run by " + org + " is full, so you are on its waiting list.",
			"If a place comes free, it goes to the first person waiting, and we will email you straight away."}
	case training.ChangePromoted:
		l.Subject = "You have a place: " + s.Title
		l.Paras = []string{"A place came free on " + s.Title + ", run by " + org + ", and it is now yours: you are booked."}
		l.After = []string{"The invitation attached to this email adds the session to your calendar.",
			"If you can no longer come, please cancel your booking so someone else can have the place."}
	case training.ChangeCancelled:
		l.Subject = "Booking cancelled: " + s.Title
		l.Paras = []string{"Your booking on " + s.Title + ", run by " + org + ", is cancelled."}
		l.After = []string{"The attachment takes the session out of your calendar. You can book another session at any time."}
	default: // the session was cancelled
		l.Subject = "Session cancelled: " + s.Title
		l.Paras = []string{org + " has cancelled this session of " + s.Title + ". Your booking is cancelled with it.",
			"We are sorry for the change. You can book another session at any time."}
		l.After = []string{"The attachment takes the session out of your calendar."}
	}
	return l
}

// dayWord says when a session is, seen from now: "today", "tomorrow" or
// "on Tuesday 23 March".
func dayWord(now, start time.Time) string {
	switch londonDate(start).Sub(londonDate(now)) / (24 * time.Hour) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "on " + start.In(london).Format("Monday 2 January")
}

// tomorrowLetter is the day-before reminder.
func (n *Notifier) tomorrowLetter(given, org string, s sessionRow) letter {
	day := dayWord(n.now(), s.StartsAt)
	return letter{
		Subject:  "Reminder: " + s.Title + " " + day + " at " + s.StartsAt.In(london).Format("15:04"),
		Greeting: "Dear " + given + ",",
		Paras:    []string{"This is a reminder that you have a place on " + s.Title + ", run by " + org + ", " + day + "."},
		Facts:    s.facts(),
		Actions:  []action{{Text: "See your training and bookings", URL: n.url(TrainingPath)}},
		After:    []string{"If you can no longer come, please cancel your booking so someone else can have the place."},
		Org:      org,
		Why:      "You get this email because you booked a training session.",
	}
}

// expiry is what an expiry reminder says of a competency record.
type expiry struct {
	Code, Title string
	ExpiresOn   time.Time // a date, at midnight UTC
	HolderName  string
	HolderID    uuid.UUID
}

func (e expiry) date() string { return e.ExpiresOn.Format("2 January 2006") }

// daysLeft counts the days from today (in London) to the expiry date.
func (e expiry) daysLeft(now time.Time) int {
	return int(e.ExpiresOn.Sub(londonDate(now)) / (24 * time.Hour))
}

func inDays(d int) string {
	if d == 1 {
		return "tomorrow"
	}
	return fmt.Sprintf("in %d days", d)
}

// expiryLetter is the holder's reminder.
func (n *Notifier) expiryLetter(given, org string, e expiry) letter {
	l := letter{Greeting: "Dear " + given + ",", Org: org,
		Facts: []fact{{Label: "Competency", Value: e.Code + " " + e.Title}, {Label: "Recorded by", Value: org}},
		Actions: []action{{Text: "See your passport", URL: n.url(PassportPath)},
			{Text: "Book training", URL: n.url(TrainingPath)}},
		Why: "You get this email because your competencies are recorded on Carepass."}
	if d := e.daysLeft(n.now()); d > 0 {
		l.Subject = "Your competency " + e.Code + " expires on " + e.date()
		l.Paras = []string{fmt.Sprintf("Your competency %s %s expires on %s, %s.", e.Code, e.Title, e.date(), inDays(d)),
			"To keep it current, arrange your refresher training or re-assessment with " + org + " before then."}
	} else {
		l.Subject = "Your competency " + e.Code + " has expired"
		l.Paras = []string{"Your competency " + e.Code + " " + e.Title + " expired on " + e.date() + ".",
			"It no longer counts as current. Ask " + org + " about refresher training and re-assessment."}
	}
	return l
}

// managerLetter is a manager's copy of an expiry reminder.
func (n *Notifier) managerLetter(managerName, org, slug string, e expiry) letter {
	greeting := "Hello,"
	if managerName != "" {
		greeting = "Dear " + managerName + ","
	}
	l := letter{Greeting: greeting, Org: org,
		Facts:   []fact{{Label: "Person", Value: e.HolderName}, {Label: "Competency", Value: e.Code + " " + e.Title}},
		Actions: []action{{Text: "See their record", URL: n.url("/t/" + slug + "/holders/" + e.HolderID.String())}},
		Why:     "You get this email because you can see staff and their training at " + org + "."}
	if d := e.daysLeft(n.now()); d > 0 {
		l.Subject = e.HolderName + ": " + e.Code + " expires on " + e.date()
		l.Paras = []string{fmt.Sprintf("%s's competency %s %s expires on %s, %s.", e.HolderName, e.Code, e.Title, e.date(), inDays(d))}
	} else {
		l.Subject = e.HolderName + ": " + e.Code + " has expired"
		l.Paras = []string{e.HolderName + "'s competency " + e.Code + " " + e.Title + " expired on " + e.date() + ". It no longer counts as current."}
	}
	return l
}
