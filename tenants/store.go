package tenants

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// row is the tenants table as stored.
type row struct {
	ID        uuid.UUID
	Slug      string
	Name      string
	Kind      string
	ODSCode   *string `gorm:"column:ods_code"`
	Region    string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (row) TableName() string { return "tenants" }

func (r row) tenant() Tenant {
	t := Tenant{ID: r.ID, Slug: r.Slug, Name: r.Name, Kind: Kind(r.Kind), Region: r.Region,
		Status: Status(r.Status), CreatedAt: r.CreatedAt}
	if r.ODSCode != nil {
		t.ODSCode = *r.ODSCode
	}
	return t
}

// Store reads and writes the platform-wide tenants table.
type Store struct {
	db *gorm.DB

	// Every request resolves its tenant by slug; a short-lived cache saves
	// that query. A status change is seen by every node within slugTTL.
	mu    sync.Mutex
	slugs map[string]cachedTenant
}

type cachedTenant struct {
	t  Tenant
	at time.Time
}

const (
	slugTTL      = 2 * time.Second
	slugCacheMax = 4096
)

// NewStore returns a Store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db, slugs: map[string]cachedTenant{}} }

// BySlug returns the tenant with slug, or a NotFound error. The answer may
// be up to two seconds old.
func (s *Store) BySlug(ctx context.Context, slug string) (Tenant, error) {
	slug = strings.ToLower(slug)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.slugs[slug]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < slugTTL {
		return c.t, nil
	}
	t, err := s.one(ctx, "slug = ?", slug)
	if err != nil {
		return Tenant{}, err
	}
	s.mu.Lock()
	if len(s.slugs) >= slugCacheMax {
		clear(s.slugs)
	}
	s.slugs[slug] = cachedTenant{t: t, at: now}
	s.mu.Unlock()
	return t, nil
}

// Forget drops slug from this process's cache, after a change to the tenant.
func (s *Store) Forget(slug string) {
	s.mu.Lock()
	delete(s.slugs, strings.ToLower(slug))
	s.mu.Unlock()
}

// ByID returns the tenant with id, or a NotFound error.
func (s *Store) ByID(ctx context.Context, id uuid.UUID) (Tenant, error) {
	return s.one(ctx, "id = ?", id)
}

func (s *Store) one(ctx context.Context, where string, arg any) (Tenant, error) {
	var r row
	err := s.db.WithContext(ctx).Where(where, arg).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Tenant{}, errs.E(errs.NotFound, "Page not found")
	}
	if err != nil {
		return Tenant{}, storeErr("read tenant", err)
	}
	return r.tenant(), nil
}

// List returns every tenant ordered by name.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	var rows []row
	if err := s.db.WithContext(ctx).Order("lower(name)").Find(&rows).Error; err != nil {
		return nil, storeErr("list tenants", err)
	}
	out := make([]Tenant, len(rows))
	for i, r := range rows {
		out[i] = r.tenant()
	}
	return out, nil
}

// ByIDs returns the tenants with the given ids, ordered by name.
func (s *Store) ByIDs(ctx context.Context, ids []uuid.UUID) ([]Tenant, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []row
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Order("lower(name)").Find(&rows).Error; err != nil {
		return nil, storeErr("list tenants", err)
	}
	out := make([]Tenant, len(rows))
	for i, r := range rows {
		out[i] = r.tenant()
	}
	return out, nil
}

// insert stores a new tenant inside tx.
func insert(tx *gorm.DB, t Tenant) error {
	r := row{ID: t.ID, Slug: t.Slug, Name: t.Name, Kind: string(t.Kind), Region: t.Region,
		Status: string(t.Status), CreatedAt: t.CreatedAt, UpdatedAt: t.CreatedAt}
	if t.ODSCode != "" {
		r.ODSCode = &t.ODSCode
	}
	if err := tx.Create(&r).Error; err != nil {
		if _, ok := pg.IsUniqueViolation(err); ok {
			return errs.Validation(errs.FieldError{Field: "slug", Message: "A tenant with this address already exists; choose another"})
		}
		return storeErr("create tenant", err)
	}
	return nil
}

func storeErr(op string, err error) error {
	if pg.IsUnavailable(err) {
		return errs.Wrap(errs.Unavailable, "The service is temporarily unavailable", fmt.Errorf("tenants: %s: %w", op, err))
	}
	return fmt.Errorf("tenants: %s: %w", op, err)
}

var (
	slugRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{1,46}[a-z0-9])$`)
	odsRe  = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)
)

// Validate checks a new tenant's fields and returns every problem at once.
func (t Tenant) Validate() error {
	var fe []errs.FieldError // in the order the provisioning form asks
	if !t.Kind.Valid() {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "Select the kind of organisation"})
	}
	if l := len(strings.TrimSpace(t.Name)); l < 2 || l > 120 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "Enter the organisation's name (2 to 120 characters)"})
	}
	if !slugRe.MatchString(t.Slug) {
		fe = append(fe, errs.FieldError{Field: "slug", Message: "Enter a web address of 3 to 48 lower-case letters, digits or hyphens, not starting or ending with a hyphen"})
	}
	if t.ODSCode != "" && !odsRe.MatchString(t.ODSCode) {
		fe = append(fe, errs.FieldError{Field: "ods_code", Message: "Enter an ODS code of 3 to 10 capital letters and digits, or leave it blank"})
	}
	if len(t.Region) > 80 {
		fe = append(fe, errs.FieldError{Field: "region", Message: "Region must be 80 characters or fewer"})
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}
