package badge

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/throttle"
	"github.com/carepass/carepass/tenants"
)

// Service issues, verifies and withdraws credentials. The holder's use
// cases run in a platform transaction acting as the holder's account, where
// row-level security shows the account its own records and credentials
// only, and are audited on the platform chain; status changes run inside
// the record service's tenant transaction and are audited on the tenant's.
type Service struct {
	db      *tenants.DB
	tenants *tenants.Store
	keys    *issuer.Service
	audit   *audit.Log
	urls    urls
	now     func() time.Time

	throttle *throttle.Limiter

	mu       sync.Mutex
	statuses map[string]signedStatus
}

// signedStatus is a status list credential signed recently.
type signedStatus struct {
	jwt     string
	updated time.Time // of the list it was signed from
	at      time.Time
}

// statusCacheTTL is how long a signed status list credential is reused
// while its list is unchanged.
const statusCacheTTL = 5 * time.Second

// NewService returns the service. baseURL is the public origin of the
// application (https://carepass.example), from which every identifier in
// a credential is made; now is the clock (time.Now when nil).
func NewService(db *tenants.DB, store *tenants.Store, keys *issuer.Service, log *audit.Log, baseURL string,
	now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, tenants: store, keys: keys, audit: log, urls: urls{base: strings.TrimRight(baseURL, "/")},
		now: now, throttle: throttle.New(verifyPerMinute, verifyPerSecond, now), statuses: map[string]signedStatus{}}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Messages.
const (
	msgNoRecord  = "No competency of yours has that reference"
	msgNoBadge   = "No credential of yours has that reference"
	msgNoIssuer  = "No issuer has that reference"
	msgChooseOne = "Choose the competency to make a credential of"
)

func storeErr(op string, err error) error {
	return pg.StoreErr("badge", op, err)
}

