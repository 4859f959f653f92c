package register

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// objectType names register entries in the audit trail.
const objectType = "carer_register_entry"

// Service reads and records the carer register of the request's tenant.
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

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// clock returns the current time in UTC at the database's precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// tenantOf returns the tenant in ctx; without one the caller is miswired.
func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errors.New("register: no tenant in context"))
	}
	return t, nil
}

// actorOf returns the acting account in ctx, or nil.
func actorOf(ctx context.Context) *uuid.UUID {
	if a, ok := tenants.ActorFrom(ctx); ok && a != uuid.Nil {
		return &a
	}
	return nil
}

// Add records a new entry. Nothing is stored when in is invalid. Audited as
// carer_register.create.
func (s *Service) Add(ctx context.Context, in Input) (Entry, error) {
	return s.add(ctx, in, nil)
}

// AddFromCheck records a new entry for the holder of a carer passport that
// res confirmed, keeping what the check confirmed (issuer, scheme, when,
// and the last four characters of the code) as the entry's source. An
// unconfirmed result is refused. Audited as carer_register.create.
func (s *Service) AddFromCheck(ctx context.Context, in Input, res CheckResult) (Entry, error) {
	if !res.Confirmed {
		return Entry{}, errs.E(errs.Invalid, MsgNotConfirmed)
	}
	code := strings.TrimSpace(res.Code)
	if len(code) > 4 {
		code = code[len(code)-4:]
	}
	src := &Source{Issuer: trimTo(normaliseText(res.IssuerName), 200), Scheme: trimTo(normaliseText(res.SchemeName), 200),
		VerifiedAt: s.clock(), CodeLast4: code}
	if src.Issuer == "" {
		src.Issuer = "Unknown issuer"
	}
	if len([]rune(src.CodeLast4)) != 4 {
		src.CodeLast4 = ""
	}
	return s.add(ctx, in, src)
}

// MsgNotConfirmed is the one answer for a passport that a check did not
// confirm, whatever the reason.
const MsgNotConfirmed = "This passport cannot be confirmed as valid"

func trimTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func (s *Service) add(ctx context.Context, in Input, src *Source) (Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Entry{}, err
	}
	now := s.clock()
	d, err := in.validate(now)
	if err != nil {
		return Entry{}, err
	}
	r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), Status: StatusActive, CreatedBy: actorOf(ctx), CreatedAt: now, UpdatedAt: now}
	d.apply(&r)
	detail := map[string]string{"concept": r.SNOMEDCode}
	if src != nil {
		r.SourceIssuer, r.SourceScheme, r.SourceVerifiedAt, r.SourceCodeLast4 = src.Issuer, src.Scheme, &src.VerifiedAt, src.CodeLast4
		detail["via"] = "passport_check"
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := insert(tx, r); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carer_register.create", ObjectType: objectType,
			ObjectID: r.ID.String(), Detail: detail})
	})
	if err != nil {
		return Entry{}, err
	}
	return r.entry(), nil
}

// apply copies d's values into r.
func (d details) apply(r *row) {
	r.GivenName, r.FamilyName, r.DateOfBirth, r.NHSNumber = d.givenName, d.familyName, d.dateOfBirth, d.nhsNumber
	r.SNOMEDCode, r.RecordedOn, r.ConsentToShare, r.ConsentOn, r.ReviewDue = d.snomedCode, d.recordedOn, d.consentToShare, d.consentOn, d.reviewDue
	r.CaredForName, r.CaredForRelationship, r.CaredForKnown = d.caredForName, d.caredForRelationship, d.caredForKnown
}

// Get returns one entry; the read is audited in the same transaction. An
// entry of another tenant is NotFound.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Entry, error) {
	return s.read(ctx, id, "carer_register.read", nil)
}

// GetForExport returns one entry for an export in format (e.g. "fhir"); the
// read is audited as carer_register.export.
func (s *Service) GetForExport(ctx context.Context, id uuid.UUID, format string) (Entry, error) {
	return s.read(ctx, id, "carer_register.export", map[string]string{"format": format})
}

func (s *Service) read(ctx context.Context, id uuid.UUID, action string, detail map[string]string) (Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, false)
		if err != nil {
			return err
		}
		out = r.entry()
		return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: objectType, ObjectID: id.String(), Detail: detail})
	})
	return out, err
}

// Update replaces an entry's details with in; nothing changes when in is
// invalid. A closed entry keeps its closure. Audited as
// carer_register.update with the names of the changed fields, never their
// values.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Input) (Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		now := s.clock()
		d, err := in.validate(now)
		if err != nil {
			return err
		}
		before := r
		d.apply(&r)
		if r.ClosedOn != nil && r.ClosedOn.Before(r.RecordedOn) {
			return errs.Validation(errs.FieldError{Field: "recorded_on",
				Message: "Date recorded must be on or before the date they stopped being a carer"})
		}
		fields := changedFields(before, r)
		if len(fields) == 0 {
			out = r.entry()
			return nil
		}
		r.UpdatedAt = now
		if err := update(tx, r); err != nil {
			return err
		}
		out = r.entry()
		return s.audit.Record(ctx, tx, audit.Event{Action: "carer_register.update", ObjectType: objectType, ObjectID: id.String(),
			Detail: map[string]string{"fields": strings.Join(fields, ",")}})
	})
	return out, err
}

