package training_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/training"
)

// feedParse encodes cal and parses it back with the independent parser,
// returning its events by UID.
func feedParse(t *testing.T, cal ical.Calendar) map[string]*ics.VEvent {
	t.Helper()
	doc, err := cal.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ics.ParseCalendar(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("the parser rejected the feed: %v\n%s", err, doc)
	}
	if n := len(parsed.Timezones()); n != 1 {
		t.Errorf("%d VTIMEZONEs, want 1", n)
	}
	out := map[string]*ics.VEvent{}
	for _, e := range parsed.Events() {
		out[e.Id()] = e
	}
	if len(out) != len(cal.Events) {
		t.Fatalf("%d distinct UIDs parsed from %d events", len(out), len(cal.Events))
	}
	return out
}

// feedProp returns the value of e's one property name.
func feedProp(t *testing.T, e *ics.VEvent, name ics.ComponentProperty) *ics.IANAProperty {
	t.Helper()
	ps := e.GetProperties(name)
	if len(ps) != 1 {
		t.Fatalf("%s: %d properties, want 1", name, len(ps))
	}
	return ps[0]
}

// feedCheck checks one parsed event: London start, status and sequence.
func feedCheck(t *testing.T, e *ics.VEvent, start time.Time, londonStart, status string, sequence int) {
	t.Helper()
	if e == nil {
		t.Fatal("event missing")
	}
	p := feedProp(t, e, ics.ComponentPropertyDtStart)
	if p.Value != londonStart || !slices.Equal(p.ICalParameters["TZID"], []string{"Europe/London"}) {
		t.Errorf("DTSTART %q %v, want %s in Europe/London", p.Value, p.ICalParameters, londonStart)
	}
	if got, err := e.GetStartAt(); err != nil || !got.Equal(start) {
		t.Errorf("start parsed as %s (%v), want %s", got, err, start)
	}
	if got := feedProp(t, e, ics.ComponentPropertyStatus).Value; got != status {
		t.Errorf("STATUS %s, want %s", got, status)
	}
	if got := feedProp(t, e, ics.ComponentPropertySequence).Value; got != strconv.Itoa(sequence) {
		t.Errorf("SEQUENCE %s, want %d", got, sequence)
	}
}

