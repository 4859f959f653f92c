// Package ical writes iCalendar documents (RFC 5545) for the training
// calendar: the subscription feed of a calendar's sessions, and the single
// event attached to a booking or cancellation email (RFC 5546 methods).
//
// Event times are instants; they are written as Europe/London local times
// (DTSTART;TZID=Europe/London:20250710T100000) next to a VTIMEZONE that
// describes the London rules, so calendars show the right hour on both sides
// of the clock changes. The one exception is the repeated hour after the
// clocks go back in October: a London time such as 01:30 on that Sunday
// happens twice, so an instant whose London time falls in that hour is
// written in UTC (DTSTART:20251026T013000Z), which names it alone.
//
// Output is deterministic: the same Calendar always gives the same bytes,
// with events in the order given. Lines end with CRLF and are folded at 75
// octets without splitting a UTF-8 sequence. Nothing is written for a
// Calendar that fails validation.
package ical

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // London local times even where the host has no zoneinfo
)

// TZID is the time zone in which event times are written.
const TZID = "Europe/London"

// DefaultProdID is the PRODID written when Calendar.ProdID is empty.
const DefaultProdID = "-//Carepass//Training calendar//EN"

// Methods of Calendar.Method (RFC 5546). A subscription feed has no method.
const (
	// MethodPublish publishes events without expecting replies.
	MethodPublish = "PUBLISH"
	// MethodRequest invites the attendees to one event (a booking email).
	MethodRequest = "REQUEST"
	// MethodCancel cancels one event for its attendees (a cancellation
	// email).
	MethodCancel = "CANCEL"
)

// MinYear is the first year an event may start or end in: the London rules
// the VTIMEZONE describes (clocks change on the last Sunday of March and of
// October at 01:00 UTC) have held since 1996.
const MinYear = 1996

// ErrEvent is wrapped by the errors for an event that cannot be written: no
// UID or a duplicate one, an end not after its start, no Updated time, a time
// outside the years MinYear to 9999, a negative sequence, a URL that is not
// absolute http(s), an e-mail address that cannot be a mailto URI, or a
// status or party the calendar's method does not allow.
var ErrEvent = errors.New("ical: invalid event")

// ErrCalendar is wrapped by the errors for a calendar that cannot be written
// as a whole: an unknown method, a REQUEST or CANCEL that does not hold
// exactly one event, or a negative refresh interval.
var ErrCalendar = errors.New("ical: invalid calendar")

// Person is a calendar user: an organizer or an attendee.
type Person struct {
	// Name is the display name (CN); may be empty.
	Name string
	// Email is the address, written as a mailto URI; required when Name is
	// set.
	Email string
}

// IsZero reports whether p names nobody.
func (p Person) IsZero() bool { return p.Name == "" && p.Email == "" }

// Event is one calendar event (VEVENT).
type Event struct {
	// UID identifies the event for ever, across feeds and emails, e.g.
	// "<session id>@carepass" (required, unique within a calendar).
	UID string
	// Sequence is the revision, bumped by the caller on every significant
	// change, cancellation included; never negative.
	Sequence int
	// Start and End are instants; End must be after Start (compared in
	// whole seconds, the precision written).
	Start, End time.Time
	// Summary is the title; Description, Location and URL are optional.
	Summary     string
	Description string
	Location    string
	// URL, when set, must be an absolute http or https URL.
	URL string
	// Cancelled writes STATUS:CANCELLED; otherwise STATUS:CONFIRMED.
	Cancelled bool
	// Updated is when the event last changed (required); it is written as
	// DTSTAMP and LAST-MODIFIED, in UTC.
	Updated time.Time
	// Organizer is optional for a feed and required (with an e-mail
	// address) for REQUEST and CANCEL.
	Organizer Person
	// Attendees are written as ATTENDEE, each with an e-mail address; a
	// REQUEST or CANCEL needs at least one.
	Attendees []Person
}

// Calendar is an iCalendar document: a feed, or an email attachment.
type Calendar struct {
	// Name is the calendar's display name (X-WR-CALNAME); may be empty.
	Name string
	// ProdID identifies the product; DefaultProdID when empty.
	ProdID string
	// Method is "" for a subscription feed, or MethodPublish, MethodRequest
	// or MethodCancel. REQUEST and CANCEL carry exactly one event.
	Method string
	// RefreshInterval, when positive, suggests how often subscribers should
	// fetch the feed again (REFRESH-INTERVAL and X-PUBLISHED-TTL), in whole
	// seconds.
	RefreshInterval time.Duration
	// Events are written in the order given.
	Events []Event
}

