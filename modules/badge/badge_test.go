package badge_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/badge"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
)

func TestIssueAndVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)

	if b.TenantID != f.trust.ID || b.RecordID != f.competent || b.CompetencyCode != "SUCTION-01" || b.Revoked {
		t.Errorf("badge = %+v", b)
	}
	wantUntil := record.ExpiresAt(f.signedOff, 12)
	if !b.ValidFrom.Equal(f.signedOff) || b.ValidUntil == nil || !b.ValidUntil.Equal(wantUntil) {
		t.Errorf("validity %v – %v, want %v – %v", b.ValidFrom, b.ValidUntil, f.signedOff, wantUntil)
	}

	r := f.verify(b.JWT)
	if !r.Valid || r.Reason != "" || !r.Verified {
		t.Fatalf("verify: %+v", r)
	}
	if r.IssuerName != "Wrenford Children's Hospital" || r.HolderName != "Amira Okafor" ||
		r.AchievementName != "Title of SUCTION-01" || r.AchievementCode != "SUCTION-01" ||
		r.AchievementDescription != "A competency for tests." {
		t.Errorf("displayed fields: %+v", r)
	}
	if !r.ValidFrom.Equal(f.signedOff) || r.ValidUntil == nil || !r.ValidUntil.Equal(wantUntil) {
		t.Errorf("displayed dates %v – %v", r.ValidFrom, r.ValidUntil)
	}
	if !strings.Contains(r.Criteria, "3 observed supervised practices") || !strings.Contains(r.Criteria, "Observed practice") {
		t.Errorf("criteria = %q", r.Criteria)
	}
	// Leading and trailing white space, as pasted, does not matter.
	if r := f.verify("\n " + b.JWT + " \n"); !r.Valid {
		t.Errorf("pasted with white space: %+v", r)
	}

	// Asking again returns the same credential; it is stored and audited once.
	again := f.issue(f.amira, f.competent)
	if again.ID != b.ID || again.JWT != b.JWT {
		t.Errorf("re-issue made a new credential: %s, first %s", again.ID, b.ID)
	}
	if n := f.Rows(f.trust, "badges", ""); n != 1 {
		t.Errorf("%d badge rows, want 1", n)
	}
	var audited int64
	if err := f.DB.Gorm.Raw(`SELECT count(*) FROM platform_audit_events WHERE action = 'badge.issue' AND object_id = ?`,
		b.ID.String()).Row().Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("%d badge.issue events, want 1", audited)
	}

	// The holder sees it; the wallet pairs it with its competency.
	w, err := f.badges.Own(self(f.amira))
	if err != nil {
		t.Fatal(err)
	}
	if !w.Claimed || len(w.Competencies) != 1 || w.Competencies[0].Badge == nil || w.Competencies[0].Badge.ID != b.ID ||
		len(w.Badges) != 1 {
		t.Errorf("wallet = %+v", w)
	}
	got, err := f.badges.OwnBadge(self(f.amira), b.ID)
	if err != nil || got.JWT != b.JWT {
		t.Errorf("own badge: %v", err)
	}
}

