package credential

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	// Algorithm names the signature algorithm of every Carepass key: EdDSA
	// with Ed25519 (COSE algorithm -8).
	Algorithm = "EdDSA"
	// KeyIDLength is the length of a key id: the first 8 bytes of the
	// SHA-256 of the public key, in base64url without padding.
	KeyIDLength = 11
	// ServerKeySize is the size in bytes of the server key that seals
	// issuers' private keys for storage (AES-256-GCM).
	ServerKeySize = 32
	// KeySetMaxAge is how long a published key set may be cached.
	KeySetMaxAge = time.Hour
	// maxIssuerLength bounds an issuer identifier.
	maxIssuerLength = 64
	// sealVersion is the first byte of a sealed private key.
	sealVersion = 1
)

var (
	// ErrKey is wrapped by errors about a malformed key, key id or key set.
	ErrKey = errors.New("invalid key")
	// ErrSealedKey is wrapped by every error OpenSigningKey returns: the
	// sealed key is damaged, belongs to another issuer or key id, or was
	// sealed with another server key.
	ErrSealedKey = errors.New("cannot open sealed key")
)

// KeyID returns the key id of an Ed25519 public key: the first 8 bytes of
// its SHA-256 hash, base64url-encoded without padding.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// ValidIssuer reports whether s can identify an issuer: 1 to 64 characters
// from letters, digits, '.', '_' and '-' (a tenant's id or slug).
func ValidIssuer(s string) bool {
	if s == "" || len(s) > maxIssuerLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// SigningKey is an issuer's Ed25519 private key with its key id.
type SigningKey struct {
	// Issuer identifies the tenant the key signs for.
	Issuer string
	// KID is KeyID of the public half.
	KID string
	// Private is the Ed25519 private key.
	Private ed25519.PrivateKey
	// Created is when the key was generated.
	Created time.Time
}

// GenerateSigningKey makes a new Ed25519 key for issuer from crypto/rand.
func GenerateSigningKey(issuer string, created time.Time) (SigningKey, error) {
	if !ValidIssuer(issuer) {
		return SigningKey{}, fmt.Errorf("%w: issuer %q", ErrKey, issuer)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generating key: %w", err)
	}
	return SigningKey{Issuer: issuer, KID: KeyID(pub), Private: priv, Created: created.UTC()}, nil
}

// Public returns the public half of k, to publish in a KeySet.
func (k SigningKey) Public() PublicKey {
	pub, _ := k.Private.Public().(ed25519.PublicKey)
	return PublicKey{KID: k.KID, Key: slices.Clone(pub), Created: k.Created}
}

// check reports whether k is a usable key whose id matches its public half.
func (k SigningKey) check() error {
	if !ValidIssuer(k.Issuer) {
		return fmt.Errorf("%w: issuer %q", ErrKey, k.Issuer)
	}
	if len(k.Private) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key is %d bytes, want %d", ErrKey, len(k.Private), ed25519.PrivateKeySize)
	}
	pub, _ := k.Private.Public().(ed25519.PublicKey)
	if KeyID(pub) != k.KID {
		return fmt.Errorf("%w: key id %q does not match the key", ErrKey, k.KID)
	}
	return nil
}

// PublicKey is one published public key of an issuer.
type PublicKey struct {
	// KID is KeyID(Key).
	KID string
	// Key is the Ed25519 public key.
	Key ed25519.PublicKey
	// Created is when the key was generated.
	Created time.Time
	// Retired is when the issuer stopped signing with the key; zero while
	// it is current. A retired key still verifies what it signed.
	Retired time.Time
}

// publicKeyJSON is the published form of a PublicKey.
type publicKeyJSON struct {
	KID       string     `json:"kid"`
	Alg       string     `json:"alg"`
	PublicKey string     `json:"public_key"`
	Created   time.Time  `json:"created"`
	Retired   *time.Time `json:"retired,omitempty"`
}