func actorOf(ctx context.Context) error {
	if _, ok := tenants.ActorFrom(ctx); !ok {
		return errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	return nil
}

// source is a record with everything a credential says about it, as its
// holder may read it.
type source struct {
	TenantID             uuid.UUID
	TenantSlug           string
	TenantName           string
	TenantStatus         string
	RecordID             uuid.UUID
	HolderID             uuid.UUID
	PersonID             uuid.UUID
	State                string
	SignedOffAt          *time.Time
	ReassessmentRequired bool
	CompetencyID         uuid.UUID
	Code                 string
	Title                string
	Description          string
	Kind                 string
	Specificity          string
	AssessmentMethod     string
	SignoffBy            []byte // JSON array of strings
	Practices            int
	Months               int
	CatalogueVersion     int
	GivenName            string
	FamilyName           string
}

const sourceQuery = `SELECT r.tenant_id, t.slug, t.name, t.status, r.id, r.holder_id, r.person_id, r.state, r.signed_off_at,
		r.reassessment_required, c.id, c.code, c.title, c.description, c.kind, c.specificity, c.assessment_method,
		c.signoff_by, c.supervised_practices, c.reassess_months, cat.version, h.given_name, h.family_name
	FROM competency_records r
	JOIN tenants t ON t.id = r.tenant_id
	JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
	JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
	JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
	WHERE r.id = ? AND r.person_id IN (SELECT app_own_persons())`

func (s *Service) ownSource(tx *gorm.DB, recordID uuid.UUID) (source, error) {
	var v source
	err := tx.Raw(sourceQuery, recordID).Row().Scan(&v.TenantID, &v.TenantSlug, &v.TenantName, &v.TenantStatus, &v.RecordID,
		&v.HolderID, &v.PersonID, &v.State, &v.SignedOffAt, &v.ReassessmentRequired, &v.CompetencyID, &v.Code, &v.Title,
		&v.Description, &v.Kind, &v.Specificity, &v.AssessmentMethod, &v.SignoffBy, &v.Practices, &v.Months,
		&v.CatalogueVersion, &v.GivenName, &v.FamilyName)
	if errors.Is(err, sql.ErrNoRows) {
		return source{}, errs.E(errs.NotFound, msgNoRecord)
	}
	if err != nil {
		return source{}, storeErr("read record", err)
	}
	return v, nil
}

// expiry is when the record's sign-off lapses, or nil.
func expiry(signedOff *time.Time, months int) *time.Time {
	if signedOff == nil || months <= 0 {
		return nil
	}
	e := record.ExpiresAt(*signedOff, months).UTC()
	return &e
}

// current reports whether a record is a current sign-off at now: stored as
// competent, signed off, not awaiting re-assessment and not expired. It
// says why not in a phrase completing "This competency is …".
func current(state string, signedOff *time.Time, reassess bool, months int, now time.Time) (bool, string) {
	switch {
	case state == string(record.NotYetCompetent):
		return false, "assessed as not yet competent"
	case state == string(record.Suspended):
		return false, "suspended"
	case state == string(record.Revoked):
		return false, "revoked"
	case state != string(record.Competent) || signedOff == nil:
		return false, "not signed off yet"
	case reassess:
		return false, "awaiting re-assessment against a changed care prescription"
	}
	if e := expiry(signedOff, months); e != nil && !now.Before(*e) {
		return false, "expired"
	}
	return true, ""
}

// narrative is the achievement's criteria: how the competency is earned.
func (v source) narrative() string {
	var by []string
	_ = json.Unmarshal(v.SignoffBy, &by) // a malformed list only shortens the sentence
	var b strings.Builder
	switch v.Kind {
	case "assessor", "trainer":
		fmt.Fprintf(&b, "Conferred by appointment by %s on the evidence of the holder's %s award.", v.TenantName, v.Kind)
	default:
		b.WriteString("Assessed in practice and signed off as competent by an assessor authorised for this competency")
		if len(by) > 0 {
			b.WriteString(" (" + strings.Join(by, "; ") + ")")
		}
		b.WriteString(".")
		if v.Practices > 0 {
			fmt.Fprintf(&b, " Sign-off follows %d observed supervised practices.", v.Practices)
		}
		if m := strings.TrimSpace(v.AssessmentMethod); m != "" {
			b.WriteString(" Assessment: " + m)
			if !strings.HasSuffix(m, ".") {
				b.WriteString(".")
			}
		}
	}
	switch v.Specificity {
	case "person":
		b.WriteString(" Signed off against one cared-for person's care prescription: it does not show competence in anyone else's care.")
	case "equipment":
		b.WriteString(" Specific to the equipment it was assessed on.")
	}
	fmt.Fprintf(&b, " Re-assessed every %d months.", v.Months)
	return b.String()
}

// Issue makes a credential of one of the signed-in holder's own records
// that is signed off and current, or returns the credential already made
// of that sign-off while it is valid. Another person's record is NotFound;
// a record that is not current is Invalid. Audited as badge.issue on the
// platform chain.
func (s *Service) Issue(ctx context.Context, recordID uuid.UUID) (Badge, error) {
	if err := actorOf(ctx); err != nil {
		return Badge{}, err
	}
	var out Badge
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		// One credential per sign-off, even when the holder asks twice at once.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "badge:"+recordID.String()).Error; err != nil {
			return storeErr("lock record", err)
		}
		v, err := s.ownSource(tx, recordID)
		if err != nil {
			return err
		}
		now := s.clock()
		if ok, why := current(v.State, v.SignedOffAt, v.ReassessmentRequired, v.Months, now); !ok {
			return errs.E(errs.Invalid, "Only a competency that is signed off and current can be made into a credential. This one is "+why+".")
		}
		if v.TenantStatus != string(tenants.StatusActive) {
			return errs.E(errs.Invalid, v.TenantName+" cannot issue credentials at the moment. Ask them when it can again.")
		}
		from := v.SignedOffAt.UTC().Truncate(time.Second)
		existing, ok, err := s.liveBadge(tx, v.TenantID, v.RecordID, from, now)
		if err != nil || ok {
			out = existing
			return err
		}
		t := tenants.Tenant{ID: v.TenantID, Slug: v.TenantSlug, Name: v.TenantName}
		key, err := s.keys.SigningKey(ctx, tx, t)
		if err != nil {
			return fmt.Errorf("badge: signing key: %w", err)
		}
		idx, err := s.keys.Allocate(ctx, tx, t.ID, issuer.KindBadge)
		if err != nil {
			return fmt.Errorf("badge: status position: %w", err)
		}
		id := uuid.Must(uuid.NewV7())
		until := expiry(v.SignedOffAt, v.Months)
		p := s.urls.build(subject{BadgeID: id, IssuerName: v.TenantName, IssuerSlug: v.TenantSlug, HolderID: v.HolderID,
			HolderName: v.GivenName + " " + v.FamilyName, CompetencyID: v.CompetencyID, Code: v.Code, Title: v.Title,
			Description: v.Description, Narrative: v.narrative(), CatalogueVer: v.CatalogueVersion, SignedOff: from,
			Expires: until, StatusIndex: idx, IssuedAt: now})
		jwt, err := sign(header{Alg: algEdDSA, Kid: s.urls.key(t.Slug, key.KID), Typ: typJWT}, p, key.Private)
		if err != nil {
			return err
		}
		if len(jwt) > MaxCredentialSize {
			return fmt.Errorf("badge: credential of %d bytes is over the %d a verifier reads", len(jwt), MaxCredentialSize)
		}
		out = Badge{ID: id, TenantID: t.ID, TenantSlug: t.Slug, TenantName: t.Name, RecordID: v.RecordID,
			CompetencyCode: v.Code, CompetencyTitle: v.Title, StatusIndex: idx, KID: key.KID, IssuedAt: now,
			ValidFrom: from, ValidUntil: until, JWT: jwt}
		if err := tx.Exec(`INSERT INTO badges (tenant_id, id, record_id, person_id, status_index, kid, issued_at, valid_from,
				valid_until, jwt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, id, v.RecordID, v.PersonID, idx, key.KID, now, from, until, jwt).Error; err != nil {
			return storeErr("store credential", err)
		}
		return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: "badge.issue", ObjectType: "badge", ObjectID: id.String(),
			Detail: map[string]string{"issuer": t.Slug, "record": v.RecordID.String(), "competency": v.Code,
				"status_index": strconv.Itoa(idx)}})
	})
	if err != nil {
		return Badge{}, err
	}
	return out, nil
}

// badgeColumns reads a credential with its issuer and competency.
const badgeColumns = `b.id, b.tenant_id, t.slug, t.name, b.record_id, c.code, c.title, b.status_index, b.kid, b.issued_at,
	b.valid_from, b.valid_until, b.revoked, b.revoked_at, b.jwt`

const badgeFrom = `badges b
	JOIN tenants t ON t.id = b.tenant_id
	JOIN competency_records r ON r.tenant_id = b.tenant_id AND r.id = b.record_id
	JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id`

type scanner interface{ Scan(dest ...any) error }

func scanBadge(r scanner) (Badge, error) {
	var b Badge
	err := r.Scan(&b.ID, &b.TenantID, &b.TenantSlug, &b.TenantName, &b.RecordID, &b.CompetencyCode, &b.CompetencyTitle,
		&b.StatusIndex, &b.KID, &b.IssuedAt, &b.ValidFrom, &b.ValidUntil, &b.Revoked, &b.RevokedAt, &b.JWT)
	return b, err
}

func (s *Service) badges(tx *gorm.DB, where string, args ...any) ([]Badge, error) {
	rows, err := tx.Raw(`SELECT `+badgeColumns+` FROM `+badgeFrom+` WHERE `+where+` ORDER BY b.issued_at DESC, b.id DESC`,
		args...).Rows()
	if err != nil {
		return nil, storeErr("read credentials", err)
	}
	defer rows.Close()
	var out []Badge
	for rows.Next() {
		b, err := scanBadge(rows)
		if err != nil {
			return nil, storeErr("read credentials", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read credentials", err)
	}
	return out, nil
}

// liveBadge returns the valid credential made of the record's sign-off at
// from, if there is one.
func (s *Service) liveBadge(tx *gorm.DB, tenantID, recordID uuid.UUID, from, now time.Time) (Badge, bool, error) {
	list, err := s.badges(tx, `b.tenant_id = ? AND b.record_id = ? AND NOT b.revoked AND b.valid_from = ?
		AND (b.valid_until IS NULL OR b.valid_until > ?)`, tenantID, recordID, from, now)
	if err != nil || len(list) == 0 {
		return Badge{}, false, err
	}
	return list[0], true, nil
}

// Own returns the signed-in holder's current sign-offs and credentials.
// An account linked to no passport gets an empty wallet, Claimed false.
func (s *Service) Own(ctx context.Context) (Wallet, error) {
	if err := actorOf(ctx); err != nil {
		return Wallet{}, err
	}
	var w Wallet
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM app_own_persons()`).Row().Scan(&n); err != nil {
			return storeErr("read own person", err)
		}
		if n == 0 {
			return nil
		}
		w.Claimed = true
		var err error
		if w.Badges, err = s.badges(tx, `b.person_id IN (SELECT app_own_persons())`); err != nil {
			return err
		}
		rows, err := tx.Raw(`SELECT r.id, r.tenant_id, t.name, c.code, c.title, r.signed_off_at, r.reassessment_required, c.reassess_months
			FROM competency_records r
			JOIN tenants t ON t.id = r.tenant_id
			JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			WHERE r.person_id IN (SELECT app_own_persons()) AND r.state = 'competent' AND r.signed_off_at IS NOT NULL
			ORDER BY lower(t.name), c.code, r.signed_off_at`).Rows()
		if err != nil {
			return storeErr("read records", err)
		}
		defer rows.Close()
		now := s.clock()
		for rows.Next() {
			var (
				c        Competency
				reassess bool
				months   int
			)
			if err := rows.Scan(&c.RecordID, &c.TenantID, &c.TenantName, &c.Code, &c.Title, &c.SignedOffAt, &reassess, &months); err != nil {
				return storeErr("read records", err)
			}
			if ok, _ := current(string(record.Competent), &c.SignedOffAt, reassess, months, now); !ok {
				continue
			}
			c.ExpiresAt = expiry(&c.SignedOffAt, months)
			from := c.SignedOffAt.UTC().Truncate(time.Second)
			for i := range w.Badges {
				b := &w.Badges[i]
				if b.RecordID == c.RecordID && b.ValidFrom.Equal(from) && b.Live(now) {
					c.Badge = b
					break
				}
			}
			w.Competencies = append(w.Competencies, c)
		}
		return rows.Err()
	})
	if err != nil {
		return Wallet{}, err
	}
	return w, nil
}

