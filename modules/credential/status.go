package credential

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// A status list is a bitstring in which bit i set means that the credential
// at status index i is revoked, as in the W3C Bitstring Status List: index 0
// is the most significant bit of the first byte. It is published GZIP-
// compressed and base64url-encoded without padding, behind the multibase
// prefix "u". Positions are allocated at random, so an index reveals
// neither when a passport was issued nor how many exist.
const (
	// MinStatusListSize is the least number of entries of a status list.
	MinStatusListSize = 131072
	// MaxStatusListSize is the most entries a status list may have.
	MaxStatusListSize = 1 << 24
	// StatusListMaxAge is how long a published status list may be cached:
	// a revocation reaches an offline verifier within this time once it is
	// online.
	StatusListMaxAge = 5 * time.Minute
	// StatusPurpose is the purpose of every Carepass status list.
	StatusPurpose = "revocation"
	// maxEncodedList bounds the encoded list a decoder accepts.
	maxEncodedList = 4 << 20
	// allocationProbes is how many random positions Allocate tries before
	// it draws among the free positions directly.
	allocationProbes = 64
)

var (
	// ErrStatusList is wrapped by errors about a malformed status list or
	// an index outside it.
	ErrStatusList = errors.New("invalid status list")
	// ErrStatusListFull is returned by Allocate when no position is free.
	ErrStatusListFull = errors.New("status list is full")
)

// checkStatusSize reports whether size is a valid number of entries.
func checkStatusSize(size int) error {
	if size < MinStatusListSize || size > MaxStatusListSize || size%8 != 0 {
		return fmt.Errorf("%w: %d entries; want a multiple of 8 from %d to %d",
			ErrStatusList, size, MinStatusListSize, MaxStatusListSize)
	}
	return nil
}

// StatusList is the revocation bitstring of one issuer. It is not safe for
// concurrent modification.
type StatusList struct {
	bits []byte
}

// NewStatusList returns a list of size entries, none revoked.
func NewStatusList(size int) (*StatusList, error) {
	if err := checkStatusSize(size); err != nil {
		return nil, err
	}
	return &StatusList{bits: make([]byte, size/8)}, nil
}

// Len returns the number of entries.
// StatusListFromBits returns a list over a copy of bits, as stored: bit i
// is the most significant bit first of byte i/8.
func StatusListFromBits(bits []byte) (*StatusList, error) {
	if err := checkStatusSize(len(bits) * 8); err != nil {
		return nil, err
	}
	return &StatusList{bits: bytes.Clone(bits)}, nil
}

// Bits returns a copy of the list's bitstring, for storage.
func (l *StatusList) Bits() []byte { return bytes.Clone(l.bits) }

func (l *StatusList) Len() int { return len(l.bits) * 8 }

func (l *StatusList) checkIndex(i int) error {
	if i < 0 || i >= l.Len() {
		return fmt.Errorf("%w: index %d outside %d entries", ErrStatusList, i, l.Len())
	}
	return nil
}

// Revoked reports whether entry i is revoked.
func (l *StatusList) Revoked(i int) (bool, error) {
	if err := l.checkIndex(i); err != nil {
		return false, err
	}
	return l.bits[i/8]&(0x80>>(i%8)) != 0, nil
}

// SetRevoked sets entry i to revoked, or clears it.
func (l *StatusList) SetRevoked(i int, revoked bool) error {
	if err := l.checkIndex(i); err != nil {
		return err
	}
	if revoked {
		l.bits[i/8] |= 0x80 >> (i % 8)
	} else {
		l.bits[i/8] &^= 0x80 >> (i % 8)
	}
	return nil
}

