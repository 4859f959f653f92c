// Package issuer keeps what the platform signs and publishes on behalf of
// each issuing tenant: its Ed25519 signing keys (the private half sealed with
// the server key), its revocation status list and the positions handed out in
// it, and the public documents built from them — the key set of every issuer
// and each issuer's status list — served at well-known URLs.
//
// Its tables are platform-wide (a verifier reads them without a tenant) and
// reached only through this package. Changes run inside the caller's
// transaction, so a passport and its status position, or a revocation and its
// status bit, commit together.
package issuer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/tenants"
)

// ListSize is the number of entries of every issuer's status list.
const ListSize = credential.MinStatusListSize

// Kinds of credential a status position is allocated for.
const (
	KindCarerPassport = "carer_passport"
	KindBadge         = "badge"
)

// allocateAttempts bounds the random draws for a free position. With the
// list at most half full the chance that all of them hit a used position is
// below 2⁻⁶⁴.
const allocateAttempts = 64

// publishedTTL is how long the published documents are served from memory;
// well below what verifiers may cache them for.
const publishedTTL = 5 * time.Second

// ErrListFull is returned when no free status position was found.
var ErrListFull = errors.New("issuer: status list is full")

// Service is the issuers' keys and status lists.
type Service struct {
	db        *tenants.DB
	serverKey []byte
	now       func() time.Time

	mu    sync.Mutex
	keys  cached[*credential.KeySet]
	lists map[string]cached[credential.StatusListDocument]
}

type cached[T any] struct {
	value T
	at    time.Time
	ok    bool
}

// New returns the service. serverKey seals private keys (credential.ServerKeySize bytes).
func New(db *tenants.DB, serverKey []byte, now func() time.Time) (*Service, error) {
	if len(serverKey) != credential.ServerKeySize {
		return nil, fmt.Errorf("issuer: server key must be %d bytes", credential.ServerKeySize)
	}
	return &Service{db: db, serverKey: serverKey, now: now, lists: map[string]cached[credential.StatusListDocument]{}}, nil
}

// SigningKey returns t's current signing key, generating and storing one on
// first use. tx is the caller's transaction.
func (s *Service) SigningKey(ctx context.Context, tx *gorm.DB, t tenants.Tenant) (credential.SigningKey, error) {
	k, err := s.currentKey(ctx, tx, t)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return k, err
	}
	fresh, err := credential.GenerateSigningKey(t.Slug, s.now().UTC())
	if err != nil {
		return credential.SigningKey{}, fmt.Errorf("issuer: generate key: %w", err)
	}
	if err := s.insertKey(ctx, tx, t, fresh, true); err != nil {
		return credential.SigningKey{}, err
	}
	// Another transaction may have stored the first key at the same moment:
	// whichever is current now is the one to sign with.
	return s.currentKey(ctx, tx, t)
}

func (s *Service) currentKey(ctx context.Context, tx *gorm.DB, t tenants.Tenant) (credential.SigningKey, error) {
	var (
		kid     string
		sealed  []byte
		created time.Time
	)
	err := tx.WithContext(ctx).Raw(`SELECT kid, sealed_private, created_at FROM issuer_keys
		WHERE issuer_tenant = ? AND retired_at IS NULL`, t.ID).Row().Scan(&kid, &sealed, &created)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return credential.SigningKey{}, err
		}
		return credential.SigningKey{}, fmt.Errorf("issuer: read key: %w", err)
	}
	k, err := credential.OpenSigningKey(s.serverKey, t.Slug, kid, sealed, created)
	if err != nil {
		return credential.SigningKey{}, fmt.Errorf("issuer: key %s of %s: %w", kid, t.Slug, err)
	}
	return k, nil
}