// OwnBadge returns one of the signed-in holder's own credentials.
func (s *Service) OwnBadge(ctx context.Context, id uuid.UUID) (Badge, error) {
	if err := actorOf(ctx); err != nil {
		return Badge{}, err
	}
	var out Badge
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		list, err := s.badges(tx, `b.id = ? AND b.person_id IN (SELECT app_own_persons())`, id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return errs.E(errs.NotFound, msgNoBadge)
		}
		out = list[0]
		return nil
	})
	return out, err
}

// RecordChanged brings the status bits of a record's credentials in line
// with the record, inside the record service's transaction tx (scoped to
// the tenant in ctx): set while the record is revoked, suspended, not yet
// competent, awaiting re-assessment or expired, clear while it is current
// and the credential's own validity has not ended. Each change is audited
// on the tenant's chain.
func (s *Service) RecordChanged(ctx context.Context, tx *gorm.DB, recordID uuid.UUID) error {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return errors.New("badge: record change outside a tenant")
	}
	type row struct {
		ID          uuid.UUID
		StatusIndex int
		Revoked     bool
		ValidUntil  *time.Time
	}
	var list []row
	if err := tx.Raw(`SELECT id, status_index, revoked, valid_until FROM badges WHERE tenant_id = ? AND record_id = ?
		ORDER BY id`, t.ID, recordID).Scan(&list).Error; err != nil {
		return storeErr("read credentials", err)
	}
	if len(list) == 0 {
		return nil
	}
	var (
		state     string
		signedOff *time.Time
		reassess  bool
		months    int
	)
	err := tx.Raw(`SELECT r.state, r.signed_off_at, r.reassessment_required, c.reassess_months FROM competency_records r
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		WHERE r.tenant_id = ? AND r.id = ?`, t.ID, recordID).Row().Scan(&state, &signedOff, &reassess, &months)
	if err != nil {
		return storeErr("read record", err)
	}
	now := s.clock()
	live, why := current(state, signedOff, reassess, months, now)
	for _, b := range list {
		want := !live || (b.ValidUntil != nil && !now.Before(*b.ValidUntil))
		if want == b.Revoked {
			continue
		}
		reason := why
		if live {
			reason = "credential expired"
		}
		if err := s.setStatus(ctx, tx, t, b.ID, b.StatusIndex, want, now, reason); err != nil {
			return err
		}
	}
	return nil
}

