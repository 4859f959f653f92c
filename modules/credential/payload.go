package credential

import (
	"bytes"
	"compress/zlib"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential/base45"
)

// The signed QR payload, version 1. A passport's QR code holds the text
//
//	"CP1:" + base45(zlib(COSE_Sign1))
//
// in the QR alphanumeric mode. The COSE_Sign1 message (RFC 9052, CBOR tag
// 18) has a protected header {1 (alg): -8 (EdDSA), 4 (kid): 8 bytes}, an
// empty unprotected header, the payload, and an Ed25519 signature over the
// Sig_structure ["Signature1", protected, external_aad, payload] whose
// external_aad is an empty byte string. The payload is a CBOR map of CWT
// claims (RFC 8392), registered ones and private ones:
//
//	1      iss  issuer (text): the tenant's id or slug
//	4      exp  valid until (integer, seconds since the Unix epoch)
//	5      nbf  valid from (integer, seconds since the Unix epoch)
//	7      cti  credential id (16 bytes, a UUID)
//	-65537      key id (8 bytes, the same as the header's kid)
//	-65538      holder's display name (text)
//	-65539      scheme name (text)
//	-65540      status-list index (unsigned integer)
//
// A credential is valid from nbf to exp, both inclusive. Nothing about the
// person cared for is ever in the payload.
const (
	// QRPrefix starts the text of every version 1 QR payload.
	QRPrefix = "CP1:"
	// MaxQRLength bounds the text of a QR payload, prefix included; a
	// verifier rejects longer text before decoding it.
	MaxQRLength = 4096
	// MaxPayloadSize bounds the decompressed COSE_Sign1 message.
	MaxPayloadSize = 4096
	// MaxNameLength bounds the holder's display name and the scheme name,
	// in bytes of UTF-8.
	MaxNameLength = 200

	coseTagSign1  = 18
	coseAlgEdDSA  = -8
	coseHeaderAlg = 1
	coseHeaderKID = 4
	coseCrit      = 2
)

// ErrMalformed is wrapped by every error ParseQR returns: the text is not a
// well-formed version 1 payload (prefix, Base45, zlib, size, CBOR or COSE
// structure, or a missing or ill-typed claim).
var ErrMalformed = errors.New("malformed credential")

// ErrPayload is wrapped by errors about a Payload that cannot be signed.
var ErrPayload = errors.New("invalid payload")

// Payload is what a passport's QR code says, signed by its issuer.
type Payload struct {
	// Issuer identifies the issuing tenant (its id or slug).
	Issuer string
	// KeyID is the id of the key that signs the payload.
	KeyID string
	// HolderName is the holder's display name.
	HolderName string
	// Scheme is the name of the scheme the passport was issued under.
	Scheme string
	// ValidFrom and ValidUntil bound the validity, both inclusive, to the
	// second.
	ValidFrom, ValidUntil time.Time
	// StatusIndex is the passport's position in its issuer's status list.
	StatusIndex int
	// CredentialID identifies the passport.
	CredentialID uuid.UUID
}

// claims is the CBOR form of a Payload. Pointers tell a missing claim from
// a zero one.
type claims struct {
	Issuer       *string `cbor:"1,keyasint"`
	Expires      *int64  `cbor:"4,keyasint"`
	NotBefore    *int64  `cbor:"5,keyasint"`
	CredentialID []byte  `cbor:"7,keyasint"`
	KeyID        []byte  `cbor:"-65537,keyasint"`
	HolderName   *string `cbor:"-65538,keyasint"`
	Scheme       *string `cbor:"-65539,keyasint"`
	StatusIndex  *uint32 `cbor:"-65540,keyasint"`
}

// header is the protected header of the COSE_Sign1 message.
type header struct {
	Alg  *int            `cbor:"1,keyasint"`
	Crit cbor.RawMessage `cbor:"2,keyasint,omitempty"`
	KID  []byte          `cbor:"4,keyasint"`
}

