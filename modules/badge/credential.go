package badge

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
)

// JSON-LD contexts and type names of the documents this package publishes.
const (
	ContextVC2  = "https://www.w3.org/ns/credentials/v2"
	ContextOB30 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

	TypeVC                   = "VerifiableCredential"
	TypeOpenBadge            = "OpenBadgeCredential"
	TypeAchievementAlias     = "AchievementCredential" // Open Badges' other name for the same type
	TypeStatusListCredential = "BitstringStatusListCredential"
	TypeStatusList           = "BitstringStatusList"
	TypeStatusEntry          = "BitstringStatusListEntry"

	// AchievementType is the Open Badges achievement type of every badge:
	// a signed-off competency.
	AchievementType = "Competency"
)

// Paths of the public documents, under the service's base URL.
const (
	IssuersPath      = "/badges/issuers/"      // + slug: the issuer's Profile; + slug/keys/kid: one public key as a JWK
	StatusPath       = "/badges/status/"       // + slug: the issuer's status list credential
	AchievementsPath = "/badges/achievements/" // + slug/competency id: names an achievement (not served)
	VerifyPath       = "/badges/verify"
	APIVerifyPath    = "/api/v1/badges/verify"
)

// statusTTL is the status list credential's time to live, in milliseconds,
// as Bitstring Status List's "ttl" says it: how long a verifier may cache it.
const statusTTL = int64(credential.StatusListMaxAge / time.Millisecond)

// urls builds the identifiers of one deployment's documents.
type urls struct{ base string }

func (u urls) issuer(slug string) string { return u.base + IssuersPath + slug }
func (u urls) key(slug, kid string) string {
	return u.base + IssuersPath + slug + "/keys/" + kid
}
func (u urls) status(slug string) string { return u.base + StatusPath + slug }
func (u urls) achievement(slug string, competency uuid.UUID) string {
	return u.base + AchievementsPath + slug + "/" + competency.String()
}

// parseKey splits a key URL made by key into the issuer's slug and the key
// id; ok is false for anything else.
func (u urls) parseKey(s string) (slug, kid string, ok bool) {
	rest, found := strings.CutPrefix(s, u.base+IssuersPath)
	if !found {
		return "", "", false
	}
	slug, kid, found = strings.Cut(rest, "/keys/")
	if !found || !credential.ValidIssuer(slug) || len(kid) != credential.KeyIDLength || strings.Contains(kid, "/") {
		return "", "", false
	}
	return slug, kid, true
}

// Profile is an Open Badges issuer profile.
type Profile struct {
	Context []string `json:"@context,omitempty"` // only when published on its own
	ID      string   `json:"id"`
	Type    []string `json:"type"`
	Name    string   `json:"name"`
}

// Criteria says how an achievement is earned.
type Criteria struct {
	Narrative string `json:"narrative"`
}

// Achievement is what a badge recognises: one competency of a catalogue.
type Achievement struct {
	ID              string   `json:"id"`
	Type            []string `json:"type"`
	AchievementType string   `json:"achievementType"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Criteria        Criteria `json:"criteria"`
	HumanCode       string   `json:"humanCode,omitempty"`
	Version         string   `json:"version,omitempty"`
}

// IdentityObject identifies the recipient; here by name, unhashed.
type IdentityObject struct {
	Type         string `json:"type"`
	IdentityHash string `json:"identityHash"`
	IdentityType string `json:"identityType"`
	Hashed       bool   `json:"hashed"`
}

// AchievementSubject is the holder and what they achieved.
type AchievementSubject struct {
	ID          string           `json:"id"`
	Type        []string         `json:"type"`
	Identifier  []IdentityObject `json:"identifier"`
	Achievement Achievement      `json:"achievement"`
}

// StatusEntry is a Bitstring Status List entry: the credential's position
// in its issuer's revocation list.
type StatusEntry struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose"`
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
}

