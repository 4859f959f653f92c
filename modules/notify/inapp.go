package notify

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Notification is one in-app notification as its person sees it.
type Notification struct {
	ID         uuid.UUID
	TenantName string
	Kind       string
	Body       string
	Link       string // a path on this site, or ""
	CreatedAt  time.Time
	ReadAt     *time.Time
}

// Unread reports whether the person has not marked it read.
func (n Notification) Unread() bool { return n.ReadAt == nil }

// maxList bounds the notifications listed.
const maxList = 100

// ownPersons is the signed-in account's own persons: the one it claimed
// (row-level security says the same, outside any tenant scope).
const ownPersons = `SELECT id FROM persons WHERE account_id = ?`

func actor(ctx context.Context) (uuid.UUID, error) {
	id, ok := tenants.ActorFrom(ctx)
	if !ok {
		return uuid.Nil, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	return id, nil
}

// Notifications lists the signed-in account's own notifications, from
// every tenant, newest first. An account that has claimed no passport has
// none.
func (n *Notifier) Notifications(ctx context.Context) ([]Notification, error) {
	me, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var out []Notification
	err = n.db.Platform(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT n.id, t.name, n.kind, n.body, n.link, n.created_at, n.read_at
			FROM notifications n JOIN tenants t ON t.id = n.tenant_id
			WHERE n.person_id IN (`+ownPersons+`)
			ORDER BY n.created_at DESC, n.id DESC LIMIT ?`, me, maxList).Rows()
		if err != nil {
			return storeErr("list notifications", err)
		}
		defer rows.Close()
		for rows.Next() {
			var x Notification
			if err := rows.Scan(&x.ID, &x.TenantName, &x.Kind, &x.Body, &x.Link, &x.CreatedAt, &x.ReadAt); err != nil {
				return storeErr("list notifications", err)
			}
			out = append(out, x)
		}
		return storeErr("list notifications", rows.Err())
	})
	return out, err
}

// Unread counts the signed-in account's unread notifications, for a badge
// in the navigation; 0 for a request with no one signed in.
func (n *Notifier) Unread(ctx context.Context) (int, error) {
	me, ok := tenants.ActorFrom(ctx)
	if !ok {
		return 0, nil
	}
	var count int
	err := n.db.Platform(ctx, func(tx *gorm.DB) error {
		return storeErr("count notifications", tx.Raw(`SELECT count(*) FROM notifications
			WHERE person_id IN (`+ownPersons+`) AND read_at IS NULL`, me).Row().Scan(&count))
	})
	return count, err
}

// MarkAllRead marks the signed-in account's notifications read and
// returns how many were unread.
func (n *Notifier) MarkAllRead(ctx context.Context) (int, error) {
	me, err := actor(ctx)
	if err != nil {
		return 0, err
	}
	var changed int64
	err = n.db.Platform(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE notifications SET read_at = ? WHERE person_id IN (`+ownPersons+`) AND read_at IS NULL`,
			n.now().UTC(), me)
		if res.Error != nil {
			return storeErr("mark notifications read", res.Error)
		}
		changed = res.RowsAffected
		if changed == 0 {
			return nil
		}
		return n.audit.RecordPlatform(ctx, tx, audit.Event{Action: "notifications.read", ObjectType: "account",
			ObjectID: me.String()})
	})
	return int(changed), err
}
