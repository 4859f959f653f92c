package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/notify"
	"github.com/carepass/carepass/modules/training"
)

func TestBookingConfirmationHasTextHTMLAndAnInvite(t *testing.T) {
	f := newFixture(t)
	f.start()
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	s := f.session("2027-03-23", 4) // a Tuesday, in GMT
	b := f.book(s, ada)

	f.sink.WaitFor(t, 1, 20*time.Second)
	m := f.only("ada@example.org")
	if m.Subject != "Booking confirmed: Suction and airway care" {
		t.Errorf("subject %q", m.Subject)
	}
	if len(m.To) != 1 || m.To[0].Name != "Ada Lovelace" || m.From.Address != sender.Email {
		t.Errorf("to %v from %v", m.To, m.From)
	}
	has(t, "text", m.Text, "Dear Ada,", "Your place is booked on Suction and airway care, run by "+orgName+".",
		"When: Tuesday 23 March 2027, 10:00 to 12:00 (UK time)", "Where: Ward 4 seminar room",
		publicURL+"/me/training", "From "+orgName+", through Carepass.")
	has(t, "HTML", m.HTML, "<p>Dear Ada,</p>", "Wrenford Children&#39;s Hospital", "Tuesday 23 March 2027, 10:00 to 12:00 (UK time)",
		`href="`+publicURL+`/me/training"`)
	if m.Header.Get("List-Unsubscribe") != "" {
		t.Error("a confirmation, which is essential, offers to unsubscribe")
	}
	if !strings.HasPrefix(m.MessageID, "<notify-") {
		t.Errorf("message ID %q", m.MessageID)
	}

	a, cal, ev := calendar(t, m)
	if a.Filename != "invite.ics" || a.Params["method"] != "REQUEST" || calProp(cal, ics.PropertyMethod) != "REQUEST" {
		t.Errorf("invite %s %q, method %q", a.Filename, a.ContentType, calProp(cal, ics.PropertyMethod))
	}
	if uid := evProp(ev, ics.ComponentPropertyUniqueId); uid != "session-"+s.ID.String()+"@carepass.example" {
		t.Errorf("UID %q", uid)
	}
	if evProp(ev, ics.ComponentPropertySequence) != "0" || evProp(ev, ics.ComponentPropertyStatus) != "CONFIRMED" {
		t.Errorf("sequence %q status %q", evProp(ev, ics.ComponentPropertySequence), evProp(ev, ics.ComponentPropertyStatus))
	}
	dt := ev.GetProperty(ics.ComponentPropertyDtStart)
	if dt == nil || dt.Value != "20270323T100000" || len(dt.ICalParameters["TZID"]) != 1 || dt.ICalParameters["TZID"][0] != "Europe/London" {
		t.Errorf("DTSTART %+v", dt)
	}
	if at, err := ev.GetStartAt(); err != nil || !at.Equal(s.StartsAt) {
		t.Errorf("start %v (%v), want %v", at, err, s.StartsAt)
	}
	if end, err := ev.GetEndAt(); err != nil || !end.Equal(s.EndsAt) {
		t.Errorf("end %v (%v), want %v", end, err, s.EndsAt)
	}
	if v := evProp(ev, ics.ComponentPropertyAttendee); !strings.EqualFold(v, "mailto:ada@example.org") {
		t.Errorf("attendee %q", v)
	}
	if v := evProp(ev, ics.ComponentPropertyOrganizer); !strings.EqualFold(v, "mailto:"+sender.Email) {
		t.Errorf("organizer %q", v)
	}
	if v := evProp(ev, ics.ComponentPropertyLocation); v != "Ward 4 seminar room" {
		t.Errorf("location %q", v)
	}

	// The in-app notification, the audit of the email, and job arguments
	// that carry ids only.
	if n := f.Rows(f.trust, "notifications", "kind = 'booked'"); n != 1 {
		t.Errorf("%d booked notifications", n)
	}
	if ev := f.LastEvent(f.trust, "notification.email"); ev.ObjectID != b.ID.String() || ev.Detail["kind"] != "booked" {
		t.Errorf("audit %+v", ev)
	}
	var args string
	if err := f.DB.Pool.QueryRow(context.Background(), `SELECT args::text FROM river_job WHERE kind = 'notify_booking'`).Scan(&args); err != nil {
		t.Fatal(err)
	}
	has(t, "job args", args, b.ID.String(), f.trust.ID.String(), `"change": "booked"`)
	lacks(t, "job args", strings.ToLower(args), "ada", "lovelace", "example.org")
}

