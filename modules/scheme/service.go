package scheme

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Service reads and changes the schemes of the request's tenant.
type Service struct {
	db    *tenants.DB
	audit *audit.Log
	now   func() time.Time
}

// NewService returns a Service; now is the clock (time.Now when nil).
func NewService(db *tenants.DB, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, audit: log, now: now}
}

// clock returns the current time in UTC at the database's precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// errNoTenant is the cause logged when the service runs without a tenant.
var errNoTenant = errors.New("scheme: no tenant in context")

// tenantOf returns the tenant in ctx; without one the caller is miswired.
func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errNoTenant)
	}
	return t, nil
}

// Messages of the service's errors.
const (
	msgNoScheme   = "No scheme with that reference"
	msgNoPreset   = "No ready-made scheme with that reference"
	msgRetired    = "This scheme has been retired, so no new passports can be issued under it. Choose an active scheme."
	fieldSchemeID = "scheme_id"
)

// List returns the tenant's schemes, active ones first, each group by name;
// retired schemes only when includeRetired.
func (s *Service) List(ctx context.Context, includeRetired bool) ([]Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	var rows []row
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("tenant_id = ?", t.ID)
		if !includeRetired {
			q = q.Where("status = ?", string(Active))
		}
		if err := q.Order("status = 'retired', lower(name), id").Find(&rows).Error; err != nil {
			return storeErr("list schemes", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Scheme, len(rows))
	for i, r := range rows {
		out[i] = r.scheme()
	}
	return out, nil
}

// Get returns one scheme of the tenant, active or retired.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	var out Scheme
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, "")
		out = r.scheme()
		return err
	})
	return out, err
}

// ForIssue returns the active scheme id of the tenant in ctx, read inside
// tx, the caller's transaction scoped to that tenant, for issuing a passport
// under it. It holds a share lock on the scheme until tx ends, so the scheme
// cannot be retired or changed while the passport is being issued. A scheme
// that does not exist is NotFound; a retired one is refused with an
// Invalid error on the field scheme_id.
func (s *Service) ForIssue(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	r, err := getRow(tx, t.ID, id, clause.LockingStrengthShare)
	if err != nil {
		return Scheme{}, err
	}
	if Status(r.Status) != Active {
		return Scheme{}, errs.Validation(errs.FieldError{Field: fieldSchemeID, Message: msgRetired})
	}
	return r.scheme(), nil
}

// getRow reads one scheme of tenant inside tx, with the row lock of
// strength lock unless it is empty.
func getRow(tx *gorm.DB, tenant, id uuid.UUID, lock string) (row, error) {
	q := tx.Where("tenant_id = ? AND id = ?", tenant, id)
	if lock != "" {
		q = q.Clauses(clause.Locking{Strength: lock})
	}
	var r row
	err := q.Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row{}, errs.E(errs.NotFound, msgNoScheme)
	}
	if err != nil {
		return row{}, storeErr("read scheme", err)
	}
	return r, nil
}

// Create adds a scheme to the tenant in ctx; it starts active. A name
// already used by another of the tenant's schemes, active or retired and
// ignoring case, is a field error on name. Audited as scheme.create.
func (s *Service) Create(ctx context.Context, in Input) (Scheme, error) {
	return s.create(ctx, in, nil)
}

// create adds a scheme and audits it with detail.
func (s *Service) create(ctx context.Context, in Input, detail map[string]string) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	now := s.clock()
	f, err := in.validate(now, time.Time{})
	if err != nil {
		return Scheme{}, err
	}
	r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), Status: string(Active), CreatedAt: now, UpdatedAt: now}
	r.setFields(f)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := nameFree(tx, t.ID, f.name, uuid.Nil); err != nil {
			return err
		}
		if err := tx.Create(&r).Error; err != nil {
			return storeErr("create scheme", err)
		}
		if detail == nil {
			detail = map[string]string{}
		}
		detail["name"] = r.Name
		return s.audit.Record(ctx, tx, audit.Event{Action: "scheme.create", ObjectType: "scheme", ObjectID: r.ID.String(),
			Detail: detail})
	})
	if err != nil {
		return Scheme{}, err
	}
	return r.scheme(), nil
}

// nameFree refuses name when another scheme of tenant than except has it,
// ignoring case. The unique index still decides a race; storeErr words its
// violation the same way.
func nameFree(tx *gorm.DB, tenant uuid.UUID, name string, except uuid.UUID) error {
	var taken []row
	err := tx.Select("id, name, status").Where("tenant_id = ? AND lower(name) = lower(?) AND id <> ?", tenant, name, except).
		Limit(1).Find(&taken).Error
	if err != nil {
		return storeErr("check name", err)
	}
	if len(taken) > 0 {
		return duplicateName(taken[0].Name, Status(taken[0].Status) == Retired)
	}
	return nil
}

// duplicateName is the field error for a name that is taken.
func duplicateName(name string, retired bool) error {
	msg := "There is already a scheme called " + name + ". Choose a different name"
	if retired {
		msg = "There is already a retired scheme called " + name + ". Reactivate it, or choose a different name"
	}
	return errs.Validation(errs.FieldError{Field: "name", Message: msg})
}

// Update replaces a scheme's details with in (its status stays as it is).
// Passports already issued under the scheme keep the copy of its name,
// benefits and validity they were issued with; only passports issued after
// the change get the new details. An end date the scheme already has may
// stay even once it has passed; a new one must be in the future. Audited as
// scheme.update with the names of the changed fields.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Input) (Scheme, error) {
	return s.update(ctx, id, func(Scheme) Input { return in })
}

