package share

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Enroller enrols an existing person in the tenant in ctx, inside tx, with
// the names staff typed (dateOfBirth as 2016-03-31), and returns the new
// holder's id; *holder.Service provides it. Field errors name given_name,
// family_name, date_of_birth and role_in_care.
type Enroller interface {
	EnrolPerson(ctx context.Context, tx *gorm.DB, personID uuid.UUID, givenName, familyName, dateOfBirth, roleInCare string) (uuid.UUID, error)
}

// Service makes, redeems, ends and reads shares. Holder use cases run in a
// platform transaction acting as the holder's account; tenant use cases in
// a transaction scoped to the request's tenant. Each is audited in the same
// transaction: the holder's on the platform chain, a tenant's on its own.
type Service struct {
	db      *tenants.DB
	tenants *tenants.Store
	holders Enroller
	audit   *audit.Log
	now     func() time.Time
}

// NewService returns a Service; now is the clock (time.Now when nil).
func NewService(db *tenants.DB, store *tenants.Store, holders Enroller, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, tenants: store, holders: holders, audit: log, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errors.New("share: no tenant in context"))
	}
	return t, nil
}

func actorOf(ctx context.Context) (uuid.UUID, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return uuid.Nil, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	return actor, nil
}

// Messages.
const (
	msgNoShare      = "No share with that reference"
	msgShareEnded   = "This share has ended: it was withdrawn or has expired"
	msgNoPassport   = "There is nothing to share yet: no organisation has linked a passport to your account."
	msgNoTenant     = "No organisation has this Carepass address. Check it with the organisation"
	msgOwnTenant    = "This is your own organisation. Choose the organisation you want to share the passport with"
	msgCodeUnknown  = "No share has this code. Check you have typed it exactly as it was given to you"
	msgCodeUsed     = "This share code has already been used. Ask the person for a new one"
	msgCodeRevoked  = "This share code has been withdrawn and can no longer be used. Ask the person for a new one"
	msgCodeOwn      = "This share code was created by your own organisation. Give it to the organisation that needs to see the passport"
	msgAlreadyThere = "Your organisation has already redeemed this share code"
)

// MsgCodeExpired is the message for a code redeemed after its expiry; %s is
// the date it expired.
const MsgCodeExpired = "This share code expired on %s. Ask the person for a new one"

// Created is a new share; Code is its share code, shown once, when the
// share was made as a code.
type Created struct {
	Share Share
	Code  string
}

// shareColumns reads a share with the names of the tenants it involves.
const shareColumns = `s.id, s.person_id, s.granted_via, s.granting_tenant, coalesce(gr.name, ''), s.grantee_tenant,
	coalesce(ge.name, ''), coalesce(ge.slug, ''), s.code_hash IS NOT NULL, s.consent_note, s.created_at, s.expires_at,
	s.redeemed_at, s.revoked_at`

const shareFrom = `passport_shares s LEFT JOIN tenants gr ON gr.id = s.granting_tenant LEFT JOIN tenants ge ON ge.id = s.grantee_tenant`

type scanner interface{ Scan(dest ...any) error }

func scanShare(r scanner) (Share, error) {
	var sh Share
	err := r.Scan(&sh.ID, &sh.PersonID, &sh.GrantedVia, &sh.GrantingTenantID, &sh.GrantingTenantName, &sh.GranteeTenantID,
		&sh.GranteeTenantName, &sh.GranteeTenantSlug, &sh.ByCode, &sh.ConsentNote, &sh.CreatedAt, &sh.ExpiresAt,
		&sh.RedeemedAt, &sh.RevokedAt)
	return sh, err
}

func (s *Service) shares(tx *gorm.DB, where string, args ...any) ([]Share, error) {
	rows, err := tx.Raw(`SELECT `+shareColumns+` FROM `+shareFrom+` WHERE `+where+` ORDER BY s.created_at DESC`, args...).Rows()
	if err != nil {
		return nil, storeErr("read shares", err)
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			return nil, storeErr("read shares", err)
		}
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read shares", err)
	}
	return out, nil
}

