package ical_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"github.com/carepass/carepass/modules/ical"
)

// updated is the Updated time of the test events.
var updated = time.Date(2025, 11, 1, 12, 34, 56, 0, time.UTC)

// longDescription has every character TEXT escapes, line breaks, emoji
// (including a ZWJ sequence) and accented letters, and is long enough to be
// folded many times.
var longDescription = strings.Repeat("Moving & handling, refresher; bring ID: \\ \"quoted\"\n"+
	"Second line — café, naïve; 🧑‍⚕️ nurse 💉, 🇬🇧 flag… 日本語テキスト\n\n", 12) + "End."

// want is how one event must come back from the parser.
type want struct {
	start, end string // DTSTART/DTEND value as written
	tzid       bool   // whether they carry TZID=Europe/London
}

// roundTrip is one event and what its DTSTART and DTEND must read.
type roundTrip struct {
	name  string
	event ical.Event
	want  want
}

// roundTrips are the events of the feed in TestFeedRoundTrip. Every
// instant is given in UTC and every London time is written out by hand, so
// nothing here leans on the zone database the package uses.
var roundTrips = []roundTrip{
	{
		name: "summer session at 10:00 BST",
		event: ical.Event{
			UID:      "01970b3c-5d2e-7a10-8000-000000000001@carepass",
			Sequence: 0,
			Start:    time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC),
			End:      time.Date(2025, 7, 10, 11, 0, 0, 0, time.UTC),
			Summary:  "Moving and handling",
			Location: "Training room 2, Riverside House, Leeds",
			URL:      "https://carepass.example/training/sessions/01970b3c-5d2e-7a10-8000-000000000001",
		},
		want: want{"20250710T100000", "20250710T120000", true},
	},
	{
		name: "winter session at 10:00 GMT",
		event: ical.Event{
			UID:      "01970b3c-5d2e-7a10-8000-000000000002@carepass",
			Sequence: 1,
			Start:    time.Date(2025, 12, 10, 10, 0, 0, 0, time.UTC),
			End:      time.Date(2025, 12, 10, 12, 30, 0, 0, time.UTC),
			Summary:  "Safeguarding adults, level 2",
		},
		want: want{"20251210T100000", "20251210T123000", true},
	},
	{
		name: "session on the Sunday the clocks go back",
		event: ical.Event{
			UID:     "01970b3c-5d2e-7a10-8000-000000000003@carepass",
			Start:   time.Date(2025, 10, 26, 10, 0, 0, 0, time.UTC),
			End:     time.Date(2025, 10, 26, 12, 0, 0, 0, time.UTC),
			Summary: "Basic life support",
		},
		want: want{"20251026T100000", "20251026T120000", true},
	},
	{
		name: "night session across the October change (four hours)",
		event: ical.Event{
			UID:     "01970b3c-5d2e-7a10-8000-000000000004@carepass",
			Start:   time.Date(2025, 10, 25, 23, 0, 0, 0, time.UTC), // 00:00 BST
			End:     time.Date(2025, 10, 26, 3, 0, 0, 0, time.UTC),  // 03:00 GMT
			Summary: "Night shift induction",
		},
		want: want{"20251026T000000", "20251026T030000", true},
	},
	{
		name: "night session across the March change (ninety minutes)",
		event: ical.Event{
			UID:     "01970b3c-5d2e-7a10-8000-000000000005@carepass",
			Start:   time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC), // 00:30 GMT
			End:     time.Date(2025, 3, 30, 2, 0, 0, 0, time.UTC),  // 03:00 BST
			Summary: "Medication rounds",
		},
		want: want{"20250330T003000", "20250330T030000", true},
	},
	{
		name: "cancelled session",
		event: ical.Event{
			UID:       "01970b3c-5d2e-7a10-8000-000000000006@carepass",
			Sequence:  3,
			Start:     time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC),
			End:       time.Date(2026, 1, 15, 16, 0, 0, 0, time.UTC),
			Summary:   "Dementia awareness (cancelled)",
			Cancelled: true,
		},
		want: want{"20260115T140000", "20260115T160000", true},
	},
	{
		name: "long text with escapes, emoji and an organizer",
		event: ical.Event{
			UID:         "01970b3c-5d2e-7a10-8000-000000000007@carepass",
			Sequence:    2,
			Start:       time.Date(2026, 6, 1, 8, 15, 0, 0, time.UTC),
			End:         time.Date(2026, 6, 1, 15, 45, 30, 0, time.UTC),
			Summary:     "Infection control; PPE, hand hygiene \\ donning & doffing 🧤",
			Description: longDescription,
			Location:    "Room 3; Unit 5, Canal Street, Manchester M1 3HE 🏢",
			URL:         "https://carepass.example/training/sessions/7?ref=feed&x=a,b;c",
			Organizer:   ical.Person{Name: "St Mary's Care, Training Team; North", Email: "training@stmarys.example"},
		},
		want: want{"20260601T091500", "20260601T164530", true},
	},
}

