package holder

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

// ShareIDs lists the shares of the acting account's own passport, so that
// views through them appear under "Who viewed my passport". It reads in the
// caller's platform transaction; share.OwnShareIDs is one.
type ShareIDs func(ctx context.Context, tx *gorm.DB) ([]uuid.UUID, error)

// Limit is asked, inside the transaction that would add them, whether the
// tenant in ctx may have adding more active holders; it returns an error
// saying why not (a plan's limit, say) or nil.
type Limit func(ctx context.Context, tx *gorm.DB, adding int) error

// Service reads and records holders of the request's tenant, and shows a
// holder their own passport across tenants.
type Service struct {
	db     *tenants.DB
	audit  *audit.Log
	now    func() time.Time
	shares ShareIDs
	limit  Limit
}

// Option configures a Service.
type Option func(*Service)

// WithShares lets the holder's own passport page list views made through
// the shares of their passport.
func WithShares(s ShareIDs) Option { return func(svc *Service) { svc.shares = s } }

// WithLimit has every new or reactivated holder checked against l first.
func WithLimit(l Limit) Option { return func(svc *Service) { svc.limit = l } }

// allow asks the limit, if any, whether adding more active holders fit.
func (s *Service) allow(ctx context.Context, tx *gorm.DB, adding int) error {
	if s.limit == nil {
		return nil
	}
	return s.limit(ctx, tx, adding)
}

// NewService returns a Service; now is the clock (time.Now when nil).
func NewService(db *tenants.DB, log *audit.Log, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: db, audit: log, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time in UTC at the database's precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// tenantOf returns the tenant in ctx; without one the caller is miswired.
func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errors.New("holder: no tenant in context"))
	}
	return t, nil
}

// msgNoHolder is the answer for a holder that does not exist in the tenant.
const msgNoHolder = "No holder with that reference"

// List returns the tenant's holders by family name, optionally filtered by a
// name fragment; the listing itself is audited.
func (s *Service) List(ctx context.Context, query string, limit int) ([]Holder, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	var rows []row
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("tenant_id = ?", t.ID).Order("lower(family_name), lower(given_name)").Limit(limit)
		if query = strings.TrimSpace(query); query != "" {
			like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(query)) + "%"
			q = q.Where("lower(given_name || ' ' || family_name) LIKE ?", like)
		}
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("holder: list: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "holder.list", ObjectType: "holder",
			Detail: map[string]string{"results": fmt.Sprint(len(rows))}})
	})
	if err != nil {
		return nil, err
	}
	out := make([]Holder, len(rows))
	for i, r := range rows {
		out[i] = r.holder()
	}
	return out, nil
}

// Details is a holder as the tenant's holder page shows them.
type Details struct {
	Holder
	// Claimed reports whether the holder has claimed a Carepass account.
	Claimed bool
}

// Get returns one holder; the read is audited in the same transaction.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Holder, error) {
	d, err := s.Details(ctx, id)
	return d.Holder, err
}

// Details returns one holder and whether they have claimed an account; the
// read is audited in the same transaction.
func (s *Service) Details(ctx context.Context, id uuid.UUID) (Details, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Details{}, err
	}
	var d Details
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, false)
		if err != nil {
			return err
		}
		d.Holder = r.holder()
		if err := tx.Raw(`SELECT account_id IS NOT NULL FROM persons WHERE id = ?`, r.PersonID).Row().Scan(&d.Claimed); err != nil {
			return fmt.Errorf("holder: person: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "holder.read", ObjectType: "holder", ObjectID: id.String()})
	})
	return d, err
}

// getRow reads one holder of tenant inside tx, locking it when forUpdate.
func getRow(tx *gorm.DB, tenant, id uuid.UUID, forUpdate bool) (row, error) {
	q := tx.Where("tenant_id = ? AND id = ?", tenant, id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r row
	err := q.Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row{}, errs.E(errs.NotFound, msgNoHolder)
	}
	if err != nil {
		return row{}, storeErr("read holder", err)
	}
	return r, nil
}

// Count returns how many holders the tenant has (no personal data, not audited).
func (s *Service) Count(ctx context.Context) (int64, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&row{}).Where("tenant_id = ?", t.ID).Count(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("holder: count: %w", err)
	}
	return n, nil
}

// NewHolder is the input for Create.
type NewHolder struct {
	GivenName, FamilyName, Email, Phone, RoleInCare string
	DateOfBirth                                     *time.Time
}

