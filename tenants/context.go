package tenants

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// ctxKey is unexported so no other package can collide with or forge these values.
type ctxKey int

const (
	tenantKey ctxKey = iota
	actorKey
)

// WithTenant returns a context carrying the tenant resolved for this request.
func WithTenant(ctx context.Context, t Tenant) context.Context {
	return context.WithValue(ctx, tenantKey, t)
}

// FromContext returns the tenant resolved for this request, if any.
func FromContext(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(tenantKey).(Tenant)
	return t, ok
}

// WithActor returns a context carrying the signed-in account acting in this request.
func WithActor(ctx context.Context, accountID uuid.UUID) context.Context {
	return context.WithValue(ctx, actorKey, accountID)
}

// ActorFrom returns the signed-in account acting in this request, if any.
func ActorFrom(ctx context.Context) (uuid.UUID, bool) {
	id, ok := ctx.Value(actorKey).(uuid.UUID)
	return id, ok && id != uuid.Nil
}

// Path returns rest under the address of the request's tenant: /t/<slug>rest.
func Path(c *fiber.Ctx, rest string) string {
	t, _ := FromContext(c.UserContext())
	return "/t/" + t.Slug + rest
}