// feed returns the calendar of TestFeedRoundTrip.
func feed() ical.Calendar {
	c := ical.Calendar{Name: "Training – St Mary's, Leeds; all sessions", RefreshInterval: 90 * time.Minute}
	for _, rt := range roundTrips {
		e := rt.event
		e.Updated = updated
		c.Events = append(c.Events, e)
	}
	return c
}

// encode encodes c through Encode and checks Bytes gives the same.
func encode(t *testing.T, c ical.Calendar) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	b, err := c.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	if !bytes.Equal(b, buf.Bytes()) {
		t.Fatal("Bytes and Encode differ")
	}
	return b
}

// parse parses doc with the independent parser.
func parse(t *testing.T, doc []byte) *ics.Calendar {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("parser rejected the document: %v\n%s", err, doc)
	}
	return cal
}

// checkPhysicalLines checks that every physical line of doc ends with CRLF,
// holds no other CR or LF, is at most 75 octets and is valid UTF-8 on its
// own (so no fold split a UTF-8 sequence). It returns the number of
// continuation lines.
func checkPhysicalLines(t *testing.T, doc []byte) (folds int) {
	t.Helper()
	if !bytes.HasSuffix(doc, []byte("\r\n")) {
		t.Fatal("document does not end with CRLF")
	}
	lines := bytes.SplitAfter(doc, []byte("\r\n"))
	lines = lines[:len(lines)-1] // the empty remainder after the last CRLF
	for i, l := range lines {
		body := bytes.TrimSuffix(l, []byte("\r\n"))
		if len(body) == len(l) {
			t.Errorf("line %d does not end with CRLF: %q", i+1, l)
		}
		if bytes.ContainsAny(body, "\r\n") {
			t.Errorf("line %d holds a bare CR or LF: %q", i+1, body)
		}
		if len(body) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(body), body)
		}
		if !utf8.Valid(body) {
			t.Errorf("line %d is not valid UTF-8 on its own (split sequence): %q", i+1, body)
		}
		if len(body) == 0 {
			t.Errorf("line %d is empty", i+1)
		}
		if body[0] == ' ' {
			folds++
		}
	}
	return folds
}

// prop returns the one property name of c, failing when it is not there
// exactly once.
func prop(t *testing.T, c *ics.ComponentBase, name ics.ComponentProperty) *ics.IANAProperty {
	t.Helper()
	ps := c.GetProperties(name)
	if len(ps) != 1 {
		t.Fatalf("%s: %d properties, want 1", name, len(ps))
	}
	return ps[0]
}

// calProp returns the value of the one calendar property name, or "" and
// false.
func calProp(cal *ics.Calendar, name string) (string, bool) {
	var vals []string
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == name {
			vals = append(vals, p.Value)
		}
	}
	if len(vals) != 1 {
		return "", false
	}
	return vals[0], true
}