// sign1 is the COSE_Sign1 array.
type sign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected map[int]cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

var (
	// encModes encodes deterministically (RFC 8949, section 4.2.1).
	encModes = sync.OnceValues(func() (cbor.EncMode, error) {
		return cbor.CoreDetEncOptions().EncMode()
	})
	// decModes decodes strictly and within tight limits.
	decModes = sync.OnceValues(func() (cbor.DecMode, error) {
		return cbor.DecOptions{
			DupMapKey:        cbor.DupMapKeyEnforcedAPF,
			IndefLength:      cbor.IndefLengthForbidden,
			MaxNestedLevels:  8,
			MaxArrayElements: 16,
			MaxMapPairs:      32,
			TagsMd:           cbor.TagsAllowed,
		}.DecMode()
	})
)

// kidBytes decodes a key id to the 8 bytes carried in the message.
func kidBytes(kid string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(kid)
	if err != nil || len(b) != 8 || len(kid) != KeyIDLength {
		return nil, fmt.Errorf("%w: key id %q", ErrKey, kid)
	}
	return b, nil
}

// validText reports whether s is a non-empty display string: valid UTF-8,
// at most MaxNameLength bytes, without control characters or the bidi
// embedding, override and isolate marks that could disguise what a verifier
// is shown.
func validText(s string) bool {
	if s == "" || len(s) > MaxNameLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return false
		}
	}
	return true
}

// check reports what makes p unfit to sign or to accept.
func (p Payload) check() error {
	switch {
	case !ValidIssuer(p.Issuer):
		return fmt.Errorf("issuer %q is not a valid issuer", p.Issuer)
	case !validText(p.HolderName):
		return fmt.Errorf("holder name must be 1 to %d bytes of text without control characters", MaxNameLength)
	case !validText(p.Scheme):
		return fmt.Errorf("scheme must be 1 to %d bytes of text without control characters", MaxNameLength)
	case p.ValidFrom.IsZero() || p.ValidUntil.IsZero():
		return errors.New("valid from and valid until are required")
	case p.ValidUntil.Before(p.ValidFrom):
		return errors.New("valid until is before valid from")
	case p.ValidFrom.Unix() < 0:
		return errors.New("valid from is before 1970")
	case p.StatusIndex < 0 || p.StatusIndex > MaxStatusListSize-1:
		return fmt.Errorf("status index %d is out of range", p.StatusIndex)
	case p.CredentialID == uuid.Nil:
		return errors.New("credential id is required")
	}
	return nil
}

// appendHead appends a CBOR head of major type major and argument n.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// sigStructure returns the CBOR of ["Signature1", protected, external_aad,
// payload] with an empty external_aad: the bytes that are signed (RFC 9052,
// section 4.4).
func sigStructure(protected, payload []byte) []byte {
	const context = "Signature1"
	b := make([]byte, 0, 32+len(protected)+len(payload))
	b = appendHead(b, 4, 4)
	b = appendHead(b, 3, uint64(len(context)))
	b = append(b, context...)
	b = appendHead(b, 2, uint64(len(protected)))
	b = append(b, protected...)
	b = appendHead(b, 2, 0) // external_aad: empty
	b = appendHead(b, 2, uint64(len(payload)))
	return append(b, payload...)
}