func TestCredentialHasTheOpenBadgesFields(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)
	h, p := parts(t, b.JWT)
	issuerID := baseURL + "/badges/issuers/wrenford"

	// JOSE header: EdDSA, a kid that dereferences to the key, typ JWT; nothing else.
	if h["alg"] != "EdDSA" || h["typ"] != "JWT" || h["kid"] != issuerID+"/keys/"+b.KID || len(h) != 3 {
		t.Errorf("header = %v", h)
	}
	str := func(m map[string]any, k string) string {
		t.Helper()
		s, ok := m[k].(string)
		if !ok {
			t.Errorf("%q is %T %v, want a string", k, m[k], m[k])
		}
		return s
	}
	obj := func(m map[string]any, k string) map[string]any {
		t.Helper()
		o, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("%q is %T, want an object", k, m[k])
		}
		return o
	}
	list := func(m map[string]any, k string) []string {
		t.Helper()
		a, ok := m[k].([]any)
		if !ok {
			t.Fatalf("%q is %T, want an array", k, m[k])
		}
		out := make([]string, len(a))
		for i, v := range a {
			out[i], _ = v.(string)
		}
		return out
	}
	num := func(m map[string]any, k string) int64 {
		t.Helper()
		n, ok := m[k].(json.Number)
		if !ok {
			t.Fatalf("%q is %T, want a number", k, m[k])
		}
		v, err := n.Int64()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// VC 2.0 and Open Badges 3.0 credential.
	if got := list(p, "@context"); !slices.Equal(got, []string{"https://www.w3.org/ns/credentials/v2",
		"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}) {
		t.Errorf("@context = %v", got)
	}
	if got := list(p, "type"); !slices.Equal(got, []string{"VerifiableCredential", "OpenBadgeCredential"}) {
		t.Errorf("type = %v", got)
	}
	if got := str(p, "id"); got != "urn:uuid:"+b.ID.String() {
		t.Errorf("id = %q", got)
	}
	if str(p, "name") != "Title of SUCTION-01" || str(p, "description") == "" {
		t.Errorf("name %q, description %q", p["name"], p["description"])
	}
	iss := obj(p, "issuer")
	if str(iss, "id") != issuerID || str(iss, "name") != "Wrenford Children's Hospital" ||
		!slices.Equal(list(iss, "type"), []string{"Profile"}) {
		t.Errorf("issuer = %v", iss)
	}
	if got := str(p, "validFrom"); got != f.signedOff.Format(time.RFC3339) {
		t.Errorf("validFrom = %q, want %q", got, f.signedOff.Format(time.RFC3339))
	}
	until := record.ExpiresAt(f.signedOff, 12).UTC()
	if got := str(p, "validUntil"); got != until.Format(time.RFC3339) {
		t.Errorf("validUntil = %q, want %q", got, until.Format(time.RFC3339))
	}
	if _, ok := p["issuanceDate"]; ok {
		t.Error("a VC 2.0 credential has no issuanceDate")
	}

	subj := obj(p, "credentialSubject")
	if str(subj, "id") != "urn:uuid:"+f.amiraH.String() || !slices.Equal(list(subj, "type"), []string{"AchievementSubject"}) {
		t.Errorf("credentialSubject = %v", subj)
	}
	ids, _ := subj["identifier"].([]any)
	if len(ids) != 1 {
		t.Fatalf("identifier = %v", subj["identifier"])
	}
	id, _ := ids[0].(map[string]any)
	if id["type"] != "IdentityObject" || id["identityType"] != "name" || id["identityHash"] != "Amira Okafor" || id["hashed"] != false {
		t.Errorf("identifier = %v", id)
	}
	ach := obj(subj, "achievement")
	if str(ach, "id") != baseURL+"/badges/achievements/wrenford/"+f.comps["SUCTION-01"].String() ||
		!slices.Equal(list(ach, "type"), []string{"Achievement"}) || str(ach, "achievementType") != "Competency" ||
		str(ach, "name") != "Title of SUCTION-01" || str(ach, "description") != "A competency for tests." ||
		str(ach, "humanCode") != "SUCTION-01" {
		t.Errorf("achievement = %v", ach)
	}
	if n := str(obj(ach, "criteria"), "narrative"); !strings.Contains(n, "Assessor") || !strings.Contains(n, "every 12 months") {
		t.Errorf("criteria.narrative = %q", n)
	}

	st := obj(p, "credentialStatus")
	statusURL := baseURL + "/badges/status/wrenford"
	if str(st, "type") != "BitstringStatusListEntry" || str(st, "statusPurpose") != "revocation" ||
		str(st, "statusListCredential") != statusURL || str(st, "statusListIndex") != strconv.Itoa(b.StatusIndex) ||
		str(st, "id") != statusURL+"#"+strconv.Itoa(b.StatusIndex) {
		t.Errorf("credentialStatus = %v", st)
	}

	// The JWT claims Open Badges 3.0 requires, agreeing with the credential.
	if str(p, "iss") != issuerID || str(p, "jti") != "urn:uuid:"+b.ID.String() || str(p, "sub") != "urn:uuid:"+f.amiraH.String() {
		t.Errorf("iss %v, jti %v, sub %v", p["iss"], p["jti"], p["sub"])
	}
	if num(p, "nbf") != f.signedOff.Unix() || num(p, "exp") != until.Unix() || num(p, "iat") != start.Unix() {
		t.Errorf("nbf %v, exp %v, iat %v", p["nbf"], p["exp"], p["iat"])
	}
	if _, ok := p["vc"]; ok {
		t.Error("a VC 2.0 JWT carries the credential itself, not a vc claim")
	}

	// The kid dereferences to the signing key, and the profile to the issuer.
	jwk, err := f.badges.PublicKey(context.Background(), "wrenford", b.KID)
	if err != nil {
		t.Fatal(err)
	}
	x, err := base64.RawURLEncoding.DecodeString(jwk.X)
	if err != nil || jwk.Kty != "OKP" || jwk.Crv != "Ed25519" || jwk.Kid != h["kid"] || credential.KeyID(x) != b.KID {
		t.Errorf("jwk = %+v (%v)", jwk, err)
	}
	s := strings.Split(b.JWT, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(s[2])
	if !ed25519.Verify(x, []byte(s[0]+"."+s[1]), sig) {
		t.Error("the published JWK does not verify the credential")
	}
	prof, err := f.badges.IssuerProfile(context.Background(), "wrenford")
	if err != nil || prof.ID != issuerID || prof.Name != "Wrenford Children's Hospital" || !slices.Equal(prof.Type, []string{"Profile"}) {
		t.Errorf("profile = %+v, %v", prof, err)
	}
	if _, err := f.badges.IssuerProfile(context.Background(), "no-such-org"); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown issuer profile: %v", err)
	}
}

// resign returns token with its header and payload changed by edit and
// signed again with key.
func resign(t *testing.T, token string, key ed25519.PrivateKey, edit func(h, p map[string]any)) string {
	t.Helper()
	h, p := parts(t, token)
	edit(h, p)
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	pj, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(pj)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(in)))
}