func TestFeedRoundTrip(t *testing.T) {
	c := feed()
	doc := encode(t, c)
	if folds := checkPhysicalLines(t, doc); folds < 20 {
		t.Errorf("only %d continuation lines; the long texts should have been folded", folds)
	}
	cal := parse(t, doc)

	for name, want := range map[string]string{
		"VERSION":          "2.0",
		"PRODID":           ical.DefaultProdID,
		"CALSCALE":         "GREGORIAN",
		"X-WR-CALNAME":     c.Name,
		"X-WR-TIMEZONE":    "Europe/London",
		"X-PUBLISHED-TTL":  "PT1H30M",
		"REFRESH-INTERVAL": "PT1H30M",
	} {
		if got, ok := calProp(cal, name); !ok || got != want {
			t.Errorf("calendar %s = %q (present once: %v), want %q", name, got, ok, want)
		}
	}
	if _, ok := calProp(cal, "METHOD"); ok {
		t.Error("a feed has a METHOD")
	}
	if n := len(cal.Timezones()); n != 1 {
		t.Errorf("%d VTIMEZONEs, want 1", n)
	}

	events := cal.Events()
	if len(events) != len(roundTrips) {
		t.Fatalf("%d events parsed, want %d", len(events), len(roundTrips))
	}
	for i, rt := range roundTrips {
		t.Run(rt.name, func(t *testing.T) {
			e, ev := c.Events[i], &events[i].ComponentBase
			// events come back in the order given, with their stable UIDs
			if got := prop(t, ev, ics.ComponentPropertyUniqueId).Value; got != e.UID {
				t.Errorf("UID = %q, want %q", got, e.UID)
			}
			if got := prop(t, ev, ics.ComponentPropertySequence).Value; got != strconv.Itoa(e.Sequence) {
				t.Errorf("SEQUENCE = %q, want %d", got, e.Sequence)
			}

			for _, tc := range []struct {
				name    ics.ComponentProperty
				instant time.Time
				value   string
				get     func() (time.Time, error)
			}{
				{ics.ComponentPropertyDtStart, e.Start, rt.want.start, events[i].GetStartAt},
				{ics.ComponentPropertyDtEnd, e.End, rt.want.end, events[i].GetEndAt},
			} {
				p := prop(t, ev, tc.name)
				if p.Value != tc.value {
					t.Errorf("%s = %q, want %q", tc.name, p.Value, tc.value)
				}
				if got, want := p.ICalParameters["TZID"], []string{"Europe/London"}; rt.want.tzid != slices.Equal(got, want) {
					t.Errorf("%s TZID = %q, want TZID: %v", tc.name, got, rt.want.tzid)
				}
				got, err := tc.get()
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if !got.Equal(tc.instant) {
					t.Errorf("%s parsed as %s, want %s", tc.name, got.UTC(), tc.instant.UTC())
				}
			}

			for _, tc := range []struct {
				name ics.ComponentProperty
				want string
			}{
				{ics.ComponentPropertyDtstamp, "20251101T123456Z"},
				{ics.ComponentPropertyLastModified, "20251101T123456Z"},
			} {
				if got := prop(t, ev, tc.name).Value; got != tc.want {
					t.Errorf("%s = %q, want %q", tc.name, got, tc.want)
				}
			}
			if got, err := ev.GetDtStampTime(); err != nil || !got.Equal(updated) {
				t.Errorf("DTSTAMP parsed as %s, %v; want %s", got, err, updated)
			}

			wantStatus := "CONFIRMED"
			if e.Cancelled {
				wantStatus = "CANCELLED"
			}
			if got := prop(t, ev, ics.ComponentPropertyStatus).Value; got != wantStatus {
				t.Errorf("STATUS = %q, want %q", got, wantStatus)
			}

			for _, tc := range []struct {
				name ics.ComponentProperty
				want string
			}{
				{ics.ComponentPropertySummary, e.Summary},
				{ics.ComponentPropertyDescription, e.Description},
				{ics.ComponentPropertyLocation, e.Location},
				{ics.ComponentPropertyUrl, e.URL},
			} {
				ps := ev.GetProperties(tc.name)
				switch {
				case tc.want == "" && len(ps) != 0:
					t.Errorf("%s written for an empty field: %q", tc.name, ps[0].Value)
				case tc.want != "" && len(ps) != 1:
					t.Errorf("%s: %d properties, want 1", tc.name, len(ps))
				case tc.want != "" && ps[0].Value != tc.want:
					t.Errorf("%s came back as\n%q\nwant\n%q", tc.name, ps[0].Value, tc.want)
				}
			}

			orgs := ev.GetProperties(ics.ComponentPropertyOrganizer)
			if e.Organizer.IsZero() {
				if len(orgs) != 0 {
					t.Errorf("ORGANIZER written for none: %q", orgs[0].Value)
				}
			} else {
				if len(orgs) != 1 {
					t.Fatalf("%d ORGANIZERs, want 1", len(orgs))
				}
				if got, want := orgs[0].Value, "mailto:"+e.Organizer.Email; got != want {
					t.Errorf("ORGANIZER = %q, want %q", got, want)
				}
				if got, want := orgs[0].ICalParameters["CN"], []string{e.Organizer.Name}; !slices.Equal(got, want) {
					t.Errorf("ORGANIZER CN = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestUIDsAreStable: the same event encoded in another feed, later, after a
// change, keeps its UID, and its SEQUENCE is what the caller says.
func TestUIDsAreStable(t *testing.T) {
	e := roundTrips[0].event
	e.Updated = updated
	first := parse(t, encode(t, ical.Calendar{Events: []ical.Event{e}}))

	e.Summary = "Moving and handling (room changed)"
	e.Location = "Training room 4"
	e.Sequence++
	e.Updated = updated.Add(48 * time.Hour)
	other := roundTrips[1].event
	other.Updated = updated
	second := parse(t, encode(t, ical.Calendar{Name: "Another feed", Events: []ical.Event{other, e}}))

	a, b := first.Events()[0], second.Events()[1]
	if a.Id() != e.UID || b.Id() != e.UID {
		t.Errorf("UIDs %q and %q, want both %q", a.Id(), b.Id(), e.UID)
	}
	if got := prop(t, &b.ComponentBase, ics.ComponentPropertySequence).Value; got != "1" {
		t.Errorf("SEQUENCE after a change = %q, want 1", got)
	}
	if got := prop(t, &b.ComponentBase, ics.ComponentPropertyDtstamp).Value; got != "20251103T123456Z" {
		t.Errorf("DTSTAMP after a change = %q", got)
	}
}

// TestRepeatedHourIsWrittenInUTC: London times between 01:00 and 02:00 on
// the Sunday the clocks go back happen twice; such instants are written in
// UTC, and the instants just outside that hour keep their TZID local time.
func TestRepeatedHourIsWrittenInUTC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		instant time.Time
		value   string
		tzid    bool
	}{
		{"last second before the repeated hour", time.Date(2025, 10, 25, 23, 59, 59, 0, time.UTC), "20251026T005959", true},
		{"01:00 BST, first time round", time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC), "20251026T000000Z", false},
		{"01:30 BST, first time round", time.Date(2025, 10, 26, 0, 30, 0, 0, time.UTC), "20251026T003000Z", false},
		{"01:00 GMT, second time round", time.Date(2025, 10, 26, 1, 0, 0, 0, time.UTC), "20251026T010000Z", false},
		{"01:59:59 GMT, second time round", time.Date(2025, 10, 26, 1, 59, 59, 0, time.UTC), "20251026T015959Z", false},
		{"02:00 GMT, once only", time.Date(2025, 10, 26, 2, 0, 0, 0, time.UTC), "20251026T020000", true},
		{"01:30 GMT on the March Sunday, once only", time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC), "20250330T003000", true},
		{"02:00 BST on the March Sunday, once only", time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC), "20250330T020000", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ical.Event{UID: "repeated@carepass", Start: tc.instant, End: tc.instant.Add(15 * time.Minute), Updated: updated}
			cal := parse(t, encode(t, ical.Calendar{Events: []ical.Event{e}}))
			ev := cal.Events()[0]
			p := prop(t, &ev.ComponentBase, ics.ComponentPropertyDtStart)
			if p.Value != tc.value {
				t.Errorf("DTSTART = %q, want %q", p.Value, tc.value)
			}
			if _, has := p.ICalParameters["TZID"]; has != tc.tzid {
				t.Errorf("DTSTART has TZID: %v, want %v", has, tc.tzid)
			}
			got, err := ev.GetStartAt()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.instant) {
				t.Errorf("DTSTART parsed as %s, want %s", got.UTC(), tc.instant)
			}
		})
	}
}

