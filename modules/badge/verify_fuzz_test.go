package badge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
)

// offline is an issuer's published key and status list held in memory,
// for checking the verifier without a database.
type offline struct {
	u      urls
	now    time.Time
	keys   *credential.KeySet
	list   *credential.StatusList
	key    credential.SigningKey
	valid  string // a credential that verifies
	seeds  map[string]string
	signed map[string]bool // every credential signed here
}

func newOffline(t testing.TB) *offline {
	t.Helper()
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	o := &offline{u: urls{base: "https://carepass.test"}, now: now, keys: credential.NewKeySet(), seeds: map[string]string{},
		signed: map[string]bool{}}
	var err error
	if o.key, err = credential.GenerateSigningKey("wrenford", now); err != nil {
		t.Fatal(err)
	}
	if err := o.keys.Add("wrenford", o.key.Public(), now); err != nil {
		t.Fatal(err)
	}
	if o.list, err = credential.NewStatusList(credential.MinStatusListSize); err != nil {
		t.Fatal(err)
	}
	if err := o.list.SetRevoked(7, true); err != nil {
		t.Fatal(err)
	}
	until := now.AddDate(1, 0, 0)
	past := now.Add(-time.Hour)
	mk := func(name string, idx int, from time.Time, expires *time.Time) {
		s := subject{BadgeID: uuid.Must(uuid.NewV7()), IssuerName: "Wrenford Children's Hospital", IssuerSlug: "wrenford",
			HolderID: uuid.Must(uuid.NewV7()), HolderName: "Amira Okafor", CompetencyID: uuid.Must(uuid.NewV7()),
			Code: "SUCTION-01", Title: "Tracheostomy suction", Description: "Suctioning a tracheostomy safely.",
			Narrative: "Assessed in practice.", CatalogueVer: 1, SignedOff: from, Expires: expires, StatusIndex: idx, IssuedAt: now}
		tok, err := sign(header{Alg: algEdDSA, Kid: o.u.key("wrenford", o.key.KID), Typ: typJWT}, o.u.build(s), o.key.Private)
		if err != nil {
			t.Fatal(err)
		}
		o.seeds[name] = tok
		o.signed[tok] = true
	}
	mk("valid", 3, now.AddDate(0, -1, 0), &until)
	mk("no expiry", 4, now.AddDate(0, -1, 0), nil)
	mk("revoked", 7, now.AddDate(0, -1, 0), &until)
	mk("expired", 5, now.AddDate(-1, 0, 0), &past)
	mk("not yet valid", 6, now.Add(time.Hour), &until)
	o.valid = o.seeds["valid"]
	return o
}

func (o *offline) verify(token string) (Result, error) {
	keys := func(_ context.Context, slug, kid string) (credential.PublicKey, bool, error) {
		k, ok := o.keys.Lookup(slug, kid)
		return k, ok, nil
	}
	status := func(_ context.Context, slug string) (*credential.StatusList, error) {
		if slug != "wrenford" {
			return nil, errNoStatusList
		}
		return o.list, nil
	}
	return o.u.verify(context.Background(), token, o.now, keys, status)
}

func TestOfflineVerifyReasons(t *testing.T) {
	o := newOffline(t)
	want := map[string]string{"valid": "", "no expiry": "", "revoked": ReasonRevoked, "expired": ReasonExpired,
		"not yet valid": ReasonNotYetValid}
	for name, tok := range o.seeds {
		r, err := o.verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if r.Reason != want[name] || r.Valid != (want[name] == "") || !r.Verified {
			t.Errorf("%s: %+v", name, r)
		}
	}
	h, p, s := split3(o.valid)
	// Another ending of the signature: "AA" unless the signature already
	// ends so (then the test would alter nothing).
	end := "AA"
	if strings.HasSuffix(s, end) {
		end = "QA"
	}
	for _, tok := range []string{h + "." + p + "." + s[:len(s)-2] + end, h + "." + p + "X." + s} {
		if r, _ := o.verify(tok); r.Valid {
			t.Errorf("altered credential verifies: %q", tok)
		}
	}
}

// FuzzVerify feeds the verifier arbitrary input: it must never panic, never
// fail internally with its lookups in memory, and call nothing valid but a
// credential it was given signed.
func FuzzVerify(f *testing.F) {
	o := newOffline(f)
	for _, tok := range o.seeds {
		f.Add(tok)
		h, p, _ := split3(tok)
		f.Add(h + "." + p + ".")
		f.Add(h + ".." + p)
		f.Add(tok + "=")
	}
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "eyJ9.eyJ9.", "eyJhbGciOiJFZERTQSJ9.e30.AA",
		"eyJhbGciOiJub25lIn0.e30.", strings.Repeat("A", MaxCredentialSize+1), " \t\n", "{}.{}.{}"} {
		f.Add(s)
	}
	reasons := map[string]bool{"": true, ReasonMalformed: true, ReasonUnknownKey: true, ReasonBadSignature: true,
		ReasonNotYetValid: true, ReasonExpired: true, ReasonRevoked: true}
	f.Fuzz(func(t *testing.T, token string) {
		r, err := o.verify(token)
		if err != nil {
			t.Fatalf("internal error: %v", err)
		}
		if !reasons[r.Reason] || r.Valid != (r.Reason == "") {
			t.Fatalf("result %+v", r)
		}
		if r.Valid && (!r.Verified || !o.signed[strings.TrimSpace(token)]) {
			t.Fatalf("valid but not a credential signed here: %q", token)
		}
		if !r.Verified && (r.HolderName != "" || r.IssuerName != "") {
			t.Fatalf("unverified fields shown: %+v", r)
		}
	})
}

// split3 splits a compact JWS made here into its three parts.
func split3(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	return parts[0], parts[1], parts[2]
}