// ContentType is the media type of the document, with the method parameter
// that email clients look for when Method is set, e.g.
// "text/calendar; charset=utf-8; method=REQUEST".
func (c Calendar) ContentType() string {
	if c.Method == "" {
		return "text/calendar; charset=utf-8"
	}
	return "text/calendar; charset=utf-8; method=" + c.Method
}

// Validate reports the first reason c cannot be written, wrapping ErrEvent
// or ErrCalendar; nil when it can.
func (c Calendar) Validate() error {
	switch c.Method {
	case "", MethodPublish, MethodRequest, MethodCancel:
	default:
		return fmt.Errorf("%w: unknown method %q", ErrCalendar, c.Method)
	}
	if (c.Method == MethodRequest || c.Method == MethodCancel) && len(c.Events) != 1 {
		return fmt.Errorf("%w: method %s needs exactly one event, got %d", ErrCalendar, c.Method, len(c.Events))
	}
	if c.RefreshInterval < 0 {
		return fmt.Errorf("%w: negative refresh interval", ErrCalendar)
	}
	seen := make(map[string]int, len(c.Events))
	for i, e := range c.Events {
		if err := e.validate(c.Method); err != nil {
			return fmt.Errorf("events[%d]: %w", i, err)
		}
		if j, dup := seen[e.UID]; dup {
			return fmt.Errorf("events[%d]: %w: UID %q already used by events[%d]", i, ErrEvent, e.UID, j)
		}
		seen[e.UID] = i
	}
	return nil
}

// validate checks one event against the calendar's method.
func (e Event) validate(method string) error {
	if strings.TrimSpace(e.UID) == "" {
		return fmt.Errorf("%w: missing UID", ErrEvent)
	}
	if e.Sequence < 0 {
		return fmt.Errorf("%w: negative sequence", ErrEvent)
	}
	if !inYears(e.Start, MinYear) || !inYears(e.End, MinYear) {
		return fmt.Errorf("%w: start and end must fall in the years %d to 9999", ErrEvent, MinYear)
	}
	if !e.End.Truncate(time.Second).After(e.Start.Truncate(time.Second)) {
		return fmt.Errorf("%w: end must be after start", ErrEvent)
	}
	if !inYears(e.Updated, 1) {
		return fmt.Errorf("%w: missing or out-of-range updated time", ErrEvent)
	}
	if e.URL != "" {
		if _, err := absoluteURL(e.URL); err != nil {
			return fmt.Errorf("%w: url: %w", ErrEvent, err)
		}
	}
	if err := validPerson(e.Organizer, true); err != nil {
		return fmt.Errorf("%w: organizer: %w", ErrEvent, err)
	}
	for i, a := range e.Attendees {
		if err := validPerson(a, false); err != nil {
			return fmt.Errorf("%w: attendees[%d]: %w", ErrEvent, i, err)
		}
	}
	switch method {
	case MethodRequest, MethodCancel:
		if e.Organizer.Email == "" {
			return fmt.Errorf("%w: method %s needs an organizer e-mail address", ErrEvent, method)
		}
		if len(e.Attendees) == 0 {
			return fmt.Errorf("%w: method %s needs at least one attendee", ErrEvent, method)
		}
		if method == MethodRequest && e.Cancelled {
			return fmt.Errorf("%w: a cancelled event is sent with method CANCEL, not REQUEST", ErrEvent)
		}
		if method == MethodCancel && !e.Cancelled {
			return fmt.Errorf("%w: method CANCEL needs a cancelled event", ErrEvent)
		}
	}
	return nil
}

// inYears reports whether t is non-zero and falls in the years minYear to
// 9999 in UTC and in London, the range the date formats can write.
func inYears(t time.Time, minYear int) bool {
	if t.IsZero() {
		return false
	}
	for _, y := range []int{t.UTC().Year(), t.In(london).Year()} {
		if y < minYear || y > 9999 {
			return false
		}
	}
	return true
}

// validPerson checks a calendar user; optional allows the zero Person.
func validPerson(p Person, optional bool) error {
	if optional && p.IsZero() {
		return nil
	}
	if p.Email == "" {
		return errors.New("an e-mail address is required")
	}
	return validEmail(p.Email)
}

// validEmail accepts a bare address that can be written after "mailto:"
// without percent-encoding.
func validEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("%q is not a bare e-mail address", s)
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"%?#()<>[]\,;:`, r) {
			return fmt.Errorf("%q has a character a mailto URI would need to escape", s)
		}
	}
	return nil
}

// absoluteURL parses an absolute http or https URL.
func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	return u, nil
}

// london is the zone of TZID.
var london = func() *time.Location {
	loc, err := time.LoadLocation(TZID)
	if err != nil {
		panic(fmt.Sprintf("ical: %s: %v", TZID, err)) // embedded tzdata makes this unreachable
	}
	return loc
}()
