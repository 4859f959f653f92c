package credential_test

import (
	"bytes"
	"compress/zlib"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/credential/base45"
)

func samplePayload() credential.Payload {
	return credential.Payload{
		HolderName:   "Amira Okafor",
		Scheme:       "Parent carer passport",
		ValidFrom:    t0,
		ValidUntil:   t0.AddDate(1, 0, 0),
		StatusIndex:  98765,
		CredentialID: uuid.MustParse("0e4a7c52-6a55-4f0e-9a7e-2b8f5d1c3a90"),
	}
}

// cose returns the COSE_Sign1 bytes inside QR text.
func cose(t *testing.T, qr string) []byte {
	t.Helper()
	z, err := base45.Decode(strings.TrimPrefix(qr, credential.QRPrefix))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The signed message is read here with a generic CBOR decoder and checked
// against RFC 9052 and the documented claims, and its signature is checked
// over a Sig_structure built independently of the package.
func TestSignedMessageLayout(t *testing.T) {
	key := newKey(t, "st-elsewhere")
	qr, err := credential.Sign(samplePayload(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(qr, "CP1:") || strings.Trim(qr, base45.Alphabet) != "" {
		t.Fatalf("QR text %q is not CP1: and Base45", qr)
	}
	t.Logf("QR text: %d characters", len(qr))
	var tag cbor.Tag
	if err := cbor.Unmarshal(cose(t, qr), &tag); err != nil {
		t.Fatal(err)
	}
	if tag.Number != 18 {
		t.Fatalf("tag %d, want 18 (COSE_Sign1)", tag.Number)
	}
	msg, ok := tag.Content.([]any)
	if !ok || len(msg) != 4 {
		t.Fatalf("COSE_Sign1 is %T of %d, want an array of 4", tag.Content, len(msg))
	}
	protected, _ := msg[0].([]byte)
	unprotected, _ := msg[1].(map[any]any)
	payload, _ := msg[2].([]byte)
	sig, _ := msg[3].([]byte)
	if unprotected == nil || len(unprotected) != 0 || len(sig) != 64 {
		t.Fatalf("unprotected %v, signature %d bytes", msg[1], len(sig))
	}
	var hdr map[int]any
	if err := cbor.Unmarshal(protected, &hdr); err != nil {
		t.Fatal(err)
	}
	kid, _ := base64.RawURLEncoding.DecodeString(key.KID)
	if hdr[1] != int64(-8) || !bytes.Equal(hdr[4].([]byte), kid) || len(hdr) != 2 {
		t.Fatalf("protected header %v, want {1: -8, 4: kid}", hdr)
	}
	var claims map[int]any
	if err := cbor.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	p := samplePayload()
	want := map[int]any{
		1:      "st-elsewhere",
		4:      uint64(p.ValidUntil.Unix()),
		5:      uint64(p.ValidFrom.Unix()),
		7:      p.CredentialID[:],
		-65537: kid,
		-65538: p.HolderName,
		-65539: p.Scheme,
		-65540: uint64(p.StatusIndex),
	}
	if len(claims) != len(want) {
		t.Fatalf("claims %v, want %v", claims, want)
	}
	for k, w := range want {
		if wb, ok := w.([]byte); ok {
			if gb, _ := claims[k].([]byte); !bytes.Equal(gb, wb) {
				t.Errorf("claim %d = %v, want %x", k, claims[k], wb)
			}
		} else if claims[k] != w {
			t.Errorf("claim %d = %#v, want %#v", k, claims[k], w)
		}
	}
	toSign, err := cbor.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(key.Public().Key, toSign, sig) {
		t.Fatal("signature does not verify over the Sig_structure")
	}

	parsed, err := credential.ParseQR(qr)
	if err != nil {
		t.Fatal(err)
	}
	p.Issuer, p.KeyID = "st-elsewhere", key.KID
	if parsed.Payload != p || parsed.KeyID != key.KID || !parsed.CheckSignature(key.Public().Key) {
		t.Fatalf("ParseQR = %+v, want %+v", parsed.Payload, p)
	}
}

func TestSignRejects(t *testing.T) {
	key := newKey(t, "acme")
	other := newKey(t, "other")
	mod := func(f func(*credential.Payload)) credential.Payload {
		p := samplePayload()
		f(&p)
		return p
	}
	for name, p := range map[string]credential.Payload{
		"other issuer":     mod(func(p *credential.Payload) { p.Issuer = "other" }),
		"other key id":     mod(func(p *credential.Payload) { p.KeyID = other.KID }),
		"no name":          mod(func(p *credential.Payload) { p.HolderName = "" }),
		"control in name":  mod(func(p *credential.Payload) { p.HolderName = "Amira\nValid" }),
		"bidi override":    mod(func(p *credential.Payload) { p.HolderName = "Amira \u202eOkafor" }),
		"long scheme":      mod(func(p *credential.Payload) { p.Scheme = strings.Repeat("x", credential.MaxNameLength+1) }),
		"invalid UTF-8":    mod(func(p *credential.Payload) { p.Scheme = "\xff" }),
		"no dates":         mod(func(p *credential.Payload) { p.ValidFrom = time.Time{} }),
		"ends before":      mod(func(p *credential.Payload) { p.ValidUntil = p.ValidFrom.Add(-time.Second) }),
		"negative index":   mod(func(p *credential.Payload) { p.StatusIndex = -1 }),
		"index too large":  mod(func(p *credential.Payload) { p.StatusIndex = credential.MaxStatusListSize }),
		"no credential id": mod(func(p *credential.Payload) { p.CredentialID = uuid.Nil }),
	} {
		if _, err := credential.Sign(p, key); !errors.Is(err, credential.ErrPayload) {
			t.Errorf("%s: Sign error = %v, want ErrPayload", name, err)
		}
	}
	broken := key
	broken.KID = other.KID
	if _, err := credential.Sign(samplePayload(), broken); !errors.Is(err, credential.ErrKey) {
		t.Errorf("Sign with a key under another id: %v", err)
	}
	if _, err := credential.Sign(samplePayload(), credential.SigningKey{Issuer: "acme"}); !errors.Is(err, credential.ErrKey) {
		t.Errorf("Sign with no private key: %v", err)
	}
}

// Longest names still fit a QR code, with room to spare.
func TestSignLongestNames(t *testing.T) {
	p := samplePayload()
	p.HolderName = strings.Repeat("Ŵ", credential.MaxNameLength/2)
	p.Scheme = strings.Repeat("s", credential.MaxNameLength)
	qr, err := credential.Sign(p, newKey(t, strings.Repeat("i", 64)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := credential.QRPNG(qr, 600); err != nil {
		t.Fatalf("QR of %d characters: %v", len(qr), err)
	}
}
