package credential_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/modules/credential"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newKey(t testing.TB, issuer string) credential.SigningKey {
	t.Helper()
	k, err := credential.GenerateSigningKey(issuer, t0)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serverKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, credential.ServerKeySize)
	_, _ = rand.Read(k)
	return k
}

func TestKeyID(t *testing.T) {
	k := newKey(t, "acme")
	if len(k.KID) != credential.KeyIDLength {
		t.Fatalf("key id %q has %d characters, want %d", k.KID, len(k.KID), credential.KeyIDLength)
	}
	pub := k.Public()
	if credential.KeyID(pub.Key) != k.KID || pub.KID != k.KID {
		t.Fatalf("key id %q does not match the public key", k.KID)
	}
	if _, err := credential.GenerateSigningKey("not an issuer!", t0); !errors.Is(err, credential.ErrKey) {
		t.Fatalf("GenerateSigningKey with a bad issuer: %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	k := newKey(t, "acme")
	server := serverKey(t)
	sealed, err := credential.SealSigningKey(server, k)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, k.Private.Seed()) {
		t.Fatal("sealed key contains the seed in the clear")
	}
	again, err := credential.SealSigningKey(server, k)
	if err != nil || bytes.Equal(again, sealed) {
		t.Fatalf("sealing twice gave the same bytes (nonce reused?): %v", err)
	}
	opened, err := credential.OpenSigningKey(server, "acme", k.KID, sealed, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !opened.Private.Equal(k.Private) || opened.KID != k.KID || opened.Issuer != "acme" {
		t.Fatalf("opened key differs from the sealed one")
	}

	other := newKey(t, "acme")
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		server      []byte
		issuer, kid string
		sealed      []byte
	}{
		"other server key": {serverKey(t), "acme", k.KID, sealed},
		"other issuer":     {server, "acme2", k.KID, sealed},
		"other key id":     {server, "acme", other.KID, sealed},
		"altered":          {server, "acme", k.KID, flipped},
		"truncated":        {server, "acme", k.KID, sealed[:len(sealed)-1]},
		"empty":            {server, "acme", k.KID, nil},
	} {
		if _, err := credential.OpenSigningKey(tc.server, tc.issuer, tc.kid, tc.sealed, t0); !errors.Is(err, credential.ErrSealedKey) {
			t.Errorf("%s: OpenSigningKey error = %v, want ErrSealedKey", name, err)
		}
	}
	if _, err := credential.SealSigningKey(server[:16], k); !errors.Is(err, credential.ErrKey) {
		t.Errorf("sealing with a 16-byte server key: %v", err)
	}
	bad := k
	bad.KID = other.KID
	if _, err := credential.SealSigningKey(server, bad); !errors.Is(err, credential.ErrKey) {
		t.Errorf("sealing a key under another's id: %v", err)
	}
}

func TestParseServerKey(t *testing.T) {
	raw := serverKey(t)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := credential.ParseServerKey(" " + enc.EncodeToString(raw) + "\n")
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseServerKey: %x, %v", got, err)
		}
	}
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(raw[:31])} {
		if _, err := credential.ParseServerKey(s); !errors.Is(err, credential.ErrKey) {
			t.Errorf("ParseServerKey(%q) error = %v, want ErrKey", s, err)
		}
	}
}

func TestKeySetRotationAndJSON(t *testing.T) {
	set := credential.NewKeySet()
	k1, k2 := newKey(t, "acme"), newKey(t, "acme")
	if err := set.Add("acme", k1.Public(), t0); err != nil {
		t.Fatal(err)
	}
	if err := set.Add("acme", k1.Public(), t0); !errors.Is(err, credential.ErrKey) {
		t.Fatalf("adding a key twice: %v", err)
	}
	later := t0.Add(24 * time.Hour)
	if err := set.Rotate("acme", k2.Public(), later); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := credential.ParseKeySet(data)
	if err != nil {
		t.Fatalf("ParseKeySet(%s): %v", data, err)
	}
	old, ok := parsed.Lookup("acme", k1.KID)
	if !ok || !old.Retired.Equal(later) || !old.Key.Equal(k1.Public().Key) {
		t.Fatalf("retired key after a JSON round trip: %+v, %v", old, ok)
	}
	cur, ok := parsed.Lookup("acme", k2.KID)
	if !ok || !cur.Retired.IsZero() {
		t.Fatalf("current key after a JSON round trip: %+v, %v", cur, ok)
	}
	if !parsed.Updated.Equal(later) || strings.Join(parsed.IssuerNames(), ",") != "acme" {
		t.Fatalf("key set: updated %v, issuers %v", parsed.Updated, parsed.IssuerNames())
	}
	if !strings.Contains(string(data), `"alg":"EdDSA"`) || !strings.Contains(string(data), `"public_key":"`) {
		t.Fatalf("published key set lacks alg or public_key: %s", data)
	}
	if !parsed.Remove("acme", k1.KID, later) {
		t.Fatal("Remove found no key")
	}
	if _, ok := parsed.Lookup("acme", k1.KID); ok {
		t.Fatal("removed key still listed")
	}
}

func TestParseKeySetRejects(t *testing.T) {
	k := newKey(t, "acme")
	pub := base64.RawURLEncoding.EncodeToString(k.Public().Key)
	other := newKey(t, "acme")
	for name, doc := range map[string]string{
		"not JSON":       `{`,
		"no issuers":     `{"updated":"2026-01-01T00:00:00Z"}`,
		"wrong kid":      `{"issuers":{"acme":[{"kid":"` + other.KID + `","alg":"EdDSA","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}}`,
		"wrong alg":      `{"issuers":{"acme":[{"kid":"` + k.KID + `","alg":"ES256","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}}`,
		"short key":      `{"issuers":{"acme":[{"kid":"` + k.KID + `","alg":"EdDSA","public_key":"AAAA","created":"2026-01-01T00:00:00Z"}]}}`,
		"bad base64":     `{"issuers":{"acme":[{"kid":"` + k.KID + `","alg":"EdDSA","public_key":"!!","created":"2026-01-01T00:00:00Z"}]}}`,
		"bad issuer":     `{"issuers":{"a b":[]}}`,
		"duplicate keys": `{"issuers":{"acme":[{"kid":"` + k.KID + `","alg":"EdDSA","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"},{"kid":"` + k.KID + `","alg":"EdDSA","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}}`,
	} {
		if _, err := credential.ParseKeySet([]byte(doc)); err == nil {
			t.Errorf("%s: ParseKeySet accepted %s", name, doc)
		}
	}
	// A key whose public half is not its own, added by hand.
	set := credential.NewKeySet()
	forged := k.Public()
	forged.Key = ed25519.PublicKey(other.Public().Key)
	if err := set.Add("acme", forged, t0); !errors.Is(err, credential.ErrKey) {
		t.Errorf("Add of a key under another's id: %v", err)
	}
}
