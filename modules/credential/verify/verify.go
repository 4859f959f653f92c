// Package verify checks a passport's signed QR payload offline, against a
// cached key set and status lists, and answers valid or invalid with the
// exact reason. Main is the core of the `carepass verify` command.
package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/carepass/carepass/modules/credential"
)

// Reason says why a credential is not valid.
type Reason string

// The reasons a credential is invalid. They are checked in this order, so a
// credential that is both expired and revoked is reported expired.
const (
	// Malformed: the text is not a well-formed payload (prefix, Base45,
	// zlib, CBOR, COSE structure, a claim) or is oversized.
	Malformed Reason = "malformed"
	// UnknownKey: the key set has no key of the issuer with the key id.
	UnknownKey Reason = "unknown_key"
	// BadSignature: the signature does not verify with the issuer's key.
	BadSignature Reason = "bad_signature"
	// NotYetValid: the credential's validity has not started.
	NotYetValid Reason = "not_yet_valid"
	// Expired: the credential's validity has ended.
	Expired Reason = "expired"
	// StatusUnavailable: no status list of the issuer covers the
	// credential, so revocation cannot be ruled out.
	StatusUnavailable Reason = "status_unavailable"
	// Revoked: the issuer's status list marks the credential revoked.
	Revoked Reason = "revoked"
)

// Errors returned with each reason; the malformed reason wraps
// credential.ErrMalformed.
var (
	ErrUnknownKey        = errors.New(string(UnknownKey))
	ErrBadSignature      = errors.New(string(BadSignature))
	ErrNotYetValid       = errors.New(string(NotYetValid))
	ErrExpired           = errors.New(string(Expired))
	ErrStatusUnavailable = errors.New(string(StatusUnavailable))
	ErrRevoked           = errors.New(string(Revoked))
)

// Result is the answer about one credential.
type Result struct {
	// Valid is true when the credential is valid; Reason is then empty.
	Valid bool
	// Reason says why the credential is invalid.
	Reason Reason
	// Payload is what the credential says, set only once its signature has
	// verified (so also for an expired or revoked credential).
	Payload credential.Payload
}

// invalid returns the result and error for reason.
func invalid(reason Reason, p credential.Payload, err error) (Result, error) {
	return Result{Reason: reason, Payload: p}, err
}

// Verify checks the QR text of a credential at time now against the
// issuers' public keys and status lists, offline. The error is nil exactly
// when the result is valid; otherwise it wraps the error of the reason with
// details. Verify never panics, whatever the text.
func Verify(qr string, keys *credential.KeySet, status credential.StatusLists, now time.Time) (Result, error) {
	signed, err := credential.ParseQR(qr)
	if err != nil {
		return invalid(Malformed, credential.Payload{}, err)
	}
	claimed := signed.Payload
	key, ok := keys.Lookup(claimed.Issuer, signed.KeyID)
	if !ok {
		return invalid(UnknownKey, credential.Payload{},
			fmt.Errorf("%w: issuer %q has no published key %q", ErrUnknownKey, claimed.Issuer, signed.KeyID))
	}
	if !signed.CheckSignature(key.Key) {
		return invalid(BadSignature, credential.Payload{},
			fmt.Errorf("%w: not signed by key %q of issuer %q", ErrBadSignature, signed.KeyID, claimed.Issuer))
	}
	p := claimed
	t := now.Unix()
	if t < p.ValidFrom.Unix() {
		return invalid(NotYetValid, p, fmt.Errorf("%w: valid from %s", ErrNotYetValid, p.ValidFrom.Format(time.RFC3339)))
	}
	if t > p.ValidUntil.Unix() {
		return invalid(Expired, p, fmt.Errorf("%w: valid until %s", ErrExpired, p.ValidUntil.Format(time.RFC3339)))
	}
	list, ok := status[p.Issuer]
	if !ok || list == nil {
		return invalid(StatusUnavailable, p, fmt.Errorf("%w: no status list of issuer %q", ErrStatusUnavailable, p.Issuer))
	}
	revoked, err := list.Revoked(p.StatusIndex)
	if err != nil {
		return invalid(StatusUnavailable, p, fmt.Errorf("%w: %w", ErrStatusUnavailable, err))
	}
	if revoked {
		return invalid(Revoked, p, fmt.Errorf("%w: status index %d of issuer %q", ErrRevoked, p.StatusIndex, p.Issuer))
	}
	return Result{Valid: true, Payload: p}, nil
}
