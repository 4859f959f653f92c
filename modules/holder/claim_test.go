package holder_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/tenants"
)

// accountOfPerson returns the account linked to person, if any.
func (f *fixture) accountOfPerson(person uuid.UUID) *uuid.UUID {
	f.T.Helper()
	var acct *uuid.UUID
	err := f.Scoped.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT account_id FROM persons WHERE id = ?`, person).Row().Scan(&acct)
	})
	if err != nil {
		f.T.Fatal(err)
	}
	return acct
}

func TestClaimLinksAnAccountOnce(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	h := f.enrol(a, staff, "Priya", "Shah", "1988-02-03", "priya@example.org")

	link, err := f.claims.Invite(as(a, staff), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !link.ExpiresAt.Equal(f.clock.Now().Add(holder.ClaimTTL)) {
		t.Errorf("expires %v", link.ExpiresAt)
	}
	if e := f.LastEvent(a, "holder.claim_invite"); e.ObjectID != h.ID.String() {
		t.Errorf("invite audited for %s", e.ObjectID)
	}
	stored := f.Count(&a, staff, `SELECT count(*) FROM holder_claims WHERE tenant_id = ? AND token_hash = sha256(convert_to(?, 'UTF8'))`, a.ID, link.Token)
	if stored != 1 {
		t.Fatalf("the token's hash is not what is stored (%d rows)", stored)
	}
	if n := f.Count(&a, staff, `SELECT count(*) FROM holder_claims WHERE position(convert_to(?, 'UTF8') IN token_hash) > 0`, link.Token); n != 0 {
		t.Fatal("the token itself is stored")
	}

	// The person opening the link: no tenant staff, no account yet.
	visitor := tenants.WithTenant(context.Background(), a)
	p, err := f.claims.Open(visitor, link.Token)
	if err != nil || p.GivenName != "Priya" || p.TenantName != a.Name || p.Email != "priya@example.org" {
		t.Fatalf("open: %+v %v", p, err)
	}

	// Invalid input stores nothing and keeps the link usable.
	_, err = f.claims.Claim(visitor, link.Token, holder.ClaimInput{Mode: holder.ClaimNewAccount, Name: "Priya Shah",
		Email: "priya@example.org", Password: password, Confirm: "different"}, client)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("mismatched passwords: %v", err)
	}
	session, err := f.claims.Claim(visitor, link.Token, holder.ClaimInput{Mode: holder.ClaimNewAccount, Name: "Priya Shah",
		Email: "priya@example.org", Password: password, Confirm: password}, client)
	if err != nil {
		t.Fatal(err)
	}
	if session == "" {
		t.Fatal("no session for the new account")
	}
	acct := f.accountOfPerson(h.PersonID)
	if acct == nil {
		t.Fatal("the person is not linked to the account")
	}
	if e := f.LastEvent(a, "holder.claim"); e.ObjectID != h.ID.String() || e.Detail["outcome"] != "linked" {
		t.Errorf("claim audited as %+v", e)
	}
	d, err := f.holders.Details(as(a, staff), h.ID)
	if err != nil || !d.Claimed {
		t.Errorf("holder not shown as claimed: %+v %v", d, err)
	}

	// Single use.
	if _, err := f.claims.Open(visitor, link.Token); !errs.Is(err, errs.NotFound) {
		t.Errorf("used link opens: %v", err)
	}
	if _, err := f.claims.Claim(as(a, *acct), link.Token, holder.ClaimInput{Mode: holder.ClaimSignedIn}, client); !errs.Is(err, errs.NotFound) {
		t.Errorf("used link claims again: %v", err)
	}
	// Nothing more to claim for this holder.
	if _, err := f.claims.Invite(as(a, staff), h.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("invite after claim: %v", err)
	}
}

func TestClaimLinksExpireAndAreReplaced(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	h := f.enrol(a, staff, "Tom", "Ray", "1979-11-30", "")
	visitor := tenants.WithTenant(context.Background(), a)

	first, err := f.claims.Invite(as(a, staff), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.claims.Invite(as(a, staff), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.claims.Open(visitor, first.Token); !errs.Is(err, errs.NotFound) {
		t.Errorf("replaced link still opens: %v", err)
	}
	if _, err := f.claims.Open(visitor, second.Token); err != nil {
		t.Errorf("new link: %v", err)
	}
	f.clock.Advance(holder.ClaimTTL + time.Minute)
	if _, err := f.claims.Open(visitor, second.Token); !errs.Is(err, errs.NotFound) {
		t.Errorf("expired link opens: %v", err)
	}
	acct := f.Account("tom@example.org", "Tom Ray")
	if _, err := f.claims.Claim(as(a, acct), second.Token, holder.ClaimInput{Mode: holder.ClaimSignedIn}, client); !errs.Is(err, errs.NotFound) {
		t.Errorf("expired link claims: %v", err)
	}
	if f.accountOfPerson(h.PersonID) != nil {
		t.Error("an expired link linked an account")
	}
	// A link from another tenant is not valid here.
	b := f.Tenant("home-b", tenants.KindCareHome)
	f.clock.Advance(-holder.ClaimTTL)
	third, err := f.claims.Invite(as(a, staff), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.claims.Open(tenants.WithTenant(context.Background(), b), third.Token); !errs.Is(err, errs.NotFound) {
		t.Errorf("link opens under another tenant: %v", err)
	}
}

// twoTenantPerson enrols the same human in two tenants (two persons), each
// with a record, and returns everything the tests need.
type twoTenants struct {
	a, b           tenants.Tenant
	staffA, staffB uuid.UUID
	hA, hB         holder.Holder
	recA, recB     uuid.UUID
}

func setUpTwoTenants(f *fixture) twoTenants {
	f.T.Helper()
	var s twoTenants
	s.a = f.Tenant("trust-a", tenants.KindPaediatricTrust)
	s.b = f.Tenant("home-b", tenants.KindCareHome)
	s.staffA = f.staff(s.a, "staff@a.example")
	s.staffB = f.staff(s.b, "staff@b.example")
	s.hA = f.enrol(s.a, s.staffA, "Sam", "Jones", "1992-03-04", "sam@example.org")
	s.hB = f.enrol(s.b, s.staffB, "Samuel", "Jones", "1992-03-04", "")
	compA := f.competency(s.a, "trust-skills", "TRACH-01", 12, nil)
	compB := f.competency(s.b, "home-skills", "NEWS2-01", 24, nil)
	signed := f.clock.Now().AddDate(0, -3, 0)
	s.recA = f.Record(s.a, s.hA.ID, compA, moduletest.Record{State: "competent", SignedOff: &signed, Assessor: "Alex Assessor", Setting: "Ward 4"})
	s.recB = f.Record(s.b, s.hB.ID, compB, moduletest.Record{State: "training_attended", Setting: "Ward 4"})
	return s
}

func (f *fixture) claimAs(tn tenants.Tenant, staff, holderID uuid.UUID, in holder.ClaimInput, actor uuid.UUID) (string, error) {
	f.T.Helper()
	link, err := f.claims.Invite(as(tn, staff), holderID)
	if err != nil {
		f.T.Fatal(err)
	}
	ctx := tenants.WithTenant(context.Background(), tn)
	if actor != uuid.Nil {
		ctx = tenants.WithActor(ctx, actor)
	}
	return f.claims.Claim(ctx, link.Token, in, client)
}

func TestSecondClaimMergesEnrolmentsIntoOnePerson(t *testing.T) {
	f := newFixture(t)
	s := setUpTwoTenants(f)
	if s.hA.PersonID == s.hB.PersonID {
		t.Fatal("two enrolments start as one person")
	}

	// First claim at A, creating the account.
	if _, err := f.claimAs(s.a, s.staffA, s.hA.ID, holder.ClaimInput{Mode: holder.ClaimNewAccount, Name: "Sam Jones",
		Email: "sam@example.org", Password: password, Confirm: password}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	// Second claim at B, signing in to the same account.
	session, err := f.claimAs(s.b, s.staffB, s.hB.ID, holder.ClaimInput{Mode: holder.ClaimSignIn, Email: "sam@example.org",
		Password: password}, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if session == "" {
		t.Error("signing in gave no session")
	}
	personA, personB := f.personOf(s.a, s.hA.ID), f.personOf(s.b, s.hB.ID)
	if personA != personB || personA != s.hA.PersonID {
		t.Fatalf("not merged: A's person %s, B's person %s (A's was %s)", personA, personB, s.hA.PersonID)
	}
	if e := f.LastEvent(s.b, "holder.claim"); e.Detail["outcome"] != "merged" {
		t.Errorf("B's claim audited as %+v", e)
	}
	if n := f.Count(&s.b, s.staffB, `SELECT count(*) FROM competency_records WHERE tenant_id = ? AND person_id = ?`, s.b.ID, personA); n != 1 {
		t.Errorf("B's record did not move to the person: %d", n)
	}

	// Neither tenant can see the other's enrolment or records, even by the
	// shared person id.
	for _, probe := range []struct {
		tn     tenants.Tenant
		staff  uuid.UUID
		other  uuid.UUID
		record uuid.UUID
	}{{s.a, s.staffA, s.hB.ID, s.recB}, {s.b, s.staffB, s.hA.ID, s.recA}} {
		if n := f.Count(&probe.tn, probe.staff, `SELECT count(*) FROM holders WHERE id = ?`, probe.other); n != 0 {
			t.Errorf("%s sees the other tenant's holder row", probe.tn.Slug)
		}
		if n := f.Count(&probe.tn, probe.staff, `SELECT count(*) FROM holders WHERE person_id = ?`, personA); n != 1 {
			t.Errorf("%s sees %d holder rows of the person, want its own only", probe.tn.Slug, n)
		}
		if n := f.Count(&probe.tn, probe.staff, `SELECT count(*) FROM competency_records WHERE id = ?`, probe.record); n != 0 {
			t.Errorf("%s sees the other tenant's record", probe.tn.Slug)
		}
		if _, err := f.holders.Get(as(probe.tn, probe.staff), probe.other); !errs.Is(err, errs.NotFound) {
			t.Errorf("%s reads the other tenant's holder: %v", probe.tn.Slug, err)
		}
	}
	// The claim audit in each tenant names only its own holder.
	for _, e := range f.Events(s.b) {
		if e.ObjectID == s.hA.ID.String() {
			t.Errorf("B's audit trail mentions A's holder: %+v", e)
		}
	}
}

func TestClaimRefusals(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	visitor := tenants.WithTenant(context.Background(), a)
	owner := f.Account("lee@example.org", "Lee Chan")
	other := f.Account("other@example.org", "Someone Else")

	// A passport linked to another account meanwhile is not taken over.
	h := f.enrol(a, staff, "Lee", "Chan", "1970-06-06", "")
	link, err := f.claims.Invite(as(a, staff), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Scoped.Platform(self(owner), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ?`, owner, h.PersonID).Error
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.claims.Claim(as(a, other), link.Token, holder.ClaimInput{Mode: holder.ClaimSignedIn}, client); !errs.Is(err, errs.Conflict) {
		t.Errorf("claim of a passport linked to another account: %v", err)
	}
	if acct := f.accountOfPerson(h.PersonID); acct == nil || *acct != owner {
		t.Errorf("the passport changed hands: %v", acct)
	}
	if _, err := f.claims.Open(visitor, link.Token); err != nil {
		t.Errorf("a refused claim used up the link: %v", err)
	}

	// A signed-in claim needs a session.
	if _, err := f.claims.Claim(visitor, link.Token, holder.ClaimInput{Mode: holder.ClaimSignedIn}, client); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("signed-in claim without a session: %v", err)
	}
	// A wrong password is the sign-in page's one message.
	_, err = f.claims.Claim(visitor, link.Token, holder.ClaimInput{Mode: holder.ClaimSignIn, Email: "lee@example.org",
		Password: "not the password at all"}, client)
	if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Field != "email" {
		t.Errorf("wrong password: %v", err)
	}
	// Creating an account with an email already taken says to sign in.
	_, err = f.claims.Claim(visitor, link.Token, holder.ClaimInput{Mode: holder.ClaimNewAccount, Name: "Lee",
		Email: "LEE@example.org", Password: password, Confirm: password}, client)
	if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Field != "email" {
		t.Errorf("new account with a taken email: %v", err)
	}

	// One account, two enrolments in the same tenant: refused, link kept.
	h2 := f.enrol(a, staff, "Lee", "Chan", "1970-06-07", "")
	link2, err := f.claims.Invite(as(a, staff), h2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.claims.Claim(as(a, owner), link2.Token, holder.ClaimInput{Mode: holder.ClaimSignedIn}, client); !errs.Is(err, errs.Conflict) {
		t.Errorf("second enrolment at the same tenant: %v", err)
	}
	if _, err := f.claims.Open(visitor, link2.Token); err != nil {
		t.Errorf("a refused claim used up the link: %v", err)
	}
	// A holder who has left cannot be invited.
	if _, err := f.holders.SetStatus(as(a, staff), h2.ID, holder.StatusLeft); err != nil {
		t.Fatal(err)
	}
	if _, err := f.claims.Invite(as(a, staff), h2.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("invite of a holder who left: %v", err)
	}
	if _, err := f.claims.Invite(as(a, staff), uuid.Must(uuid.NewV7())); !errs.Is(err, errs.NotFound) {
		t.Errorf("invite of an unknown holder: %v", err)
	}
}