// insertKey stores k as t's current key. onlyIfNone makes it a no-op when t
// already has a current key.
func (s *Service) insertKey(ctx context.Context, tx *gorm.DB, t tenants.Tenant, k credential.SigningKey, onlyIfNone bool) error {
	sealed, err := credential.SealSigningKey(s.serverKey, k)
	if err != nil {
		return fmt.Errorf("issuer: seal key: %w", err)
	}
	q := `INSERT INTO issuer_keys (issuer_tenant, kid, public_key, sealed_private, created_at) VALUES (?, ?, ?, ?, ?)`
	if onlyIfNone {
		q += ` ON CONFLICT (issuer_tenant) WHERE retired_at IS NULL DO NOTHING`
	}
	pub := k.Private.Public().(ed25519.PublicKey)
	if err := tx.WithContext(ctx).Exec(q, t.ID, k.KID, []byte(pub), sealed, k.Created).Error; err != nil {
		return fmt.Errorf("issuer: store key: %w", err)
	}
	s.forgetKeys()
	return nil
}

// Rotate retires t's current key and makes a new one current. What the old
// key signed keeps verifying: its public half stays published.
func (s *Service) Rotate(ctx context.Context, tx *gorm.DB, t tenants.Tenant) (credential.PublicKey, error) {
	now := s.now().UTC()
	next, err := credential.GenerateSigningKey(t.Slug, now)
	if err != nil {
		return credential.PublicKey{}, fmt.Errorf("issuer: generate key: %w", err)
	}
	if err := tx.WithContext(ctx).Exec(`UPDATE issuer_keys SET retired_at = ? WHERE issuer_tenant = ? AND retired_at IS NULL`,
		now, t.ID).Error; err != nil {
		return credential.PublicKey{}, fmt.Errorf("issuer: retire key: %w", err)
	}
	if err := s.insertKey(ctx, tx, t, next, false); err != nil {
		return credential.PublicKey{}, err
	}
	return next.Public(), nil
}