// observance is one STANDARD or DAYLIGHT part of the parsed VTIMEZONE.
type observance struct {
	name     string
	from, to time.Duration
	rule     *rrule.RRule
	dtstart  time.Time // the local DTSTART, as a wall clock in UTC
}

// transition is a change of offset computed from the VTIMEZONE.
type transition struct {
	at     time.Time
	offset time.Duration
	name   string
}

// parseOffset parses a UTC-OFFSET value such as "+0100".
func parseOffset(t *testing.T, s string) time.Duration {
	t.Helper()
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		t.Fatalf("bad UTC offset %q", s)
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil {
		t.Fatalf("bad UTC offset %q", s)
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if s[0] == '-' {
		d = -d
	}
	return d
}

// vtimezoneTransitions reads the VTIMEZONE of doc with the parser and
// expands its RRULEs with an independent RRULE engine, giving every change
// of offset between the years from and to.
func vtimezoneTransitions(t *testing.T, doc []byte, from, to int) (trs []transition, initial time.Duration) {
	t.Helper()
	cal := parse(t, doc)
	tzs := cal.Timezones()
	if len(tzs) != 1 {
		t.Fatalf("%d VTIMEZONEs", len(tzs))
	}
	if got := prop(t, &tzs[0].ComponentBase, ics.ComponentPropertyTzid).Value; got != "Europe/London" {
		t.Fatalf("TZID = %q", got)
	}
	var obs []observance
	for _, sub := range tzs[0].SubComponents() {
		var cb *ics.ComponentBase
		var kind string
		switch s := sub.(type) {
		case *ics.Standard:
			cb, kind = &s.ComponentBase, "STANDARD"
		case *ics.Daylight:
			cb, kind = &s.ComponentBase, "DAYLIGHT"
		default:
			t.Fatalf("unexpected %T in VTIMEZONE", sub)
		}
		o := observance{name: kind + " " + prop(t, cb, "TZNAME").Value}
		o.from = parseOffset(t, prop(t, cb, "TZOFFSETFROM").Value)
		o.to = parseOffset(t, prop(t, cb, "TZOFFSETTO").Value)
		var err error
		o.dtstart, err = time.Parse("20060102T150405", prop(t, cb, ics.ComponentPropertyDtStart).Value)
		if err != nil {
			t.Fatalf("%s DTSTART: %v", o.name, err)
		}
		opt, err := rrule.StrToROption(prop(t, cb, ics.ComponentPropertyRrule).Value)
		if err != nil {
			t.Fatalf("%s RRULE: %v", o.name, err)
		}
		opt.Dtstart = o.dtstart
		if o.rule, err = rrule.NewRRule(*opt); err != nil {
			t.Fatalf("%s RRULE: %v", o.name, err)
		}
		// the DTSTART of an observance is the first onset of its rule
		if first := o.rule.After(o.dtstart, true); !first.Equal(o.dtstart) {
			t.Errorf("%s: DTSTART %s is not an onset of its RRULE (first is %s)", o.name, o.dtstart, first)
		}
		obs = append(obs, o)
	}
	if len(obs) != 2 {
		t.Fatalf("%d observances, want STANDARD and DAYLIGHT", len(obs))
	}
	for _, o := range obs {
		// onsets are local times in the offset in force before them
		for _, wall := range o.rule.Between(time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(to+1, 1, 1, 0, 0, 0, 0, time.UTC), true) {
			trs = append(trs, transition{at: wall.Add(-o.from), offset: o.to, name: o.name})
		}
	}
	slices.SortFunc(trs, func(a, b transition) int { return a.at.Compare(b.at) })
	return trs, trs[0].offsetBefore(obs)
}

// offsetBefore is the offset in force just before tr, per the observances.
func (tr transition) offsetBefore(obs []observance) time.Duration {
	for _, o := range obs {
		if o.name == tr.name {
			return o.from
		}
	}
	return 0
}

// TestVTimezoneMatchesTheZoneDatabase: the VTIMEZONE's offsets, names and
// RRULEs, expanded by an independent RRULE engine, give exactly the London
// changes of offset in the zone database, every year from 1996 to 2100.
func TestVTimezoneMatchesTheZoneDatabase(t *testing.T) {
	doc := encode(t, ical.Calendar{})
	trs, _ := vtimezoneTransitions(t, doc, ical.MinYear, 2100)

	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// every change of offset, found hour by hour (London changes on the
	// hour in UTC)
	var db []transition
	_, prev := time.Date(ical.MinYear, 1, 1, 0, 0, 0, 0, time.UTC).In(london).Zone()
	for at := time.Date(ical.MinYear, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() <= 2100; at = at.Add(time.Hour) {
		name, off := at.In(london).Zone()
		if off != prev {
			db = append(db, transition{at: at, offset: time.Duration(off) * time.Second, name: name})
			prev = off
		}
	}
	if len(db) != 2*(2100-ical.MinYear+1) {
		t.Fatalf("zone database gives %d transitions, want two a year", len(db))
	}
	if len(trs) != len(db) {
		t.Fatalf("VTIMEZONE gives %d transitions, zone database %d", len(trs), len(db))
	}
	for i := range db {
		got, want := trs[i], db[i]
		if !got.at.Equal(want.at) || got.offset != want.offset || !strings.HasSuffix(got.name, " "+want.name) {
			t.Errorf("transition %d: VTIMEZONE %s → %s (%s), zone database %s → %s (%s)",
				i, got.at, got.offset, got.name, want.at, want.offset, want.name)
		}
	}
	// spot checks written out by hand
	for _, want := range []transition{
		{time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC), time.Hour, "DAYLIGHT BST"},
		{time.Date(2025, 10, 26, 1, 0, 0, 0, time.UTC), 0, "STANDARD GMT"},
		{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), time.Hour, "DAYLIGHT BST"},
		{time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), 0, "STANDARD GMT"},
	} {
		if !slices.ContainsFunc(trs, func(tr transition) bool {
			return tr.at.Equal(want.at) && tr.offset == want.offset && tr.name == want.name
		}) {
			t.Errorf("VTIMEZONE lacks the change at %s to %s (%s)", want.at, want.offset, want.name)
		}
	}
}

