package badge

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxCredentialSize is the longest compact credential Verify reads, in bytes.
const MaxCredentialSize = 16 << 10

// JOSE header values.
const (
	algEdDSA = "EdDSA"
	// typJWT is what Open Badges 3.0 requires of "typ" when present (its
	// JWT proof format allows no other value); the status list credential,
	// which that profile does not govern, uses VC-JOSE-COSE's typVCJWT.
	typJWT   = "JWT"
	typVCJWT = "vc+jwt"
)

// MediaType is the media type of a credential secured as a JWT (VC-JOSE-COSE).
const MediaType = "application/vc+jwt"

// b64 is base64url without padding, refusing non-canonical encodings so a
// signed credential has exactly one textual form.
var b64 = base64.RawURLEncoding.Strict()

// header is the JOSE header of every credential signed here.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// sign returns the compact JWS of payload under key, with the given header.
func sign(h header, payload any, key ed25519.PrivateKey) (string, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("badge: header: %w", err)
	}
	pj, err := marshal(payload)
	if err != nil {
		return "", fmt.Errorf("badge: payload: %w", err)
	}
	signing := b64.EncodeToString(hj) + "." + b64.EncodeToString(pj)
	sig := ed25519.Sign(key, []byte(signing))
	return signing + "." + b64.EncodeToString(sig), nil
}

// marshal encodes v as JSON without HTML escaping (a credential's text is
// data, not markup) and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// errMalformed is wrapped by every error of parseCompact.
var errMalformed = errors.New("malformed compact JWS")

// compact is a compact JWS split into its parts, decoded but not verified.
type compact struct {
	header    header
	payload   []byte // decoded
	signing   []byte // the signing input: the first two parts as sent
	signature []byte
}

// parseCompact splits and decodes a compact JWS. It reads the header
// strictly: exactly alg, kid and an optional typ.
func parseCompact(token string) (compact, error) {
	if len(token) > MaxCredentialSize {
		return compact{}, fmt.Errorf("%w: longer than %d bytes", errMalformed, MaxCredentialSize)
	}
	h64, rest, ok := strings.Cut(token, ".")
	if !ok {
		return compact{}, fmt.Errorf("%w: not three parts", errMalformed)
	}
	p64, s64, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s64, ".") {
		return compact{}, fmt.Errorf("%w: not three parts", errMalformed)
	}
	hj, err := b64.DecodeString(h64)
	if err != nil {
		return compact{}, fmt.Errorf("%w: header: %w", errMalformed, err)
	}
	payload, err := b64.DecodeString(p64)
	if err != nil {
		return compact{}, fmt.Errorf("%w: payload: %w", errMalformed, err)
	}
	sig, err := b64.DecodeString(s64)
	if err != nil {
		return compact{}, fmt.Errorf("%w: signature: %w", errMalformed, err)
	}
	var h header
	if err := decodeStrict(hj, &h); err != nil {
		return compact{}, fmt.Errorf("%w: header: %w", errMalformed, err)
	}
	return compact{header: h, payload: payload, signing: []byte(h64 + "." + p64), signature: sig}, nil
}

// decodeStrict decodes exactly one JSON object into v, refusing fields v
// does not have.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the object")
	}
	return nil
}

// verifySignature reports whether c's signature is pub's over its signing input.
func (c compact) verifySignature(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(c.signature) == ed25519.SignatureSize &&
		ed25519.Verify(pub, c.signing, c.signature)
}