// Allocate takes a free position of the issuer's status list, chosen
// uniformly at random among the free ones, for a credential of kind.
func (s *Service) Allocate(ctx context.Context, tx *gorm.DB, issuer uuid.UUID, kind string) (int, error) {
	db := tx.WithContext(ctx)
	now := s.now().UTC()
	if err := db.Exec(`INSERT INTO status_lists (issuer_tenant, size, bits, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (issuer_tenant) DO NOTHING`, issuer, ListSize, make([]byte, ListSize/8), now).Error; err != nil {
		return 0, fmt.Errorf("issuer: create status list: %w", err)
	}
	for range allocateAttempts {
		n, err := rand.Int(rand.Reader, big.NewInt(ListSize))
		if err != nil {
			return 0, fmt.Errorf("issuer: random position: %w", err)
		}
		idx := int(n.Int64())
		res := db.Exec(`INSERT INTO status_entries (issuer_tenant, idx, kind, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, issuer, idx, kind, now)
		if res.Error != nil {
			return 0, fmt.Errorf("issuer: allocate status position: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return idx, nil
		}
	}
	return 0, ErrListFull
}

// SetRevoked sets (or clears) the status bit at idx of the issuer's list.
func (s *Service) SetRevoked(ctx context.Context, tx *gorm.DB, issuer uuid.UUID, idx int, revoked bool) error {
	if idx < 0 || idx >= ListSize {
		return fmt.Errorf("issuer: status position %d outside the list", idx)
	}
	bit := 0
	if revoked {
		bit = 1
	}
	// set_bit numbers the bits of each byte from the least significant;
	// the list numbers them from the most significant.
	pos := idx/8*8 + 7 - idx%8
	res := tx.WithContext(ctx).Exec(`UPDATE status_lists SET bits = set_bit(bits, ?, ?), updated_at = ? WHERE issuer_tenant = ?`,
		pos, bit, s.now().UTC(), issuer)
	if res.Error != nil {
		return fmt.Errorf("issuer: set status: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("issuer: no status list for %s", issuer)
	}
	return nil
}

func (s *Service) forgetKeys() {
	s.mu.Lock()
	s.keys = cached[*credential.KeySet]{}
	s.mu.Unlock()
}

// KeySet returns the published key set: every issuer's public keys, retired
// ones included. It is served from memory for a few seconds.
func (s *Service) KeySet(ctx context.Context) (*credential.KeySet, error) {
	now := s.now()
	s.mu.Lock()
	if c := s.keys; c.ok && now.Sub(c.at) < publishedTTL && !now.Before(c.at) {
		s.mu.Unlock()
		return c.value, nil
	}
	s.mu.Unlock()

	rows, err := s.db.PlatformRead(ctx).Raw(`SELECT t.slug, k.kid, k.public_key, k.created_at, k.retired_at
		FROM issuer_keys k JOIN tenants t ON t.id = k.issuer_tenant
		ORDER BY t.slug, k.created_at`).Rows()
	if err != nil {
		return nil, fmt.Errorf("issuer: read keys: %w", err)
	}
	defer rows.Close()
	set := credential.NewKeySet()
	for rows.Next() {
		var (
			slug, kid string
			pub       []byte
			created   time.Time
			retired   sql.NullTime
		)
		if err := rows.Scan(&slug, &kid, &pub, &created, &retired); err != nil {
			return nil, fmt.Errorf("issuer: read keys: %w", err)
		}
		k := credential.PublicKey{KID: kid, Key: ed25519.PublicKey(pub), Created: created.UTC()}
		if retired.Valid {
			k.Retired = retired.Time.UTC()
		}
		if err := set.Add(slug, k, created.UTC()); err != nil {
			return nil, fmt.Errorf("issuer: key %s of %s: %w", kid, slug, err)
		}
		if k.Created.After(set.Updated) {
			set.Updated = k.Created
		}
		if k.Retired.After(set.Updated) {
			set.Updated = k.Retired
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("issuer: read keys: %w", err)
	}
	s.mu.Lock()
	s.keys = cached[*credential.KeySet]{value: set, at: now, ok: true}
	s.mu.Unlock()
	return set, nil
}

// ErrNoList is returned for an issuer that has no status list (it has
// issued nothing).
var ErrNoList = errors.New("issuer: no status list")

// StatusList returns the published status list document of the issuer with
// the given slug, served from memory for a few seconds.
func (s *Service) StatusList(ctx context.Context, slug string) (credential.StatusListDocument, error) {
	now := s.now()
	s.mu.Lock()
	if c, ok := s.lists[slug]; ok && now.Sub(c.at) < publishedTTL && !now.Before(c.at) {
		s.mu.Unlock()
		return c.value, nil
	}
	s.mu.Unlock()
	docs, err := s.statusLists(ctx, "t.slug = ?", slug)
	if err != nil {
		return credential.StatusListDocument{}, err
	}
	if len(docs) == 0 {
		return credential.StatusListDocument{}, ErrNoList
	}
	s.mu.Lock()
	if len(s.lists) > 10000 {
		clear(s.lists)
	}
	s.lists[slug] = cached[credential.StatusListDocument]{value: docs[0], at: now, ok: true}
	s.mu.Unlock()
	return docs[0], nil
}

// StatusLists returns every issuer's status list document, for a verifier
// that caches them all.
func (s *Service) StatusLists(ctx context.Context) ([]credential.StatusListDocument, error) {
	return s.statusLists(ctx, "true")
}

func (s *Service) statusLists(ctx context.Context, where string, args ...any) ([]credential.StatusListDocument, error) {
	rows, err := s.db.PlatformRead(ctx).Raw(`SELECT t.slug, l.bits, l.updated_at
		FROM status_lists l JOIN tenants t ON t.id = l.issuer_tenant
		WHERE `+where+` ORDER BY t.slug`, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("issuer: read status lists: %w", err)
	}
	defer rows.Close()
	var out []credential.StatusListDocument
	for rows.Next() {
		var (
			slug    string
			bits    []byte
			updated time.Time
		)
		if err := rows.Scan(&slug, &bits, &updated); err != nil {
			return nil, fmt.Errorf("issuer: read status lists: %w", err)
		}
		l, err := credential.StatusListFromBits(bits)
		if err != nil {
			return nil, fmt.Errorf("issuer: status list of %s: %w", slug, err)
		}
		d, err := credential.NewStatusListDocument(slug, l, updated.UTC())
		if err != nil {
			return nil, fmt.Errorf("issuer: status list of %s: %w", slug, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("issuer: read status lists: %w", err)
	}
	return out, nil
}