func TestCancellationPromotionAndSessionCancelled(t *testing.T) {
	f := newFixture(t)
	f.start()
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	ben, _ := f.holder("Ben", "Okafor", "ben@example.org", uuid.Nil)
	s := f.session("2027-04-06", 1) // a Tuesday, in BST
	adas := f.book(s, ada)
	f.sink.WaitFor(t, 1, 20*time.Second)
	if bens := f.book(s, ben); bens.Status != training.Waiting {
		t.Fatalf("Ben's booking is %s", bens.Status)
	}
	f.sink.WaitFor(t, 2, 20*time.Second)
	waiting := f.only("ben@example.org")
	if waiting.Subject != "On the waiting list: Suction and airway care" || len(waiting.Attachments) != 0 {
		t.Errorf("waiting-list mail %q with %d attachments", waiting.Subject, len(waiting.Attachments))
	}
	has(t, "waiting text", waiting.Text, "is full, so you are on its waiting list", "Tuesday 6 April 2027, 10:00 to 12:00 (UK time)")

	// Ada cancels: her cancellation, and Ben's place.
	promoted, err := f.svc.CancelBooking(f.ctx(), adas.ID)
	if err != nil || promoted == nil {
		t.Fatalf("cancel: %v, promoted %v", err, promoted)
	}
	f.sink.WaitFor(t, 4, 20*time.Second)
	adaMails := f.mailsTo("ada@example.org")
	if len(adaMails) != 2 || adaMails[1].Subject != "Booking cancelled: Suction and airway care" {
		t.Fatalf("Ada's mails: %d, last %q", len(adaMails), adaMails[len(adaMails)-1].Subject)
	}
	a, cal, ev := calendar(t, adaMails[1])
	if a.Params["method"] != "CANCEL" || calProp(cal, ics.PropertyMethod) != "CANCEL" || evProp(ev, ics.ComponentPropertyStatus) != "CANCELLED" {
		t.Errorf("cancellation: %q, method %q, status %q", a.ContentType, calProp(cal, ics.PropertyMethod), evProp(ev, ics.ComponentPropertyStatus))
	}
	if uid := evProp(ev, ics.ComponentPropertyUniqueId); uid != "session-"+s.ID.String()+"@carepass.example" {
		t.Errorf("cancellation UID %q", uid)
	}
	// The cancellation outranks the invitation, and is the very event of
	// Ada's own calendar feed.
	var feed ical.Event
	f.In(f.trust, func(tx *gorm.DB) (err error) {
		feed, err = f.svc.BookingEvent(context.Background(), tx, f.trust.ID, adas.ID)
		return err
	})
	if got := evProp(ev, ics.ComponentPropertySequence); got != "1" || got != fmt.Sprint(feed.Sequence) ||
		evProp(ev, ics.ComponentPropertyUniqueId) != feed.UID || !feed.Cancelled {
		t.Errorf("cancellation SEQUENCE %q, UID %q; the feed has %d, %q, cancelled %v", got,
			evProp(ev, ics.ComponentPropertyUniqueId), feed.Sequence, feed.UID, feed.Cancelled)
	}
	benMails := f.mailsTo("ben@example.org")
	if len(benMails) != 2 || benMails[1].Subject != "You have a place: Suction and airway care" {
		t.Fatalf("Ben's mails: %d", len(benMails))
	}
	has(t, "promotion text", benMails[1].Text, "A place came free", "it is now yours")
	a, _, ev = calendar(t, benMails[1])
	if a.Params["method"] != "REQUEST" || evProp(ev, ics.ComponentPropertyStatus) != "CONFIRMED" {
		t.Errorf("promotion invite %q", a.ContentType)
	}
	if dt := ev.GetProperty(ics.ComponentPropertyDtStart); dt == nil || dt.Value != "20270406T100000" {
		t.Errorf("DTSTART in BST %+v", dt)
	}

	// The organiser cancels the session: Ben hears, with the next sequence.
	if err := f.svc.CancelSession(f.ctx(), s.ID); err != nil {
		t.Fatal(err)
	}
	f.sink.WaitFor(t, 5, 20*time.Second)
	benMails = f.mailsTo("ben@example.org")
	last := benMails[len(benMails)-1]
	if last.Subject != "Session cancelled: Suction and airway care" {
		t.Fatalf("Ben's last mail %q", last.Subject)
	}
	has(t, "session cancelled text", last.Text, orgName+" has cancelled this session")
	a, cal, ev = calendar(t, last)
	if a.Params["method"] != "CANCEL" || calProp(cal, ics.PropertyMethod) != "CANCEL" ||
		evProp(ev, ics.ComponentPropertyStatus) != "CANCELLED" || evProp(ev, ics.ComponentPropertySequence) != "1" {
		t.Errorf("session cancelled: %q, status %q, sequence %q", a.ContentType, evProp(ev, ics.ComponentPropertyStatus),
			evProp(ev, ics.ComponentPropertySequence))
	}
	f.settle()
	if n := len(f.sink.Messages()); n != 5 {
		t.Errorf("%d messages in all, want 5", n)
	}
	for kind, want := range map[string]int64{"booked": 1, "waiting": 1, "promoted": 1, "cancelled": 1, "session_cancelled": 1} {
		if n := f.Rows(f.trust, "notifications", "kind = ?", kind); n != want {
			t.Errorf("%d %s notifications, want %d", n, kind, want)
		}
	}
}

