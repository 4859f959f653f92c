package verify_test

import (
	"bytes"
	"compress/zlib"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/credential/base45"
	"github.com/carepass/carepass/modules/credential/verify"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture is an issuer with a published key and status list, as an offline
// verifier has them after a JSON round trip.
type fixture struct {
	key     credential.SigningKey
	keys    *credential.KeySet
	list    *credential.StatusList // the issuer's own list
	status  credential.StatusLists // what the verifier has
	payload credential.Payload
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key, err := credential.GenerateSigningKey("acme", t0)
	if err != nil {
		t.Fatal(err)
	}
	keys := credential.NewKeySet()
	if err := keys.Add("acme", key.Public(), t0); err != nil {
		t.Fatal(err)
	}
	list, err := credential.NewStatusList(credential.MinStatusListSize)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{key: key, list: list, payload: credential.Payload{
		HolderName:   "Amira Okafor",
		Scheme:       "Parent carer passport",
		ValidFrom:    t0,
		ValidUntil:   t0.AddDate(1, 0, 0),
		StatusIndex:  4242,
		CredentialID: uuid.MustParse("0e4a7c52-6a55-4f0e-9a7e-2b8f5d1c3a90"),
	}}
	f.publish(t, keys)
	return f
}

// publish sends the key set and status list through their JSON documents.
func (f *fixture) publish(t testing.TB, keys *credential.KeySet) {
	t.Helper()
	data, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	if f.keys, err = credential.ParseKeySet(data); err != nil {
		t.Fatal(err)
	}
	doc, err := credential.NewStatusListDocument("acme", f.list, t0)
	if err != nil {
		t.Fatal(err)
	}
	data, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if f.status, err = credential.ParseStatusLists(data); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) sign(t testing.TB, p credential.Payload, key credential.SigningKey) string {
	t.Helper()
	qr, err := credential.Sign(p, key)
	if err != nil {
		t.Fatal(err)
	}
	return qr
}

// check verifies qr at now and requires the reason (empty for valid).
func (f *fixture) check(t *testing.T, what, qr string, now time.Time, want verify.Reason) verify.Result {
	t.Helper()
	res, err := verify.Verify(qr, f.keys, f.status, now)
	if res.Reason != want || res.Valid != (want == "") || (err == nil) != res.Valid {
		t.Errorf("%s: Verify = %+v, %v; want reason %q", what, res, err, want)
	}
	return res
}

// unwrap returns the COSE_Sign1 bytes inside QR text.
func unwrap(t *testing.T, qr string) []byte {
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

// wrap turns COSE bytes into QR text.
func wrap(b []byte) string {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return credential.QRPrefix + base45.Encode(z.Bytes())
}

// message is a COSE_Sign1 message taken apart with a generic decoder.
type message struct {
	protected, payload, signature []byte
}

func parts(t *testing.T, qr string) message {
	t.Helper()
	var tag cbor.Tag
	if err := cbor.Unmarshal(unwrap(t, qr), &tag); err != nil {
		t.Fatal(err)
	}
	a := tag.Content.([]any)
	return message{a[0].([]byte), a[2].([]byte), a[3].([]byte)}
}

// encode reassembles a message, tagged 18.
func (m message) encode(t *testing.T) []byte {
	t.Helper()
	b, err := cbor.Marshal(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, m.payload, m.signature}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signWith replaces the signature with one by priv over the Sig_structure.
func (m message) signWith(t *testing.T, priv ed25519.PrivateKey) message {
	t.Helper()
	toSign, err := cbor.Marshal([]any{"Signature1", m.protected, []byte{}, m.payload})
	if err != nil {
		t.Fatal(err)
	}
	m.signature = ed25519.Sign(priv, toSign)
	return m
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	res := f.check(t, "fresh credential", qr, t0.Add(time.Hour), "")
	want := f.payload
	want.Issuer, want.KeyID = "acme", f.key.KID
	if res.Payload != want {
		t.Fatalf("payload %+v, want %+v", res.Payload, want)
	}
	// An untagged COSE_Sign1 is accepted too.
	m := parts(t, qr)
	untagged, err := cbor.Marshal([]any{m.protected, map[int]any{}, m.payload, m.signature})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "untagged", wrap(untagged), t0, "")
}

func TestValidityWindow(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	until := f.payload.ValidUntil
	f.check(t, "at valid from", qr, t0, "")
	f.check(t, "just before valid from", qr, t0.Add(-time.Second), verify.NotYetValid)
	f.check(t, "a year early", qr, t0.AddDate(-1, 0, 0), verify.NotYetValid)
	f.check(t, "at valid until", qr, until, "")
	f.check(t, "within the last second", qr, until.Add(999*time.Millisecond), "")
	res := f.check(t, "a second after", qr, until.Add(time.Second), verify.Expired)
	if res.Payload.HolderName != f.payload.HolderName {
		t.Errorf("an expired credential should still say whose it is: %+v", res.Payload)
	}
	_, err := verify.Verify(qr, f.keys, f.status, until.AddDate(0, 1, 0))
	if !errors.Is(err, verify.ErrExpired) {
		t.Errorf("error %v does not wrap ErrExpired", err)
	}
}

func TestRevocation(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	now := t0.Add(time.Hour)
	f.check(t, "before revocation", qr, now, "")
	if err := f.list.SetRevoked(f.payload.StatusIndex, true); err != nil {
		t.Fatal(err)
	}
	f.check(t, "stale status list", qr, now, "")
	f.publish(t, f.keys)
	res, err := verify.Verify(qr, f.keys, f.status, now)
	if res.Reason != verify.Revoked || !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("after revocation: %+v, %v", res, err)
	}
	// Another credential of the issuer is unaffected.
	other := f.payload
	other.StatusIndex++
	f.check(t, "neighbour", f.sign(t, other, f.key), now, "")
	// Reinstated.
	if err := f.list.SetRevoked(f.payload.StatusIndex, false); err != nil {
		t.Fatal(err)
	}
	f.publish(t, f.keys)
	f.check(t, "reinstated", qr, now, "")
}

func TestStatusUnavailable(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	res, err := verify.Verify(qr, f.keys, credential.StatusLists{}, t0)
	if res.Reason != verify.StatusUnavailable || !errors.Is(err, verify.ErrStatusUnavailable) {
		t.Fatalf("no status list: %+v, %v", res, err)
	}
	// An index beyond the published list.
	p := f.payload
	p.StatusIndex = credential.MinStatusListSize
	f.check(t, "index beyond the list", f.sign(t, p, f.key), t0, verify.StatusUnavailable)
}

func TestUnknownKey(t *testing.T) {
	f := newFixture(t)
	stranger, err := credential.GenerateSigningKey("acme", t0)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "re-signed with an unpublished key", f.sign(t, f.payload, stranger), t0, verify.UnknownKey)

	// A key published for another issuer does not sign for acme.
	mallory, err := credential.GenerateSigningKey("mallory", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Add("mallory", mallory.Public(), t0); err != nil {
		t.Fatal(err)
	}
	f.check(t, "mallory's own credential", f.sign(t, f.payload, mallory), t0, verify.StatusUnavailable)
	m := parts(t, f.sign(t, f.payload, mallory))
	var c map[int]any
	if err := cbor.Unmarshal(m.payload, &c); err != nil {
		t.Fatal(err)
	}
	c[1] = "acme"
	m.payload, _ = cbor.Marshal(c)
	m = m.signWith(t, mallory.Private)
	f.check(t, "mallory claiming to be acme", wrap(m.encode(t)), t0, verify.UnknownKey)

	// A key removed from the set after compromise.
	qr := f.sign(t, f.payload, f.key)
	f.keys.Remove("acme", f.key.KID, t0)
	_, err = verify.Verify(qr, f.keys, f.status, t0)
	if !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("after removal: %v", err)
	}
}

