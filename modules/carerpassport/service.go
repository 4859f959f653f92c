package carerpassport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/throttle"
	"github.com/carepass/carepass/tenants"
)

// Schemes is what the service needs of the tenant's schemes.
type Schemes interface {
	// Terms reads an active scheme inside the caller's tenant transaction.
	Terms(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Scheme, error)
	// Options lists the active schemes of the tenant in ctx.
	Options(ctx context.Context) ([]SchemeOption, error)
}

// Issuer signs passports and keeps their status positions.
type Issuer interface {
	SigningKey(ctx context.Context, tx *gorm.DB, t tenants.Tenant) (credential.SigningKey, error)
	Allocate(ctx context.Context, tx *gorm.DB, issuer uuid.UUID, kind string) (int, error)
	SetRevoked(ctx context.Context, tx *gorm.DB, issuer uuid.UUID, idx int, revoked bool) error
	KeySet(ctx context.Context) (*credential.KeySet, error)
}

// statusKind is the issuer's name for the credentials this package allocates.
const statusKind = "carer_passport"

// Deps are the service's collaborators.
type Deps struct {
	DB      *tenants.DB
	Pool    *pgxpool.Pool // the verification hot path batches its statements
	Schemes Schemes
	Issuer  Issuer
	Audit   *audit.Log
}

// Config tunes the service.
type Config struct {
	Now func() time.Time
	// ClientPerMinute and GlobalPerSecond throttle verification.
	ClientPerMinute int
	GlobalPerSecond int
}

// Service issues, changes and verifies carer passports.
type Service struct {
	Deps
	now      func() time.Time
	throttle *throttle.Limiter
}

// NewService returns the service.
func NewService(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientPerMinute <= 0 {
		cfg.ClientPerMinute = 30
	}
	if cfg.GlobalPerSecond <= 0 {
		cfg.GlobalPerSecond = 200
	}
	return &Service{Deps: d, now: cfg.Now, throttle: throttle.New(cfg.ClientPerMinute, cfg.GlobalPerSecond, cfg.Now)}
}

const msgNoPassport = "No passport with that reference"

func scope(ctx context.Context) (tenants.Tenant, uuid.UUID, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return tenants.Tenant{}, uuid.Nil, errors.New("carerpassport: no tenant in context")
	}
	actor, _ := tenants.ActorFrom(ctx)
	return t, actor, nil
}