func (s *Service) share(tx *gorm.DB, lock bool, where string, args ...any) (Share, error) {
	q := `SELECT ` + shareColumns + ` FROM ` + shareFrom + ` WHERE ` + where
	if lock {
		q += ` FOR UPDATE OF s`
	}
	sh, err := scanShare(tx.Raw(q, args...).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, errs.E(errs.NotFound, msgNoShare)
	}
	if err != nil {
		return Share{}, storeErr("read share", err)
	}
	return sh, nil
}

// insert stores a new share for person as described by g; granting is the
// tenant granting it (nil for the holder), which may not receive it, and
// extra are problems the caller found with the rest of its form.
func (s *Service) insert(ctx context.Context, tx *gorm.DB, person uuid.UUID, g Grant, via, note string,
	granting *uuid.UUID, extra []errs.FieldError) (Created, error) {
	var (
		grantee *tenants.Tenant
		problem string
	)
	if slug := strings.ToLower(strings.TrimSpace(g.TenantSlug)); g.To == ToTenant && slug != "" {
		t, err := s.tenants.BySlug(ctx, slug)
		switch {
		case errs.Is(err, errs.NotFound):
			problem = msgNoTenant
		case err != nil:
			return Created{}, fmt.Errorf("share: grantee: %w", err)
		case granting != nil && t.ID == *granting:
			problem = msgOwnTenant
		default:
			grantee = &t
		}
	}
	ttl, fe := g.validate(problem)
	if fe = append(fe, extra...); len(fe) > 0 {
		return Created{}, errs.Validation(fe...)
	}
	now := s.clock()
	actor, _ := tenants.ActorFrom(ctx)
	out := Created{Share: Share{ID: uuid.Must(uuid.NewV7()), PersonID: person, GrantedVia: via, GrantingTenantID: granting,
		ConsentNote: note, CreatedAt: now, ExpiresAt: now.Add(ttl)}}
	var codeHash []byte
	if grantee != nil {
		// A direct grant needs no redeeming: it is live from now.
		out.Share.GranteeTenantID, out.Share.GranteeTenantName, out.Share.GranteeTenantSlug = &grantee.ID, grantee.Name, grantee.Slug
		out.Share.RedeemedAt = &now
	} else if g.To == ToCode {
		out.Code = NewCode()
		canonical, _ := ParseCode(out.Code)
		codeHash = hashCode(canonical)
		out.Share.ByCode = true
	}
	var grantedBy *uuid.UUID
	if actor != uuid.Nil {
		grantedBy = &actor
	}
	err := tx.Exec(`INSERT INTO passport_shares (id, person_id, grantee_tenant, granted_by, granted_via, consent_note,
			code_hash, created_at, expires_at, redeemed_at, granting_tenant)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		out.Share.ID, person, out.Share.GranteeTenantID, grantedBy, via, note, codeHash, now, out.Share.ExpiresAt,
		out.Share.RedeemedAt, granting).Error
	if err != nil {
		return Created{}, storeErr("create share", err)
	}
	return out, nil
}

func shareDetail(sh Share) map[string]string {
	d := map[string]string{"via": sh.GrantedVia, "expires_at": sh.ExpiresAt.Format(time.RFC3339)}
	if sh.ByCode {
		d["to"] = "code"
	} else {
		d["to"] = sh.GranteeTenantSlug
	}
	return d
}

// Holder use cases: the signed-in account's own passport.

// ownPerson returns the acting account's person inside tx, or a Conflict
// when it has none.
func ownPerson(tx *gorm.DB) (uuid.UUID, error) {
	var person uuid.UUID
	err := tx.Raw(`SELECT p FROM app_own_persons() AS p`).Row().Scan(&person)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, errs.E(errs.Conflict, msgNoPassport)
	}
	if err != nil {
		return uuid.Nil, storeErr("read own person", err)
	}
	return person, nil
}

// CreateOwn shares the signed-in account's own passport as g describes.
// Audited as share.create on the platform chain.
func (s *Service) CreateOwn(ctx context.Context, g Grant) (Created, error) {
	if _, err := actorOf(ctx); err != nil {
		return Created{}, err
	}
	var out Created
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		person, err := ownPerson(tx)
		if err != nil {
			return err
		}
		if out, err = s.insert(ctx, tx, person, g, ViaHolder, "Shared by the holder", nil, nil); err != nil {
			return err
		}
		return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: "share.create", ObjectType: "share",
			ObjectID: out.Share.ID.String(), Detail: shareDetail(out.Share)})
	})
	return out, err
}

// Own returns every share of the signed-in account's own passport, newest
// first; none when the account has no passport.
func (s *Service) Own(ctx context.Context) ([]Share, error) {
	if _, err := actorOf(ctx); err != nil {
		return nil, err
	}
	var out []Share
	err := s.db.Platform(ctx, func(tx *gorm.DB) (err error) {
		out, err = s.shares(tx, `s.person_id IN (SELECT app_own_persons())`)
		return err
	})
	return out, err
}

// OwnShareIDs returns the ids of the shares of the acting account's own
// passport, inside the caller's platform transaction tx (holder.WithShares
// takes it, so the holder's page lists views made through them).
func OwnShareIDs(ctx context.Context, tx *gorm.DB) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	if err := tx.WithContext(ctx).Raw(`SELECT id FROM passport_shares WHERE person_id IN (SELECT app_own_persons())`).
		Scan(&ids).Error; err != nil {
		return nil, storeErr("read own shares", err)
	}
	return ids, nil
}

// RevokeOwn ends a share of the signed-in account's own passport. Audited
// as share.revoke on the platform chain.
func (s *Service) RevokeOwn(ctx context.Context, id uuid.UUID) error {
	if _, err := actorOf(ctx); err != nil {
		return err
	}
	return s.db.Platform(ctx, func(tx *gorm.DB) error {
		sh, err := s.share(tx, true, `s.id = ? AND s.person_id IN (SELECT app_own_persons())`, id)
		if err != nil {
			return err
		}
		if err := s.revoke(tx, sh); err != nil {
			return err
		}
		return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: "share.revoke", ObjectType: "share", ObjectID: id.String(),
			Detail: map[string]string{"by": ViaHolder}})
	})
}

func (s *Service) revoke(tx *gorm.DB, sh Share) error {
	if sh.RevokedAt != nil {
		return errs.E(errs.Conflict, "This share has already been withdrawn")
	}
	if err := tx.Exec(`UPDATE passport_shares SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.clock(), sh.ID).Error; err != nil {
		return storeErr("revoke share", err)
	}
	return nil
}