// Create records a new holder in tx without the enrolment form's checks
// (used by seeding; people are added with Enrol).
func (s *Service) Create(ctx context.Context, tx *gorm.DB, in NewHolder) (Holder, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Holder{}, err
	}
	now := s.clock()
	r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), Status: StatusActive, GivenName: in.GivenName, FamilyName: in.FamilyName,
		DateOfBirth: in.DateOfBirth, Email: in.Email, Phone: in.Phone, RoleInCare: in.RoleInCare, CreatedAt: now, UpdatedAt: now}
	if err := s.insert(ctx, tx, &r, uuid.Nil, nil); err != nil {
		return Holder{}, err
	}
	return r.holder(), nil
}

// insert stores r in tx as an enrolment of person (a new person when
// uuid.Nil) and audits holder.create with detail.
func (s *Service) insert(ctx context.Context, tx *gorm.DB, r *row, person uuid.UUID, detail map[string]string) error {
	if err := s.allow(ctx, tx, 1); err != nil {
		return err
	}
	if person == uuid.Nil {
		// Every enrolment starts as a new person; claiming an account (or a
		// share's recognition) is what joins enrolments in different
		// tenants to one person.
		person = uuid.Must(uuid.NewV7())
		if err := tx.Exec(`INSERT INTO persons (id, created_at) VALUES (?, ?)`, person, r.CreatedAt).Error; err != nil {
			return storeErr("create person", err)
		}
	}
	r.PersonID = person
	if err := tx.Create(r).Error; err != nil {
		if c, ok := pg.IsUniqueViolation(err); ok && c == "holders_one_enrolment" {
			return errs.E(errs.Conflict, "This person is already a holder here.")
		}
		return storeErr("create holder", err)
	}
	return s.audit.Record(ctx, tx, audit.Event{Action: "holder.create", ObjectType: "holder", ObjectID: r.ID.String(), Detail: detail})
}

// Enrol adds a holder to the tenant in ctx. A likely duplicate (the same
// name, ignoring case, and date of birth) is refused with a Conflict that
// carries the matches (see Duplicates) unless confirmed is true, when the
// holder is added anyway and the confirmation is audited. Nothing is stored
// when the input is invalid or a duplicate is not confirmed.
func (s *Service) Enrol(ctx context.Context, in Input, confirmed bool) (Holder, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Holder{}, err
	}
	now := s.clock()
	d, err := in.validate(now)
	if err != nil {
		return Holder{}, err
	}
	var (
		out     Holder
		matches []Holder
	)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Two people adding the same holder at once still see each other.
		key := strings.ToLower(t.ID.String() + "|" + d.givenName + "|" + d.familyName + "|" + d.dateOfBirth.Format(time.DateOnly))
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "holder-duplicate:"+key).Error; err != nil {
			return storeErr("lock", err)
		}
		var err error
		if matches, err = duplicates(tx, t.ID, d, uuid.Nil); err != nil {
			return err
		}
		if len(matches) > 0 && !confirmed {
			// The warning shows the matches: that read is audited, and
			// nothing else is stored.
			ids := make([]string, len(matches))
			for i, m := range matches {
				ids[i] = m.ID.String()
			}
			return s.audit.Record(ctx, tx, audit.Event{Action: "holder.duplicate_warning", ObjectType: "holder",
				Detail: map[string]string{"matches": strings.Join(ids, ",")}})
		}
		r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), Status: StatusActive, GivenName: d.givenName, FamilyName: d.familyName,
			DateOfBirth: &d.dateOfBirth, Email: d.email, Phone: d.phone, RoleInCare: d.roleInCare, CreatedAt: now, UpdatedAt: now}
		var detail map[string]string
		if len(matches) > 0 {
			detail = map[string]string{"duplicate_confirmed": "yes", "matches": fmt.Sprint(len(matches))}
		}
		if err := s.insert(ctx, tx, &r, uuid.Nil, detail); err != nil {
			return err
		}
		out = r.holder()
		return nil
	})
	if err != nil {
		return Holder{}, err
	}
	if out.ID == uuid.Nil {
		return Holder{}, errs.Wrap(errs.Conflict, MsgDuplicate, &DuplicateError{Matches: matches})
	}
	return out, nil
}

// duplicates returns the tenant's holders other than except with d's name
// (ignoring case) and date of birth.
func duplicates(tx *gorm.DB, tenant uuid.UUID, d details, except uuid.UUID) ([]Holder, error) {
	var rows []row
	err := tx.Where(`tenant_id = ? AND lower(family_name) = lower(?) AND lower(given_name) = lower(?) AND date_of_birth = ? AND id <> ?`,
		tenant, d.familyName, d.givenName, d.dateOfBirth, except).Order("created_at").Limit(20).Find(&rows).Error
	if err != nil {
		return nil, storeErr("find duplicates", err)
	}
	out := make([]Holder, len(rows))
	for i, r := range rows {
		out[i] = r.holder()
	}
	return out, nil
}

