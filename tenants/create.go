package tenants

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// New returns a validated, active tenant with a fresh id, ready to Insert.
func New(kind Kind, name, slug, odsCode, region string, now time.Time) (Tenant, error) {
	t := Tenant{ID: uuid.Must(uuid.NewV7()), Kind: kind, Name: strings.TrimSpace(name),
		Slug: strings.ToLower(strings.TrimSpace(slug)), ODSCode: strings.ToUpper(strings.TrimSpace(odsCode)),
		Region: strings.TrimSpace(region), Status: StatusActive, CreatedAt: now.UTC()}
	return t, t.Validate()
}

// Insert stores a new tenant inside tx (a provisioning transaction).
func Insert(ctx context.Context, tx *gorm.DB, t Tenant) error {
	return insert(tx.WithContext(ctx), t)
}