// Granting tenant's use cases.

// HolderShares is the shares a tenant granted for one of its holders.
type HolderShares struct {
	HolderID   uuid.UUID
	HolderName string
	Left       bool
	Shares     []Share
}

// holderPerson reads the person, name and status of one of the tenant's holders.
func holderPerson(tx *gorm.DB, tenant, holderID uuid.UUID) (person uuid.UUID, name, status string, err error) {
	var given, family string
	err = tx.Raw(`SELECT person_id, given_name, family_name, status FROM holders WHERE tenant_id = ? AND id = ?`, tenant, holderID).
		Row().Scan(&person, &given, &family, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, "", "", errs.E(errs.NotFound, "No holder with that reference")
	}
	if err != nil {
		return uuid.Nil, "", "", storeErr("read holder", err)
	}
	return person, given + " " + family, status, nil
}

// CheckHolder returns NotFound unless the tenant in ctx has the holder. It
// reads no personal data and is not audited.
func (s *Service) CheckHolder(ctx context.Context, holderID uuid.UUID) error {
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM holders WHERE tenant_id = ? AND id = ?`, t.ID, holderID).Row().Scan(&n); err != nil {
			return storeErr("read holder", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, "No holder with that reference")
		}
		return nil
	})
}

// OfHolder returns the shares the tenant in ctx granted for its holder,
// newest first. The read is audited as share.list.
func (s *Service) OfHolder(ctx context.Context, holderID uuid.UUID) (HolderShares, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return HolderShares{}, err
	}
	out := HolderShares{HolderID: holderID}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		person, name, status, err := holderPerson(tx, t.ID, holderID)
		if err != nil {
			return err
		}
		out.HolderName, out.Left = name, status == "left"
		if out.Shares, err = s.shares(tx, `s.granting_tenant = ? AND s.person_id = ?`, t.ID, person); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "share.list", ObjectType: "holder", ObjectID: holderID.String(),
			Detail: map[string]string{"results": fmt.Sprint(len(out.Shares))}})
	})
	return out, err
}

// CreateForHolder shares the passport of the tenant's holder on their
// behalf, recording their consent. Audited as share.create on the tenant's
// chain.
func (s *Service) CreateForHolder(ctx context.Context, holderID uuid.UUID, g Grant, c Consent) (Created, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Created{}, err
	}
	if _, err := actorOf(ctx); err != nil {
		return Created{}, err
	}
	var out Created
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		person, _, status, err := holderPerson(tx, t.ID, holderID)
		if err != nil {
			return err
		}
		if status == "left" {
			return errs.E(errs.Conflict, "This holder has left. Mark them as active before sharing their passport.")
		}
		note, fe := c.note(s.clock())
		if out, err = s.insert(ctx, tx, person, g, ViaTenant, note, &t.ID, fe); err != nil {
			return err
		}
		detail := shareDetail(out.Share)
		detail["holder"], detail["consent_method"] = holderID.String(), c.Method
		return s.audit.Record(ctx, tx, audit.Event{Action: "share.create", ObjectType: "share", ObjectID: out.Share.ID.String(),
			Detail: detail})
	})
	return out, err
}

// Revoke ends a share the tenant in ctx granted. Audited as share.revoke.
func (s *Service) Revoke(ctx context.Context, id uuid.UUID) (Share, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Share{}, err
	}
	var sh Share
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if sh, err = s.share(tx, true, `s.id = ? AND s.granting_tenant = ?`, id, t.ID); err != nil {
			return err
		}
		if err := s.revoke(tx, sh); err != nil {
			return err
		}
		now := s.clock()
		sh.RevokedAt = &now
		return s.audit.Record(ctx, tx, audit.Event{Action: "share.revoke", ObjectType: "share", ObjectID: id.String(),
			Detail: map[string]string{"by": ViaTenant}})
	})
	return sh, err
}

// Receiving tenant's use cases.

// Redeem binds the share with code to the tenant in ctx. A code that is
// mistyped, unknown, used, withdrawn, expired or the tenant's own is
// refused with a message saying which, and nothing is stored. Audited as
// share.redeem.
func (s *Service) Redeem(ctx context.Context, code string) (Share, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Share{}, err
	}
	canonical, err := ParseCode(code)
	if err != nil {
		return Share{}, err
	}
	var sh Share
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		sh, err = s.share(tx, true, `s.code_hash = ?`, hashCode(canonical))
		if errs.Is(err, errs.NotFound) {
			return codeErr(msgCodeUnknown)
		}
		if err != nil {
			return err
		}
		now := s.clock()
		switch {
		case sh.RevokedAt != nil:
			return codeErr(msgCodeRevoked)
		case !now.Before(sh.ExpiresAt):
			return codeErr(fmt.Sprintf(MsgCodeExpired, sh.ExpiresAt.In(london).Format("2 January 2006")))
		case sh.RedeemedAt != nil && sh.GranteeTenantID != nil && *sh.GranteeTenantID == t.ID:
			return errs.E(errs.Conflict, msgAlreadyThere)
		case sh.RedeemedAt != nil:
			return codeErr(msgCodeUsed)
		case sh.GrantingTenantID != nil && *sh.GrantingTenantID == t.ID:
			return codeErr(msgCodeOwn)
		}
		res := tx.Exec(`UPDATE passport_shares SET grantee_tenant = ?, redeemed_at = ?
			WHERE id = ? AND redeemed_at IS NULL AND revoked_at IS NULL`, t.ID, now, sh.ID)
		if res.Error != nil {
			return storeErr("redeem share", res.Error)
		}
		if res.RowsAffected != 1 {
			return codeErr(msgCodeUsed)
		}
		sh.GranteeTenantID, sh.GranteeTenantName, sh.GranteeTenantSlug, sh.RedeemedAt = &t.ID, t.Name, t.Slug, &now
		return s.audit.Record(ctx, tx, audit.Event{Action: "share.redeem", ObjectType: "share", ObjectID: sh.ID.String(),
			Detail: map[string]string{"via": sh.GrantedVia, "expires_at": sh.ExpiresAt.Format(time.RFC3339)}})
	})
	return sh, err
}

func codeErr(msg string) error { return errs.Validation(errs.FieldError{Field: "code", Message: msg}) }

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// Received is a live share the tenant holds, with the tenant's own
// enrolment of the person when it has one.
type Received struct {
	Share    Share
	HolderID *uuid.UUID // the tenant's own holder for the person, if any
	Name     string     // that holder's name, if any
}

// Received returns the live shares granted to the tenant in ctx, newest
// first. Audited as share.list.
func (s *Service) Received(ctx context.Context) ([]Received, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	var out []Received
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT `+shareColumns+`, h.id, coalesce(h.given_name || ' ' || h.family_name, '')
			FROM `+shareFrom+`
			LEFT JOIN holders h ON h.tenant_id = ? AND h.person_id = s.person_id
			WHERE s.grantee_tenant = ? AND s.revoked_at IS NULL AND s.redeemed_at IS NOT NULL AND s.expires_at > ?
			ORDER BY s.redeemed_at DESC`, t.ID, t.ID, s.clock()).Rows()
		if err != nil {
			return storeErr("read received shares", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r Received
			sh := &r.Share
			if err := rows.Scan(&sh.ID, &sh.PersonID, &sh.GrantedVia, &sh.GrantingTenantID, &sh.GrantingTenantName,
				&sh.GranteeTenantID, &sh.GranteeTenantName, &sh.GranteeTenantSlug, &sh.ByCode, &sh.ConsentNote,
				&sh.CreatedAt, &sh.ExpiresAt, &sh.RedeemedAt, &sh.RevokedAt, &r.HolderID, &r.Name); err != nil {
				return storeErr("read received shares", err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return storeErr("read received shares", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "share.list", ObjectType: "share",
			Detail: map[string]string{"results": fmt.Sprint(len(out))}})
	})
	return out, err
}