func TestVerifyGivesTheReason(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)
	own := f.signingKey(f.trust).Private
	other := f.NamedTenant("meadowbank", "Meadowbank Care Homes", tenants.KindCareHome)
	otherKey := f.signingKey(other)
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.Split(b.JWT, ".")

	tamperedPayload := func() string {
		_, p := parts(t, b.JWT)
		p["name"] = "Title of OXYGEN-01"
		pj, _ := json.Marshal(p)
		return seg[0] + "." + base64.RawURLEncoding.EncodeToString(pj) + "." + seg[2]
	}()
	swappedSig := func() string {
		other := f.issue(f.amira, f.signedOffRecord(f.trust, f.amiraH, f.comps["OXYGEN-01"], f.signedOff))
		return seg[0] + "." + seg[1] + "." + strings.Split(other.JWT, ".")[2]
	}()

	tests := []struct {
		name, token, want string
	}{
		{"the credential as issued", b.JWT, ""},
		{"empty", "", badge.ReasonMalformed},
		{"not a JWT", "hello, world", badge.ReasonMalformed},
		{"two parts", seg[0] + "." + seg[1], badge.ReasonMalformed},
		{"four parts", b.JWT + ".x", badge.ReasonMalformed},
		{"padded base64", seg[0] + "=." + seg[1] + "." + seg[2], badge.ReasonMalformed},
		{"too long", b.JWT + strings.Repeat("A", badge.MaxCredentialSize), badge.ReasonMalformed},
		{"alg none", resign(t, b.JWT, own, func(h, _ map[string]any) { h["alg"] = "none" }), badge.ReasonMalformed},
		{"alg HS256", resign(t, b.JWT, own, func(h, _ map[string]any) { h["alg"] = "HS256" }), badge.ReasonMalformed},
		{"extra header", resign(t, b.JWT, own, func(h, _ map[string]any) { h["crit"] = []string{"exp"} }), badge.ReasonMalformed},
		{"tampered payload", tamperedPayload, badge.ReasonBadSignature},
		{"another credential's signature", swappedSig, badge.ReasonBadSignature},
		{"signed with a stranger's key", resign(t, b.JWT, stranger, func(_, _ map[string]any) {}), badge.ReasonBadSignature},
		{"unknown issuer", resign(t, b.JWT, own, func(h, _ map[string]any) {
			h["kid"] = strings.Replace(h["kid"].(string), "/wrenford/", "/no-such-org/", 1)
		}), badge.ReasonUnknownKey},
		{"unknown kid", resign(t, b.JWT, own, func(h, _ map[string]any) {
			h["kid"] = baseURL + "/badges/issuers/wrenford/keys/AAAAAAAAAAA"
		}), badge.ReasonUnknownKey},
		{"kid of another site", resign(t, b.JWT, own, func(h, _ map[string]any) {
			h["kid"] = strings.Replace(h["kid"].(string), baseURL, "https://evil.example", 1)
		}), badge.ReasonUnknownKey},
		{"plain kid", resign(t, b.JWT, own, func(h, _ map[string]any) { h["kid"] = b.KID }), badge.ReasonUnknownKey},
		{"another issuer's key vouching for this one", resign(t, b.JWT, otherKey.Private, func(h, _ map[string]any) {
			h["kid"] = baseURL + "/badges/issuers/meadowbank/keys/" + otherKey.KID
		}), badge.ReasonUnknownKey},
		{"claims disagree", resign(t, b.JWT, own, func(_, p map[string]any) { p["sub"] = "urn:uuid:" + uuid.NewString() }),
			badge.ReasonMalformed},
		{"not an Open Badge", resign(t, b.JWT, own, func(_, p map[string]any) { p["type"] = []string{"VerifiableCredential"} }),
			badge.ReasonMalformed},
		{"status index outside the list", resign(t, b.JWT, own, func(_, p map[string]any) {
			p["credentialStatus"].(map[string]any)["statusListIndex"] = "999999999"
		}), badge.ReasonMalformed},
		{"unknown field", resign(t, b.JWT, own, func(_, p map[string]any) { p["evidence"] = []string{} }), badge.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.verify(tt.token)
			if r.Reason != tt.want || r.Valid != (tt.want == "") {
				t.Fatalf("reason %q (valid %v), want %q", r.Reason, r.Valid, tt.want)
			}
			// Nothing an unverified credential says is shown.
			if r.Verified != (tt.want == "") && tt.want != badge.ReasonMalformed {
				t.Errorf("verified = %v for %q", r.Verified, tt.want)
			}
			if !r.Verified && (r.HolderName != "" || r.IssuerName != "" || r.AchievementName != "") {
				t.Errorf("unverified result shows fields: %+v", r)
			}
		})
	}
}