func TestBadSignature(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	m := parts(t, qr)

	// The right kid, signed by another key.
	_, wrongPriv, _ := ed25519.GenerateKey(nil)
	f.check(t, "right kid, wrong key", wrap(m.signWith(t, wrongPriv).encode(t)), t0, verify.BadSignature)

	// A flipped bit in the signature, in every byte.
	for i := range m.signature {
		bad := m
		bad.signature = bytes.Clone(m.signature)
		bad.signature[i] ^= 0x10
		f.check(t, "signature byte flipped", wrap(bad.encode(t)), t0, verify.BadSignature)
	}

	// A changed letter of the holder's name in the CBOR payload.
	bad := m
	bad.payload = bytes.Replace(m.payload, []byte("Amira"), []byte("Amina"), 1)
	if bytes.Equal(bad.payload, m.payload) {
		t.Fatal("name not found in payload")
	}
	f.check(t, "name changed", wrap(bad.encode(t)), t0, verify.BadSignature)

	// A later valid-until, re-encoded properly: still not signed.
	var c map[int]any
	if err := cbor.Unmarshal(m.payload, &c); err != nil {
		t.Fatal(err)
	}
	c[4] = t0.AddDate(10, 0, 0).Unix()
	bad.payload, _ = cbor.Marshal(c)
	f.check(t, "extended validity", wrap(bad.encode(t)), t0, verify.BadSignature)

	// A changed byte in the COSE message that keeps it well-formed: the
	// status index, at every value the verifier accepts.
	bad.payload = bytes.Clone(m.payload)
	idx := bytes.Index(bad.payload, []byte{0x19, 0x10, 0x92}) // uint 4242
	if idx < 0 {
		t.Fatal("status index not found")
	}
	bad.payload[idx+2] = 0x93
	f.check(t, "status index changed", wrap(bad.encode(t)), t0, verify.BadSignature)
}

