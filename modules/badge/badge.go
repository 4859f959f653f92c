// Package badge turns a holder's signed-off competency into a portable,
// verifiable credential: an Open Badges 3.0 OpenBadgeCredential (a W3C
// Verifiable Credential 2.0) naming the competency, the issuing
// organisation, the holder and the dates, signed by the organisation's
// Ed25519 key as a JWT, with a Bitstring Status List entry in the
// organisation's revocation list.
//
// The holder exports their own competencies from their passport, outside
// any tenant scope. Anyone verifies a credential on a public page or
// through the JSON API, against the published keys and status lists; the
// issuer profile, public keys and status list credential are published for
// verifiers elsewhere. Revoking, suspending or otherwise ending a
// competency sets the credential's status bit (RecordChanged, called by the
// record service inside its transaction); reinstating it clears the bit;
// expiry is in the credential's own validUntil and is also swept into the
// status list (SweepExpired).
package badge

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Badge is one exported credential as its holder sees it.
type Badge struct {
	ID              uuid.UUID
	TenantID        uuid.UUID
	TenantSlug      string
	TenantName      string
	RecordID        uuid.UUID
	CompetencyCode  string
	CompetencyTitle string
	StatusIndex     int
	KID             string
	IssuedAt        time.Time
	ValidFrom       time.Time
	ValidUntil      *time.Time
	Revoked         bool // the status bit is set
	RevokedAt       *time.Time
	JWT             string // the compact credential
}

// Badge statuses, as the holder's pages show them.
const (
	StatusValid     = "valid"
	StatusWithdrawn = "withdrawn"
	StatusExpired   = "expired"
)

// Status is the credential's status at now.
func (b Badge) Status(now time.Time) string {
	switch {
	case b.Revoked:
		return StatusWithdrawn
	case b.ValidUntil != nil && !now.Before(*b.ValidUntil):
		return StatusExpired
	}
	return StatusValid
}

// Live reports whether the credential is valid at now.
func (b Badge) Live(now time.Time) bool { return b.Status(now) == StatusValid }

// Filename is the name a downloaded credential is saved under.
func (b Badge) Filename() string {
	code := strings.ToLower(b.CompetencyCode)
	if code == "" {
		code = "competency"
	}
	return "carepass-" + code + "-" + b.ID.String()[:8] + ".jwt"
}

// Competency is a signed-off, current competency of the holder: one they
// may export.
type Competency struct {
	RecordID    uuid.UUID
	TenantID    uuid.UUID
	TenantName  string
	Code        string
	Title       string
	SignedOffAt time.Time
	ExpiresAt   *time.Time
	// Badge is the credential already made of this sign-off and still
	// valid, if any.
	Badge *Badge
}

// Wallet is the holder's exportable competencies and credentials.
type Wallet struct {
	// Claimed is false when the account is linked to no passport.
	Claimed bool
	// Competencies are the current sign-offs, by organisation and code.
	Competencies []Competency
	// Badges are every credential made, newest first.
	Badges []Badge
}
