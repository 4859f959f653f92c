package holder

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

// Service reads and records holders of the request's tenant.
type Service struct {
	db    *tenants.DB
	audit *audit.Log
	now   func() time.Time
}

// NewService returns a Service.
func NewService(db *tenants.DB, log *audit.Log, now func() time.Time) *Service {
	return &Service{db: db, audit: log, now: now}
}

// List returns the tenant's holders by family name, optionally filtered by a
// name fragment; the listing itself is audited.
func (s *Service) List(ctx context.Context, query string, limit int) ([]Holder, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	t, _ := tenants.FromContext(ctx)
	var rows []row
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
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

// Get returns one holder; the read is audited in the same transaction.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Holder, error) {
	t, _ := tenants.FromContext(ctx)
	var r row
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Where("tenant_id = ? AND id = ?", t.ID, id).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errs.E(errs.NotFound, "No holder with that reference")
		}
		if err != nil {
			return fmt.Errorf("holder: get: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "holder.read", ObjectType: "holder", ObjectID: id.String()})
	})
	return r.holder(), err
}

// Count returns how many holders the tenant has (no personal data, not audited).
func (s *Service) Count(ctx context.Context) (int64, error) {
	t, _ := tenants.FromContext(ctx)
	var n int64
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
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

// Create records a new holder in tx (used by seeding; the full enrolment
// journey belongs to the skills-passport work).
func (s *Service) Create(ctx context.Context, tx *gorm.DB, in NewHolder) (Holder, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return Holder{}, errs.E(errs.Internal, "holder without a tenant")
	}
	now := s.now().UTC()
	// Every enrolment starts as a new person; claiming an account (or a
	// share) is what joins enrolments in different tenants to one person.
	personID := uuid.Must(uuid.NewV7())
	if err := tx.Exec(`INSERT INTO persons (id, created_at) VALUES (?, ?)`, personID, now).Error; err != nil {
		return Holder{}, fmt.Errorf("holder: person: %w", err)
	}
	r := row{TenantID: t.ID, ID: uuid.Must(uuid.NewV7()), PersonID: personID, Status: "active", GivenName: in.GivenName, FamilyName: in.FamilyName,
		DateOfBirth: in.DateOfBirth, Email: in.Email, Phone: in.Phone, RoleInCare: in.RoleInCare, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&r).Error; err != nil {
		return Holder{}, fmt.Errorf("holder: create: %w", err)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "holder.create", ObjectType: "holder", ObjectID: r.ID.String()}); err != nil {
		return Holder{}, err
	}
	return r.holder(), nil
}