// Change makes a partial change to a scheme: nil fields of ch stay as they
// are. Otherwise it is Update.
func (s *Service) Change(ctx context.Context, id uuid.UUID, ch Changes) (Scheme, error) {
	return s.update(ctx, id, func(cur Scheme) Input { return ch.apply(inputOf(cur)) })
}

// update validates the input next makes of the current scheme and stores it.
func (s *Service) update(ctx context.Context, id uuid.UUID, next func(Scheme) Input) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	var out Scheme
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, clause.LockingStrengthUpdate)
		if err != nil {
			return err
		}
		now := s.clock()
		f, err := next(r.scheme()).validate(now, r.ValidUntilDate.t)
		if err != nil {
			return err
		}
		before := r
		r.setFields(f)
		changed := changedFields(before, r)
		if len(changed) == 0 {
			out = r.scheme()
			return nil
		}
		if before.Name != r.Name {
			if err := nameFree(tx, t.ID, r.Name, id); err != nil {
				return err
			}
		}
		r.UpdatedAt = now
		res := tx.Exec(`UPDATE schemes SET name = ?, audience = ?, eligibility = ?, benefits = ?, validity_kind = ?,
				validity_days = ?, valid_until_date = ?, consent_required = ?, renewable = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			r.Name, r.Audience, r.Eligibility, r.Benefits, r.ValidityKind, r.ValidityDays, r.ValidUntilDate,
			r.ConsentRequired, r.Renewable, r.UpdatedAt, t.ID, id)
		if res.Error != nil {
			return storeErr("update scheme", res.Error)
		}
		out = r.scheme()
		return s.audit.Record(ctx, tx, audit.Event{Action: "scheme.update", ObjectType: "scheme", ObjectID: id.String(),
			Detail: map[string]string{"fields": strings.Join(changed, ",")}})
	})
	return out, err
}

// changedFields names the columns that differ between a and b.
func changedFields(a, b row) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(a.Name != b.Name, "name")
	add(a.Audience != b.Audience, "audience")
	add(a.Eligibility != b.Eligibility, "eligibility")
	add(strings.Join(a.Benefits, "\n") != strings.Join(b.Benefits, "\n") || len(a.Benefits) != len(b.Benefits), "benefits")
	add(a.ValidityKind != b.ValidityKind, "validity_kind")
	add(!sameInt(a.ValidityDays, b.ValidityDays), "validity_days")
	add(!a.ValidUntilDate.t.Equal(b.ValidUntilDate.t), "valid_until_date")
	add(a.ConsentRequired != b.ConsentRequired, "consent_required")
	add(a.Renewable != b.Renewable, "renewable")
	return out
}

func sameInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Retire stops new passports being issued under a scheme; those already
// issued stay valid until they end or are revoked. Retiring a retired
// scheme changes nothing. Audited as scheme.retire.
func (s *Service) Retire(ctx context.Context, id uuid.UUID) (Scheme, error) {
	return s.setStatus(ctx, id, Retired, "scheme.retire")
}

// Reactivate lets passports be issued under a retired scheme again.
// Reactivating an active scheme changes nothing. Audited as
// scheme.reactivate.
func (s *Service) Reactivate(ctx context.Context, id uuid.UUID) (Scheme, error) {
	return s.setStatus(ctx, id, Active, "scheme.reactivate")
}

func (s *Service) setStatus(ctx context.Context, id uuid.UUID, st Status, action string) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	var out Scheme
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, clause.LockingStrengthUpdate)
		if err != nil {
			return err
		}
		if Status(r.Status) == st {
			out = r.scheme()
			return nil
		}
		now := s.clock()
		if err := tx.Exec(`UPDATE schemes SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			string(st), now, t.ID, id).Error; err != nil {
			return storeErr("set scheme status", err)
		}
		before := r.Status
		r.Status, r.UpdatedAt = string(st), now
		out = r.scheme()
		return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "scheme", ObjectID: id.String(),
			Detail: map[string]string{"status_before": before, "status_after": string(st)}})
	})
	return out, err
}

// Presets returns the ready-made schemes for a kind of tenant.
func (s *Service) Presets(kind tenants.Kind) []Preset { return PresetsFor(kind) }

// CreateFromPreset creates the ready-made scheme key of the tenant's kind,
// as Create does (a name already in use is a field error on name). A key
// the kind does not have is NotFound. Audited as scheme.create with the
// preset's key.
func (s *Service) CreateFromPreset(ctx context.Context, key string) (Scheme, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Scheme{}, err
	}
	p, ok := presetFor(t.Kind, key)
	if !ok {
		return Scheme{}, errs.E(errs.NotFound, msgNoPreset)
	}
	return s.create(ctx, p.Input(), map[string]string{"preset": p.Key})
}

// storeErr wraps a database error, keeping errs errors as they are and
// translating a duplicate name and an unreachable database.
func storeErr(op string, err error) error {
	var e *errs.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	if c, ok := pg.IsUniqueViolation(err); ok && c == "schemes_name" {
		return duplicateNameErr(fmt.Errorf("scheme: %s: %w", op, err))
	}
	return pg.StoreErr("scheme", op, err)
}

// duplicateNameErr is the field error for a name taken in a race: the name
// that won is not known here, so the message does not repeat it.
func duplicateNameErr(cause error) error {
	return &errs.Error{Kind: errs.Invalid, Message: "There is a problem", Err: cause,
		Fields: []errs.FieldError{{Field: "name", Message: "There is already a scheme with this name. Choose a different name"}}}
}