// MarshalJSON encodes the key as {"kid", "alg": "EdDSA", "public_key"
// (base64url without padding), "created", "retired" when retired}.
func (k PublicKey) MarshalJSON() ([]byte, error) {
	j := publicKeyJSON{
		KID:       k.KID,
		Alg:       Algorithm,
		PublicKey: base64.RawURLEncoding.EncodeToString(k.Key),
		Created:   k.Created.UTC(),
	}
	if !k.Retired.IsZero() {
		r := k.Retired.UTC()
		j.Retired = &r
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form MarshalJSON writes and checks that the key
// is an Ed25519 key whose id matches.
func (k *PublicKey) UnmarshalJSON(data []byte) error {
	var j publicKeyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrKey, err)
	}
	if j.Alg != Algorithm {
		return fmt.Errorf("%w: algorithm %q, want %q", ErrKey, j.Alg, Algorithm)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.PublicKey, "="))
	if err != nil {
		return fmt.Errorf("%w: public key of %q: %w", ErrKey, j.KID, err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key of %q is %d bytes, want %d", ErrKey, j.KID, len(raw), ed25519.PublicKeySize)
	}
	if KeyID(raw) != j.KID {
		return fmt.Errorf("%w: key id %q does not match its public key", ErrKey, j.KID)
	}
	*k = PublicKey{KID: j.KID, Key: raw, Created: j.Created}
	if j.Retired != nil {
		k.Retired = *j.Retired
	}
	return nil
}

// KeySet is the published document of every issuer's public keys, current
// and retired. Keys are never dropped on rotation, so what an old key signed
// keeps verifying; a compromised key is removed with Remove.
//
// A KeySet is not safe for concurrent modification.
type KeySet struct {
	// Updated is when the set last changed.
	Updated time.Time `json:"updated"`
	// Issuers maps an issuer to its keys, oldest first.
	Issuers map[string][]PublicKey `json:"issuers"`
}

// NewKeySet returns an empty key set.
func NewKeySet() *KeySet {
	return &KeySet{Issuers: map[string][]PublicKey{}}
}

// ParseKeySet decodes a published key set and checks every key in it.
func ParseKeySet(data []byte) (*KeySet, error) {
	var s KeySet
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	if s.Issuers == nil {
		return nil, fmt.Errorf("%w: key set has no \"issuers\"", ErrKey)
	}
	for issuer, keys := range s.Issuers {
		if !ValidIssuer(issuer) {
			return nil, fmt.Errorf("%w: issuer %q", ErrKey, issuer)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k.KID] {
				return nil, fmt.Errorf("%w: issuer %q lists key %q twice", ErrKey, issuer, k.KID)
			}
			seen[k.KID] = true
		}
	}
	return &s, nil
}

// Add publishes a public key for issuer. It refuses a key whose id does not
// match it, or one the issuer already has.
func (s *KeySet) Add(issuer string, k PublicKey, now time.Time) error {
	if !ValidIssuer(issuer) {
		return fmt.Errorf("%w: issuer %q", ErrKey, issuer)
	}
	if len(k.Key) != ed25519.PublicKeySize || KeyID(k.Key) != k.KID {
		return fmt.Errorf("%w: key id %q does not match the key", ErrKey, k.KID)
	}
	if _, ok := s.Lookup(issuer, k.KID); ok {
		return fmt.Errorf("%w: issuer %q already has key %q", ErrKey, issuer, k.KID)
	}
	if s.Issuers == nil {
		s.Issuers = map[string][]PublicKey{}
	}
	s.Issuers[issuer] = append(s.Issuers[issuer], k)
	s.Updated = now.UTC()
	return nil
}

// Rotate retires every current key of issuer at now and publishes next as
// its current key. The retired keys stay in the set.
func (s *KeySet) Rotate(issuer string, next PublicKey, now time.Time) error {
	if err := s.Add(issuer, next, now); err != nil {
		return err
	}
	keys := s.Issuers[issuer]
	for i := range keys {
		if keys[i].KID != next.KID && keys[i].Retired.IsZero() {
			keys[i].Retired = now.UTC()
		}
	}
	return nil
}