// Competency is one signed-off competency of a shared passport, as the
// receiving tenant sees it: who issued it, what it is, who signed it off
// and when, and until when it holds. Nothing else of the issuer's is shown.
type Competency struct {
	RecordID         uuid.UUID
	IssuerID         uuid.UUID
	Issuer           string
	Code             string
	Title            string
	CatalogueVersion int
	AssessorName     string
	SignedOffAt      time.Time
	ExpiresAt        time.Time
	Expired          bool
	stdID            *uuid.UUID
	personSpecific   bool
	// Targets are the receiving tenant's own published competencies that
	// map to the same standard competency: what it may recognise this as.
	Targets []Target
}

// Recognisable reports whether the receiving tenant may recognise the
// competency: it is current, general and maps to one of its own.
func (c Competency) Recognisable() bool { return !c.Expired && !c.personSpecific && len(c.Targets) > 0 }

// Target is one of the receiving tenant's published competencies.
type Target struct {
	CompetencyID     uuid.UUID
	Code             string
	Title            string
	CatalogueTitle   string
	CatalogueVersion int
}

// Passport is a shared passport as the receiving tenant sees it.
type Passport struct {
	Share        Share
	HolderID     *uuid.UUID // the receiving tenant's own holder for the person, if any
	HolderName   string
	Competencies []Competency
}