// setStatus sets or clears one credential's status bit and records it.
func (s *Service) setStatus(ctx context.Context, tx *gorm.DB, t tenants.Tenant, id uuid.UUID, idx int, revoked bool,
	now time.Time, reason string) error {
	if err := s.keys.SetRevoked(ctx, tx, t.ID, idx, revoked); err != nil {
		return fmt.Errorf("badge: status bit: %w", err)
	}
	var at *time.Time
	action := "badge.reinstate"
	if revoked {
		at, action = &now, "badge.withdraw"
	}
	if err := tx.Exec(`UPDATE badges SET revoked = ?, revoked_at = ? WHERE tenant_id = ? AND id = ?`,
		revoked, at, t.ID, id).Error; err != nil {
		return storeErr("update credential", err)
	}
	detail := map[string]string{"status_index": strconv.Itoa(idx)}
	if revoked && reason != "" {
		detail["reason"] = reason
	}
	return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "badge", ObjectID: id.String(), Detail: detail})
}

// sweepBatch bounds the credentials one sweep withdraws.
const sweepBatch = 1000

// SweepExpired withdraws, in tenant t, every credential whose validity has
// ended or whose record is no longer current but whose status bit is still
// clear (a safety net behind RecordChanged), and returns how many it
// withdrew. The server runs it periodically; a credential's own validUntil
// already shows any verifier that it expired.
func (s *Service) SweepExpired(ctx context.Context, t tenants.Tenant) (int, error) {
	ctx = tenants.WithTenant(ctx, t)
	n := 0
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		type row struct {
			ID                   uuid.UUID
			StatusIndex          int
			ValidUntil           *time.Time
			State                string
			SignedOffAt          *time.Time
			ReassessmentRequired bool
			ReassessMonths       int
		}
		var list []row
		err := tx.Raw(`SELECT b.id, b.status_index, b.valid_until, r.state, r.signed_off_at, r.reassessment_required,
				c.reassess_months
			FROM badges b
			JOIN competency_records r ON r.tenant_id = b.tenant_id AND r.id = b.record_id
			JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			WHERE b.tenant_id = ? AND NOT b.revoked
			  AND (b.valid_until <= ? OR r.state <> 'competent' OR r.reassessment_required OR r.signed_off_at IS NULL
			       OR r.signed_off_at + make_interval(months => c.reassess_months) <= ?)
			ORDER BY b.valid_until NULLS LAST, b.id LIMIT ?`, t.ID, now, now.AddDate(0, 0, 2), sweepBatch).
			Scan(&list).Error
		if err != nil {
			return storeErr("read expired credentials", err)
		}
		for _, b := range list {
			live, why := current(b.State, b.SignedOffAt, b.ReassessmentRequired, b.ReassessMonths, now)
			if live && (b.ValidUntil == nil || now.Before(*b.ValidUntil)) {
				continue // near its expiry, not past it
			}
			if live {
				why = "credential expired"
			}
			if err := s.setStatus(ctx, tx, t, b.ID, b.StatusIndex, true, now, why); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// IssuerProfile returns the Open Badges profile of the issuer with slug.
func (s *Service) IssuerProfile(ctx context.Context, slug string) (Profile, error) {
	if !credential.ValidIssuer(slug) {
		return Profile{}, errs.E(errs.NotFound, msgNoIssuer)
	}
	t, err := s.tenants.BySlug(ctx, slug)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return Profile{}, errs.E(errs.NotFound, msgNoIssuer)
		}
		return Profile{}, err
	}
	return Profile{Context: []string{ContextOB30}, ID: s.urls.issuer(t.Slug), Type: []string{"Profile"}, Name: t.Name}, nil
}