func storeErr(op string, err error) error {
	return pg.StoreErr("carerpassport", op, err)
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// row is a carer_passports row.
type row struct {
	TenantID           uuid.UUID
	ID                 uuid.UUID
	HolderID           uuid.UUID
	PersonID           uuid.UUID
	SchemeID           uuid.UUID
	Code               string
	HolderName         string
	SchemeName         string
	Benefits           []byte `gorm:"type:jsonb"`
	CaredForName       string
	Relationship       string
	HealthDetails      string
	ConsentGivenBy     string
	ConsentMethod      string
	ConsentAt          *time.Time
	StayReference      string
	ValidFrom          time.Time
	ValidUntil         time.Time
	State              string
	RevokedReason      string
	StatusIndex        int
	Kid                string
	QR                 string `gorm:"column:qr"`
	Replaces           *uuid.UUID
	RenewalRequestedAt *time.Time
	IssuedBy           *uuid.UUID
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (row) TableName() string { return "carer_passports" }

func (r row) passport(now time.Time) Passport {
	var benefits []string
	_ = json.Unmarshal(r.Benefits, &benefits) // written by this package, always a JSON array
	if benefits == nil {
		benefits = []string{}
	}
	return Passport{ID: r.ID, HolderID: r.HolderID, SchemeID: r.SchemeID, Code: r.Code, HolderName: r.HolderName,
		SchemeName: r.SchemeName, Benefits: benefits, CaredForName: r.CaredForName, Relationship: r.Relationship,
		HealthDetails: r.HealthDetails, ConsentGivenBy: r.ConsentGivenBy, ConsentMethod: r.ConsentMethod,
		ConsentAt: r.ConsentAt, StayReference: r.StayReference, ValidFrom: r.ValidFrom.UTC(), ValidUntil: r.ValidUntil.UTC(),
		Stored: State(r.State), State: effective(State(r.State), r.ValidFrom, r.ValidUntil, now),
		RevokedReason: Reason(r.RevokedReason), Replaces: r.Replaces, RenewalAsked: r.RenewalRequestedAt, QR: r.QR,
		IssuedAt: r.CreatedAt.UTC()}
}

func (s *Service) getRow(tx *gorm.DB, tenant, id uuid.UUID, forUpdate bool) (row, error) {
	q := tx.Where("tenant_id = ? AND id = ?", tenant, id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r row
	if err := q.Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return row{}, errs.E(errs.NotFound, msgNoPassport)
		}
		return row{}, storeErr("read passport", err)
	}
	return r, nil
}

func (s *Service) event(tx *gorm.DB, tenant, passport, actor uuid.UUID, action, reason, note string, validUntil *time.Time) error {
	var by *uuid.UUID
	if actor != uuid.Nil {
		by = &actor
	}
	err := tx.Exec(`INSERT INTO carer_passport_events (tenant_id, id, passport_id, at, action, by_account, reason, note, valid_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenant, newID(), passport, s.now().UTC(), action, by, reason, note, validUntil).Error
	return storeErr("record history", err)
}

// sign returns the QR text for r signed with the issuer's current key.
func (s *Service) sign(ctx context.Context, tx *gorm.DB, t tenants.Tenant, r *row) error {
	key, err := s.Issuer.SigningKey(ctx, tx, t)
	if err != nil {
		return fmt.Errorf("carerpassport: signing key: %w", err)
	}
	qr, err := credential.Sign(credential.Payload{Issuer: t.Slug, HolderName: r.HolderName, Scheme: r.SchemeName,
		ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil, StatusIndex: r.StatusIndex, CredentialID: r.ID}, key)
	if err != nil {
		return fmt.Errorf("carerpassport: sign: %w", err)
	}
	r.QR, r.Kid = qr, key.KID
	return nil
}

// Issue issues a passport to a holder of the tenant in ctx under one of its
// schemes. Without the consent the scheme requires it is refused with a field
// error and nothing is stored.
func (s *Service) Issue(ctx context.Context, in IssueInput) (Passport, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Passport{}, err
	}
	in.normalise()
	var out Passport
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var sch Scheme
		if in.SchemeID != uuid.Nil {
			if sch, err = s.Schemes.Terms(ctx, tx, in.SchemeID); err != nil {
				if errs.Is(err, errs.NotFound) {
					return errs.Validation(errs.FieldError{Field: "scheme", Message: "Choose one of the organisation's current schemes"})
				}
				return err
			}
		}
		now := s.now().UTC().Truncate(time.Second)
		if err := in.validate(sch, now); err != nil {
			return err
		}
		h, err := holderOf(tx, t.ID, in.HolderID)
		if err != nil {
			return err
		}
		until, err := sch.ValidUntil(now)
		if err != nil {
			return errs.Wrap(errs.Invalid, "The scheme's validity has ended: change the scheme or choose another", err)
		}
		r := row{TenantID: t.ID, ID: newID(), HolderID: in.HolderID, PersonID: h.person, SchemeID: sch.ID,
			Code: credential.NewCode().String(), HolderName: h.name, SchemeName: sch.Name,
			CaredForName: in.CaredForName, Relationship: in.Relationship, HealthDetails: in.HealthDetails,
			ConsentMethod: "not_required", StayReference: in.StayReference, ValidFrom: now, ValidUntil: until.UTC().Truncate(time.Second),
			State: string(Active), CreatedAt: now, UpdatedAt: now}
		if sch.ConsentRequired || in.ConsentGivenBy != "" {
			r.ConsentGivenBy, r.ConsentMethod = in.ConsentGivenBy, in.ConsentMethod
			if in.ConsentDate != nil {
				at := in.ConsentDate.UTC()
				r.ConsentAt = &at
			}
			if r.ConsentMethod == "" {
				r.ConsentMethod = "not_required"
			}
		}
		if r.Benefits, err = json.Marshal(nonNil(sch.Benefits)); err != nil {
			return fmt.Errorf("carerpassport: benefits: %w", err)
		}
		if actor != uuid.Nil {
			r.IssuedBy = &actor
		}
		if r.StatusIndex, err = s.Issuer.Allocate(ctx, tx, t.ID, statusKind); err != nil {
			return fmt.Errorf("carerpassport: status position: %w", err)
		}
		if err := s.sign(ctx, tx, t, &r); err != nil {
			return err
		}
		if err := tx.Create(&r).Error; err != nil {
			return storeErr("issue", err)
		}
		if err := s.event(tx, t.ID, r.ID, actor, "issued", "", in.Note, &r.ValidUntil); err != nil {
			return err
		}
		out = r.passport(now)
		return s.Audit.Record(ctx, tx, audit.Event{Action: "carer_passport.issue", ObjectType: "carer_passport",
			ObjectID: r.ID.String(), Detail: map[string]string{"holder": in.HolderID.String(), "scheme": sch.ID.String()}})
	})
	return out, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type holderRef struct {
	person uuid.UUID
	name   string
}

func holderOf(tx *gorm.DB, tenant, id uuid.UUID) (holderRef, error) {
	var (
		h      holderRef
		given  string
		family string
		status string
	)
	err := tx.Raw(`SELECT person_id, given_name, family_name, status FROM holders WHERE tenant_id = ? AND id = ?`, tenant, id).
		Row().Scan(&h.person, &given, &family, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return h, errs.Validation(errs.FieldError{Field: "holder", Message: "Choose a holder recorded by the organisation"})
	}
	if err != nil {
		return h, storeErr("read holder", err)
	}
	if status != "active" {
		return h, errs.Validation(errs.FieldError{Field: "holder", Message: "This holder has left the organisation: a passport cannot be issued to them"})
	}
	h.name = strings.TrimSpace(given + " " + family)
	return h, nil
}

// change runs fn on the locked passport id of the tenant in ctx, then records
// the event and the audit entry fn names.
func (s *Service) change(ctx context.Context, id uuid.UUID, fn func(tx *gorm.DB, t tenants.Tenant, r *row, now time.Time) (action, reason string, err error), note string) (Passport, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Passport{}, err
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > 1000 {
		return Passport{}, errs.Validation(errs.FieldError{Field: "note", Message: "Note must be 1,000 characters or fewer"})
	}
	var out Passport
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		r, err := s.getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Second)
		action, reason, err := fn(tx, t, &r, now)
		if err != nil {
			return err
		}
		r.UpdatedAt = now
		if err := tx.Model(&row{}).Where("tenant_id = ? AND id = ?", t.ID, r.ID).Updates(map[string]any{
			"state": r.State, "revoked_reason": r.RevokedReason, "valid_from": r.ValidFrom, "valid_until": r.ValidUntil,
			"qr": r.QR, "kid": r.Kid, "renewal_requested_at": r.RenewalRequestedAt, "updated_at": r.UpdatedAt,
		}).Error; err != nil {
			return storeErr(action, err)
		}
		if err := s.event(tx, t.ID, r.ID, actor, action, reason, note, &r.ValidUntil); err != nil {
			return err
		}
		out = r.passport(now)
		return s.Audit.Record(ctx, tx, audit.Event{Action: "carer_passport." + action, ObjectType: "carer_passport",
			ObjectID: r.ID.String(), Detail: map[string]string{"reason": reason}})
	})
	return out, err
}

// Renew extends a passport by the scheme's validity from now and signs a new
// QR code; the code and status position stay the same. Only an active or
// expired passport of a renewable, current scheme can be renewed.
func (s *Service) Renew(ctx context.Context, id uuid.UUID, note string) (Passport, error) {
	return s.change(ctx, id, func(tx *gorm.DB, t tenants.Tenant, r *row, now time.Time) (string, string, error) {
		st := effective(State(r.State), r.ValidFrom, r.ValidUntil, now)
		if st != Active && st != Expired {
			return "", "", errs.E(errs.Conflict, "Only an active or expired passport can be renewed: resume a suspended passport first")
		}
		sch, err := s.Schemes.Terms(ctx, tx, r.SchemeID)
		if errs.Is(err, errs.NotFound) {
			return "", "", errs.E(errs.Conflict, "The scheme this passport was issued under has been retired: issue a new passport under a current scheme")
		}
		if err != nil {
			return "", "", err
		}
		if !sch.Renewable {
			return "", "", errs.E(errs.Conflict, "Passports under this scheme cannot be renewed: issue a new one")
		}
		until, err := sch.ValidUntil(now)
		if err != nil {
			return "", "", errs.Wrap(errs.Conflict, "The scheme's validity has ended: change the scheme or issue under another", err)
		}
		r.ValidFrom, r.ValidUntil, r.RenewalRequestedAt = now, until.UTC().Truncate(time.Second), nil
		return "renewed", "", s.sign(ctx, tx, t, r)
	}, note)
}

// Suspend stops an active passport being valid until it is resumed.
func (s *Service) Suspend(ctx context.Context, id uuid.UUID, note string) (Passport, error) {
	return s.change(ctx, id, func(tx *gorm.DB, t tenants.Tenant, r *row, _ time.Time) (string, string, error) {
		if State(r.State) != Active {
			return "", "", errs.E(errs.Conflict, "Only an active passport can be suspended")
		}
		r.State = string(Suspended)
		return "suspended", "", s.Issuer.SetRevoked(ctx, tx, t.ID, r.StatusIndex, true)
	}, note)
}

// Resume makes a suspended passport active again.
func (s *Service) Resume(ctx context.Context, id uuid.UUID, note string) (Passport, error) {
	return s.change(ctx, id, func(tx *gorm.DB, t tenants.Tenant, r *row, _ time.Time) (string, string, error) {
		if State(r.State) != Suspended {
			return "", "", errs.E(errs.Conflict, "Only a suspended passport can be resumed")
		}
		r.State = string(Active)
		return "resumed", "", s.Issuer.SetRevoked(ctx, tx, t.ID, r.StatusIndex, false)
	}, note)
}

// Revoke ends a passport for good, for one of RevokeReasons.
func (s *Service) Revoke(ctx context.Context, id uuid.UUID, reason Reason, note string) (Passport, error) {
	if ReasonLabel(reason) == string(reason) || reason == Replaced {
		return Passport{}, errs.Validation(errs.FieldError{Field: "reason", Message: "Select why the passport is being revoked"})
	}
	return s.change(ctx, id, func(tx *gorm.DB, t tenants.Tenant, r *row, _ time.Time) (string, string, error) {
		if State(r.State) == Revoked {
			return "", "", errs.E(errs.Conflict, "This passport is already revoked")
		}
		r.State, r.RevokedReason = string(Revoked), string(reason)
		return "revoked", string(reason), s.Issuer.SetRevoked(ctx, tx, t.ID, r.StatusIndex, true)
	}, note)
}

// EndStay ends a passport valid until the discharge of a stay, now: it is
// no longer valid online, and its status bit tells offline verifiers too.
func (s *Service) EndStay(ctx context.Context, id uuid.UUID, note string) (Passport, error) {
	return s.change(ctx, id, func(tx *gorm.DB, t tenants.Tenant, r *row, now time.Time) (string, string, error) {
		if r.StayReference == "" {
			return "", "", errs.E(errs.Conflict, "This passport is not tied to a stay")
		}
		if effective(State(r.State), r.ValidFrom, r.ValidUntil, now) != Active {
			return "", "", errs.E(errs.Conflict, "Only an active passport's stay can be ended")
		}
		// Validity is inclusive: the passport was last valid a second ago.
		end := now.Add(-time.Second)
		if !end.After(r.ValidFrom) {
			end = r.ValidFrom.Add(time.Second)
		}
		r.ValidUntil = end
		if err := s.sign(ctx, tx, t, r); err != nil {
			return "", "", err
		}
		return "stay_ended", "", s.Issuer.SetRevoked(ctx, tx, t.ID, r.StatusIndex, true)
	}, note)
}

// Reissue replaces a lost or damaged passport: a new passport with a new
// code and status position and the same holder, person cared for, consent
// and validity; the old one is revoked as replaced.
func (s *Service) Reissue(ctx context.Context, id uuid.UUID, note string) (Passport, error) {
	t, actor, err := scope(ctx)
	if err != nil {
		return Passport{}, err
	}
	note = strings.TrimSpace(note)
	var out Passport
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		old, err := s.getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Second)
		if st := effective(State(old.State), old.ValidFrom, old.ValidUntil, now); st != Active {
			return errs.E(errs.Conflict, "Only an active passport can be re-issued: renew an expired one, resume a suspended one")
		}
		next := old
		next.ID, next.Code, next.CreatedAt, next.UpdatedAt = newID(), credential.NewCode().String(), now, now
		next.ValidFrom = now
		next.Replaces, next.RenewalRequestedAt = &old.ID, nil
		if actor != uuid.Nil {
			next.IssuedBy = &actor
		}
		if next.StatusIndex, err = s.Issuer.Allocate(ctx, tx, t.ID, statusKind); err != nil {
			return fmt.Errorf("carerpassport: status position: %w", err)
		}
		if err := s.sign(ctx, tx, t, &next); err != nil {
			return err
		}
		if err := tx.Model(&row{}).Where("tenant_id = ? AND id = ?", t.ID, old.ID).
			Updates(map[string]any{"state": string(Revoked), "revoked_reason": string(Replaced), "updated_at": now}).Error; err != nil {
			return storeErr("revoke replaced", err)
		}
		if err := s.Issuer.SetRevoked(ctx, tx, t.ID, old.StatusIndex, true); err != nil {
			return err
		}
		if err := tx.Create(&next).Error; err != nil {
			return storeErr("reissue", err)
		}
		if err := s.event(tx, t.ID, old.ID, actor, "revoked", string(Replaced), note, nil); err != nil {
			return err
		}
		if err := s.event(tx, t.ID, next.ID, actor, "reissued", "", note, &next.ValidUntil); err != nil {
			return err
		}
		out = next.passport(now)
		return s.Audit.Record(ctx, tx, audit.Event{Action: "carer_passport.reissue", ObjectType: "carer_passport",
			ObjectID: next.ID.String(), Detail: map[string]string{"replaces": old.ID.String()}})
	})
	return out, err
}

// Get returns a passport with its history and checks, audited as a read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Detail, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Detail{}, err
	}
	var d Detail
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		r, err := s.getRow(tx, t.ID, id, false)
		if err != nil {
			return err
		}
		d.Passport = r.passport(s.now())
		d.Passport.TenantName, d.Passport.TenantSlug = t.Name, t.Slug
		if err := s.fillTerms(ctx, tx, &d.Passport); err != nil {
			return err
		}
		if d.History, err = history(tx, t.ID, id); err != nil {
			return err
		}
		if d.Checks, err = checks(tx, t.ID, []uuid.UUID{id}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "carer_passport.read", ObjectType: "carer_passport", ObjectID: id.String()})
	})
	return d, err
}

// fillTerms notes what the scheme allows now: renewal, and ending a stay.
func (s *Service) fillTerms(ctx context.Context, tx *gorm.DB, p *Passport) error {
	sch, err := s.Schemes.Terms(ctx, tx, p.SchemeID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.Renewable, p.UntilDischarge = sch.Renewable, p.StayReference != ""
	return nil
}

func history(tx *gorm.DB, tenant, id uuid.UUID) ([]Event, error) {
	rows, err := tx.Raw(`SELECT e.at, e.action, coalesce(nullif(a.name, ''), a.email, ''), e.reason, e.note, e.valid_until
		FROM carer_passport_events e LEFT JOIN accounts a ON a.id = e.by_account
		WHERE e.tenant_id = ? AND e.passport_id = ? ORDER BY e.at, e.id`, tenant, id).Rows()
	if err != nil {
		return nil, storeErr("read history", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.At, &e.Action, &e.By, &e.Reason, &e.Note, &e.ValidUntil); err != nil {
			return nil, storeErr("read history", err)
		}
		out = append(out, e)
	}
	return out, storeErr("read history", rows.Err())
}

// maxChecks bounds the verification log shown for one passport.
const maxChecks = 200

func checks(tx *gorm.DB, tenant uuid.UUID, ids []uuid.UUID) ([]Check, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Raw(`SELECT c.at, coalesce(t.name, ''), c.channel, c.outcome = 'confirmed'
		FROM passport_checks c LEFT JOIN tenants t ON t.id = c.verifier_tenant
		WHERE c.passport_tenant = ? AND c.passport_id IN ? ORDER BY c.at DESC LIMIT ?`, tenant, ids, maxChecks).Rows()
	if err != nil {
		return nil, storeErr("read checks", err)
	}
	defer rows.Close()
	var out []Check
	for rows.Next() {
		var c Check
		if err := rows.Scan(&c.At, &c.Verifier, &c.Channel, &c.Confirmed); err != nil {
			return nil, storeErr("read checks", err)
		}
		if c.Verifier == "" {
			c.Verifier = "Anonymous check"
		}
		out = append(out, c)
	}
	return out, storeErr("read checks", rows.Err())
}

// Filter narrows a passport search.
type Filter struct {
	Query    string    // part of the holder's name, or a code
	State    State     // empty for every state
	HolderID uuid.UUID // only this holder's passports
	DueDays  int       // only active passports ending within this many days
	Renewal  bool      // only passports whose holder asked for renewal
	Limit    int
}

// maxList bounds a search's results.
const maxList = 200

// List searches the tenant's passports, audited.
func (s *Service) List(ctx context.Context, f Filter) ([]Passport, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxList {
		f.Limit = maxList
	}
	var out []Passport
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		now := s.now().UTC()
		q := tx.Model(&row{}).Where("tenant_id = ?", t.ID)
		if query := strings.TrimSpace(f.Query); query != "" {
			if c, err := credential.ParseCode(query); err == nil {
				q = q.Where("code = ?", c.String())
			} else {
				q = q.Where("lower(holder_name) LIKE ?", "%"+escapeLike(strings.ToLower(query))+"%")
			}
		}
		switch f.State {
		case Active:
			q = q.Where("state = 'active' AND valid_from <= ? AND valid_until >= ?", now, now)
		case Expired:
			q = q.Where("state = 'active' AND valid_until < ?", now)
		case Suspended, Revoked:
			q = q.Where("state = ?", string(f.State))
		}
		if f.HolderID != uuid.Nil {
			q = q.Where("holder_id = ?", f.HolderID)
		}
		if f.DueDays > 0 {
			q = q.Where("state = 'active' AND valid_until BETWEEN ? AND ?", now, now.AddDate(0, 0, f.DueDays))
		}
		if f.Renewal {
			q = q.Where("renewal_requested_at IS NOT NULL")
		}
		var rows []row
		if err := q.Order("lower(holder_name), created_at DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
			return storeErr("list", err)
		}
		out = make([]Passport, len(rows))
		for i, r := range rows {
			out[i] = r.passport(now)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "carer_passport.list", ObjectType: "carer_passport",
			Detail: map[string]string{"results": fmt.Sprint(len(rows))}})
	})
	return out, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SchemeOptions lists the schemes a passport can be issued under now.
func (s *Service) SchemeOptions(ctx context.Context) ([]SchemeOption, error) {
	return s.Schemes.Options(ctx)
}

// HolderOption is a holder offered on the issue form.
type HolderOption struct {
	ID   uuid.UUID
	Name string
}

// Holder returns a holder of the tenant in ctx, for the issue form.
func (s *Service) Holder(ctx context.Context, id uuid.UUID) (HolderOption, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return HolderOption{}, err
	}
	var h HolderOption
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		ref, err := holderOf(tx, t.ID, id)
		if err != nil {
			if errs.Is(err, errs.Invalid) {
				return errs.E(errs.NotFound, "No holder with that reference")
			}
			return err
		}
		h = HolderOption{ID: id, Name: ref.name}
		return nil
	})
	return h, err
}

// FindHolders finds the tenant's current holders by name, for the issue form.
func (s *Service) FindHolders(ctx context.Context, query string) ([]HolderOption, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	var out []HolderOption
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT id, given_name || ' ' || family_name FROM holders
			WHERE tenant_id = ? AND status = 'active' AND lower(given_name || ' ' || family_name) LIKE ?
			ORDER BY lower(family_name), lower(given_name) LIMIT 50`, t.ID, "%"+escapeLike(strings.ToLower(query))+"%").Rows()
		if err != nil {
			return storeErr("find holders", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h HolderOption
			if err := rows.Scan(&h.ID, &h.Name); err != nil {
				return storeErr("find holders", err)
			}
			out = append(out, h)
		}
		if err := rows.Err(); err != nil {
			return storeErr("find holders", err)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "holder.list", ObjectType: "holder",
			Detail: map[string]string{"results": fmt.Sprint(len(out)), "purpose": "carer passport"}})
	})
	return out, err
}