// Encode returns the list GZIP-compressed, base64url-encoded without
// padding, with the multibase prefix "u".
func (l *StatusList) Encode() (string, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("compressing status list: %w", err)
	}
	if _, err := zw.Write(l.bits); err != nil {
		return "", fmt.Errorf("compressing status list: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing status list: %w", err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(b.Bytes()), nil
}

// DecodeStatusList reads a list written by Encode. It refuses a list of a
// size NewStatusList would refuse, and stops decompressing past the largest.
func DecodeStatusList(encoded string) (*StatusList, error) {
	if len(encoded) > maxEncodedList {
		return nil, fmt.Errorf("%w: encoded list longer than %d characters", ErrStatusList, maxEncodedList)
	}
	if len(encoded) == 0 || encoded[0] != 'u' {
		return nil, fmt.Errorf("%w: want multibase base64url (prefix \"u\")", ErrStatusList)
	}
	z, err := base64.RawURLEncoding.DecodeString(encoded[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: base64url: %w", ErrStatusList, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrStatusList, err)
	}
	zr.Multistream(false)
	bits, err := io.ReadAll(io.LimitReader(zr, MaxStatusListSize/8+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrStatusList, err)
	}
	if err := checkStatusSize(len(bits) * 8); err != nil {
		return nil, err
	}
	return &StatusList{bits: bits}, nil
}

// StatusListDocument is the published JSON document of an issuer's status
// list.
type StatusListDocument struct {
	// Issuer identifies the issuer whose credentials the list covers.
	Issuer string `json:"issuer"`
	// Purpose is StatusPurpose.
	Purpose string `json:"purpose"`
	// Size is the number of entries.
	Size int `json:"size"`
	// EncodedList is the list as StatusList.Encode writes it.
	EncodedList string `json:"encoded_list"`
	// Updated is when the list last changed.
	Updated time.Time `json:"updated"`
	// MaxAge is how many seconds the document may be cached.
	MaxAge int `json:"max_age"`
}

// NewStatusListDocument returns the document publishing l for issuer.
func NewStatusListDocument(issuer string, l *StatusList, updated time.Time) (StatusListDocument, error) {
	if !ValidIssuer(issuer) {
		return StatusListDocument{}, fmt.Errorf("%w: issuer %q", ErrStatusList, issuer)
	}
	enc, err := l.Encode()
	if err != nil {
		return StatusListDocument{}, err
	}
	return StatusListDocument{
		Issuer:      issuer,
		Purpose:     StatusPurpose,
		Size:        l.Len(),
		EncodedList: enc,
		Updated:     updated.UTC(),
		MaxAge:      int(StatusListMaxAge / time.Second),
	}, nil
}

// List decodes the document's list and checks it against the document.
func (d StatusListDocument) List() (*StatusList, error) {
	if !ValidIssuer(d.Issuer) {
		return nil, fmt.Errorf("%w: issuer %q", ErrStatusList, d.Issuer)
	}
	if d.Purpose != StatusPurpose {
		return nil, fmt.Errorf("%w: purpose %q, want %q", ErrStatusList, d.Purpose, StatusPurpose)
	}
	l, err := DecodeStatusList(d.EncodedList)
	if err != nil {
		return nil, err
	}
	if l.Len() != d.Size {
		return nil, fmt.Errorf("%w: list has %d entries, document says %d", ErrStatusList, l.Len(), d.Size)
	}
	return l, nil
}

// StatusLists holds decoded status lists by issuer, for a verifier.
type StatusLists map[string]*StatusList

// ParseStatusLists decodes status list documents: one JSON document, or a
// JSON array of them, each for a different issuer.
func ParseStatusLists(data []byte) (StatusLists, error) {
	var docs []StatusListDocument
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(data, &docs); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStatusList, err)
		}
	} else {
		var d StatusListDocument
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStatusList, err)
		}
		docs = append(docs, d)
	}
	lists := StatusLists{}
	for _, d := range docs {
		if err := lists.Add(d); err != nil {
			return nil, err
		}
	}
	return lists, nil
}

// Add decodes d into s. It refuses a second list for the same issuer.
func (s StatusLists) Add(d StatusListDocument) error {
	l, err := d.List()
	if err != nil {
		return err
	}
	if _, dup := s[d.Issuer]; dup {
		return fmt.Errorf("%w: two lists for issuer %q", ErrStatusList, d.Issuer)
	}
	s[d.Issuer] = l
	return nil
}

// Allocator hands out unused positions of a status list at random. It is
// not safe for concurrent use; the issuer's storage should also enforce that
// a position is used once.
type Allocator struct {
	used []byte
	free int
}

// NewAllocator returns an allocator for a list of size entries of which the
// positions in used are taken.
func NewAllocator(size int, used []int) (*Allocator, error) {
	if err := checkStatusSize(size); err != nil {
		return nil, err
	}
	a := &Allocator{used: make([]byte, size/8), free: size}
	for _, i := range used {
		if err := a.MarkUsed(i); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Free returns the number of unused positions.
func (a *Allocator) Free() int { return a.free }

func (a *Allocator) isUsed(i int) bool { return a.used[i/8]&(0x80>>(i%8)) != 0 }

// MarkUsed records position i as taken. Marking it twice is harmless.
func (a *Allocator) MarkUsed(i int) error {
	if i < 0 || i >= len(a.used)*8 {
		return fmt.Errorf("%w: index %d outside %d entries", ErrStatusList, i, len(a.used)*8)
	}
	if !a.isUsed(i) {
		a.used[i/8] |= 0x80 >> (i % 8)
		a.free--
	}
	return nil
}

// Allocate takes an unused position chosen uniformly at random with
// crypto/rand, or returns ErrStatusListFull.
func (a *Allocator) Allocate() (int, error) {
	if a.free == 0 {
		return 0, ErrStatusListFull
	}
	size := len(a.used) * 8
	for range allocationProbes {
		i, err := randIntn(size)
		if err != nil {
			return 0, err
		}
		if !a.isUsed(i) {
			return i, a.MarkUsed(i)
		}
	}
	// A nearly full list: draw the k-th free position.
	k, err := randIntn(a.free)
	if err != nil {
		return 0, err
	}
	for i := range size {
		if a.isUsed(i) {
			continue
		}
		if k == 0 {
			return i, a.MarkUsed(i)
		}
		k--
	}
	return 0, ErrStatusListFull
}

// randIntn returns a uniform integer in [0, n) from crypto/rand; n > 0.
func randIntn(n int) (int, error) {
	limit := uint64(n)
	// Reject the top partial range so every value is equally likely.
	ceiling := ^uint64(0) - (^uint64(0)%limit+1)%limit
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("random index: %w", err)
		}
		v := binary.BigEndian.Uint64(b[:])
		if v <= ceiling {
			return int(v % limit), nil
		}
	}
}
