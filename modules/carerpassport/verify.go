package carerpassport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// VerifyInput is one request to verify a passport.
type VerifyInput struct {
	// Text is a typed code, or the text of a scanned QR code.
	Text    string
	Channel string // ChannelCode, ChannelQR, ChannelLink or ChannelAPI
	// Verifier is the tenant checking, or uuid.Nil for an anonymous check.
	Verifier uuid.UUID
	// Client identifies the caller for throttling: an account or an address.
	Client string
}

// maxVerifyText bounds what a verification reads.
const maxVerifyText = credential.MaxQRLength

// ErrThrottled is the error of a verification refused for its rate.
var ErrThrottled = errs.E(errs.TooMany, "Too many checks from here. Wait a minute, then try again.")

// Verify answers whether the passport with a code or QR text is valid now,
// and records the check. Any code or QR that is malformed, unknown, not
// signed by a published key, expired, suspended or revoked, or of a
// suspended issuer, gets the same negative Result; the error is only for a
// throttled caller or an unavailable database.
//
// The lookup sees the passport's current state, so a revocation is visible
// at once; it runs outside any tenant scope, where row-level security shows
// only the one passport the transaction names.
func (s *Service) Verify(ctx context.Context, in VerifyInput) (Result, error) {
	if !s.throttle.Allow(in.Client) {
		return Result{}, ErrThrottled
	}
	now := s.now().UTC()
	text := strings.TrimSpace(in.Text)
	if len(text) > maxVerifyText {
		return Result{}, s.logUnmatched(ctx, now, in)
	}
	if strings.HasPrefix(strings.ToUpper(text), credential.QRPrefix) {
		if in.Channel == ChannelCode || in.Channel == "" {
			in.Channel = ChannelQR
		}
		return s.verifyQR(ctx, now, text, in)
	}
	code, err := credential.ParseCode(text)
	if err != nil {
		return Result{}, s.logUnmatched(ctx, now, in)
	}
	return s.lookup(ctx, now, in, "app.verify_code", code.String(), verifyByCode)
}

func (s *Service) verifyQR(ctx context.Context, now time.Time, text string, in VerifyInput) (Result, error) {
	signed, err := credential.ParseQR(text)
	if err != nil {
		return Result{}, s.logUnmatched(ctx, now, in)
	}
	keys, err := s.Issuer.KeySet(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("carerpassport: key set: %w", err)
	}
	pub, ok := keys.Lookup(signed.Payload.Issuer, signed.KeyID)
	if !ok || !signed.CheckSignature(pub.Key) {
		return Result{}, s.logUnmatched(ctx, now, in)
	}
	return s.lookup(ctx, now, in, "app.verify_id", signed.Payload.CredentialID.String(), verifyByID, signed.Payload.Issuer)
}

// verifySQL finds the passport, judges it at $2 and records the check, in
// one statement. %s is the condition that picks the passport.
const verifySQL = `WITH p AS (
	SELECT p.tenant_id, p.id, p.code, p.holder_name, p.scheme_name, p.benefits, p.valid_until, t.name AS issuer,
	       (p.state = 'active' AND t.status = 'active' AND p.valid_from <= $2 AND p.valid_until >= $2) AS ok
	FROM carer_passports p JOIN tenants t ON t.id = p.tenant_id
	WHERE %s),
logged AS (
	INSERT INTO passport_checks (id, at, passport_tenant, passport_id, verifier_tenant, channel, outcome)
	SELECT $3, $2, p.tenant_id, p.id, $4, $5, CASE WHEN p.ok THEN 'confirmed' ELSE 'not_confirmed' END
	FROM (SELECT 1) one LEFT JOIN p ON true)
SELECT p.ok, p.code, p.holder_name, p.scheme_name, p.benefits, p.valid_until, p.issuer FROM p`

var (
	verifyByCode = fmt.Sprintf(verifySQL, `p.code = $1`)
	verifyByID   = fmt.Sprintf(verifySQL, `p.id = $1::uuid AND t.slug = $6`)
)

// lookup runs the verification in one round trip: a batch that names the
// passport for row-level security (setting, which lasts until the batch's
// implicit transaction ends) and then reads it and logs the check.
func (s *Service) lookup(ctx context.Context, now time.Time, in VerifyInput, setting, value, query string, extra ...any) (Result, error) {
	args := []any{value, now, newID(), verifier(in.Verifier), channel(in.Channel)}
	args = append(args, extra...)
	b := &pgx.Batch{}
	// The check log is written without waiting for its WAL flush: a crash of
	// the database server can lose the last fraction of a second of checks,
	// never a passport or its state, and each check saves a disk sync.
	b.Queue(`SELECT set_config($1, $2, true), set_config('synchronous_commit', 'off', true)`, setting, value)
	b.Queue(query, args...)
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return Result{}, verifyErr(err)
	}
	var (
		r        Result
		ok       bool
		benefits []byte
	)
	err := br.QueryRow().Scan(&ok, &r.Code, &r.HolderName, &r.SchemeName, &benefits, &r.ValidUntil, &r.IssuerName)
	if errors.Is(err, pgx.ErrNoRows) {
		return Result{}, verifyErr(br.Close())
	}
	if err != nil {
		return Result{}, verifyErr(err)
	}
	if err := br.Close(); err != nil {
		return Result{}, verifyErr(err)
	}
	if !ok {
		return Result{}, nil
	}
	if err := json.Unmarshal(benefits, &r.Benefits); err != nil {
		return Result{}, fmt.Errorf("carerpassport: benefits: %w", err)
	}
	r.Confirmed, r.ValidUntil = true, r.ValidUntil.UTC()
	return r, nil
}

// logUnmatched records a check of text that names no passport.
func (s *Service) logUnmatched(ctx context.Context, now time.Time, in VerifyInput) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO passport_checks (id, at, verifier_tenant, channel, outcome)
		VALUES ($1, $2, $3, $4, 'not_confirmed')`, newID(), now, verifier(in.Verifier), channel(in.Channel))
	return verifyErr(err)
}

func verifyErr(err error) error {
	if err == nil {
		return nil
	}
	if pg.IsUnavailable(err) {
		return errs.Wrap(errs.Unavailable, "The service is temporarily unavailable", fmt.Errorf("carerpassport: verify: %w", err))
	}
	return fmt.Errorf("carerpassport: verify: %w", err)
}

func verifier(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func channel(c string) string {
	switch c {
	case ChannelCode, ChannelQR, ChannelLink, ChannelAPI:
		return c
	}
	return ChannelCode
}