func TestPortalShowsEveryTenantsRecordsAndWhoViewed(t *testing.T) {
	f := newFixture(t)
	s := setUpTwoTenants(f)
	sam := f.Account("sam@example.org", "Sam Jones")

	// Before claiming: a friendly empty passport.
	p, err := f.holders.Passport(self(sam))
	if err != nil || p.Claimed || len(p.Tenants) != 0 {
		t.Fatalf("unclaimed passport: %+v %v", p, err)
	}

	for _, c := range []struct {
		tn    tenants.Tenant
		staff uuid.UUID
		h     uuid.UUID
	}{{s.a, s.staffA, s.hA.ID}, {s.b, s.staffB, s.hB.ID}} {
		if _, err := f.claimAs(c.tn, c.staff, c.h, holder.ClaimInput{Mode: holder.ClaimSignedIn}, sam); err != nil {
			t.Fatal(err)
		}
	}
	// Staff of each tenant view their holder; a third tenant views through a share.
	if _, err := f.holders.Get(as(s.a, s.staffA), s.hA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.holders.Get(as(s.b, s.staffB), s.hB.ID); err != nil {
		t.Fatal(err)
	}
	c := f.Tenant("school-c", tenants.KindCarersCharity)
	staffC := f.staff(c, "staff@c.example")
	created, err := f.shares.CreateOwn(self(sam), share.Grant{To: share.ToTenant, TenantSlug: c.Slug})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.shares.View(as(c, staffC), created.Share.ID); err != nil {
		t.Fatal(err)
	}
	// Someone else's holder viewed at A must not appear.
	other := f.enrol(s.a, s.staffA, "Other", "Person", "2000-01-01", "")
	if _, err := f.holders.Get(as(s.a, s.staffA), other.ID); err != nil {
		t.Fatal(err)
	}

	p, err = f.holders.Passport(self(sam))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Claimed || len(p.Tenants) != 2 || p.Records() != 2 {
		t.Fatalf("passport: %+v", p)
	}
	byName := map[string]holder.TenantPassport{}
	for _, tp := range p.Tenants {
		byName[tp.TenantName] = tp
	}
	ra := byName[s.a.Name].Records
	if len(ra) != 1 || ra[0].CompetencyCode != "TRACH-01" || ra[0].AssessorName != "Alex Assessor" || ra[0].Setting != "Ward 4" ||
		ra[0].CatalogueVersion != 1 || ra[0].ExpiresAt == nil || !ra[0].ExpiresAt.Equal(*holder.Expiry(ptr(f.clock.Now().AddDate(0, -3, 0)), 12)) ||
		ra[0].EffectiveState != "competent" {
		t.Errorf("A's record: %+v", ra)
	}
	if rb := byName[s.b.Name].Records; len(rb) != 1 || rb[0].State != "training_attended" || rb[0].ExpiresAt != nil {
		t.Errorf("B's record: %+v", rb)
	}
	seen := map[string]int{}
	for _, v := range p.Views {
		seen[v.TenantName]++
		if v.TenantName == c.Name && !v.ViaShare {
			t.Errorf("C's view not marked as through a share: %+v", v)
		}
		if v.Viewer == "" || v.At.IsZero() {
			t.Errorf("view without who or when: %+v", v)
		}
	}
	if seen[s.a.Name] != 1 || seen[s.b.Name] != 1 || seen[c.Name] != 1 || len(p.Views) != 3 {
		t.Errorf("views %+v", p.Views)
	}

	// The expiry moves with the clock.
	f.clock.Advance(250 * 24 * time.Hour)
	p, _ = f.holders.Passport(self(sam))
	for _, tp := range p.Tenants {
		for _, r := range tp.Records {
			if r.CompetencyCode == "TRACH-01" && r.EffectiveState != "due_for_update" {
				t.Errorf("250 days on: %s", r.EffectiveState)
			}
		}
	}

	// The audit-event policy never widens a tenant scope: Sam, acting in
	// C's scope, sees none of A's events.
	if n := f.Count(&c, sam, `SELECT count(*) FROM audit_events WHERE tenant_id = ?`, s.a.ID); n != 0 {
		t.Errorf("in a tenant scope the account sees %d of another tenant's audit events", n)
	}
	// Outside any tenant, only events about Sam's own enrolments and shares.
	if n := f.Count(nil, sam, `SELECT count(*) FROM audit_events WHERE object_id = ?`, other.ID.String()); n != 0 {
		t.Errorf("the account sees %d audit events about someone else", n)
	}
	if n := f.Count(nil, sam, `SELECT count(*) FROM audit_events WHERE object_type NOT IN ('holder', 'share')`); n != 0 {
		t.Errorf("the account sees %d unrelated audit events", n)
	}
	// A stranger sees nothing at all.
	stranger := f.Account("stranger@example.org", "Stranger")
	if n := f.Count(nil, stranger, `SELECT count(*) FROM audit_events`); n != 0 {
		t.Errorf("a stranger sees %d audit events", n)
	}
	if n := f.Count(nil, stranger, `SELECT count(*) FROM competency_records`); n != 0 {
		t.Errorf("a stranger sees %d records", n)
	}
}