// Remove withdraws a key from the set, for a key that was compromised:
// everything it signed stops verifying.
func (s *KeySet) Remove(issuer, kid string, now time.Time) bool {
	keys := s.Issuers[issuer]
	for i, k := range keys {
		if k.KID == kid {
			s.Issuers[issuer] = slices.Delete(keys, i, i+1)
			s.Updated = now.UTC()
			return true
		}
	}
	return false
}

// Lookup returns issuer's key with id kid, current or retired.
func (s *KeySet) Lookup(issuer, kid string) (PublicKey, bool) {
	if s == nil {
		return PublicKey{}, false
	}
	for _, k := range s.Issuers[issuer] {
		if k.KID == kid {
			return k, true
		}
	}
	return PublicKey{}, false
}

// IssuerNames returns the issuers in the set, sorted.
func (s *KeySet) IssuerNames() []string {
	names := make([]string, 0, len(s.Issuers))
	for name := range s.Issuers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ParseServerKey decodes the server key from configuration: 32 bytes in
// base64 (standard or URL alphabet, padded or not).
func ParseServerKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	var key []byte
	var err error
	if strings.ContainsAny(s, "-_") {
		key, err = base64.RawURLEncoding.DecodeString(s)
	} else {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: server key is not base64: %w", ErrKey, err)
	}
	if len(key) != ServerKeySize {
		return nil, fmt.Errorf("%w: server key is %d bytes, want %d", ErrKey, len(key), ServerKeySize)
	}
	return key, nil
}

// sealAAD binds a sealed key to its issuer and key id.
func sealAAD(issuer, kid string) []byte {
	return []byte("carepass signing key v1\x00" + issuer + "\x00" + kid)
}

func serverAEAD(serverKey []byte) (cipher.AEAD, error) {
	if len(serverKey) != ServerKeySize {
		return nil, fmt.Errorf("%w: server key is %d bytes, want %d", ErrKey, len(serverKey), ServerKeySize)
	}
	block, err := aes.NewCipher(serverKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return aead, nil
}

// SealSigningKey encrypts k's private key for storage with AES-256-GCM under
// serverKey, a random nonce, and the issuer and key id as associated data.
// The result is a version byte, the nonce and the ciphertext.
func SealSigningKey(serverKey []byte, k SigningKey) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	aead, err := serverAEAD(serverKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+ed25519.SeedSize+aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	return aead.Seal(out, nonce, k.Private.Seed(), sealAAD(k.Issuer, k.KID)), nil
}

// OpenSigningKey decrypts a key sealed by SealSigningKey for issuer and kid.
// It fails, wrapping ErrSealedKey, when the sealed bytes were altered, were
// sealed for another issuer or key id, or under another server key.
func OpenSigningKey(serverKey []byte, issuer, kid string, sealed []byte, created time.Time) (SigningKey, error) {
	aead, err := serverAEAD(serverKey)
	if err != nil {
		return SigningKey{}, err
	}
	if len(sealed) != 1+aead.NonceSize()+ed25519.SeedSize+aead.Overhead() || sealed[0] != sealVersion {
		return SigningKey{}, fmt.Errorf("%w: not a version %d sealed key", ErrSealedKey, sealVersion)
	}
	nonce, box := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	seed, err := aead.Open(nil, nonce, box, sealAAD(issuer, kid))
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: %w", ErrSealedKey, err)
	}
	k := SigningKey{Issuer: issuer, KID: kid, Private: ed25519.NewKeyFromSeed(seed), Created: created.UTC()}
	if err := k.check(); err != nil {
		return SigningKey{}, fmt.Errorf("%w: %w", ErrSealedKey, err)
	}
	return k, nil
}