// TestEventTimesReadThroughTheVTimezone resolves every TZID time of the feed
// with the VTIMEZONE alone (RFC 5545: of two instants with the same local
// time, the first), not with a zone database, and finds the instants given.
func TestEventTimesReadThroughTheVTimezone(t *testing.T) {
	c := feed()
	doc := encode(t, c)
	trs, initial := vtimezoneTransitions(t, doc, 2020, 2030)
	offsetAt := func(instant time.Time) time.Duration {
		off := initial
		for _, tr := range trs {
			if tr.at.After(instant) {
				break
			}
			off = tr.offset
		}
		return off
	}
	resolve := func(value string) time.Time {
		wall, err := time.Parse("20060102T150405", value)
		if err != nil {
			t.Fatal(err)
		}
		var found []time.Time
		for _, off := range []time.Duration{0, time.Hour} {
			if instant := wall.Add(-off); offsetAt(instant) == off {
				found = append(found, instant)
			}
		}
		if len(found) == 0 {
			t.Fatalf("local time %s does not exist", value)
		}
		return slices.MinFunc(found, func(a, b time.Time) int { return a.Compare(b) })
	}

	cal := parse(t, doc)
	for i, ev := range cal.Events() {
		for _, tc := range []struct {
			name ics.ComponentProperty
			want time.Time
		}{
			{ics.ComponentPropertyDtStart, c.Events[i].Start},
			{ics.ComponentPropertyDtEnd, c.Events[i].End},
		} {
			p := prop(t, &ev.ComponentBase, tc.name)
			if got := resolve(p.Value); !got.Equal(tc.want) {
				t.Errorf("%s %s %s reads as %s through the VTIMEZONE, want %s", ev.Id(), tc.name, p.Value, got, tc.want.UTC())
			}
		}
	}
}