// JWK is an issuer's public key as a JSON Web Key (RFC 8037: an Ed25519
// octet key pair).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// PublicKey returns the published key kid of the issuer slug, current or
// retired, as a JWK: what a credential's "kid" dereferences to.
func (s *Service) PublicKey(ctx context.Context, slug, kid string) (JWK, error) {
	set, err := s.keys.KeySet(ctx)
	if err != nil {
		return JWK{}, err
	}
	k, ok := set.Lookup(slug, kid)
	if !ok {
		return JWK{}, errs.E(errs.NotFound, "No key has that reference")
	}
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Key), Kid: s.urls.key(slug, k.KID),
		Alg: algEdDSA, Use: "sig"}, nil
}

// StatusCredential returns the issuer's status list as a Bitstring Status
// List credential signed by the issuer's key (a compact JWT). An issuer
// that has issued nothing has none: NotFound.
func (s *Service) StatusCredential(ctx context.Context, slug string) (string, error) {
	if !credential.ValidIssuer(slug) {
		return "", errs.E(errs.NotFound, msgNoIssuer)
	}
	doc, err := s.keys.StatusList(ctx, slug)
	if errors.Is(err, issuer.ErrNoList) {
		return "", errs.E(errs.NotFound, "No status list for that issuer")
	}
	if err != nil {
		return "", fmt.Errorf("badge: status list: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	c, ok := s.statuses[slug]
	s.mu.Unlock()
	if ok && c.updated.Equal(doc.Updated) && now.Sub(c.at) < statusCacheTTL && !now.Before(c.at) {
		return c.jwt, nil
	}
	t, err := s.tenants.BySlug(ctx, slug)
	if err != nil {
		return "", err
	}
	var key credential.SigningKey
	if err := s.db.Platform(ctx, func(tx *gorm.DB) (err error) {
		key, err = s.keys.SigningKey(ctx, tx, t)
		return err
	}); err != nil {
		return "", fmt.Errorf("badge: signing key: %w", err)
	}
	jwt, err := s.signStatus(t.Slug, doc, key.KID, key.Private, now)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if len(s.statuses) > 10000 {
		clear(s.statuses)
	}
	s.statuses[slug] = signedStatus{jwt: jwt, updated: doc.Updated, at: now}
	s.mu.Unlock()
	return jwt, nil
}

func (s *Service) signStatus(slug string, doc credential.StatusListDocument, kid string, key ed25519.PrivateKey,
	now time.Time) (string, error) {
	from := doc.Updated.UTC().Truncate(time.Second)
	c := StatusListCredential{
		Context:   []string{ContextVC2},
		ID:        s.urls.status(slug),
		Type:      []string{TypeVC, TypeStatusListCredential},
		Issuer:    s.urls.issuer(slug),
		ValidFrom: stamp(from),
		CredentialSubject: StatusListSubject{ID: s.urls.status(slug) + "#list", Type: TypeStatusList,
			StatusPurpose: credential.StatusPurpose, EncodedList: doc.EncodedList, TTL: statusTTL},
	}
	p := statusPayload{StatusListCredential: c, claims: claims{Iss: c.Issuer, Jti: c.ID, Nbf: from.Unix(), Iat: now.Unix()}}
	return sign(header{Alg: algEdDSA, Kid: s.urls.key(slug, kid), Typ: typVCJWT}, p, key)
}

// Verify checks a compact credential: its form (at most MaxCredentialSize
// bytes), that a published key of the issuer it names signed it, that it
// is within its validity and that its status bit is clear. The Result says
// which; the error is only ever an internal failure.
func (s *Service) Verify(ctx context.Context, token string) (Result, error) {
	var set *credential.KeySet
	keys := func(ctx context.Context, slug, kid string) (credential.PublicKey, bool, error) {
		if set == nil {
			var err error
			if set, err = s.keys.KeySet(ctx); err != nil {
				return credential.PublicKey{}, false, fmt.Errorf("badge: key set: %w", err)
			}
		}
		k, ok := set.Lookup(slug, kid)
		return k, ok, nil
	}
	status := func(ctx context.Context, slug string) (*credential.StatusList, error) {
		doc, err := s.keys.StatusList(ctx, slug)
		if errors.Is(err, issuer.ErrNoList) {
			return nil, fmt.Errorf("%w: %s", errNoStatusList, slug)
		}
		if err != nil {
			return nil, fmt.Errorf("badge: status list: %w", err)
		}
		return doc.List()
	}
	return s.urls.verify(ctx, token, s.now(), keys, status)
}

// Default verification limits, per process: per client and in total.
const (
	verifyPerMinute = 60
	verifyPerSecond = 200
)

// SetVerifyLimits replaces the default verification limits (60 a minute
// per client, 200 a second in total) with the configured ones; values
// below 1 keep the default. Call it before serving.
func (s *Service) SetVerifyLimits(perMinute, perSecond int) {
	if perMinute < 1 {
		perMinute = verifyPerMinute
	}
	if perSecond < 1 {
		perSecond = verifyPerSecond
	}
	s.throttle = throttle.New(perMinute, perSecond, s.now)
}

// Allow takes one verification from client's allowance; false means the
// client (or everyone together) is over the limit for now.
func (s *Service) Allow(client string) bool { return s.throttle.Allow(client) }