// liveShare reads a share the tenant holds, refusing one that has ended.
func (s *Service) liveShare(tx *gorm.DB, tenant, id uuid.UUID) (Share, error) {
	sh, err := s.share(tx, false, `s.id = ? AND s.grantee_tenant = ?`, id, tenant)
	if err != nil {
		return Share{}, err
	}
	if !sh.Live(s.clock()) {
		return Share{}, errs.E(errs.NotFound, msgShareEnded)
	}
	return sh, nil
}

// ownEnrolment returns the tenant's own holder for person, if any.
func ownEnrolment(tx *gorm.DB, tenant, person uuid.UUID) (*uuid.UUID, string, error) {
	var id uuid.UUID
	var name string
	err := tx.Raw(`SELECT id, given_name || ' ' || family_name FROM holders WHERE tenant_id = ? AND person_id = ?`, tenant, person).
		Row().Scan(&id, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", storeErr("read own enrolment", err)
	}
	return &id, name, nil
}

// competencies reads the signed-off competencies of person from tenants
// other than tenant (row-level security shows only those of a live share),
// optionally just one record.
func (s *Service) competencies(tx *gorm.DB, tenant, person uuid.UUID, record *uuid.UUID) ([]Competency, error) {
	q := `SELECT r.id, r.tenant_id, t.name, c.code, c.title, cat.version, r.assessor_name, r.signed_off_at,
			c.reassess_months, c.std_competency_id, c.specificity = 'person'
		FROM competency_records r
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
		JOIN tenants t ON t.id = r.tenant_id
		WHERE r.person_id = ? AND r.tenant_id <> ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL`
	args := []any{person, tenant}
	if record != nil {
		q += ` AND r.id = ?`
		args = append(args, *record)
	}
	rows, err := tx.Raw(q+` ORDER BY lower(t.name), c.code`, args...).Rows()
	if err != nil {
		return nil, storeErr("read shared competencies", err)
	}
	defer rows.Close()
	now := s.now().UTC()
	var out []Competency
	for rows.Next() {
		var c Competency
		var months int
		if err := rows.Scan(&c.RecordID, &c.IssuerID, &c.Issuer, &c.Code, &c.Title, &c.CatalogueVersion, &c.AssessorName,
			&c.SignedOffAt, &months, &c.stdID, &c.personSpecific); err != nil {
			return nil, storeErr("read shared competencies", err)
		}
		c.ExpiresAt = expiry(c.SignedOffAt, months)
		c.Expired = !now.Before(c.ExpiresAt)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read shared competencies", err)
	}
	return out, s.targets(tx, tenant, out)
}