func TestVerifyFollowsTheClock(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)
	until := record.ExpiresAt(f.signedOff, 12)

	f.clock.Set(f.signedOff.Add(-time.Second))
	if r := f.verify(b.JWT); r.Reason != badge.ReasonNotYetValid || !r.Verified {
		t.Errorf("before sign-off: %+v", r)
	}
	f.clock.Set(until.Add(-time.Second))
	if r := f.verify(b.JWT); !r.Valid {
		t.Errorf("a second before expiry: %+v", r)
	}
	f.clock.Set(until)
	if r := f.verify(b.JWT); r.Reason != badge.ReasonExpired || r.HolderName != "Amira Okafor" {
		t.Errorf("at expiry: %+v", r)
	}
}

// statusBit decodes the issuer's status list credential and returns the
// bit at idx, checking the credential on the way.
func statusBit(t *testing.T, f *fixture, slug string, idx int) bool {
	t.Helper()
	jwt, err := f.badges.StatusCredential(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	h, p := parts(t, jwt)
	statusURL := baseURL + "/badges/status/" + slug
	if h["alg"] != "EdDSA" || h["typ"] != "vc+jwt" || !strings.HasPrefix(h["kid"].(string), baseURL+"/badges/issuers/"+slug+"/keys/") {
		t.Errorf("status header = %v", h)
	}
	if fmt.Sprint(p["@context"]) != "[https://www.w3.org/ns/credentials/v2]" ||
		fmt.Sprint(p["type"]) != "[VerifiableCredential BitstringStatusListCredential]" ||
		p["id"] != statusURL || p["iss"] != baseURL+"/badges/issuers/"+slug || p["issuer"] != p["iss"] || p["jti"] != p["id"] {
		t.Errorf("status credential = %v", p)
	}
	subj, _ := p["credentialSubject"].(map[string]any)
	if subj["type"] != "BitstringStatusList" || subj["statusPurpose"] != "revocation" || subj["id"] != statusURL+"#list" {
		t.Errorf("status subject = %v", subj)
	}
	enc, _ := subj["encodedList"].(string)
	list, err := credential.DecodeStatusList(enc)
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() < 131072 {
		t.Errorf("list of %d entries", list.Len())
	}
	// The signature verifies under the key the header names.
	kid := h["kid"].(string)
	jwk, err := f.badges.PublicKey(context.Background(), slug, kid[strings.LastIndex(kid, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(jwk.X)
	s := strings.Split(jwt, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(s[2])
	if !ed25519.Verify(x, []byte(s[0]+"."+s[1]), sig) {
		t.Error("status list credential signature does not verify")
	}
	bit, err := list.Revoked(idx)
	if err != nil {
		t.Fatal(err)
	}
	return bit
}

func TestRecordChangesReachTheStatusList(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)
	if statusBit(t, f, "wrenford", b.StatusIndex) {
		t.Fatal("a new credential's bit is set")
	}

	for _, st := range []string{"suspended", "revoked", "not_yet_competent"} {
		t.Run(st, func(t *testing.T) {
			f.setState(f.trust, f.competent, st)
			if !statusBit(t, f, "wrenford", b.StatusIndex) {
				t.Errorf("%s: bit clear", st)
			}
			if r := f.verify(b.JWT); r.Reason != badge.ReasonRevoked || !r.Verified {
				t.Errorf("%s: verify = %+v", st, r)
			}
			got, err := f.badges.OwnBadge(self(f.amira), b.ID)
			if err != nil || !got.Revoked || got.RevokedAt == nil || got.Status(f.clock.Now()) != badge.StatusWithdrawn {
				t.Errorf("%s: stored %+v, %v", st, got, err)
			}
			if ev := f.LastEvent(f.trust, "badge.withdraw"); ev.ObjectID != b.ID.String() {
				t.Errorf("audit: %+v", ev)
			}

			// Competent again (reinstated): the bit is cleared.
			f.setState(f.trust, f.competent, "competent")
			if statusBit(t, f, "wrenford", b.StatusIndex) {
				t.Error("bit still set when competent again")
			}
			if r := f.verify(b.JWT); !r.Valid {
				t.Errorf("competent again: %+v", r)
			}
			if ev := f.LastEvent(f.trust, "badge.reinstate"); ev.ObjectID != b.ID.String() {
				t.Errorf("audit: %+v", ev)
			}
		})
	}

	// A change that leaves the record current changes nothing.
	before := len(f.Events(f.trust))
	f.setState(f.trust, f.competent, "competent")
	if after := len(f.Events(f.trust)); after != before {
		t.Errorf("%d audit events for no change", after-before)
	}
}

func TestSweepWithdrawsExpiredCredentials(t *testing.T) {
	f := newFixture(t)
	b := f.issue(f.amira, f.competent)
	short := f.issue(f.amira, f.signedOffRecord(f.trust, f.amiraH, f.comps["OXYGEN-01"], f.signedOff))

	if n, err := f.badges.SweepExpired(context.Background(), f.trust); err != nil || n != 0 {
		t.Fatalf("sweep of current credentials: %d, %v", n, err)
	}
	// Past the six-month competency's expiry, before the twelve-month one's.
	f.clock.Set(short.ValidUntil.Add(time.Hour))
	n, err := f.badges.SweepExpired(context.Background(), f.trust)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if !statusBit(t, f, "wrenford", short.StatusIndex) || statusBit(t, f, "wrenford", b.StatusIndex) {
		t.Error("the sweep set the wrong bits")
	}
	if ev := f.LastEvent(f.trust, "badge.withdraw"); ev.ObjectID != short.ID.String() || ev.Detail["reason"] != "expired" {
		t.Errorf("audit: %+v", ev)
	}
	if n, err := f.badges.SweepExpired(context.Background(), f.trust); err != nil || n != 0 {
		t.Errorf("second sweep: %d, %v", n, err)
	}
	// Expiry is in the credential itself too: it reads expired, not revoked.
	if r := f.verify(short.JWT); r.Reason != badge.ReasonExpired {
		t.Errorf("verify expired: %+v", r)
	}
	// A later change to the record does not bring an expired credential back.
	f.setState(f.trust, short.RecordID, "competent")
	got, err := f.badges.OwnBadge(self(f.amira), short.ID)
	if err != nil || !got.Revoked {
		t.Errorf("expired credential: %+v, %v", got, err)
	}
}

func TestHolderExportsOnlyOwnCurrentCompetencies(t *testing.T) {
	f := newFixture(t)
	// Bea, with an account, holds records at the same trust.
	bea := f.Account("bea@example.org", "Bea Brown")
	beaH := f.Holder(f.trust, "Bea", "Brown", bea)
	beas := f.signedOffRecord(f.trust, beaH, f.comps["SUCTION-01"], f.signedOff)
	practice := f.Record(f.trust, f.amiraH, f.comps["OXYGEN-01"], moduletest.Record{State: "supervised_practice", Practices: 1})
	old := start.AddDate(-2, 0, 0)
	expired := f.signedOffRecord(f.trust, f.amiraH, f.comps["TRACH-01"], old)
	nobody := f.Account("nobody@example.org", "No Passport")

	tests := []struct {
		name   string
		ctx    context.Context
		record uuid.UUID
		kind   errs.Kind
	}{
		{"another person's record", self(f.amira), beas, errs.NotFound},
		{"a record that does not exist", self(f.amira), uuid.Must(uuid.NewV7()), errs.NotFound},
		{"an account with no passport", self(nobody), f.competent, errs.NotFound},
		{"not signed off", self(f.amira), practice, errs.Invalid},
		{"expired", self(f.amira), expired, errs.Invalid},
		{"signed out", context.Background(), f.competent, errs.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.badges.Issue(tt.ctx, tt.record)
			if !errs.Is(err, tt.kind) {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
	f.setState(f.trust, f.competent, "suspended")
	if _, err := f.badges.Issue(self(f.amira), f.competent); !errs.Is(err, errs.Invalid) ||
		!strings.Contains(errs.MessageOf(err), "suspended") {
		t.Errorf("suspended: %v", err)
	}
	if n := f.Rows(f.trust, "badges", ""); n != 0 {
		t.Errorf("%d badges made by refused requests", n)
	}

	// Bea's own credential is hers alone.
	bb := f.issue(bea, beas)
	if _, err := f.badges.OwnBadge(self(f.amira), bb.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("Amira reads Bea's credential: %v", err)
	}
	w, err := f.badges.Own(self(f.amira))
	if err != nil || len(w.Badges) != 0 || len(w.Competencies) != 0 {
		t.Errorf("Amira's wallet = %+v, %v", w, err)
	}
	if w, err := f.badges.Own(self(nobody)); err != nil || w.Claimed {
		t.Errorf("no passport: %+v, %v", w, err)
	}
	// Outside any tenant and without an account, row-level security shows no credential.
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM badges`); n != 0 {
		t.Errorf("anonymous platform scope sees %d badges", n)
	}
	// Another tenant sees none of the trust's credentials.
	home := f.NamedTenant("meadowbank", "Meadowbank Care Homes", tenants.KindCareHome)
	if n := f.Count(&home, uuid.Nil, `SELECT count(*) FROM badges`); n != 0 {
		t.Errorf("another tenant sees %d badges", n)
	}
	if n := f.Count(&f.trust, uuid.Nil, `SELECT count(*) FROM badges`); n != 1 {
		t.Errorf("the trust sees %d badges, want 1", n)
	}
}

func TestHolderCannotInsertForAnother(t *testing.T) {
	f := newFixture(t)
	bea := f.Account("bea@example.org", "Bea Brown")
	beaH := f.Holder(f.trust, "Bea", "Brown", bea)
	beas := f.signedOffRecord(f.trust, beaH, f.comps["SUCTION-01"], f.signedOff)
	var beaPerson uuid.UUID
	if err := f.DB.Gorm.Raw(`SELECT id FROM persons WHERE account_id = ?`, bea).Row().Scan(&beaPerson); err != nil {
		t.Fatal(err)
	}
	// Acting as Amira outside any tenant, a row for Bea's record is refused
	// by the database itself.
	err := f.Scoped.Platform(self(f.amira), func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO badges (tenant_id, id, record_id, person_id, status_index, kid, issued_at, valid_from, jwt)
			VALUES (?, ?, ?, ?, 1, 'k', now(), now(), 'x')`, f.trust.ID, uuid.New(), beas, beaPerson).Error
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("insert for another person: %v", err)
	}
}
