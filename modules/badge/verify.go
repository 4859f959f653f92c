package badge

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carepass/carepass/modules/credential"
)

// Reasons a credential is not valid, as Result.Reason and the JSON API say them.
const (
	ReasonMalformed    = "malformed"     // not a credential of this platform, or damaged
	ReasonUnknownKey   = "unknown_key"   // no published key of the issuer it names signed it
	ReasonBadSignature = "bad_signature" // altered since it was signed
	ReasonNotYetValid  = "not_yet_valid"
	ReasonExpired      = "expired"
	ReasonRevoked      = "revoked" // its status bit is set: revoked, suspended or no longer current
)

// Result is the outcome of verifying one credential. The credential's
// fields are filled only once its signature has been verified (Verified):
// nothing an unverified credential says is shown as if its issuer said it.
type Result struct {
	Valid     bool
	Reason    string // empty when Valid
	CheckedAt time.Time

	Verified               bool
	CredentialID           string
	IssuerID               string
	IssuerName             string
	AchievementID          string
	AchievementName        string
	AchievementCode        string
	AchievementDescription string
	Criteria               string
	HolderName             string
	ValidFrom              time.Time
	ValidUntil             *time.Time
}

// Message says the result in a sentence for people.
func (r Result) Message() string {
	switch r.Reason {
	case "":
		return "This credential is valid: it was signed by its issuer, has not been changed and has not been withdrawn."
	case ReasonMalformed:
		return "This is not a credential that can be read. Check that you copied all of it, with nothing added."
	case ReasonUnknownKey:
		return "This credential was not signed by a key of the organisation it names, so it cannot be trusted."
	case ReasonBadSignature:
		return "This credential has been changed since it was signed, so it cannot be trusted."
	case ReasonNotYetValid:
		return "This credential is not valid yet."
	case ReasonExpired:
		return "This credential has expired: the competency was due to be re-assessed."
	case ReasonRevoked:
		return "This credential has been withdrawn by its issuer: the competency is no longer current."
	}
	return "This credential is not valid."
}

// keyLookup finds an issuer's published public key by id.
type keyLookup func(ctx context.Context, slug, kid string) (credential.PublicKey, bool, error)

// statusLookup returns an issuer's published status list.
type statusLookup func(ctx context.Context, slug string) (*credential.StatusList, error)

// verify checks token, a compact credential, against the published keys and
// status lists at time now. Its error is only ever a failure to read those
// (an internal error); every fault of the credential is a Result reason.
func (u urls) verify(ctx context.Context, token string, now time.Time, keys keyLookup, status statusLookup) (Result, error) {
	res := Result{CheckedAt: now.UTC()}
	fail := func(reason string) (Result, error) {
		res.Valid, res.Reason = false, reason
		return res, nil
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return fail(ReasonMalformed)
	}
	c, err := parseCompact(token)
	if err != nil {
		return fail(ReasonMalformed)
	}
	if c.header.Alg != algEdDSA || (c.header.Typ != "" && c.header.Typ != typJWT && c.header.Typ != typVCJWT) {
		return fail(ReasonMalformed)
	}
	slug, kid, ok := u.parseKey(c.header.Kid)
	if !ok {
		return fail(ReasonUnknownKey)
	}
	pub, ok, err := keys(ctx, slug, kid)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return fail(ReasonUnknownKey)
	}
	if !c.verifySignature(pub.Key) {
		return fail(ReasonBadSignature)
	}

	// Signed by the key the header names: from here the payload is what
	// that issuer signed, and any fault in it is the issuer's.
	var p badgePayload
	if err := decodeStrict(c.payload, &p); err != nil {
		return fail(ReasonMalformed)
	}
	if p.Issuer.ID != u.issuer(slug) {
		return fail(ReasonUnknownKey) // one issuer's key vouching for another
	}
	from, until, idx, ok := u.consistent(p, slug)
	if !ok {
		return fail(ReasonMalformed)
	}
	res.Verified = true
	res.CredentialID, res.IssuerID, res.IssuerName = p.ID, p.Issuer.ID, p.Issuer.Name
	a := p.CredentialSubject.Achievement
	res.AchievementID, res.AchievementName, res.AchievementCode = a.ID, a.Name, a.HumanCode
	res.AchievementDescription, res.Criteria = a.Description, a.Criteria.Narrative
	for _, id := range p.CredentialSubject.Identifier {
		if id.IdentityType == "name" && !id.Hashed {
			res.HolderName = id.IdentityHash
			break
		}
	}
	res.ValidFrom, res.ValidUntil = from, until

	if now.Before(from) {
		return fail(ReasonNotYetValid)
	}
	if until != nil && !now.Before(*until) {
		return fail(ReasonExpired)
	}
	list, err := status(ctx, slug)
	if err != nil {
		return Result{}, err
	}
	revoked, err := list.Revoked(idx)
	if err != nil {
		return fail(ReasonMalformed)
	}
	if revoked {
		return fail(ReasonRevoked)
	}
	res.Valid = true
	return res, nil
}

// consistent checks that a signed payload is an Open Badges credential of
// the issuer slug whose JWT claims agree with it, and returns its validity
// period and status index.
func (u urls) consistent(p badgePayload, slug string) (from time.Time, until *time.Time, idx int, ok bool) {
	if len(p.Context) < 2 || p.Context[0] != ContextVC2 || !slices.Contains(p.Context, ContextOB30) {
		return
	}
	if !slices.Contains(p.Type, TypeVC) || !(slices.Contains(p.Type, TypeOpenBadge) || slices.Contains(p.Type, TypeAchievementAlias)) {
		return
	}
	if !slices.Contains(p.Issuer.Type, "Profile") || !slices.Contains(p.CredentialSubject.Type, "AchievementSubject") ||
		!slices.Contains(p.CredentialSubject.Achievement.Type, "Achievement") {
		return
	}
	if p.ID == "" || p.Iss != p.Issuer.ID || p.Jti != p.ID || p.Sub != p.CredentialSubject.ID {
		return
	}
	from, err := parseStamp(p.ValidFrom)
	if err != nil || p.Nbf != from.Unix() {
		return
	}
	switch {
	case p.ValidUntil == "" && p.Exp != nil, p.ValidUntil != "" && p.Exp == nil:
		return
	case p.ValidUntil != "":
		t, err := parseStamp(p.ValidUntil)
		if err != nil || *p.Exp != t.Unix() || !t.After(from) {
			return
		}
		until = &t
	}
	st := p.CredentialStatus
	if st.Type != TypeStatusEntry || st.StatusPurpose != credential.StatusPurpose || st.StatusListCredential != u.status(slug) {
		return
	}
	idx, err = strconv.Atoi(st.StatusListIndex)
	if err != nil || idx < 0 || strconv.Itoa(idx) != st.StatusListIndex {
		return
	}
	return from, until, idx, true
}

// errNoStatusList is returned when a verified credential's issuer publishes
// no status list: the platform lost it, which is never the credential's fault.
var errNoStatusList = errors.New("badge: issuer has no status list")
