package training_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/tenants"
)

// selfCtx is a context of tn's calendar acting as account.
func selfCtx(tn tenants.Tenant, account uuid.UUID) context.Context { return moduletest.As(tn, account) }

// selfAlsoAt enrols the person of account in tn too, as a claim would.
func (p *pubFixture) selfAlsoAt(tn tenants.Tenant, account uuid.UUID, given, family string) uuid.UUID {
	p.T.Helper()
	id := uuid.Must(uuid.NewV7())
	p.In(tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
			SELECT ?, ?, id, ?, ?, 'parent' FROM persons WHERE account_id = ?`, tn.ID, id, given, family, account).Error
	})
	return id
}

var selfDetails = &training.SelfDetails{GivenName: "Nia", FamilyName: "Newcomer", DateOfBirth: "1988-05-04", RoleInCare: "parent"}

func TestAHolderBooksThemselvesOntoAPublicSession(t *testing.T) {
	p := newPubFixture(t)
	s := p.pubSession(p.parents, "2027-04-01", "Ward 4", true, 1)
	acct := p.Account("holly@example.com", "Holly Holder")
	h := p.Holder(p.trust, "Holly", "Holder", acct)
	ctx := selfCtx(p.trust, acct)

	got, err := p.svc.BookSelf(ctx, s.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Booking.Status != training.Booked || got.Booking.HolderID != h || got.Enrolled || got.Position != 0 ||
		got.Session.Booked != 1 || got.Session.ID != s.ID {
		t.Fatalf("booked: %+v", got)
	}
	if ev := p.LastEvent(p.trust, "booking.create"); ev.Detail["holder"] != h.String() {
		t.Fatalf("audited as %+v", ev)
	}
	_, err = p.svc.BookSelf(ctx, s.ID, nil)
	if !errs.Is(err, errs.Conflict) || errs.MessageOf(err) != "You already have a place on this session" {
		t.Fatalf("booking twice: %v", err)
	}

	// Someone else, also a holder, gets the waiting list: the session is full.
	other := p.Account("olu@example.com", "Olu Other")
	p.Holder(p.trust, "Olu", "Other", other)
	w, err := p.svc.BookSelf(selfCtx(p.trust, other), s.ID, nil)
	if err != nil || w.Booking.Status != training.Waiting || w.Position != 1 {
		t.Fatalf("full session: %+v %v", w, err)
	}
	if _, err := p.svc.BookSelf(selfCtx(p.trust, other), s.ID, nil); errs.MessageOf(err) != "You are already on the waiting list for this session" {
		t.Fatalf("waiting twice: %v", err)
	}
	if kinds := strings.Join(p.events.kinds(), " "); kinds != "booked waiting" {
		t.Fatalf("changes told: %s", kinds)
	}
}

func TestSomeoneNotYetAHolderBecomesOneAsTheyBook(t *testing.T) {
	p := newPubFixture(t)
	s := p.pubSession(p.parents, "2027-04-01", "Ward 4", true, 4)
	// Nia is a holder of another tenant, with a claimed account.
	charity := p.Tenant("charity", tenants.KindCarersCharity)
	acct := p.Account("nia@example.com", "Nia Newcomer")
	p.Holder(charity, "Nia", "Newcomer", acct)
	ctx := selfCtx(p.trust, acct)

	_, err := p.svc.BookSelf(ctx, s.ID, nil)
	if !errors.Is(err, training.ErrNotEnrolled) {
		t.Fatalf("without details: %v", err)
	}
	bad := *selfDetails
	bad.DateOfBirth, bad.RoleInCare = "2030-01-01", "astronaut"
	_, err = p.svc.BookSelf(ctx, s.ID, &bad)
	if f := fields(err); f["date_of_birth"] != "Date of birth must be in the past" || f["role_in_care"] != "Select your role in care" {
		t.Fatalf("bad details: %v", err)
	}
	if n := p.Rows(p.trust, "holders", "true"); n != 0 {
		t.Fatalf("%d holders after refused details", n)
	}

	got, err := p.svc.BookSelf(ctx, s.ID, selfDetails)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enrolled || got.Booking.Status != training.Booked || got.Booking.HolderName != "Nia Newcomer" {
		t.Fatalf("booked: %+v", got)
	}
	// The new holder is the same person as at the charity.
	var people int64
	p.In(p.trust, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM holders h JOIN persons x ON x.id = h.person_id
			WHERE h.tenant_id = ? AND h.id = ? AND x.account_id = ?`, p.trust.ID, got.Booking.HolderID, acct).Row().Scan(&people)
	})
	if people != 1 {
		t.Fatal("the new holder is not the account's person")
	}
	if ev := p.LastEvent(p.trust, "holder.create"); ev.ObjectID != got.Booking.HolderID.String() {
		t.Fatalf("enrolment audited as %+v", ev)
	}
	// Next time they are a holder: no details asked.
	s2 := p.pubSession(p.parents, "2027-04-08", "Ward 4", true, 4)
	if again, err := p.svc.BookSelf(ctx, s2.ID, nil); err != nil || again.Enrolled {
		t.Fatalf("second booking: %+v %v", again, err)
	}
}