func TestTextEscapingAndFolding(t *testing.T) {
	// "DESCRIPTION:" is 12 octets; 62 more put a 4-octet emoji across the
	// 75th octet, where a fold must not split it.
	straddle := strings.Repeat("a", 62) + "😀" + strings.Repeat("é", 60) + "😀"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"special characters", `a\b;c,d:e"f`, `a\b;c,d:e"f`},
		{"escape-like text stays literal", `\n \, \; \\`, `\n \, \; \\`},
		{"line breaks of every kind become newlines", "one\r\ntwo\rthree\nfour", "one\ntwo\nthree\nfour"},
		{"other control characters are dropped, tab kept", "bell\x07 nul\x00 del\x7f tab\tend", "bell nul del tab\tend"},
		{"emoji straddling the fold", straddle, straddle},
		{"long description", longDescription, longDescription},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ical.Event{UID: "text@carepass", Start: updated, End: updated.Add(time.Hour), Updated: updated, Description: tc.in}
			doc := encode(t, ical.Calendar{Events: []ical.Event{e}})
			checkPhysicalLines(t, doc)
			ev := parse(t, doc).Events()[0]
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyDescription).Value; got != tc.want {
				t.Errorf("DESCRIPTION came back as\n%q\nwant\n%q", got, tc.want)
			}
		})
	}

	// the escaped form itself, unfolded
	e := ical.Event{UID: "u@carepass", Start: updated, End: updated.Add(time.Hour), Updated: updated,
		Summary: "a\\b;c,d\ne:f"}
	doc := encode(t, ical.Calendar{Events: []ical.Event{e}})
	if !bytes.Contains(doc, []byte("\r\nSUMMARY:a\\\\b\\;c\\,d\\ne:f\r\n")) {
		t.Errorf("SUMMARY not escaped as expected:\n%s", doc)
	}
	// a fold is CRLF and one space, and unfolding gives the line back
	long := ical.Event{UID: "u@carepass", Start: updated, End: updated.Add(time.Hour), Updated: updated,
		Summary: strings.Repeat("0123456789", 20)}
	doc = encode(t, ical.Calendar{Events: []ical.Event{long}})
	if !bytes.Contains(bytes.ReplaceAll(doc, []byte("\r\n "), nil), []byte("\r\nSUMMARY:"+long.Summary+"\r\n")) {
		t.Errorf("unfolded document lacks the summary:\n%s", doc)
	}
	if !bytes.Contains(doc, []byte("\r\nSUMMARY:"+long.Summary[:75-len("SUMMARY:")]+"\r\n "+long.Summary[67:67+74]+"\r\n ")) {
		t.Errorf("summary not folded at 75 octets, then 1 + 74:\n%s", doc)
	}
}

func TestDeterministic(t *testing.T) {
	a := encode(t, feed())
	b := encode(t, feed())
	if !bytes.Equal(a, b) {
		t.Fatal("the same calendar gave different bytes")
	}
	// the order given is kept, whatever it is
	c := feed()
	slices.Reverse(c.Events)
	var got []string
	for _, ev := range parse(t, encode(t, c)).Events() {
		got = append(got, ev.Id())
	}
	var want []string
	for _, e := range c.Events {
		want = append(want, e.UID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("event order %q, want %q", got, want)
	}
	// the same instants in another location give the same bytes
	d := feed()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Events {
		d.Events[i].Start = d.Events[i].Start.In(paris)
		d.Events[i].End = d.Events[i].End.In(paris)
		d.Events[i].Updated = d.Events[i].Updated.In(paris)
	}
	if !bytes.Equal(a, encode(t, d)) {
		t.Error("the location of the given times changed the output")
	}
}

func TestMethods(t *testing.T) {
	organizer := ical.Person{Name: "Training, St Mary's", Email: "training@stmarys.example"}
	carer := ical.Person{Name: `Sam "Sammy" O'Neill`, Email: "sam.oneill@example.org"}
	booked := roundTrips[0].event
	booked.Updated = updated
	booked.Organizer = organizer
	booked.Attendees = []ical.Person{carer}
	cancelled := booked
	cancelled.Cancelled = true
	cancelled.Sequence = 1

	for _, tc := range []struct {
		name        string
		cal         ical.Calendar
		contentType string
		status      string
	}{
		{"request", ical.Calendar{Method: ical.MethodRequest, Events: []ical.Event{booked}}, "text/calendar; charset=utf-8; method=REQUEST", "CONFIRMED"},
		{"cancel", ical.Calendar{Method: ical.MethodCancel, Events: []ical.Event{cancelled}}, "text/calendar; charset=utf-8; method=CANCEL", "CANCELLED"},
		{"publish", ical.Calendar{Method: ical.MethodPublish, Events: []ical.Event{booked, roundTrips[1].event}}, "text/calendar; charset=utf-8; method=PUBLISH", "CONFIRMED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "publish" {
				tc.cal.Events[1].Updated = updated
			}
			if got := tc.cal.ContentType(); got != tc.contentType {
				t.Errorf("ContentType = %q, want %q", got, tc.contentType)
			}
			doc := encode(t, tc.cal)
			checkPhysicalLines(t, doc)
			cal := parse(t, doc)
			if got, ok := calProp(cal, "METHOD"); !ok || got != tc.cal.Method {
				t.Errorf("METHOD = %q, want %q", got, tc.cal.Method)
			}
			ev := &cal.Events()[0].ComponentBase
			if got := prop(t, ev, ics.ComponentPropertyStatus).Value; got != tc.status {
				t.Errorf("STATUS = %q, want %q", got, tc.status)
			}
			att := prop(t, ev, ics.ComponentPropertyAttendee)
			if att.Value != "mailto:sam.oneill@example.org" {
				t.Errorf("ATTENDEE = %q", att.Value)
			}
			// a double quote cannot be in a quoted parameter value
			if got, want := att.ICalParameters["CN"], []string{`Sam 'Sammy' O'Neill`}; !slices.Equal(got, want) {
				t.Errorf("ATTENDEE CN = %q, want %q", got, want)
			}
			org := prop(t, ev, ics.ComponentPropertyOrganizer)
			if got, want := org.ICalParameters["CN"], []string{organizer.Name}; org.Value != "mailto:"+organizer.Email || !slices.Equal(got, want) {
				t.Errorf("ORGANIZER = %q CN %q", org.Value, got)
			}
		})
	}
	if got := (ical.Calendar{}).ContentType(); got != "text/calendar; charset=utf-8" {
		t.Errorf("feed ContentType = %q", got)
	}
}