// refusing tells the Notifier of each change, then refuses it, so the
// booking's transaction rolls back after the job was enqueued in it.
type refusing struct{ n *notify.Notifier }

var errRefused = errors.New("refused after enqueuing")

func (r refusing) BookingChanged(ctx context.Context, tx *gorm.DB, c training.Change) error {
	if err := r.n.BookingChanged(ctx, tx, c); err != nil {
		return err
	}
	return errRefused
}

func TestRolledBackBookingEnqueuesNothing(t *testing.T) {
	f := newFixture(t)
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	s := f.session("2027-03-23", 4)
	svc := training.NewService(f.Scoped, f.Log, f.records, refusing{f.n}, f.clock.Now)
	if _, err := svc.Book(f.ctx(), s.ID, ada); !errors.Is(err, errRefused) {
		t.Fatalf("book: %v, want the refusal", err)
	}
	if n := f.Rows(f.trust, "bookings", ""); n != 0 {
		t.Fatalf("%d bookings after the rollback", n)
	}
	if n := f.Rows(f.trust, "notifications", ""); n != 0 {
		t.Errorf("%d notifications after the rollback", n)
	}
	if list, err := f.q.Recent(context.Background(), "", 10); err != nil || len(list) != 0 {
		t.Fatalf("jobs after the rollback: %+v (%v)", list, err)
	}
	// The same booking, committed, sends one email.
	f.start()
	f.book(s, ada)
	f.sink.WaitFor(t, 1, 20*time.Second)
	f.settle()
	if n := len(f.sink.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestFailingMailServerIsRetriedAndTheBookingStands(t *testing.T) {
	f := newFixture(t)
	ada, _ := f.holder("Ada", "Lovelace", "ada@example.org", uuid.Nil)
	s := f.session("2027-03-23", 4)
	f.sink.FailNext(2) // two 451s, then it takes the message
	f.start()
	b := f.book(s, ada)
	if b.Status != training.Booked {
		t.Fatalf("booking %s", b.Status)
	}
	f.sink.WaitFor(t, 1, 20*time.Second)
	done := f.settle()
	if len(done) != 1 || done[0].State != jobs.StateCompleted || done[0].Attempt != 3 || len(done[0].Errors) != 2 {
		t.Fatalf("job %+v: want completed at attempt 3 after 2 errors", done)
	}
	for _, e := range done[0].Errors {
		has(t, "attempt error", e.Message, "451")
		lacks(t, "attempt error", strings.ToLower(e.Message), "ada@example.org")
	}
	if m := f.only("ada@example.org"); m.Subject != "Booking confirmed: Suction and airway care" {
		t.Errorf("delivered %q", m.Subject)
	}
	list, err := f.svc.Bookings(f.ctx(), s.ID)
	if err != nil || len(list) != 1 || list[0].Status != training.Booked {
		t.Errorf("bookings %+v (%v)", list, err)
	}
}

func TestUnsendableAndAddresslessHolders(t *testing.T) {
	f := newFixture(t)
	nobody := f.Account("cy@example.org", "Cy Claimed") // the account Cy claimed, whose address is used
	bad, _ := f.holder("Bad", "Address", "not-an-address", uuid.Nil)
	none, _ := f.holder("No", "Email", "", uuid.Nil)
	cy, _ := f.holder("Cy", "Claimed", "", nobody)
	s := f.session("2027-03-23", 4)
	f.start()
	f.book(s, bad)
	f.book(s, none)
	f.book(s, cy)
	jobsDone := f.settle()
	if len(jobsDone) != 3 {
		t.Fatalf("%d jobs", len(jobsDone))
	}
	states := map[string]int{}
	for _, j := range jobsDone {
		states[j.State]++
		if j.State == jobs.StateCancelled {
			if j.Attempt != 1 {
				t.Errorf("an invalid message was tried %d times", j.Attempt)
			}
			for _, e := range j.Errors {
				lacks(t, "error", e.Message, "not-an-address")
			}
		}
	}
	// An invalid address: cancelled, never retried. No address at all: done
	// without sending. A claimed account's address: sent there.
	if states[jobs.StateCancelled] != 1 || states[jobs.StateCompleted] != 2 {
		t.Errorf("job states %v", states)
	}
	if msgs := f.sink.Messages(); len(msgs) != 1 || !strings.EqualFold(msgs[0].EnvelopeTo[0], "cy@example.org") {
		t.Errorf("messages %d", len(msgs))
	}
	if n := f.Rows(f.trust, "notifications", ""); n != 3 {
		t.Errorf("%d in-app notifications, want one each", n)
	}
	// Cy, with an account, sees theirs.
	if n := f.Count(nil, nobody, `SELECT count(*) FROM notifications`); n != 1 {
		t.Errorf("Cy sees %d notifications", n)
	}
}
