package carerpassport_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/credential/verify"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

func TestIssueWithoutRequiredConsentIsRefusedAndStoresNothing(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	in := f.consented()
	in.ConsentGivenBy, in.ConsentMethod, in.ConsentDate = "", "", nil
	_, err := f.svc.Issue(f.officerCtx(), in)
	fields := map[string]string{}
	for _, fe := range errs.FieldsOf(err) {
		fields[fe.Field] = fe.Message
	}
	if !strings.Contains(fields["consent_given_by"], "needs the consent") || fields["consent_method"] == "" || fields["consent_date"] == "" {
		t.Fatalf("refusal does not explain the missing consent: %v", err)
	}
	for _, table := range []string{"carer_passports", "carer_passport_events"} {
		if n := f.Rows(f.charity, table, "true"); n != 0 {
			t.Fatalf("%d rows in %s after a refused issue", n, table)
		}
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM status_entries`); n != 0 {
		t.Fatalf("%d status positions taken by a refused issue", n)
	}

	// A scheme without the consent rule issues without it.
	noConsent := f.addScheme(f.charity, "Young carer card", "days", 90, false, true)
	in.SchemeID = noConsent
	p, err := f.svc.Issue(f.officerCtx(), in)
	if err != nil || p.ConsentMethod != "not_required" {
		t.Fatalf("issue without consent under a scheme not requiring it: %+v %v", p, err)
	}
}

func TestIssuedPassportHasCodeSignedQRAndHistory(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	p := f.issue()
	if _, err := credential.ParseCode(p.Code); err != nil {
		t.Fatalf("code %q: %v", p.Code, err)
	}
	if p.State != carerpassport.Active || p.HolderName != "Amira Okafor" || len(p.Benefits) != 2 {
		t.Fatalf("issued: %+v", p)
	}
	if want := p.ValidFrom.AddDate(0, 0, 365); !p.ValidUntil.Equal(want) {
		t.Fatalf("valid until %v, want %v", p.ValidUntil, want)
	}
	// The QR verifies offline against the published documents, and says
	// nothing about the person cared for.
	keys, _ := f.issuer.KeySet(context.Background())
	docs, _ := f.issuer.StatusLists(context.Background())
	lists := credential.StatusLists{}
	for _, d := range docs {
		if err := lists.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	res, err := verify.Verify(p.QR, keys, lists, f.clock.Now())
	if err != nil || !res.Valid || res.Payload.HolderName != "Amira Okafor" || res.Payload.CredentialID != p.ID {
		t.Fatalf("offline verification: %+v %v", res, err)
	}
	signed, _ := credential.ParseQR(p.QR)
	if strings.Contains(fmt.Sprintf("%+v", signed.Payload), "Grace") {
		t.Fatal("the QR payload names the person cared for")
	}
	d, err := f.svc.Get(f.officerCtx(), p.ID)
	if err != nil || len(d.History) != 1 || d.History[0].Action != "issued" || d.History[0].By != "Olu Officer" {
		t.Fatalf("history: %+v %v", d.History, err)
	}
	if e := f.LastEvent(f.charity, "carer_passport.read"); e.ObjectID != p.ID.String() {
		t.Fatalf("read not audited: %+v", e)
	}
}

func TestVerificationSeesEveryStateAtOnce(t *testing.T) {
	f := newFixture(t, carerpassport.Config{ClientPerMinute: 1000})
	ctx := f.officerCtx()
	p := f.issue()
	confirmed := func(what string, want bool) {
		t.Helper()
		for _, text := range []string{p.Code, strings.ToLower(strings.ReplaceAll(p.Code, "-", " ")), p.QR} {
			r := f.verify(text, "client")
			if r.Confirmed != want {
				t.Fatalf("%s: %q confirmed=%v, want %v", what, text[:10], r.Confirmed, want)
			}
			if want && (r.HolderName != "Amira Okafor" || r.IssuerName != "Lanternfield Carers" ||
				r.SchemeName != "Adult carer passport" || len(r.Benefits) != 2 || !r.ValidUntil.Equal(p.ValidUntil)) {
				t.Fatalf("%s: confirmed result %+v", what, r)
			}
			if !want && (r.HolderName != "" || r.IssuerName != "" || r.Benefits != nil) {
				t.Fatalf("%s: a negative answer carries detail: %+v", what, r)
			}
		}
	}
	confirmed("active", true)

	if _, err := f.svc.Suspend(ctx, p.ID, "checking a concern"); err != nil {
		t.Fatal(err)
	}
	confirmed("suspended", false)
	if _, err := f.svc.Resume(ctx, p.ID, ""); err != nil {
		t.Fatal(err)
	}
	confirmed("resumed", true)

	f.clock.Advance(366 * 24 * time.Hour)
	confirmed("expired", false)
	renewed, err := f.svc.Renew(ctx, p.ID, "")
	if err != nil || renewed.State != carerpassport.Active || renewed.Code != p.Code {
		t.Fatalf("renew: %+v %v", renewed, err)
	}
	p.ValidUntil, p.QR = renewed.ValidUntil, renewed.QR
	confirmed("renewed", true)

	if _, err := f.svc.Revoke(ctx, p.ID, carerpassport.ConsentWithdrawn, ""); err != nil {
		t.Fatal(err)
	}
	confirmed("revoked", false)
	if _, err := f.svc.Renew(ctx, p.ID, ""); !errs.Is(err, errs.Conflict) {
		t.Fatalf("renewing a revoked passport: %v", err)
	}

	// Every check was logged against the passport; unknown codes against none.
	f.verify(credential.NewCode().String(), "client")
	f.verify("not a code at all", "client")
	d, err := f.svc.Get(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Checks) != 18 {
		t.Fatalf("%d checks logged for the passport, want 18", len(d.Checks))
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM passport_checks WHERE passport_id IS NULL`); n != 2 {
		t.Fatalf("%d unmatched checks logged, want 2", n)
	}
	var history []string
	for _, e := range d.History {
		history = append(history, e.Action)
	}
	if got := strings.Join(history, ","); got != "issued,suspended,resumed,renewed,revoked" {
		t.Fatalf("history %s", got)
	}
}