// targets fills in each competency's targets: the tenant's own published,
// general competencies with the same standard competency.
func (s *Service) targets(tx *gorm.DB, tenant uuid.UUID, cs []Competency) error {
	var std []uuid.UUID
	for _, c := range cs {
		if c.stdID != nil {
			std = append(std, *c.stdID)
		}
	}
	if len(std) == 0 {
		return nil
	}
	rows, err := tx.Raw(`SELECT c.id, c.code, c.title, cat.title, cat.version, c.std_competency_id
		FROM competencies c JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
		WHERE c.tenant_id = ? AND cat.status = 'published' AND c.specificity <> 'person' AND c.std_competency_id IN ?
		ORDER BY cat.key, cat.version DESC, c.code`, tenant, std).Rows()
	if err != nil {
		return storeErr("read own competencies", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t Target
		var stdID uuid.UUID
		if err := rows.Scan(&t.CompetencyID, &t.Code, &t.Title, &t.CatalogueTitle, &t.CatalogueVersion, &stdID); err != nil {
			return storeErr("read own competencies", err)
		}
		for i := range cs {
			if cs[i].stdID != nil && *cs[i].stdID == stdID {
				cs[i].Targets = append(cs[i].Targets, t)
			}
		}
	}
	return rows.Err()
}

// View returns the passport shared with the tenant in ctx through share id:
// the person's signed-off competencies from other tenants. Every view is
// audited as passport.read, which the holder sees.
func (s *Service) View(ctx context.Context, id uuid.UUID) (Passport, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Passport{}, err
	}
	var p Passport
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if p.Share, err = s.liveShare(tx, t.ID, id); err != nil {
			return err
		}
		if p.HolderID, p.HolderName, err = ownEnrolment(tx, t.ID, p.Share.PersonID); err != nil {
			return err
		}
		if p.Competencies, err = s.competencies(tx, t.ID, p.Share.PersonID, nil); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "passport.read", ObjectType: "share", ObjectID: id.String(),
			Detail: map[string]string{"competencies": fmt.Sprint(len(p.Competencies))}})
	})
	return p, err
}

// Candidate is one shared competency the receiving tenant is deciding
// whether to recognise.
type Candidate struct {
	Share      Share
	HolderID   *uuid.UUID
	HolderName string
	Competency Competency
}

// Candidate returns the shared competency record of share id, for the
// recognition form. The read is audited as passport.read.
func (s *Service) Candidate(ctx context.Context, id, record uuid.UUID) (Candidate, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Candidate{}, err
	}
	var c Candidate
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if c.Share, err = s.liveShare(tx, t.ID, id); err != nil {
			return err
		}
		if c.HolderID, c.HolderName, err = ownEnrolment(tx, t.ID, c.Share.PersonID); err != nil {
			return err
		}
		if c.Competency, err = s.candidate(tx, t.ID, c.Share.PersonID, record); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "passport.read", ObjectType: "share", ObjectID: id.String(),
			Detail: map[string]string{"record": record.String()}})
	})
	return c, err
}