func TestEmptyFeedIsValid(t *testing.T) {
	doc := encode(t, ical.Calendar{Name: "No sessions yet"})
	checkPhysicalLines(t, doc)
	cal := parse(t, doc)
	if n := len(cal.Events()); n != 0 {
		t.Errorf("%d events", n)
	}
	if got, _ := calProp(cal, "X-WR-CALNAME"); got != "No sessions yet" {
		t.Errorf("X-WR-CALNAME = %q", got)
	}
	// RFC 5545 wants at least one component: the VTIMEZONE is always there
	if n := len(cal.Timezones()); n != 1 {
		t.Errorf("%d VTIMEZONEs", n)
	}
}

func TestValidation(t *testing.T) {
	good := func() ical.Event {
		e := roundTrips[0].event
		e.Updated = updated
		return e
	}
	organizer := ical.Person{Email: "training@stmarys.example"}
	attendee := ical.Person{Name: "Sam", Email: "sam@example.org"}
	for _, tc := range []struct {
		name   string
		change func(c *ical.Calendar)
		is     error
	}{
		{"missing UID", func(c *ical.Calendar) { c.Events[0].UID = "" }, ical.ErrEvent},
		{"blank UID", func(c *ical.Calendar) { c.Events[0].UID = " \t" }, ical.ErrEvent},
		{"end equal to start", func(c *ical.Calendar) { c.Events[0].End = c.Events[0].Start }, ical.ErrEvent},
		{"end before start", func(c *ical.Calendar) { c.Events[0].End = c.Events[0].Start.Add(-time.Minute) }, ical.ErrEvent},
		{"end after start by less than the second written", func(c *ical.Calendar) {
			c.Events[0].End = c.Events[0].Start.Add(500 * time.Millisecond)
		}, ical.ErrEvent},
		{"zero start", func(c *ical.Calendar) { c.Events[0].Start = time.Time{} }, ical.ErrEvent},
		{"start before 1996", func(c *ical.Calendar) { c.Events[0].Start = time.Date(1995, 12, 31, 9, 0, 0, 0, time.UTC) }, ical.ErrEvent},
		{"end after 9999", func(c *ical.Calendar) { c.Events[0].End = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, ical.ErrEvent},
		{"zero updated", func(c *ical.Calendar) { c.Events[0].Updated = time.Time{} }, ical.ErrEvent},
		{"negative sequence", func(c *ical.Calendar) { c.Events[0].Sequence = -1 }, ical.ErrEvent},
		{"duplicate UID", func(c *ical.Calendar) { c.Events = append(c.Events, c.Events[0]) }, ical.ErrEvent},
		{"relative URL", func(c *ical.Calendar) { c.Events[0].URL = "/training/1" }, ical.ErrEvent},
		{"javascript URL", func(c *ical.Calendar) { c.Events[0].URL = "javascript:alert(1)" }, ical.ErrEvent},
		{"organizer name without e-mail", func(c *ical.Calendar) { c.Events[0].Organizer = ical.Person{Name: "Training team"} }, ical.ErrEvent},
		{"organizer e-mail with a display name", func(c *ical.Calendar) {
			c.Events[0].Organizer = ical.Person{Email: "Team <t@example.org>"}
		}, ical.ErrEvent},
		{"attendee e-mail needing escapes", func(c *ical.Calendar) {
			c.Events[0].Attendees = []ical.Person{{Email: "a%b@example.org"}}
		}, ical.ErrEvent},
		{"unknown method", func(c *ical.Calendar) { c.Method = "REPLY" }, ical.ErrCalendar},
		{"request with two events", func(c *ical.Calendar) {
			c.Method = ical.MethodRequest
			second := good()
			second.UID = "other@carepass"
			c.Events = append(c.Events, second)
			for i := range c.Events {
				c.Events[i].Organizer, c.Events[i].Attendees = organizer, []ical.Person{attendee}
			}
		}, ical.ErrCalendar},
		{"request without organizer", func(c *ical.Calendar) {
			c.Method = ical.MethodRequest
			c.Events[0].Attendees = []ical.Person{attendee}
		}, ical.ErrEvent},
		{"request without attendee", func(c *ical.Calendar) {
			c.Method = ical.MethodRequest
			c.Events[0].Organizer = organizer
		}, ical.ErrEvent},
		{"request of a cancelled event", func(c *ical.Calendar) {
			c.Method = ical.MethodRequest
			c.Events[0].Organizer, c.Events[0].Attendees, c.Events[0].Cancelled = organizer, []ical.Person{attendee}, true
		}, ical.ErrEvent},
		{"cancel of an event not cancelled", func(c *ical.Calendar) {
			c.Method = ical.MethodCancel
			c.Events[0].Organizer, c.Events[0].Attendees = organizer, []ical.Person{attendee}
		}, ical.ErrEvent},
		{"negative refresh interval", func(c *ical.Calendar) { c.RefreshInterval = -time.Hour }, ical.ErrCalendar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ical.Calendar{Events: []ical.Event{good()}}
			tc.change(&c)
			var buf bytes.Buffer
			err := c.Encode(&buf)
			if !errors.Is(err, tc.is) {
				t.Fatalf("Encode error = %v, want one wrapping %v", err, tc.is)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes for an invalid calendar", buf.Len())
			}
			if _, err := c.Bytes(); !errors.Is(err, tc.is) {
				t.Errorf("Bytes error = %v", err)
			}
			if err := c.Validate(); !errors.Is(err, tc.is) {
				t.Errorf("Validate error = %v", err)
			}
		})
	}
	// and the unchanged calendar is fine
	if err := (ical.Calendar{Events: []ical.Event{good()}}).Validate(); err != nil {
		t.Errorf("valid calendar: %v", err)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEncodeReportsWriteErrors(t *testing.T) {
	if err := feed().Encode(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Encode to a failing writer: %v", err)
	}
}

// TestParserRejectsBrokenDocuments proves the parser used above is live: it
// accepts the document as written and rejects it after each breakage.
func TestParserRejectsBrokenDocuments(t *testing.T) {
	doc := string(encode(t, feed()))
	parse(t, []byte(doc))
	for _, tc := range []struct {
		name   string
		mangle func(string) string
	}{
		{"END of the wrong component", func(s string) string {
			return strings.Replace(s, "END:VEVENT\r\n", "END:VTODO\r\n", 1)
		}},
		{"content line without a colon", func(s string) string {
			return strings.Replace(s, "SUMMARY:", "SUMMARY", 1)
		}},
		{"no BEGIN:VCALENDAR", func(s string) string {
			return strings.TrimPrefix(s, "BEGIN:VCALENDAR\r\n")
		}},
		{"cut off inside an event", func(s string) string {
			return s[:strings.Index(s, "BEGIN:VEVENT")+len("BEGIN:VEVENT\r\nUID:x\r\n")]
		}},
		{"parameter without a value", func(s string) string {
			return strings.Replace(s, "DTSTART;TZID=Europe/London:", "DTSTART;TZID:", 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := tc.mangle(doc)
			if broken == doc {
				t.Fatal("the breakage changed nothing")
			}
			if _, err := ics.ParseCalendar(strings.NewReader(broken)); err == nil {
				t.Errorf("parser accepted the broken document")
			}
		})
	}
}

func ExampleCalendar_Encode() {
	c := ical.Calendar{
		Name: "Training: St Mary's",
		Events: []ical.Event{{
			UID:      "01970b3c-5d2e-7a10-8000-000000000001@carepass",
			Sequence: 1,
			Start:    time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC),
			End:      time.Date(2025, 7, 10, 11, 0, 0, 0, time.UTC),
			Summary:  "Moving and handling, refresher",
			Location: "Room 2; Riverside House",
			Updated:  time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC),
		}},
	}
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(buf.String(), "\r\n", "\n"))
	// Output:
	// BEGIN:VCALENDAR
	// VERSION:2.0
	// PRODID:-//Carepass//Training calendar//EN
	// CALSCALE:GREGORIAN
	// X-WR-CALNAME:Training: St Mary's
	// X-WR-TIMEZONE:Europe/London
	// BEGIN:VTIMEZONE
	// TZID:Europe/London
	// X-LIC-LOCATION:Europe/London
	// BEGIN:DAYLIGHT
	// TZOFFSETFROM:+0000
	// TZOFFSETTO:+0100
	// TZNAME:BST
	// DTSTART:19700329T010000
	// RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
	// END:DAYLIGHT
	// BEGIN:STANDARD
	// TZOFFSETFROM:+0100
	// TZOFFSETTO:+0000
	// TZNAME:GMT
	// DTSTART:19701025T020000
	// RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
	// END:STANDARD
	// END:VTIMEZONE
	// BEGIN:VEVENT
	// UID:01970b3c-5d2e-7a10-8000-000000000001@carepass
	// DTSTAMP:20250601T080000Z
	// SEQUENCE:1
	// DTSTART;TZID=Europe/London:20250710T100000
	// DTEND;TZID=Europe/London:20250710T120000
	// SUMMARY:Moving and handling\, refresher
	// LOCATION:Room 2\; Riverside House
	// STATUS:CONFIRMED
	// LAST-MODIFIED:20250601T080000Z
	// END:VEVENT
	// END:VCALENDAR
}
