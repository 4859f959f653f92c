package tenants

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
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

// SetStatus suspends or resumes the tenant with id, inside tx.
func SetStatus(ctx context.Context, tx *gorm.DB, id uuid.UUID, st Status, now time.Time) error {
	if st != StatusActive && st != StatusSuspended {
		return errs.E(errs.Invalid, "Unknown tenant status")
	}
	res := tx.WithContext(ctx).Exec(`UPDATE tenants SET status = ?, updated_at = ? WHERE id = ?`, string(st), now.UTC(), id)
	if res.Error != nil {
		return storeErr("set tenant status", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such tenant")
	}
	return nil
}