func TestPublicFeedHasStableUIDsLondonTimesAndCancellations(t *testing.T) {
	p := newPubFixture(t)
	gmt := p.pubSession(p.parents, "2027-03-26", "Ward 4", true, 4)
	bst := p.pubSession(p.parents, "2027-03-30", "", true, 4)
	gone := p.pubSession(p.staff, "2027-04-02", "Riverside House", true, 4)
	hidden := p.pubSession(p.parents, "2027-03-31", "Ward 9", false, 4)
	far := p.pubSession(p.parents, "2028-06-01", "Ward 4", true, 4) // more than a year ahead
	if err := p.svc.CancelSession(p.ctx(), gone.ID); err != nil {
		t.Fatal(err)
	}
	cal, err := p.svc.PublicFeed(p.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if cal.Name != "Training – Org trust" || cal.Method != "" {
		t.Errorf("calendar %q method %q", cal.Name, cal.Method)
	}
	events := feedParse(t, cal)
	uid := func(id uuid.UUID) string { return "session-" + id.String() + "@carepass.example" }
	if len(events) != 3 || events[uid(hidden.ID)] != nil || events[uid(far.ID)] != nil {
		t.Fatalf("feed events: %v", events)
	}
	feedCheck(t, events[uid(gmt.ID)], gmt.StartsAt, "20270326T100000", "CONFIRMED", 0)
	feedCheck(t, events[uid(bst.ID)], bst.StartsAt, "20270330T100000", "CONFIRMED", 0)
	feedCheck(t, events[uid(gone.ID)], gone.StartsAt, "20270402T100000", "CANCELLED", 1)
	if loc := feedProp(t, events[uid(bst.ID)], ics.ComponentPropertyLocation).Value; loc != "Online" {
		t.Errorf("online session's location %q", loc)
	}
	if u := feedProp(t, events[uid(gmt.ID)], ics.ComponentPropertyUrl).Value; u != pubBase+"/t/trust/calendar/sessions/"+gmt.ID.String() {
		t.Errorf("URL %q", u)
	}
	// The same session has the same UID in every feed and every email.
	if got := p.svc.SessionUID(gmt.ID); got != uid(gmt.ID) {
		t.Fatalf("SessionUID %q", got)
	}
}

func TestPersonalFeedFollowsBookingsAndItsLinkCanBeReplaced(t *testing.T) {
	p := newPubFixture(t)
	acct := p.Account("holly@example.com", "Holly Holder")
	p.Holder(p.trust, "Holly", "Holder", acct)
	mine := moduletest.Self(acct)
	a := p.pubSession(p.parents, "2027-03-26", "Ward 4", true, 4)
	b := p.pubSession(p.parents, "2027-03-30", "", true, 4)
	c := p.pubSession(p.parents, "2027-04-06", "Ward 4", true, 4)
	book := func(s uuid.UUID) training.Booking {
		t.Helper()
		r, err := p.svc.BookSelf(selfCtx(p.trust, acct), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.Booking
	}
	book(a.ID)
	bb := book(b.ID)
	book(c.ID)
	// b: cancelled, then booked again; c: its session cancelled.
	if _, err := p.svc.CancelOwnBooking(mine, bb.ID); err != nil {
		t.Fatal(err)
	}
	cancelledEvent := func() ical.Event {
		var e ical.Event
		p.In(p.trust, func(tx *gorm.DB) (err error) {
			e, err = p.svc.BookingEvent(context.Background(), tx, p.trust.ID, bb.ID)
			return err
		})
		return e
	}()
	if !cancelledEvent.Cancelled || cancelledEvent.Sequence != 1 || cancelledEvent.UID != p.svc.SessionUID(b.ID) {
		t.Fatalf("cancelled booking's event: %+v", cancelledEvent)
	}
	rebooked := book(b.ID)
	if err := p.svc.CancelSession(p.ctx(), c.ID); err != nil {
		t.Fatal(err)
	}

	if _, err := p.svc.PersonalFeed(context.Background(), "not-a-token"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a malformed token: %v", err)
	}
	token, err := p.svc.NewFeedLink(mine)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 64 {
		t.Fatalf("token %q", token)
	}
	// Calendar apps fetch with no session; a session of someone else that
	// comes with the request changes nothing.
	someone := p.Account("olu@example.com", "Olu Other")
	p.Holder(p.trust, "Olu", "Other", someone)
	if _, err := p.svc.BookSelf(selfCtx(p.trust, someone), a.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{context.Background(), moduletest.Self(someone)} {
		cal, err := p.svc.PersonalFeed(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		events := feedParse(t, cal)
		if len(events) != 3 {
			t.Fatalf("%d events, want one per session", len(events))
		}
		feedCheck(t, events[p.svc.SessionUID(a.ID)], a.StartsAt, "20270326T100000", "CONFIRMED", 0)
		// Booked, cancelled (1), booked again (2): each change outranks the last.
		feedCheck(t, events[p.svc.SessionUID(b.ID)], b.StartsAt, "20270330T100000", "CONFIRMED", 2)
		// The session's cancellation moved its own sequence (1).
		feedCheck(t, events[p.svc.SessionUID(c.ID)], c.StartsAt, "20270406T100000", "CANCELLED", 1)
		if d := feedProp(t, events[p.svc.SessionUID(b.ID)], ics.ComponentPropertyDescription).Value; !bytes.Contains([]byte(d), []byte("https://meet.example/room-2027-03-30")) {
			t.Errorf("the booked online session's description lacks its link: %q", d)
		}
	}
	// The email for the new booking is the same event as the feed's.
	var ev ical.Event
	p.In(p.trust, func(tx *gorm.DB) (err error) {
		ev, err = p.svc.BookingEvent(context.Background(), tx, p.trust.ID, rebooked.ID)
		return err
	})
	if ev.Sequence != 2 || ev.Cancelled || ev.UID != p.svc.SessionUID(b.ID) {
		t.Fatalf("rebooked event: %+v", ev)
	}
	if _, err := (ical.Calendar{Method: ical.MethodPublish, Events: []ical.Event{ev}}).Bytes(); err != nil {
		t.Fatalf("the booking event cannot be sent: %v", err)
	}

	own, err := p.svc.OwnBookings(mine)
	if err != nil || own.FeedSince == nil {
		t.Fatalf("the feed link is not shown as made: %+v %v", own.FeedSince, err)
	}
	// A new link replaces the old one, which stops working.
	newer, err := p.svc.NewFeedLink(mine)
	if err != nil || newer == token {
		t.Fatal(err)
	}
	if _, err := p.svc.PersonalFeed(context.Background(), token); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the replaced token: %v", err)
	}
	if _, err := p.svc.PersonalFeed(context.Background(), newer); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if n := p.Count(nil, uuid.Nil, `SELECT count(*) FROM platform_audit_events WHERE action = 'training.feed_link' AND object_id = ?`,
		acct.String()); n != 2 {
		t.Fatalf("%d feed links audited, want 2", n)
	}
	// A disabled account's link stops working too.
	if err := p.DB.Gorm.Exec(`UPDATE accounts SET status = 'disabled' WHERE id = ?`, acct).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := p.svc.PersonalFeed(context.Background(), newer); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a disabled account's token: %v", err)
	}
	if n := p.Count(nil, uuid.Nil, `SELECT count(*) FROM training_feeds`); n != 0 {
		t.Fatalf("feed links visible to no one in particular: %d", n)
	}
	if n := p.Count(nil, someone, `SELECT count(*) FROM training_feeds`); n != 0 {
		t.Fatalf("someone else sees %d feed links", n)
	}
}