// Sign returns the QR text of p signed with key. p.Issuer and p.KeyID may
// be left empty, to be taken from key; when set they must match it.
func Sign(p Payload, key SigningKey) (string, error) {
	if err := key.check(); err != nil {
		return "", err
	}
	if p.Issuer == "" {
		p.Issuer = key.Issuer
	}
	if p.KeyID == "" {
		p.KeyID = key.KID
	}
	if p.Issuer != key.Issuer || p.KeyID != key.KID {
		return "", fmt.Errorf("%w: payload names issuer %q key %q, but the key is %q of %q",
			ErrPayload, p.Issuer, p.KeyID, key.KID, key.Issuer)
	}
	if err := p.check(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrPayload, err)
	}
	kid, err := kidBytes(key.KID)
	if err != nil {
		return "", err
	}
	exp, nbf := p.ValidUntil.Unix(), p.ValidFrom.Unix()
	index := uint32(p.StatusIndex)
	c := claims{
		Issuer:       &p.Issuer,
		Expires:      &exp,
		NotBefore:    &nbf,
		CredentialID: p.CredentialID[:],
		KeyID:        kid,
		HolderName:   &p.HolderName,
		Scheme:       &p.Scheme,
		StatusIndex:  &index,
	}
	encMode, err := encModes()
	if err != nil {
		return "", fmt.Errorf("CBOR encoder: %w", err)
	}
	payload, err := encMode.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding payload: %w", err)
	}
	alg := coseAlgEdDSA
	protected, err := encMode.Marshal(header{Alg: &alg, KID: kid})
	if err != nil {
		return "", fmt.Errorf("encoding header: %w", err)
	}
	msg := sign1{
		Protected:   protected,
		Unprotected: map[int]cbor.RawMessage{},
		Payload:     payload,
		Signature:   ed25519.Sign(key.Private, sigStructure(protected, payload)),
	}
	cose, err := encMode.Marshal(cbor.Tag{Number: coseTagSign1, Content: msg})
	if err != nil {
		return "", fmt.Errorf("encoding COSE_Sign1: %w", err)
	}
	if len(cose) > MaxPayloadSize {
		return "", fmt.Errorf("%w: message is %d bytes, more than %d", ErrPayload, len(cose), MaxPayloadSize)
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	if _, err := zw.Write(cose); err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	text := QRPrefix + base45.Encode(z.Bytes())
	if len(text) > MaxQRLength {
		return "", fmt.Errorf("%w: QR text is %d characters, more than %d", ErrPayload, len(text), MaxQRLength)
	}
	return text, nil
}

// Signed is a parsed QR payload whose signature has not been checked yet.
type Signed struct {
	// Payload is what the credential claims. Trust none of it before
	// CheckSignature succeeds.
	Payload Payload
	// KeyID is the key id from the protected header.
	KeyID     string
	protected []byte
	payload   []byte
	signature []byte
}

// CheckSignature reports whether s was signed by pub.
func (s *Signed) CheckSignature(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, sigStructure(s.protected, s.payload), s.signature)
}

// malformed wraps ErrMalformed with a description.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// malformedErr wraps ErrMalformed and err with a description.
func malformedErr(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

// zlibReaders keeps zlib readers for reuse: a new one allocates tens of
// kilobytes of decompressor state.
var zlibReaders sync.Pool

// inflate decompresses a zlib stream of at most MaxPayloadSize bytes that
// makes up all of z.
func inflate(z []byte) ([]byte, error) {
	br := bytes.NewReader(z)
	var zr io.ReadCloser
	if pooled, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if rs, ok := pooled.(zlib.Resetter); ok {
			if err := rs.Reset(br, nil); err != nil {
				zlibReaders.Put(pooled)
				return nil, malformedErr("bad zlib", err)
			}
			zr = pooled
		}
	}
	if zr == nil {
		fresh, err := zlib.NewReader(br)
		if err != nil {
			return nil, malformedErr("bad zlib", err)
		}
		zr = fresh
	}
	defer zlibReaders.Put(zr)
	out := make([]byte, 0, 512)
	out, err := readAllLimited(zr, out, MaxPayloadSize+1)
	if err != nil {
		return nil, malformedErr("bad zlib", err)
	}
	if len(out) > MaxPayloadSize {
		return nil, malformed("oversized: decompressed message exceeds %d bytes", MaxPayloadSize)
	}
	if br.Len() != 0 {
		return nil, malformed("bad zlib: %d bytes after the stream", br.Len())
	}
	return out, nil
}

