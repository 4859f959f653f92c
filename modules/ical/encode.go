package ical

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Encode writes c to w as one iCalendar document. It writes nothing when c
// fails Validate.
func (c Calendar) Encode(w io.Writer) error {
	b, err := c.Bytes()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("ical: write: %w", err)
	}
	return nil
}

// Bytes returns c as one iCalendar document, or the Validate error.
func (c Calendar) Bytes() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var w writer
	w.prop("BEGIN", "VCALENDAR")
	w.prop("VERSION", "2.0")
	prodID := c.ProdID
	if prodID == "" {
		prodID = DefaultProdID
	}
	w.prop("PRODID", text(prodID))
	w.prop("CALSCALE", "GREGORIAN")
	if c.Method != "" {
		w.prop("METHOD", c.Method)
	}
	if c.Name != "" {
		w.prop("X-WR-CALNAME", text(c.Name))
	}
	w.prop("X-WR-TIMEZONE", TZID)
	if d := duration(c.RefreshInterval); d != "" {
		w.prop("REFRESH-INTERVAL;VALUE=DURATION", d)
		w.prop("X-PUBLISHED-TTL", d)
	}
	w.raw(vtimezone)
	for _, e := range c.Events {
		w.event(e)
	}
	w.prop("END", "VCALENDAR")
	return w.buf.Bytes(), nil
}

// vtimezone describes Europe/London since 1996: BST (+0100) from 01:00 UTC
// on the last Sunday of March, GMT (+0000) from 01:00 UTC on the last Sunday
// of October. Each DTSTART is the local time of the change in the offset
// before it (TZOFFSETFROM), on the first such Sunday of 1970 as is
// customary; events before MinYear are refused, so the earlier UK rules never
// matter.
var vtimezone = strings.Join([]string{
	"BEGIN:VTIMEZONE",
	"TZID:" + TZID,
	"X-LIC-LOCATION:" + TZID,
	"BEGIN:DAYLIGHT",
	"TZOFFSETFROM:+0000",
	"TZOFFSETTO:+0100",
	"TZNAME:BST",
	"DTSTART:19700329T010000",
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
	"END:DAYLIGHT",
	"BEGIN:STANDARD",
	"TZOFFSETFROM:+0100",
	"TZOFFSETTO:+0000",
	"TZNAME:GMT",
	"DTSTART:19701025T020000",
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
	"END:STANDARD",
	"END:VTIMEZONE",
}, "\r\n") + "\r\n"

// duration renders d, in whole seconds, as a DURATION value such as "PT1H"
// or "PT1H30M"; "" when it is under a second.
func duration(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs <= 0 {
		return ""
	}
	s := "PT"
	for _, u := range []struct {
		n      int64
		letter string
	}{{secs / 3600, "H"}, {secs / 60 % 60, "M"}, {secs % 60, "S"}} {
		if u.n > 0 {
			s += strconv.FormatInt(u.n, 10) + u.letter
		}
	}
	return s
}

// Formats of DATE-TIME values: local time with a TZID, and UTC.
const (
	localFormat = "20060102T150405"
	utcFormat   = "20060102T150405Z"
)

// writer builds the document line by line.
type writer struct {
	buf bytes.Buffer
}

// raw appends lines that are already CRLF-terminated and short.
func (w *writer) raw(s string) { w.buf.WriteString(s) }

// prop writes one content line, name (with any parameters) ":" value, folded.
func (w *writer) prop(name, value string) {
	w.fold(name + ":" + value)
}

// maxLine is the longest physical line allowed, in octets, not counting the
// CRLF.
const maxLine = 75

// fold writes a content line as physical lines of at most maxLine octets,
// each continuation starting with a space, breaking only at the start of a
// UTF-8 sequence.
func (w *writer) fold(line string) {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		w.buf.WriteString(line[:cut])
		w.buf.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLine - 1 // the leading space counts
	}
	w.buf.WriteString(line)
	w.buf.WriteString("\r\n")
}

// event writes one VEVENT; e has been validated.
func (w *writer) event(e Event) {
	w.prop("BEGIN", "VEVENT")
	w.prop("UID", text(e.UID))
	w.prop("DTSTAMP", e.Updated.UTC().Format(utcFormat))
	w.prop("SEQUENCE", strconv.Itoa(e.Sequence))
	w.dateTime("DTSTART", e.Start)
	w.dateTime("DTEND", e.End)
	if e.Summary != "" {
		w.prop("SUMMARY", text(e.Summary))
	}
	if e.Description != "" {
		w.prop("DESCRIPTION", text(e.Description))
	}
	if e.Location != "" {
		w.prop("LOCATION", text(e.Location))
	}
	if e.URL != "" {
		u, _ := absoluteURL(e.URL) // validated
		w.prop("URL", u.String())
	}
	if e.Cancelled {
		w.prop("STATUS", "CANCELLED")
	} else {
		w.prop("STATUS", "CONFIRMED")
	}
	w.prop("LAST-MODIFIED", e.Updated.UTC().Format(utcFormat))
	if !e.Organizer.IsZero() {
		w.prop("ORGANIZER"+cn(e.Organizer.Name), "mailto:"+e.Organizer.Email)
	}
	for _, a := range e.Attendees {
		w.prop("ATTENDEE"+cn(a.Name), "mailto:"+a.Email)
	}
	w.prop("END", "VEVENT")
}

// dateTime writes t as London local time with TZID, or in UTC when its
// London time happens twice (the hour after the clocks go back).
func (w *writer) dateTime(name string, t time.Time) {
	l := t.In(london)
	if repeated(l) {
		w.prop(name, t.UTC().Format(utcFormat))
		return
	}
	w.prop(name+";TZID="+TZID, l.Format(localFormat))
}

// repeated reports whether the wall-clock time of t (in its location) also
// names another instant: t falls in the hour before the clocks go back, or
// in the hour after. A local time with a TZID cannot tell the two apart.
// Offsets a few hours either side find the neighbouring zone; London's
// changes are an hour and months apart.
func repeated(t time.Time) bool {
	_, off := t.Zone()
	for _, probe := range []time.Duration{-3 * time.Hour, 3 * time.Hour} {
		_, other := t.Add(probe).Zone()
		if other == off {
			continue
		}
		// the instant whose wall clock in the other offset equals t's
		twin := t.Add(time.Duration(off-other) * time.Second)
		if _, o := twin.Zone(); o == other {
			return true
		}
	}
	return false
}

// text escapes a TEXT value: backslash, semicolon and comma are escaped, a
// line break (CRLF, CR or LF) becomes \n, other control characters but tab
// are dropped, and invalid UTF-8 becomes U+FFFD.
func text(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\r':
			if strings.HasPrefix(s[i+1:], "\n") {
				size++
			}
			b.WriteString(`\n`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteByte('\t')
		case r < ' ' || r == 0x7f:
			// not allowed in TEXT
		default:
			b.WriteRune(r) // utf8.RuneError for an invalid byte
		}
		i += size
	}
	return b.String()
}

// cn renders the ";CN=..." parameter for a display name, or "" when there is
// none. The value is always quoted; a double quote (which a quoted parameter
// cannot hold) becomes an apostrophe and control characters become spaces.
func cn(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < ' ' || r == 0x7f:
			return ' '
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	return `;CN="` + name + `"`
}
