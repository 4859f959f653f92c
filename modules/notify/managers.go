package notify

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/tenants"
)

// A member is a manager when their roles hold this permission: seeing staff and
// their training (staff:read in policy/catalogue.csv).
const (
	managerObject = "staff"
	managerAction = "read"
)

// MemberManagers finds a tenant's managers in its stored policy: every
// active member with an active account whose roles in the tenant hold
// staff:read. It reads the policy rules the enforcers load (casbin_rule:
// "g" rules give a subject a role in a domain, "p" rules give a role a
// permission in a domain, the domain being the tenant id), so a role
// change counts from the next sweep.
type MemberManagers struct {
	DB *tenants.DB
}

// Managers lists the tenant's managers, by email address.
func (m MemberManagers) Managers(ctx context.Context, tenantID uuid.UUID) ([]Manager, error) {
	var rows []struct {
		ID    uuid.UUID
		Name  string
		Email string
	}
	ctx = tenants.WithTenant(ctx, tenants.Tenant{ID: tenantID})
	err := m.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT DISTINCT a.id, a.name, a.email FROM memberships ms
			JOIN accounts a ON a.id = ms.account_id AND a.status = 'active'
			JOIN casbin_rule g ON g.ptype = 'g' AND g.v0 = ms.account_id::text AND g.v2 = ?
			JOIN casbin_rule p ON p.ptype = 'p' AND p.v0 = g.v1 AND p.v1 = g.v2 AND p.v2 = ? AND p.v3 = ?
			WHERE ms.tenant_id = ? AND ms.status = 'active'
			ORDER BY a.email`, tenantID.String(), managerObject, managerAction, tenantID).Scan(&rows).Error
	})
	if err != nil {
		return nil, storeErr("find managers", err)
	}
	out := make([]Manager, len(rows))
	for i, r := range rows {
		out[i] = Manager{AccountID: r.ID, Address: mail.Address{Name: r.Name, Email: r.Email}}
	}
	return out, nil
}