// Close records that the person is no longer a carer: the entry is closed
// on the date given, for the reason given. An entry already closed is a
// Conflict. Audited as carer_register.close.
func (s *Service) Close(ctx context.Context, id uuid.UUID, c Closure) (Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		if r.Status == StatusClosed {
			return errs.E(errs.Conflict, "This entry is already closed: they are recorded as no longer a carer")
		}
		now := s.clock()
		on, reason, err := c.validate(utcDate(r.RecordedOn), now)
		if err != nil {
			return err
		}
		r.Status, r.ClosedOn, r.ClosedReason, r.UpdatedAt = StatusClosed, &on, reason, now
		if err := update(tx, r); err != nil {
			return err
		}
		out = r.entry()
		return s.audit.Record(ctx, tx, audit.Event{Action: "carer_register.close", ObjectType: objectType, ObjectID: id.String(),
			Detail: map[string]string{"reason": reason}})
	})
	return out, err
}

// Reopen makes a closed entry active again (they are a carer again, or it
// was closed in error). An active entry is a Conflict. Audited as
// carer_register.reopen with the closure it undoes.
func (s *Service) Reopen(ctx context.Context, id uuid.UUID) (Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, id, true)
		if err != nil {
			return err
		}
		if r.Status != StatusClosed {
			return errs.E(errs.Conflict, "This entry is not closed")
		}
		detail := map[string]string{"closed_reason": r.ClosedReason, "closed_on": sqlDate(r.ClosedOn).(string)}
		r.Status, r.ClosedOn, r.ClosedReason, r.UpdatedAt = StatusActive, nil, "", s.clock()
		if err := update(tx, r); err != nil {
			return err
		}
		out = r.entry()
		return s.audit.Record(ctx, tx, audit.Event{Action: "carer_register.reopen", ObjectType: objectType, ObjectID: id.String(),
			Detail: detail})
	})
	return out, err
}

// List returns the entries f selects; the listing is audited as
// carer_register.list with the number of results.
func (s *Service) List(ctx context.Context, f Filter) ([]Entry, error) {
	return s.list(ctx, f, "carer_register.list", nil)
}

// ReviewDue returns the active entries whose review is due within days
// from today (overdue ones first), audited as carer_register.list.
func (s *Service) ReviewDue(ctx context.Context, days int) ([]Entry, error) {
	if days <= 0 {
		days = 1
	}
	return s.List(ctx, Filter{ReviewWithinDays: days})
}

// Export returns every entry of the register, audited as
// carer_register.export in format (e.g. "csv", "fhir").
func (s *Service) Export(ctx context.Context, format string) ([]Entry, error) {
	return s.list(ctx, Filter{Limit: maxExport}, "carer_register.export", map[string]string{"format": format})
}

// maxExport bounds an export; a practice's register is far smaller.
const maxExport = 50000

func (s *Service) list(ctx context.Context, f Filter, action string, detail map[string]string) ([]Entry, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 200
	} else if f.Limit > 1000 && action != "carer_register.export" {
		f.Limit = 1000
	}
	if f.Concept != "" && ConceptDisplay(f.Concept) == "" {
		return nil, errs.Validation(errs.FieldError{Field: "concept", Message: "Select one of the unpaid carer concepts"})
	}
	var rows []row
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if rows, err = list(tx, t.ID, f, s.now()); err != nil {
			return err
		}
		if detail == nil {
			detail = map[string]string{}
		}
		detail["results"] = fmt.Sprint(len(rows))
		return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: objectType, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// RecordCheck audits a passport check made from the register, with its
// outcome (never the code).
func (s *Service) RecordCheck(ctx context.Context, confirmed bool) error {
	if _, err := tenantOf(ctx); err != nil {
		return err
	}
	outcome := "not_confirmed"
	if confirmed {
		outcome = "confirmed"
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.audit.Record(ctx, tx, audit.Event{Action: "carer_register.passport_check", ObjectType: "carer_passport",
			Detail: map[string]string{"outcome": outcome}})
	})
}

// Count returns how many active entries the register has (no personal
// data, not audited).
func (s *Service) Count(ctx context.Context) (int64, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&row{}).Where("tenant_id = ? AND status = 'active'", t.ID).Count(&n).Error
	})
	if err != nil {
		return 0, storeErr("count", err)
	}
	return n, nil
}

// changedFields names the details that differ between a and b.
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
	add(!sameString(a.NHSNumber, b.NHSNumber), "nhs_number")
	add(a.SNOMEDCode != b.SNOMEDCode, "snomed_code")
	add(!sameDate(&a.RecordedOn, &b.RecordedOn), "recorded_on")
	add(a.ConsentToShare != b.ConsentToShare, "consent_to_share")
	add(!sameDate(a.ConsentOn, b.ConsentOn), "consent_on")
	add(!sameDate(a.ReviewDue, b.ReviewDue), "review_due")
	add(a.CaredForName != b.CaredForName, "cared_for_name")
	add(a.CaredForRelationship != b.CaredForRelationship, "cared_for_relationship")
	add(!sameBool(a.CaredForKnown, b.CaredForKnown), "cared_for_known")
	return out
}

func sameDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Format(time.DateOnly) == b.Format(time.DateOnly)
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameBool(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