func TestStatusListFollowsThePassport(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	ctx := f.officerCtx()
	p := f.issue()
	signed, _ := credential.ParseQR(p.QR)
	idx := signed.Payload.StatusIndex
	revoked := func() bool {
		t.Helper()
		f.clock.Advance(time.Minute) // past the published documents' cache
		doc, err := f.issuer.StatusList(context.Background(), f.charity.Slug)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := doc.List()
		r, _ := l.Revoked(idx)
		return r
	}
	if revoked() {
		t.Fatal("a new passport is revoked in the status list")
	}
	f.svc.Suspend(ctx, p.ID, "")
	if !revoked() {
		t.Fatal("suspension not in the status list")
	}
	f.svc.Resume(ctx, p.ID, "")
	if revoked() {
		t.Fatal("resumption not in the status list")
	}
	next, err := f.svc.Reissue(ctx, p.ID, "lost card")
	if err != nil || next.Code == p.Code || next.Replaces == nil || *next.Replaces != p.ID {
		t.Fatalf("reissue: %+v %v", next, err)
	}
	if !revoked() {
		t.Fatal("the replaced passport is not revoked in the status list")
	}
	if f.verify(p.Code, "c").Confirmed || !f.verify(next.Code, "c").Confirmed {
		t.Fatal("after re-issue the old code must fail and the new one pass")
	}
	old, _ := f.svc.Get(ctx, p.ID)
	if old.State != carerpassport.Revoked || old.RevokedReason != carerpassport.Replaced {
		t.Fatalf("old passport after re-issue: %s %s", old.State, old.RevokedReason)
	}
}

func TestStayPassportEndsAtDischarge(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	stay := f.addScheme(f.charity, "Ward stay passport", "until_discharge", 90, false, false)
	in := f.consented()
	in.SchemeID = stay
	if _, err := f.svc.Issue(f.officerCtx(), in); len(errs.FieldsOf(err)) != 1 || errs.FieldsOf(err)[0].Field != "stay_reference" {
		t.Fatalf("issue without the stay: %v", err)
	}
	in.StayReference = "Ward 4, admitted 2 November"
	p, err := f.svc.Issue(f.officerCtx(), in)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(48 * time.Hour)
	if !f.verify(p.Code, "c").Confirmed {
		t.Fatal("stay passport not valid during the stay")
	}
	if _, err := f.svc.Renew(f.officerCtx(), p.ID, ""); !errs.Is(err, errs.Conflict) {
		t.Fatalf("renewing under a non-renewable scheme: %v", err)
	}
	ended, err := f.svc.EndStay(f.officerCtx(), p.ID, "discharged home")
	if err != nil || ended.State != carerpassport.Expired {
		t.Fatalf("end stay: %+v %v", ended, err)
	}
	f.clock.Advance(time.Second)
	if f.verify(p.Code, "c").Confirmed {
		t.Fatal("stay passport still valid after discharge")
	}
}