func (s *Service) candidate(tx *gorm.DB, tenant, person, record uuid.UUID) (Competency, error) {
	cs, err := s.competencies(tx, tenant, person, &record)
	if err != nil {
		return Competency{}, err
	}
	if len(cs) == 0 {
		return Competency{}, errs.E(errs.NotFound, "That competency is not in this shared passport")
	}
	return cs[0], nil
}

// Recognition is the receiving tenant's decision to accept a shared
// competency as one of its own.
type Recognition struct {
	Record       uuid.UUID // the issuer's competency record
	CompetencyID uuid.UUID // the tenant's own competency to record it as
	// The tenant's own holder details, used only when it has no holder for
	// the person yet: typed by staff, never copied from another tenant.
	GivenName, FamilyName, DateOfBirth, RoleInCare string
}

// Recognise records, in the tenant in ctx, that it accepts a competency
// signed off elsewhere and shared with it: its own competency record for
// its own holder (enrolled now when it has none) becomes competent with
// the issuer's sign-off date, an assessor name saying where it came from,
// recognised_from describing the source and who decided, and a history
// entry. The issuer's record is only read. Audited as record.recognise.
func (s *Service) Recognise(ctx context.Context, id uuid.UUID, in Recognition) (uuid.UUID, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	actor, err := actorOf(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	var recordID uuid.UUID
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		sh, err := s.liveShare(tx, t.ID, id)
		if err != nil {
			return err
		}
		src, err := s.candidate(tx, t.ID, sh.PersonID, in.Record)
		if err != nil {
			return err
		}
		switch {
		case src.Expired:
			return errs.E(errs.Conflict, src.Code+" "+src.Title+" expired on "+src.ExpiresAt.In(london).Format("2 January 2006")+
				" and cannot be recognised. It must be assessed again.")
		case src.personSpecific:
			return errs.E(errs.Conflict, src.Code+" "+src.Title+" was signed off for one person's care prescription and cannot be recognised elsewhere.")
		case len(src.Targets) == 0:
			return errs.E(errs.Conflict, src.Code+" "+src.Title+" does not match any competency in your published catalogues.")
		}
		var target *Target
		for i := range src.Targets {
			if src.Targets[i].CompetencyID == in.CompetencyID {
				target = &src.Targets[i]
			}
		}
		if target == nil {
			return errs.Validation(errs.FieldError{Field: "competency_id", Message: "Select the competency in your catalogue to record this as"})
		}
		holderID, _, err := ownEnrolment(tx, t.ID, sh.PersonID)
		if err != nil {
			return err
		}
		if holderID == nil {
			if s.holders == nil {
				return errs.Wrap(errs.Internal, "", errors.New("share: no enroller"))
			}
			hid, err := s.holders.EnrolPerson(ctx, tx, sh.PersonID, in.GivenName, in.FamilyName, in.DateOfBirth, in.RoleInCare)
			if err != nil {
				return err
			}
			holderID = &hid
		}
		recordID, err = s.recognise(ctx, tx, t, actor, sh, src, *target, *holderID)
		return err
	})
	return recordID, err
}

// recognisedFrom is what a recognised record keeps about its source.
type recognisedFrom struct {
	Tenant           string    `json:"tenant"`
	TenantID         uuid.UUID `json:"tenant_id"`
	Record           uuid.UUID `json:"record"`
	CompetencyCode   string    `json:"competency_code"`
	CatalogueVersion int       `json:"catalogue_version"`
	AssessorName     string    `json:"assessor_name"`
	SignedOffAt      time.Time `json:"signed_off_at"`
	Share            uuid.UUID `json:"share"`
	DecidedBy        uuid.UUID `json:"decided_by"`
	DecidedByName    string    `json:"decided_by_name"`
	DecidedAt        time.Time `json:"decided_at"`
}