func TestTamperedText(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	body := qr[len(credential.QRPrefix):]
	counts := map[verify.Reason]int{}
	for i := range body {
		j := strings.IndexByte(base45.Alphabet, body[i])
		b := []byte(qr)
		b[len(credential.QRPrefix)+i] = base45.Alphabet[(j+1)%45]
		res, _ := verify.Verify(string(b), f.keys, f.status, t0)
		counts[res.Reason]++
		if res.Valid && !bytes.Equal(unwrap(t, string(b)), unwrap(t, qr)) {
			t.Fatalf("flipping character %d gave a valid, different credential", i)
		}
		if !res.Valid && res.Reason != verify.Malformed && res.Reason != verify.BadSignature {
			t.Errorf("flipping character %d: reason %q", i, res.Reason)
		}
	}
	t.Logf("one character changed in each of %d positions: %v", len(body), counts)
	if counts[verify.Malformed] < len(body)*9/10 {
		t.Errorf("expected the zlib check to catch most changes: %v", counts)
	}
}

func TestMalformed(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	m := parts(t, qr)
	cborOf := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bomb := make([]byte, credential.MaxPayloadSize+1)
	var zBomb bytes.Buffer
	zw := zlib.NewWriter(&zBomb)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	withHeader := func(h map[int]any) []byte {
		return cborOf(cbor.Tag{Number: 18, Content: []any{cborOf(h), map[int]any{}, m.payload, m.signature}})
	}
	kid := parts(t, qr).protected[len(m.protected)-8:]
	claimsWithout := func(drop int) []byte {
		var c map[int]any
		if err := cbor.Unmarshal(m.payload, &c); err != nil {
			t.Fatal(err)
		}
		delete(c, drop)
		mm := m
		mm.payload = cborOf(c)
		return mm.encode(t)
	}
	cases := map[string]string{
		"empty":                "",
		"no prefix":            qr[len(credential.QRPrefix):],
		"other version":        "CP2:" + qr[len(credential.QRPrefix):],
		"lower-case prefix":    "cp1:" + qr[len(credential.QRPrefix):],
		"bad base45 character": qr + "a",
		"bad base45 length":    qr + "0",
		"bad base45 value":     credential.QRPrefix + ":::",
		"not zlib":             credential.QRPrefix + base45.Encode([]byte("hello world")),
		"zlib trailing bytes":  credential.QRPrefix + base45.Encode(append(bytes.Clone(mustBase45(t, qr)), 0)),
		"oversized text":       credential.QRPrefix + strings.Repeat("0", credential.MaxQRLength),
		"decompression bomb":   credential.QRPrefix + base45.Encode(zBomb.Bytes()),
		"oversized message":    wrap(bomb),
		"not CBOR":             wrap([]byte{0xff, 0xff}),
		"CBOR text":            wrap(cborOf("hello")),
		"wrong tag":            wrap(cborOf(cbor.Tag{Number: 98, Content: []any{m.protected, map[int]any{}, m.payload, m.signature}})),
		"three elements":       wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, m.payload}})),
		"five elements":        wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, m.payload, m.signature, 1}})),
		"detached payload":     wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, nil, m.signature}})),
		"short signature":      wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, m.payload, m.signature[:63]}})),
		"payload not bytes":    wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, "text", m.signature}})),
		"trailing CBOR":        wrap(append(m.encode(t), 0x00)),
		"ES256 header":         wrap(withHeader(map[int]any{1: -7, 4: kid})),
		"no alg":               wrap(withHeader(map[int]any{4: kid})),
		"no kid":               wrap(withHeader(map[int]any{1: -8})),
		"short kid":            wrap(withHeader(map[int]any{1: -8, 4: kid[:4]})),
		"critical header":      wrap(withHeader(map[int]any{1: -8, 2: []any{99}, 4: kid})),
		"payload not a map":    wrap(cborOf(cbor.Tag{Number: 18, Content: []any{m.protected, map[int]any{}, cborOf([]int{1}), m.signature}})),
		"no issuer":            wrap(claimsWithout(1)),
		"no valid until":       wrap(claimsWithout(4)),
		"no status index":      wrap(claimsWithout(-65540)),
		"no credential id":     wrap(claimsWithout(7)),
		"no key id in payload": wrap(claimsWithout(-65537)),
		"deeply nested":        wrap(append(bytes.Repeat([]byte{0x81}, 1000), 0x00)),
		"huge declared array":  wrap([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		"huge declared bytes":  wrap([]byte{0x84, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		"indefinite length":    wrap(append([]byte{0xd2, 0x9f}, append(m.encode(t)[2:], 0xff)...)),
	}
	for n := 1; n < len(qr); n += 7 {
		cases[fmt.Sprintf("truncated to %d", n)] = qr[:n]
	}
	for name, text := range cases {
		res, err := verify.Verify(text, f.keys, f.status, t0)
		if res.Reason != verify.Malformed || res.Valid || !errors.Is(err, credential.ErrMalformed) {
			t.Errorf("%s: Verify = %+v, %v; want malformed", name, res, err)
		}
	}
}

func mustBase45(t *testing.T, qr string) []byte {
	t.Helper()
	b, err := base45.Decode(qr[len(credential.QRPrefix):])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	keys := credential.NewKeySet()
	if err := keys.Add("acme", f.key.Public(), t0); err != nil {
		t.Fatal(err)
	}
	old := f.sign(t, f.payload, f.key)

	next, err := credential.GenerateSigningKey("acme", t0.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Rotate("acme", next.Public(), t0.AddDate(0, 6, 0)); err != nil {
		t.Fatal(err)
	}
	f.publish(t, keys)
	renewed := f.payload
	renewed.StatusIndex = 7
	fresh := f.sign(t, renewed, next)
	now := t0.AddDate(0, 7, 0)
	f.check(t, "signed before rotation", old, now, "")
	f.check(t, "signed after rotation", fresh, now, "")
	if k, _ := f.keys.Lookup("acme", f.key.KID); k.Retired.IsZero() {
		t.Fatal("old key not marked retired")
	}
}

// Random and mutated inputs never panic, and the result always agrees with
// the error.
func TestGarbageNeverPanics(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	cose := unwrap(t, qr)
	r := rand.New(rand.NewPCG(7, 9))
	for i := range 4000 {
		var text string
		switch i % 4 {
		case 0: // random bytes
			b := make([]byte, r.IntN(600))
			for j := range b {
				b[j] = byte(r.UintN(256))
			}
			text = string(b)
		case 1: // random Base45
			b := make([]byte, r.IntN(900))
			for j := range b {
				b[j] = base45.Alphabet[r.IntN(45)]
			}
			text = credential.QRPrefix + string(b)
		default: // the COSE message with random bytes changed
			b := bytes.Clone(cose)
			for range 1 + r.IntN(4) {
				b[r.IntN(len(b))] = byte(r.UintN(256))
			}
			text = wrap(b)
		}
		res, err := verify.Verify(text, f.keys, f.status, t0)
		if res.Valid != (err == nil) || res.Valid == (res.Reason != "") {
			t.Fatalf("inconsistent result %+v, %v", res, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	qr := fx.sign(f, fx.payload, fx.key)
	f.Add(qr)
	f.Add(qr[:len(qr)/2])
	f.Add("")
	f.Add(credential.QRPrefix)
	f.Add(credential.QRPrefix + "::::")
	f.Add("CP1:" + base45.Encode([]byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}))
	f.Fuzz(func(t *testing.T, text string) {
		res, err := verify.Verify(text, fx.keys, fx.status, t0)
		if res.Valid != (err == nil) {
			t.Fatalf("inconsistent result %+v, %v", res, err)
		}
		if res.Valid && text != qr {
			// Only a message equal to the signed one can verify.
			if _, perr := credential.ParseQR(text); perr != nil {
				t.Fatalf("valid result for unparseable text %q", text)
			}
		}
	})
}

// FuzzVerifyMessage fuzzes the decompressed COSE_Sign1 bytes, which the
// zlib check would otherwise shield from random changes.
func FuzzVerifyMessage(f *testing.F) {
	fx := newFixture(f)
	qr := fx.sign(f, fx.payload, fx.key)
	z, _ := base45.Decode(qr[len(credential.QRPrefix):])
	zr, _ := zlib.NewReader(bytes.NewReader(z))
	cose, _ := io.ReadAll(zr)
	f.Add(cose)
	f.Add(cose[1:])
	f.Add([]byte{})
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Add([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		_, _ = zw.Write(b)
		_ = zw.Close()
		res, err := verify.Verify(credential.QRPrefix+base45.Encode(z.Bytes()), fx.keys, fx.status, t0)
		if res.Valid != (err == nil) {
			t.Fatalf("inconsistent result %+v, %v", res, err)
		}
		if res.Valid && res.Payload.HolderName != fx.payload.HolderName {
			t.Fatalf("a changed message verified: %+v", res.Payload)
		}
	})
}

func BenchmarkVerifyOffline(b *testing.B) {
	f := newFixture(b)
	qr := f.sign(b, f.payload, f.key)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		res, err := verify.Verify(qr, f.keys, f.status, now)
		if err != nil || !res.Valid {
			b.Fatal(res, err)
		}
	}
}

// The cap on the decompressed message is exact.
func TestDecompressedSizeCap(t *testing.T) {
	_, err := credential.ParseQR(wrap(make([]byte, credential.MaxPayloadSize)))
	if !errors.Is(err, credential.ErrMalformed) || strings.Contains(err.Error(), "oversized") {
		t.Errorf("message of exactly the cap: %v", err)
	}
	_, err = credential.ParseQR(wrap(make([]byte, credential.MaxPayloadSize+1)))
	if !errors.Is(err, credential.ErrMalformed) || !strings.Contains(err.Error(), "oversized") {
		t.Errorf("message one byte over the cap: %v", err)
	}
}

// Verification shares nothing mutable: many goroutines may verify at once.
func TestVerifyConcurrent(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	bad := qr[:len(qr)-3]
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for range 50 {
				if res, err := verify.Verify(qr, f.keys, f.status, t0); !res.Valid {
					errs <- err
					return
				}
				if res, _ := verify.Verify(bad, f.keys, f.status, t0); res.Reason != verify.Malformed {
					errs <- fmt.Errorf("goroutine %d: truncated gave %q", g, res.Reason)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