func TestSelfBookingRefusals(t *testing.T) {
	p := newPubFixture(t)
	acct := p.Account("holly@example.com", "Holly Holder")
	p.Holder(p.trust, "Holly", "Holder", acct)
	ctx := selfCtx(p.trust, acct)
	private := p.pubSession(p.parents, "2027-04-01", "Ward 4", false, 4)
	tomorrow := p.pubSession(p.parents, "2027-03-16", "Ward 4", true, 4) // cut-off 24 h before 10:00 tomorrow
	cancelled := p.pubSession(p.parents, "2027-04-02", "Ward 4", true, 4)
	if err := p.svc.CancelSession(p.ctx(), cancelled.ID); err != nil {
		t.Fatal(err)
	}
	// A new person who is not a holder of the trust, and an account that is
	// no person at all.
	stranger := p.Account("sam@example.com", "Sam Stranger")
	p.Holder(p.Tenant("charity", tenants.KindCarersCharity), "Sam", "Stranger", stranger)
	nobody := p.Account("nobody@example.com", "No Body")
	p.clock.Set(time.Date(2027, 3, 15, 10, 30, 0, 0, time.UTC))

	cases := []struct {
		name    string
		ctx     context.Context
		session uuid.UUID
		details *training.SelfDetails
		kind    errs.Kind
		message string
	}{
		{"a session not on the public calendar", ctx, private.ID, nil, errs.NotFound, "No session with that reference"},
		{"an unknown session", ctx, uuid.New(), nil, errs.NotFound, "No session with that reference"},
		{"after the cut-off", ctx, tomorrow.ID, nil, errs.Conflict, "Bookings closed 24 hours before the session starts"},
		{"after the cut-off, before asking a newcomer anything", selfCtx(p.trust, stranger), tomorrow.ID, nil, errs.Conflict,
			"Bookings closed"},
		{"a newcomer after the cut-off, with details", selfCtx(p.trust, stranger), tomorrow.ID, selfDetails, errs.Conflict,
			"Bookings closed"},
		{"a cancelled session", ctx, cancelled.ID, nil, errs.Conflict, "This session has been cancelled"},
		{"an account that is no one's passport", selfCtx(p.trust, nobody), private.ID, nil, errs.NotFound, "No session"},
		{"an account that is no one's passport, public session", selfCtx(p.trust, nobody), cancelled.ID, nil, errs.Conflict,
			"cancelled"},
		{"signed out", moduletest.As(p.trust, uuid.Nil), cancelled.ID, nil, errs.Unauthenticated, "Sign in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.svc.BookSelf(tc.ctx, tc.session, tc.details)
			if !errs.Is(err, tc.kind) || !strings.Contains(errs.MessageOf(err), tc.message) {
				t.Fatalf("got %v (%s), want %s %q", err, errs.KindOf(err), tc.kind, tc.message)
			}
		})
	}
	open := p.pubSession(p.parents, "2027-04-09", "Ward 4", true, 4)
	_, err := p.svc.BookSelf(selfCtx(p.trust, nobody), open.ID, nil)
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "not linked to a passport yet") {
		t.Fatalf("an account without a person: %v", err)
	}
	// Without an enroller, newcomers are told to contact the organisation.
	plain := training.NewService(p.Scoped, p.Log, p.records, nil, p.clock.Now)
	_, err = plain.BookSelf(selfCtx(p.trust, stranger), open.ID, selfDetails)
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "has not added you") {
		t.Fatalf("no enroller: %v", err)
	}
	if n := p.Rows(p.trust, "bookings", "true"); n != 0 {
		t.Fatalf("%d bookings stored by refusals", n)
	}
	if n := p.Rows(p.trust, "holders", "true"); n != 1 {
		t.Fatalf("%d holders: refusals enrolled someone", n)
	}
}