func (s *Service) recognise(ctx context.Context, tx *gorm.DB, t tenants.Tenant, actor uuid.UUID, sh Share, src Competency,
	target Target, holderID uuid.UUID) (uuid.UUID, error) {
	now := s.clock()
	var actorName string
	if err := tx.Raw(`SELECT coalesce(nullif(name, ''), email) FROM accounts WHERE id = ?`, actor).Row().Scan(&actorName); err != nil {
		return uuid.Nil, storeErr("read actor", err)
	}
	from, err := json.Marshal(recognisedFrom{Tenant: src.Issuer, TenantID: src.IssuerID, Record: src.RecordID,
		CompetencyCode: src.Code, CatalogueVersion: src.CatalogueVersion, AssessorName: src.AssessorName,
		SignedOffAt: src.SignedOffAt.UTC(), Share: sh.ID, DecidedBy: actor, DecidedByName: actorName, DecidedAt: now})
	if err != nil {
		return uuid.Nil, fmt.Errorf("share: recognised_from: %w", err)
	}
	assessor := "Recognised: " + src.Issuer + " (" + src.AssessorName + ")"
	var (
		recordID  uuid.UUID
		fromState string
		signedOff *time.Time
	)
	err = tx.Raw(`SELECT id, state, signed_off_at FROM competency_records
		WHERE tenant_id = ? AND holder_id = ? AND competency_id = ? AND cared_for_id IS NULL FOR UPDATE`,
		t.ID, holderID, target.CompetencyID).Row().Scan(&recordID, &fromState, &signedOff)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		recordID = uuid.Must(uuid.NewV7())
		if err := tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state,
				signed_off_at, assessor_name, recognised_from, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'competent', ?, ?, ?, ?, ?)`,
			t.ID, recordID, holderID, sh.PersonID, target.CompetencyID, src.SignedOffAt, assessor, string(from), now, now).Error; err != nil {
			if _, ok := pg.IsUniqueViolation(err); ok {
				return uuid.Nil, errs.Wrap(errs.Conflict, "This competency has just been recorded for this holder. Reload the page to see it.", err)
			}
			return uuid.Nil, storeErr("create recognised record", err)
		}
	case err != nil:
		return uuid.Nil, storeErr("read own record", err)
	case fromState == "suspended" || fromState == "revoked":
		return uuid.Nil, errs.E(errs.Conflict, target.Code+" "+target.Title+" is "+fromState+
			" for this holder here. Recognition cannot override that.")
	case fromState == "competent" && signedOff != nil && !signedOff.Before(src.SignedOffAt):
		return uuid.Nil, errs.E(errs.Conflict, "This holder is already signed off here as competent in "+target.Code+" "+target.Title+
			", on "+signedOff.In(london).Format("2 January 2006")+" or later.")
	default:
		if err := tx.Exec(`UPDATE competency_records SET state = 'competent', signed_off_at = ?, signed_off_by = NULL,
				assessor_name = ?, reassessment_required = false, recognised_from = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`, src.SignedOffAt, assessor, string(from), now, t.ID, recordID).Error; err != nil {
			return uuid.Nil, storeErr("update recognised record", err)
		}
	}
	notes := fmt.Sprintf("Recognised: prior competence accepted from %s (%s v%d, signed off by %s on %s), decided by %s",
		src.Issuer, src.Code, src.CatalogueVersion, src.AssessorName, src.SignedOffAt.In(london).Format("2 January 2006"), actorName)
	if err := tx.Exec(`INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at, by_account, by_name,
			notes, evidence_ref)
		VALUES (?, ?, ?, ?, 'competent', ?, ?, ?, ?, ?)`,
		t.ID, uuid.Must(uuid.NewV7()), recordID, fromState, now, actor, actorName, notes,
		"recognised:"+src.IssuerID.String()+"/"+src.RecordID.String()).Error; err != nil {
		return uuid.Nil, storeErr("record recognition", err)
	}
	return recordID, s.audit.Record(ctx, tx, audit.Event{Action: "record.recognise", ObjectType: "record", ObjectID: recordID.String(),
		Detail: map[string]string{"share": sh.ID.String(), "holder": holderID.String(), "competency": target.Code,
			"source_tenant": src.Issuer, "source_competency": src.Code}})
}

// expiry returns when a competency signed off at signedOff lapses after
// months calendar months: the start (London time) of the same day of the
// month, months later, a day the later month lacks becoming its last day
// (31 January + 1 month = 28 February), as the staff passport reckons it.
func expiry(signedOff time.Time, months int) time.Time {
	y, m, d := signedOff.In(london).Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, london)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, london)
}

func storeErr(op string, err error) error {
	return pg.StoreErr("share", op, err)
}
