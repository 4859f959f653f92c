package audit

import (
	"context"
	"embed"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Recent returns the newest events of the tenant in ctx, newest first.
func (l *Log) Recent(ctx context.Context, db *tenants.DB, limit int) ([]Stored, error) {
	t, _ := tenants.FromContext(ctx)
	var out []Stored
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		// Show who acted by email; the stored label covers actors without an account.
		rows, err := tx.Raw(`SELECT e.seq, e.occurred_at, e.actor_id,
				coalesce(nullif(e.actor_label, ''), a.email, ''), e.action, e.object_type, e.object_id, e.client_ip, e.outcome
			FROM audit_events e LEFT JOIN accounts a ON a.id = e.actor_id
			WHERE e.tenant_id = ? ORDER BY e.seq DESC LIMIT ?`, t.ID, limit).Rows()
		if err != nil {
			return fmt.Errorf("audit: recent: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s Stored
			var outcome string
			if err := rows.Scan(&s.Seq, &s.OccurredAt, &s.ActorID, &s.ActorLabel, &s.Action, &s.ObjectType, &s.ObjectID, &s.ClientIP, &outcome); err != nil {
				return fmt.Errorf("audit: recent: %w", err)
			}
			s.Outcome = Outcome(outcome)
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

// Guard is the permission check the audit page needs.
type Guard interface {
	Require(obj, act string) fiber.Handler
}

// Routes mounts the tenant's audit trail page.
func Routes(tenant fiber.Router, log *Log, db *tenants.DB, guard Guard) {
	tenant.Get("/audit", guard.Require("audit", "read"), func(c *fiber.Ctx) error {
		events, err := log.Recent(c.UserContext(), db, 200)
		if err != nil {
			return err
		}
		return page.Render(c, "audit/events", page.New(c, "Audit trail", events))
	})
}