// Credential is an Open Badges 3.0 OpenBadgeCredential (a W3C Verifiable
// Credential 2.0) as this package issues it.
type Credential struct {
	Context           []string           `json:"@context"`
	ID                string             `json:"id"`
	Type              []string           `json:"type"`
	Name              string             `json:"name"`
	Description       string             `json:"description"`
	Issuer            Profile            `json:"issuer"`
	ValidFrom         string             `json:"validFrom"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	AwardedDate       string             `json:"awardedDate"`
	CredentialSubject AchievementSubject `json:"credentialSubject"`
	CredentialStatus  StatusEntry        `json:"credentialStatus"`
}

// claims are the JWT registered claims Open Badges 3.0 asks of a credential
// secured as a JWT: iss = issuer.id, jti = id, sub = credentialSubject.id,
// nbf = validFrom and exp = validUntil when it has one; iat is when it was
// signed.
type claims struct {
	Iss string `json:"iss"`
	Jti string `json:"jti"`
	Sub string `json:"sub,omitempty"`
	Nbf int64  `json:"nbf"`
	Exp *int64 `json:"exp,omitempty"`
	Iat int64  `json:"iat"`
}

// badgePayload is the JWT payload: the credential with the claims beside it.
type badgePayload struct {
	Credential
	claims
}

// StatusListSubject is the subject of a status list credential.
type StatusListSubject struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	StatusPurpose string `json:"statusPurpose"`
	EncodedList   string `json:"encodedList"`
	TTL           int64  `json:"ttl"`
}

// StatusListCredential is a W3C BitstringStatusListCredential.
type StatusListCredential struct {
	Context           []string          `json:"@context"`
	ID                string            `json:"id"`
	Type              []string          `json:"type"`
	Issuer            string            `json:"issuer"`
	ValidFrom         string            `json:"validFrom"`
	CredentialSubject StatusListSubject `json:"credentialSubject"`
}

type statusPayload struct {
	StatusListCredential
	claims
}

// stamp formats t as a VC date-time: UTC, whole seconds.
func stamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// parseStamp reads a date-time written by stamp (any RFC 3339 form).
func parseStamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// subject is what a badge says about its holder and competency.
type subject struct {
	BadgeID      uuid.UUID
	IssuerName   string
	IssuerSlug   string
	HolderID     uuid.UUID // the holder's enrolment at the issuer: the subject's id
	HolderName   string
	CompetencyID uuid.UUID
	Code         string
	Title        string
	Description  string
	Narrative    string
	CatalogueVer int
	SignedOff    time.Time
	Expires      *time.Time
	StatusIndex  int
	IssuedAt     time.Time
}

// build returns the credential and its JWT claims for s.
func (u urls) build(s subject) badgePayload {
	from := s.SignedOff.UTC().Truncate(time.Second)
	c := Credential{
		Context:     []string{ContextVC2, ContextOB30},
		ID:          "urn:uuid:" + s.BadgeID.String(),
		Type:        []string{TypeVC, TypeOpenBadge},
		Name:        s.Title,
		Description: fmt.Sprintf("Signed off as competent in %s (%s) by %s.", s.Title, s.Code, s.IssuerName),
		Issuer:      Profile{ID: u.issuer(s.IssuerSlug), Type: []string{"Profile"}, Name: s.IssuerName},
		ValidFrom:   stamp(from),
		AwardedDate: stamp(from),
		CredentialSubject: AchievementSubject{
			ID:   "urn:uuid:" + s.HolderID.String(),
			Type: []string{"AchievementSubject"},
			Identifier: []IdentityObject{{Type: "IdentityObject", IdentityHash: s.HolderName, IdentityType: "name",
				Hashed: false}},
			Achievement: Achievement{
				ID:              u.achievement(s.IssuerSlug, s.CompetencyID),
				Type:            []string{"Achievement"},
				AchievementType: AchievementType,
				Name:            s.Title,
				Description:     s.Description,
				Criteria:        Criteria{Narrative: s.Narrative},
				HumanCode:       s.Code,
				Version:         strconv.Itoa(s.CatalogueVer),
			},
		},
		CredentialStatus: StatusEntry{
			ID:                   u.status(s.IssuerSlug) + "#" + strconv.Itoa(s.StatusIndex),
			Type:                 TypeStatusEntry,
			StatusPurpose:        credential.StatusPurpose,
			StatusListIndex:      strconv.Itoa(s.StatusIndex),
			StatusListCredential: u.status(s.IssuerSlug),
		},
	}
	cl := claims{Iss: c.Issuer.ID, Jti: c.ID, Sub: c.CredentialSubject.ID, Nbf: from.Unix(), Iat: s.IssuedAt.Unix()}
	if s.Expires != nil {
		until := s.Expires.UTC().Truncate(time.Second)
		c.ValidUntil = stamp(until)
		exp := until.Unix()
		cl.Exp = &exp
	}
	return badgePayload{Credential: c, claims: cl}
}
