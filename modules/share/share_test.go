package share_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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

var london, _ = time.LoadLocation("Europe/London")

var codeRe = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestShareCodesHaveEnoughEntropyAndCatchTypingMistakes(t *testing.T) {
	if share.CodeBits < 64 {
		t.Fatalf("share codes carry %d bits, want at least 64", share.CodeBits)
	}
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := share.NewCode()
		if !codeRe.MatchString(c) {
			t.Fatalf("code %q is not four groups of four unambiguous symbols", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
		if _, err := share.ParseCode(c); err != nil {
			t.Fatalf("a new code does not parse: %v", err)
		}
	}

	code := share.NewCode()
	canonical, err := share.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	// Typed loosely: lower case, spaces instead of hyphens, O for 0 and I or L for 1.
	loose := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	loose = strings.NewReplacer("0", "o", "1", "l").Replace(loose)
	if got, err := share.ParseCode(loose); err != nil || got != canonical {
		t.Errorf("loosely typed %q: %q %v", loose, got, err)
	}

	// Every single mistyped symbol is caught by the check symbol.
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	for i := 0; i < len(canonical); i++ {
		for _, r := range alphabet {
			if byte(r) == canonical[i] {
				continue
			}
			typo := canonical[:i] + string(r) + canonical[i+1:]
			_, err := share.ParseCode(typo)
			if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Message != share.MsgCodeMistyped {
				t.Fatalf("mistyped %q (from %q) not caught: %v", typo, canonical, err)
			}
		}
	}
	for _, bad := range []struct{ typed, msg string }{
		{"", share.MsgCodeEmpty},
		{"ABCD-EFGH", share.MsgCodeFormat},
		{"ABCD-EFGH-JKMN-PQRU", share.MsgCodeFormat},
		{"ABCD-EFGH-JKMN-PQR!", share.MsgCodeFormat},
	} {
		_, err := share.ParseCode(bad.typed)
		if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Message != bad.msg {
			t.Errorf("%q: %v, want %q", bad.typed, err, bad.msg)
		}
	}
}

// passportSetUp is an issuing tenant A with a holder whose passport has a
// competent record and one in training, a receiving tenant B, and an
// unrelated tenant C.
type passportSetUp struct {
	a, b, c                tenants.Tenant
	staffA, staffB, staffC uuid.UUID
	holderID, person       uuid.UUID
	competent, training    uuid.UUID
	stdID                  uuid.UUID
	signedOff              time.Time
}

func setUp(f *fixture) passportSetUp {
	f.T.Helper()
	var s passportSetUp
	if err := f.DB.Gorm.Raw(`SELECT id FROM std_competencies WHERE kind = 'skill' ORDER BY code LIMIT 1`).Row().Scan(&s.stdID); err != nil {
		f.T.Fatal(err)
	}
	s.a = f.Tenant("trust-a", tenants.KindPaediatricTrust)
	s.b = f.Tenant("home-b", tenants.KindCareHome)
	s.c = f.Tenant("charity-c", tenants.KindCarersCharity)
	s.staffA, s.staffB, s.staffC = f.staff(s.a, "staff@a.example"), f.staff(s.b, "staff@b.example"), f.staff(s.c, "staff@c.example")
	h, err := f.holders.Enrol(as(s.a, s.staffA), holder.Input{GivenName: "Dee", FamilyName: "Brown",
		DateOfBirth: holder.DateFromISO("1984-04-04"), Email: "dee@example.org", RoleInCare: "parent"}, false)
	if err != nil {
		f.T.Fatalf("enrol Dee Brown: %v", err)
	}
	s.holderID, s.person = h.ID, h.PersonID
	mapped := f.competency(s.a, "trust-skills", "SUCTION-01", 12, &s.stdID)
	other := f.competency(s.a, "trust-more", "OXYGEN-01", 12, nil)
	s.signedOff = f.clock.Now().AddDate(0, -2, 0)
	s.competent = f.Record(s.a, s.holderID, mapped, moduletest.Record{State: "competent", SignedOff: &s.signedOff, Assessor: "Alex Assessor", Setting: "Ward 4"})
	s.training = f.Record(s.a, s.holderID, other, moduletest.Record{State: "training_attended", Setting: "Ward 4"})
	return s
}

// visible counts what tenant tn sees of the person's records and holders.
func (f *fixture) visible(tn tenants.Tenant, staff, person uuid.UUID) (records, holders int64) {
	f.T.Helper()
	records = f.Count(&tn, staff, `SELECT count(*) FROM competency_records WHERE person_id = ?`, person)
	holders = f.Count(&tn, staff, `SELECT count(*) FROM holders WHERE person_id = ?`, person)
	return records, holders
}

func consent() share.Consent {
	return share.Consent{GivenBy: "Dee Brown, the holder", Method: "in_person", Note: "Moving to a care home"}
}

func TestIsolationWithoutWithAndAfterAShare(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)

	// Without a share, B and C see nothing of the person.
	for _, tn := range []struct {
		t     tenants.Tenant
		staff uuid.UUID
	}{{s.b, s.staffB}, {s.c, s.staffC}} {
		if r, h := f.visible(tn.t, tn.staff, s.person); r != 0 || h != 0 {
			t.Fatalf("%s sees %d records and %d holders without a share", tn.t.Slug, r, h)
		}
	}

	created, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToCode}, consent())
	if err != nil {
		t.Fatal(err)
	}
	if created.Code == "" || !created.Share.ExpiresAt.Equal(f.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("created %+v", created)
	}
	e := f.LastEvent(s.a, "share.create")
	if e.ObjectID != created.Share.ID.String() || e.Detail["holder"] != s.holderID.String() || e.Detail["consent_method"] != "in_person" {
		t.Errorf("share.create audited as %+v", e)
	}
	// The code itself is not stored.
	canonical, _ := share.ParseCode(created.Code)
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM passport_shares WHERE position(convert_to(?, 'UTF8') IN code_hash) > 0`, canonical); n != 0 {
		t.Fatal("the share code is stored in the clear")
	}
	// Not redeemed yet: still nothing.
	if r, _ := f.visible(s.b, s.staffB, s.person); r != 0 {
		t.Fatalf("B sees %d records before redeeming", r)
	}

	sh, err := f.shares.Redeem(as(s.b, s.staffB), created.Code)
	if err != nil {
		t.Fatal(err)
	}
	if e := f.LastEvent(s.b, "share.redeem"); e.ObjectID != sh.ID.String() {
		t.Errorf("redeem audited as %+v", e)
	}
	// With a redeemed share B sees the competent record only, and no holder row.
	if r, h := f.visible(s.b, s.staffB, s.person); r != 1 || h != 0 {
		t.Fatalf("B sees %d records and %d holders with a share, want 1 and 0", r, h)
	}
	if n := f.Count(&s.b, s.staffB, `SELECT count(*) FROM competency_records WHERE id = ?`, s.training); n != 0 {
		t.Fatal("B sees a record that is not signed off")
	}
	// C still sees nothing.
	if r, h := f.visible(s.c, s.staffC, s.person); r != 0 || h != 0 {
		t.Fatalf("C sees %d records and %d holders through B's share", r, h)
	}
	p, err := f.shares.View(as(s.b, s.staffB), sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Competencies) != 1 {
		t.Fatalf("view: %+v", p.Competencies)
	}
	got := p.Competencies[0]
	if got.Issuer != s.a.Name || got.Code != "SUCTION-01" || got.CatalogueVersion != 1 || got.AssessorName != "Alex Assessor" ||
		!got.SignedOffAt.Equal(s.signedOff) || !got.ExpiresAt.Equal(*holder.Expiry(&s.signedOff, 12)) || got.Expired {
		t.Errorf("shared competency: %+v", got)
	}
	if p.HolderID != nil {
		t.Error("B has an enrolment it never made")
	}
	if e := f.LastEvent(s.b, "passport.read"); e.ObjectID != sh.ID.String() {
		t.Errorf("view audited as %+v", e)
	}
	// C cannot open B's share.
	if _, err := f.shares.View(as(s.c, s.staffC), sh.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("C opens B's share: %v", err)
	}

	// After revocation: nothing.
	if _, err := f.shares.Revoke(as(s.a, s.staffA), sh.ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.visible(s.b, s.staffB, s.person); r != 0 {
		t.Fatalf("B sees %d records after revocation", r)
	}
	if _, err := f.shares.View(as(s.b, s.staffB), sh.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("view after revocation: %v", err)
	}
	if _, err := f.shares.Revoke(as(s.a, s.staffA), sh.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("second revocation: %v", err)
	}

	// A direct grant is live at once; after expiry: nothing.
	direct, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToTenant, TenantSlug: s.b.Slug, Days: 5}, consent())
	if err != nil {
		t.Fatal(err)
	}
	if direct.Code != "" || direct.Share.RedeemedAt == nil {
		t.Fatalf("direct grant: %+v", direct)
	}
	if r, _ := f.visible(s.b, s.staffB, s.person); r != 1 {
		t.Fatalf("B sees %d records with a direct grant", r)
	}
	// The service's clock passes the expiry ...
	f.clock.Advance(6 * 24 * time.Hour)
	if _, err := f.shares.View(as(s.b, s.staffB), direct.Share.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("view after expiry: %v", err)
	}
	if list, err := f.shares.Received(as(s.b, s.staffB)); err != nil || len(list) != 0 {
		t.Errorf("received after expiry: %+v %v", list, err)
	}
	// ... and so does the database's, for row-level security.
	if err := f.Scoped.Platform(self(uuid.Nil), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE passport_shares SET expires_at = now() - interval '1 minute' WHERE id = ?`, direct.Share.ID).Error
	}); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.visible(s.b, s.staffB, s.person); r != 0 {
		t.Fatalf("B sees %d records after expiry", r)
	}
	// A share to one's own tenant is refused.
	if _, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToTenant, TenantSlug: s.a.Slug}, consent()); !errs.Is(err, errs.Invalid) {
		t.Errorf("share with itself: %v", err)
	}
}