func TestOwnBookingsAcrossTenantsAndCancelling(t *testing.T) {
	p := newPubFixture(t)
	acct := p.Account("holly@example.com", "Holly Holder")
	h := p.Holder(p.trust, "Holly", "Holder", acct)
	ctx := moduletest.Self(acct)
	// A second tenant where Holly is also a holder, with its own course.
	charity := p.Tenant("charity", tenants.KindCarersCharity)
	p.selfAlsoAt(charity, acct, "Holly", "Holder")
	charityComps := p.Catalogue(charity, "chc", moduletest.Competency{Code: "CHC-01"})
	charitySvc := p.svc
	cc, err := charitySvc.CreateCourse(moduletest.As(charity, uuid.Nil), training.CourseInput{Title: "Carers' first aid",
		Format: training.FormatClassroom, DurationMinutes: 60, Audience: training.AudienceAny, DefaultCapacity: 2,
		Competencies: []uuid.UUID{charityComps["CHC-01"]}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := charitySvc.CreateSessions(moduletest.As(charity, uuid.Nil), training.SessionInput{CourseID: cc.ID, Date: "2027-03-20",
		Start: "14:00", End: "15:00", Location: "Carers' centre", Public: true})
	if err != nil {
		t.Fatal(err)
	}

	soon := p.pubSession(p.parents, "2027-03-22", "Ward 4", true, 1)
	later := p.pubSession(p.parents, "2027-04-05", "Ward 4", false, 4) // staff booked her onto a private session
	past := p.pubSession(p.parents, "2027-03-17", "Ward 4", true, 4)
	for _, s := range []uuid.UUID{soon.ID, past.ID} {
		if _, err := p.svc.BookSelf(selfCtx(p.trust, acct), s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.svc.Book(p.ctx(), later.ID, h); err != nil {
		t.Fatal(err)
	}
	if _, err := p.svc.BookSelf(selfCtx(charity, acct), cs[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	// Someone else waits for the one place of the first session.
	other := p.Account("olu@example.com", "Olu Other")
	p.Holder(p.trust, "Olu", "Other", other)
	waiting, err := p.svc.BookSelf(selfCtx(p.trust, other), soon.ID, nil)
	if err != nil || waiting.Booking.Status != training.Waiting {
		t.Fatalf("%+v %v", waiting, err)
	}
	p.clock.Set(time.Date(2027, 3, 18, 9, 0, 0, 0, time.UTC))

	own, err := p.svc.OwnBookings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var up []string
	for _, b := range own.Upcoming {
		up = append(up, b.CourseTitle+"@"+b.TenantSlug)
	}
	if strings.Join(up, ", ") != "Carers' first aid@charity, Suction and airway care@trust, Suction and airway care@trust" ||
		len(own.Past) != 1 || own.Past[0].SessionID != past.ID || own.FeedSince != nil {
		t.Fatalf("upcoming %v; past %+v", up, own.Past)
	}
	if !own.CanCancel[own.Upcoming[1].ID] || own.CanCancel[own.Past[0].ID] {
		t.Fatal("cancel offered wrongly")
	}
	// Olu sees only Olu's booking.
	if o, err := p.svc.OwnBookings(moduletest.Self(other)); err != nil || len(o.Upcoming) != 1 || o.Upcoming[0].Status != training.Waiting {
		t.Fatalf("Olu's bookings: %+v %v", o, err)
	}

	// Olu cannot cancel Holly's booking: not found, nothing changes.
	hollys := own.Upcoming[1].ID
	if _, err := p.svc.CancelOwnBooking(moduletest.Self(other), hollys); !errs.Is(err, errs.NotFound) {
		t.Fatalf("cancelling someone else's booking: %v", err)
	}
	if _, err := p.svc.CancelOwnBooking(ctx, uuid.New()); !errs.Is(err, errs.NotFound) {
		t.Fatalf("cancelling an unknown booking: %v", err)
	}
	if _, err := p.svc.CancelOwnBooking(ctx, own.Past[0].ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancelling a past booking: %v", err)
	}
	b, err := p.svc.CancelOwnBooking(ctx, hollys)
	if err != nil || b.Status != training.Cancel || b.SessionID != soon.ID {
		t.Fatalf("cancel own: %+v %v", b, err)
	}
	if ev := p.LastEvent(p.trust, "booking.cancel"); ev.ObjectID != hollys.String() {
		t.Fatalf("cancel audited as %+v", ev)
	}
	// The freed place went to Olu.
	if o, _ := p.svc.OwnBookings(moduletest.Self(other)); o.Upcoming[0].Status != training.Booked {
		t.Fatalf("Olu was not promoted: %s", o.Upcoming[0].Status)
	}
	if _, err := p.svc.CancelOwnBooking(ctx, hollys); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancelling twice: %v", err)
	}
	// In a tenant's own scope, the own-bookings policies widen nothing: the
	// trust sees none of the charity's bookings.
	if n := p.Count(&p.trust, acct, `SELECT count(*) FROM bookings WHERE tenant_id <> ?`, p.trust.ID); n != 0 {
		t.Fatalf("the trust's scope sees %d bookings of other tenants", n)
	}
	// Outside any scope, with no account, nothing.
	if n := p.Count(nil, uuid.Nil, `SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("no scope sees %d bookings", n)
	}
	if n := p.Count(nil, acct, `SELECT count(*) FROM training_sessions`); n != 4 {
		t.Fatalf("Holly's scope sees %d sessions, want the 4 she booked", n)
	}
}