// readAllLimited appends what r yields to buf until EOF or until buf holds
// limit bytes.
func readAllLimited(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), limit)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// ParseQR decodes QR text into its signed parts, checking the prefix,
// Base45, zlib, sizes, the COSE_Sign1 structure and every claim, but not the
// signature, the key, the dates or the status. Every error wraps
// ErrMalformed.
func ParseQR(text string) (*Signed, error) {
	if len(text) > MaxQRLength {
		return nil, malformed("oversized: %d characters, more than %d", len(text), MaxQRLength)
	}
	rest, ok := strings.CutPrefix(text, QRPrefix)
	if !ok {
		return nil, malformed("bad prefix: want %q", QRPrefix)
	}
	z, err := base45.Decode(rest)
	if err != nil {
		return nil, malformedErr("bad base45", err)
	}
	raw, err := inflate(z)
	if err != nil {
		return nil, err
	}
	return parseCOSE(raw)
}

// parseCOSE decodes a COSE_Sign1 message, tagged 18 or untagged.
func parseCOSE(raw []byte) (*Signed, error) {
	decMode, err := decModes()
	if err != nil {
		return nil, fmt.Errorf("CBOR decoder: %w", err)
	}
	var msg sign1
	body := raw
	if len(raw) > 0 && raw[0]>>5 == 6 { // a tag
		var tag cbor.RawTag
		if err := decMode.Unmarshal(raw, &tag); err != nil {
			return nil, malformedErr("bad CBOR", err)
		}
		if tag.Number != coseTagSign1 {
			return nil, malformed("bad COSE structure: tag %d, want %d", tag.Number, coseTagSign1)
		}
		body = tag.Content
	}
	if err := decMode.Unmarshal(body, &msg); err != nil {
		return nil, malformedErr("bad COSE structure", err)
	}
	if len(msg.Protected) == 0 || msg.Payload == nil || len(msg.Signature) != ed25519.SignatureSize {
		return nil, malformed("bad COSE structure: missing protected header, payload or signature")
	}
	var h header
	if err := decMode.Unmarshal(msg.Protected, &h); err != nil {
		return nil, malformedErr("bad COSE header", err)
	}
	if h.Alg == nil || *h.Alg != coseAlgEdDSA {
		return nil, malformed("bad COSE header: algorithm is not EdDSA")
	}
	if h.Crit != nil {
		return nil, malformed("bad COSE header: critical parameters are not supported")
	}
	if len(h.KID) != 8 {
		return nil, malformed("bad COSE header: kid is not 8 bytes")
	}
	var c claims
	if err := decMode.Unmarshal(msg.Payload, &c); err != nil {
		return nil, malformedErr("bad CBOR payload", err)
	}
	if c.Issuer == nil || c.Expires == nil || c.NotBefore == nil || c.HolderName == nil ||
		c.Scheme == nil || c.StatusIndex == nil || c.KeyID == nil || c.CredentialID == nil {
		return nil, malformed("bad payload: a claim is missing")
	}
	if !bytes.Equal(c.KeyID, h.KID) {
		return nil, malformed("bad payload: key id differs from the header's")
	}
	id, err := uuid.FromBytes(c.CredentialID)
	if err != nil {
		return nil, malformedErr("bad payload: credential id", err)
	}
	p := Payload{
		Issuer:       *c.Issuer,
		KeyID:        base64.RawURLEncoding.EncodeToString(h.KID),
		HolderName:   *c.HolderName,
		Scheme:       *c.Scheme,
		ValidFrom:    time.Unix(*c.NotBefore, 0).UTC(),
		ValidUntil:   time.Unix(*c.Expires, 0).UTC(),
		StatusIndex:  int(*c.StatusIndex),
		CredentialID: id,
	}
	if err := p.check(); err != nil {
		return nil, malformedErr("bad payload", err)
	}
	return &Signed{Payload: p, KeyID: p.KeyID, protected: msg.Protected, payload: msg.Payload, signature: msg.Signature}, nil
}