// Update changes a holder's details and status; nil fields of ch stay as
// they are. Changed details are validated as a whole, so a holder recorded
// without a date of birth must be given one when their details change.
// Audited as holder.update (with the names of the changed fields, never
// their values) or, for a status change alone, holder.status_change.
func (s *Service) Update(ctx context.Context, id uuid.UUID, ch Changes) (Holder, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Holder{}, err
	}
	if ch.Status != nil && *ch.Status != StatusActive && *ch.Status != StatusLeft {
		return Holder{}, errs.Validation(errs.FieldError{Field: "status", Message: "Status must be active or left"})
	}
	var out Holder
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		now := s.clock()
		before := r
		detailsChanged := ch.GivenName != nil || ch.FamilyName != nil || ch.DateOfBirth != nil || ch.Email != nil ||
			ch.Phone != nil || ch.RoleInCare != nil
		if detailsChanged {
			d, err := ch.apply(inputOf(r.holder())).validate(now)
			if err != nil {
				return err
			}
			r.GivenName, r.FamilyName, r.DateOfBirth = d.givenName, d.familyName, &d.dateOfBirth
			r.Email, r.Phone, r.RoleInCare = d.email, d.phone, d.roleInCare
		}
		if ch.Status != nil {
			r.Status = *ch.Status
		}
		if before.Status != StatusActive && r.Status == StatusActive {
			if err := s.allow(ctx, tx, 1); err != nil {
				return err
			}
		}
		fields := changedFields(before, r)
		if len(fields) == 0 {
			out = r.holder()
			return nil
		}
		res := tx.Exec(`UPDATE holders SET given_name = ?, family_name = ?, date_of_birth = ?, email = ?, phone = ?,
				role_in_care = ?, status = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			r.GivenName, r.FamilyName, r.DateOfBirth, r.Email, r.Phone, r.RoleInCare, r.Status, now, t.ID, id)
		if res.Error != nil {
			return storeErr("update holder", res.Error)
		}
		ev := audit.Event{Action: "holder.update", ObjectType: "holder", ObjectID: id.String(),
			Detail: map[string]string{"fields": strings.Join(fields, ",")}}
		if before.Status != r.Status {
			ev.Detail["status_before"], ev.Detail["status_after"] = before.Status, r.Status
			if len(fields) == 1 {
				ev.Action = "holder.status_change"
			}
		}
		out = r.holder()
		return s.audit.Record(ctx, tx, ev)
	})
	return out, err
}

// SetStatus marks a holder as left, or active again.
func (s *Service) SetStatus(ctx context.Context, id uuid.UUID, status string) (Holder, error) {
	return s.Update(ctx, id, Changes{Status: &status})
}

// changedFields names the columns that differ between a and b.
func changedFields(a, b row) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(a.GivenName != b.GivenName, "given_name")
	add(a.FamilyName != b.FamilyName, "family_name")
	add(!sameDate(a.DateOfBirth, b.DateOfBirth), "date_of_birth")
	add(a.Email != b.Email, "email")
	add(a.Phone != b.Phone, "phone")
	add(a.RoleInCare != b.RoleInCare, "role_in_care")
	add(a.Status != b.Status, "status")
	return out
}

func sameDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Format(time.DateOnly) == b.Format(time.DateOnly)
}

// EnrolPerson enrols an existing person in the tenant in ctx, inside tx,
// with the names staff typed and a date of birth such as 2016-03-31. It is
// used when a tenant that received a share records the holder as its own:
// no details are copied from another tenant. It returns the new holder's id; a person already enrolled here
// is a Conflict. Audited as holder.create.
func (s *Service) EnrolPerson(ctx context.Context, tx *gorm.DB, personID uuid.UUID, givenName, familyName, dateOfBirth,
	roleInCare string) (uuid.UUID, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	now := s.clock()
	var dob Date
	if strings.TrimSpace(dateOfBirth) != "" {
		dob = DateFromISO(dateOfBirth)
	}
	d, err := Input{GivenName: givenName, FamilyName: familyName, DateOfBirth: dob, RoleInCare: roleInCare}.validate(now)
	if err != nil {
		return uuid.Nil, err
	}
	r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), Status: StatusActive, GivenName: d.givenName, FamilyName: d.familyName,
		DateOfBirth: &d.dateOfBirth, RoleInCare: d.roleInCare, CreatedAt: now, UpdatedAt: now}
	if err := s.insert(ctx, tx, &r, personID, map[string]string{"via": "share"}); err != nil {
		return uuid.Nil, err
	}
	return r.ID, nil
}

func storeErr(op string, err error) error {
	return pg.StoreErr("holder", op, err)
}