func TestOtherTenantsCannotReachAPassport(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	p := f.issue()
	gp := f.Tenant("kestrel", tenants.KindGPPractice)
	lead := f.Staff(gp, "lead@kestrel.example", "Lee Lead", "carers_lead")
	ctx := as(gp, lead)
	if _, err := f.svc.Get(ctx, p.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another tenant reads the passport: %v", err)
	}
	if _, err := f.svc.Revoke(ctx, p.ID, carerpassport.IssuedInError, ""); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another tenant revokes the passport: %v", err)
	}
	list, err := f.svc.List(ctx, carerpassport.Filter{Query: p.Code})
	if err != nil || len(list) != 0 {
		t.Fatalf("another tenant finds the passport by code: %d %v", len(list), err)
	}
	// Another tenant issuing to a holder of the charity is refused.
	in := f.consented()
	in.SchemeID = f.addScheme(gp, "Practice carer passport", "days", 365, true, true)
	if _, err := f.svc.Issue(ctx, in); !errs.Is(err, errs.Invalid) {
		t.Fatalf("issuing to another tenant's holder: %v", err)
	}
}

func TestHolderSeesOwnPassportsAndAsksForRenewal(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	account := f.Account("amira@example.org", "Amira Okafor")
	f.holder = f.Holder(f.charity, "Amira", "Okafor-Bello", account)
	mine := f.issue()
	stranger := f.Account("someone@example.org", "Someone Else")

	f.verify(mine.Code, "c")
	own, err := f.svc.Own(self(account))
	if err != nil || len(own) != 1 || own[0].ID != mine.ID || own[0].TenantName != "Lanternfield Carers" {
		t.Fatalf("own passports: %+v %v", own, err)
	}
	if len(own[0].Checks) != 1 || !own[0].Checks[0].Confirmed || own[0].Checks[0].Verifier != "Anonymous check" {
		t.Fatalf("who checked: %+v", own[0].Checks)
	}
	if _, err := f.svc.OwnOne(self(stranger), mine.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a stranger reads the passport: %v", err)
	}
	if err := f.svc.RequestRenewal(self(stranger), mine.ID, ""); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a stranger asks for renewal: %v", err)
	}
	if err := f.svc.RequestRenewal(self(account), mine.ID, "moving house"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RequestRenewal(self(account), mine.ID, ""); !errs.Is(err, errs.Conflict) {
		t.Fatalf("asking twice: %v", err)
	}
	asked, err := f.svc.List(f.officerCtx(), carerpassport.Filter{Renewal: true})
	if err != nil || len(asked) != 1 || asked[0].RenewalAsked == nil {
		t.Fatalf("officer's renewal list: %+v %v", asked, err)
	}
	renewed, err := f.svc.Renew(f.officerCtx(), mine.ID, "")
	if err != nil || renewed.RenewalAsked != nil {
		t.Fatalf("renewal clears the request: %+v %v", renewed, err)
	}
}

func TestVerificationIsThrottledPerClient(t *testing.T) {
	f := newFixture(t, carerpassport.Config{ClientPerMinute: 20, GlobalPerSecond: 1000})
	p := f.issue()
	hits, throttledAt := 0, -1
	for i := range 10000 {
		r, err := f.svc.Verify(context.Background(), carerpassport.VerifyInput{Text: credential.NewCode().String(), Client: "guesser"})
		if errors.Is(err, carerpassport.ErrThrottled) {
			throttledAt = i
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Confirmed {
			hits++
		}
	}
	if hits != 0 || throttledAt != 20 {
		t.Fatalf("random codes: %d hits, throttled after %d (want 0 hits, throttled after 20)", hits, throttledAt)
	}
	// Another client is unaffected, and the guesser recovers with time.
	if !f.verify(p.Code, "someone else").Confirmed {
		t.Fatal("another client throttled")
	}
	f.clock.Advance(time.Minute)
	if !f.verify(p.Code, "guesser").Confirmed {
		t.Fatal("client still throttled after a minute")
	}
}

func TestGlobalThrottle(t *testing.T) {
	f := newFixture(t, carerpassport.Config{ClientPerMinute: 100, GlobalPerSecond: 5})
	refused := 0
	for i := range 20 {
		_, err := f.svc.Verify(context.Background(), carerpassport.VerifyInput{Text: "X", Client: fmt.Sprint("client-", i)})
		if errors.Is(err, carerpassport.ErrThrottled) {
			refused++
		}
	}
	if refused != 15 {
		t.Fatalf("%d of 20 checks from different clients refused, want 15 over a global limit of 5", refused)
	}
}