func TestTenantShareNeedsConsentAndValidGrant(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	_, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToTenant, TenantSlug: "nowhere", Days: 400},
		share.Consent{})
	want := "tenant,days,consent_given_by,consent_method"
	var got []string
	for _, fe := range errs.FieldsOf(err) {
		got = append(got, fe.Field)
	}
	if strings.Join(got, ",") != want {
		t.Errorf("fields %v, want %s (%v)", got, want, err)
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM passport_shares`); n != 0 {
		t.Fatalf("%d shares stored after invalid input", n)
	}
	if _, err := f.shares.CreateForHolder(as(s.a, s.staffA), uuid.Must(uuid.NewV7()), share.Grant{To: share.ToCode}, consent()); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown holder: %v", err)
	}
	// B cannot share A's holder, nor revoke A's share.
	if _, err := f.shares.CreateForHolder(as(s.b, s.staffB), s.holderID, share.Grant{To: share.ToCode}, consent()); !errs.Is(err, errs.NotFound) {
		t.Errorf("B shares A's holder: %v", err)
	}
	created, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToCode, Days: 365}, consent())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.shares.Revoke(as(s.b, s.staffB), created.Share.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("B revokes A's share: %v", err)
	}
	hs, err := f.shares.OfHolder(as(s.a, s.staffA), s.holderID)
	note := "Consent given by Dee Brown, the holder, in person, on " + f.clock.Now().In(london).Format("2 January 2006") + ": Moving to a care home"
	if err != nil || len(hs.Shares) != 1 || hs.Shares[0].ConsentNote != note {
		t.Errorf("holder's shares: %+v %v", hs, err)
	}
}

func TestRedeemRefusesEndedCodesAndStoresNothing(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	ctxA, ctxB, ctxC := as(s.a, s.staffA), as(s.b, s.staffB), as(s.c, s.staffC)
	newCode := func(days int) share.Created {
		t.Helper()
		c, err := f.shares.CreateForHolder(ctxA, s.holderID, share.Grant{To: share.ToCode, Days: days}, consent())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	untouched := func(id uuid.UUID) {
		t.Helper()
		if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM passport_shares WHERE id = ? AND redeemed_at IS NULL AND grantee_tenant IS NULL`, id); n != 1 {
			t.Errorf("share %s changed by a refused redemption", id)
		}
	}
	message := func(err error) string {
		if fe := errs.FieldsOf(err); len(fe) == 1 && fe[0].Field == "code" {
			return fe[0].Message
		}
		if errs.Is(err, errs.Conflict) {
			return errs.MessageOf(err)
		}
		return "unexpected: " + err.Error()
	}

	revoked := newCode(30)
	if _, err := f.shares.Revoke(ctxA, revoked.Share.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.shares.Redeem(ctxB, revoked.Code)
	if got := message(err); !strings.Contains(got, "withdrawn") {
		t.Errorf("revoked code: %q", got)
	}
	untouched(revoked.Share.ID)

	expiring := newCode(1)
	f.clock.Advance(25 * time.Hour)
	_, err = f.shares.Redeem(ctxB, expiring.Code)
	if got, want := message(err), fmt.Sprintf(share.MsgCodeExpired, expiring.Share.ExpiresAt.In(london).Format("2 January 2006")); got != want {
		t.Errorf("expired code: %q", got)
	}
	untouched(expiring.Share.ID)

	live := newCode(30)
	canonical, _ := share.ParseCode(live.Code)
	typo := canonical[:3] + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", canonical[3])+1)%32]) + canonical[4:]
	if _, err := f.shares.Redeem(ctxB, typo); message(err) != share.MsgCodeMistyped {
		t.Errorf("mistyped code: %v", err)
	}
	if _, err := f.shares.Redeem(ctxB, share.NewCode()); !strings.HasPrefix(message(err), "No share has this code") {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := f.shares.Redeem(ctxA, live.Code); !strings.Contains(message(err), "your own organisation") {
		t.Errorf("own code: %v", err)
	}
	untouched(live.Share.ID)
	if _, err := f.shares.Redeem(ctxB, strings.ToLower(live.Code)); err != nil {
		t.Fatalf("live code: %v", err)
	}
	if _, err := f.shares.Redeem(ctxB, live.Code); !errs.Is(err, errs.Conflict) {
		t.Errorf("redeemed twice by B: %v", err)
	}
	if _, err := f.shares.Redeem(ctxC, live.Code); !strings.Contains(message(err), "already been used") {
		t.Errorf("redeemed by C after B: %v", err)
	}
	if r, _ := f.visible(s.c, s.staffC, s.person); r != 0 {
		t.Error("C sees records after a refused redemption")
	}
	for _, e := range f.Events(s.b) {
		if e.Action == "share.redeem" && e.ObjectID != live.Share.ID.String() {
			t.Errorf("a refused redemption was recorded: %+v", e)
		}
	}
}

func TestRecognitionCreatesTheReceiversOwnRecord(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	ctxB := as(s.b, s.staffB)
	ownComp := f.competency(s.b, "home-skills", "HOME-SUCTION", 6, &s.stdID)
	f.competency(s.b, "home-other", "HOME-OTHER", 6, nil)
	direct, err := f.shares.CreateForHolder(as(s.a, s.staffA), s.holderID, share.Grant{To: share.ToTenant, TenantSlug: s.b.Slug, Days: 365}, consent())
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.shares.View(ctxB, direct.Share.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Competencies) != 1 || !p.Competencies[0].Recognisable() || len(p.Competencies[0].Targets) != 1 ||
		p.Competencies[0].Targets[0].CompetencyID != ownComp {
		t.Fatalf("recognition targets: %+v", p.Competencies)
	}

	// Without an enrolment, B must type the holder's details: nothing is stored otherwise.
	_, err = f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.competent, CompetencyID: ownComp})
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("recognise without details: %v", err)
	}
	if n := f.Count(&s.b, s.staffB, `SELECT count(*) FROM holders WHERE tenant_id = ?`, s.b.ID); n != 0 {
		t.Fatalf("%d holders stored after a refused recognition", n)
	}
	// A competency that is not B's own mapped one is refused.
	if _, err := f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.competent, CompetencyID: uuid.Must(uuid.NewV7()),
		GivenName: "Dee", FamilyName: "Brown", DateOfBirth: "1984-04-04", RoleInCare: "paid_carer"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("unmapped target: %v", err)
	}
	// A record B cannot see through the share is unknown.
	if _, err := f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.training, CompetencyID: ownComp,
		GivenName: "Dee", FamilyName: "Brown", DateOfBirth: "1984-04-04", RoleInCare: "paid_carer"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("record in training: %v", err)
	}

	recID, err := f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.competent, CompetencyID: ownComp,
		GivenName: "Dee", FamilyName: "Brown", DateOfBirth: "1984-04-04", RoleInCare: "paid_carer"})
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		State, AssessorName string
		SignedOffAt         time.Time
		PersonID, HolderID  uuid.UUID
		RecognisedFrom      []byte
	}
	if err := f.Scoped.Tx(ctxB, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT state, assessor_name, signed_off_at, person_id, holder_id, recognised_from
			FROM competency_records WHERE tenant_id = ? AND id = ?`, s.b.ID, recID).Row().
			Scan(&rec.State, &rec.AssessorName, &rec.SignedOffAt, &rec.PersonID, &rec.HolderID, &rec.RecognisedFrom)
	}); err != nil {
		t.Fatal(err)
	}
	if rec.State != "competent" || !rec.SignedOffAt.Equal(s.signedOff) || rec.PersonID != s.person ||
		rec.AssessorName != "Recognised: "+s.a.Name+" (Alex Assessor)" {
		t.Errorf("recognised record: %+v", rec)
	}
	var from map[string]any
	if err := json.Unmarshal(rec.RecognisedFrom, &from); err != nil {
		t.Fatal(err)
	}
	if from["tenant"] != s.a.Name || from["record"] != s.competent.String() || from["competency_code"] != "SUCTION-01" ||
		from["catalogue_version"] != float64(1) || from["decided_by"] != s.staffB.String() || from["decided_at"] == nil {
		t.Errorf("recognised_from: %v", from)
	}
	// B's new holder is the same person, with only what B's staff typed.
	if n := f.Count(&s.b, s.staffB, `SELECT count(*) FROM holders WHERE tenant_id = ? AND id = ? AND person_id = ? AND email = ''`,
		s.b.ID, rec.HolderID, s.person); n != 1 {
		t.Error("B's holder is not its own enrolment of the person")
	}
	if n := f.Count(&s.b, s.staffB, `SELECT count(*) FROM record_events WHERE tenant_id = ? AND record_id = ? AND to_state = 'competent'
			AND notes LIKE 'Recognised:%' AND by_account = ?`, s.b.ID, recID, s.staffB); n != 1 {
		t.Error("no history entry for the recognition")
	}
	if e := f.LastEvent(s.b, "record.recognise"); e.ObjectID != recID.String() || e.Detail["share"] != direct.Share.ID.String() {
		t.Errorf("recognition audited as %+v", e)
	}
	// Again: already competent here.
	if _, err := f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.competent, CompetencyID: ownComp}); !errs.Is(err, errs.Conflict) {
		t.Errorf("recognised twice: %v", err)
	}

	// The issuer's record cannot be changed from B.
	var changed int64
	if err := f.Scoped.Tx(ctxB, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE competency_records SET assessor_name = 'Changed by B', state = 'revoked' WHERE id = ?`, s.competent)
		changed = res.RowsAffected
		return res.Error
	}); err != nil {
		t.Fatal(err)
	}
	if changed != 0 {
		t.Fatalf("B changed %d of A's records", changed)
	}
	var state, assessor string
	if err := f.Scoped.Tx(as(s.a, s.staffA), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT state, assessor_name FROM competency_records WHERE tenant_id = ? AND id = ?`, s.a.ID, s.competent).
			Row().Scan(&state, &assessor)
	}); err != nil {
		t.Fatal(err)
	}
	if state != "competent" || assessor != "Alex Assessor" {
		t.Errorf("A's record changed: %s %s", state, assessor)
	}
	if n := f.Count(&s.a, s.staffA, `SELECT count(*) FROM competency_records WHERE tenant_id = ?`, s.a.ID); n != 2 {
		t.Errorf("A has %d records", n)
	}

	// An expired source cannot be recognised, while the share still runs.
	f.clock.Advance(320 * 24 * time.Hour)
	_, err = f.shares.Recognise(ctxB, direct.Share.ID, share.Recognition{Record: s.competent, CompetencyID: ownComp})
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "expired on") {
		t.Errorf("an expired competency: %v", err)
	}
}

func TestHolderSharesTheirOwnPassport(t *testing.T) {
	f := newFixture(t)
	s := setUp(f)
	dee := f.Account("dee@example.org", "Dee Brown")
	if _, err := f.shares.CreateOwn(self(dee), share.Grant{To: share.ToCode}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("sharing with no passport: %v", err)
	}
	if err := f.Scoped.Platform(self(dee), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ?`, dee, s.person).Error
	}); err != nil {
		t.Fatal(err)
	}
	created, err := f.shares.CreateOwn(self(dee), share.Grant{To: share.ToTenant, TenantSlug: s.c.Slug, Days: 365})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := f.visible(s.c, s.staffC, s.person); r != 1 {
		t.Fatalf("C sees %d records through the holder's share", r)
	}
	own, err := f.shares.Own(self(dee))
	if err != nil || len(own) != 1 || own[0].GranteeTenantName != s.c.Name || own[0].GrantedVia != share.ViaHolder {
		t.Fatalf("own shares: %+v %v", own, err)
	}
	// The tenant that enrolled them cannot revoke the holder's own share,
	// nor see it among its shares; another account cannot revoke it.
	if _, err := f.shares.Revoke(as(s.a, s.staffA), created.Share.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("A revokes the holder's share: %v", err)
	}
	if hs, _ := f.shares.OfHolder(as(s.a, s.staffA), s.holderID); len(hs.Shares) != 0 {
		t.Errorf("A sees the holder's own shares: %+v", hs.Shares)
	}
	stranger := f.Account("x@example.org", "X")
	if err := f.shares.RevokeOwn(self(stranger), created.Share.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("a stranger revokes the share: %v", err)
	}
	if err := f.shares.RevokeOwn(self(dee), created.Share.ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.visible(s.c, s.staffC, s.person); r != 0 {
		t.Fatalf("C sees %d records after the holder withdrew", r)
	}
	var action string
	if err := f.Scoped.Platform(self(dee), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT action FROM platform_audit_events WHERE object_id = ? ORDER BY seq DESC LIMIT 1`, created.Share.ID.String()).
			Row().Scan(&action)
	}); err != nil || action != "share.revoke" {
		t.Errorf("holder's revocation audited as %q %v", action, err)
	}
	// Validation.
	if _, err := f.shares.CreateOwn(self(dee), share.Grant{To: "post"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown way to share: %v", err)
	}
}
