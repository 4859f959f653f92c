package tenants

import (
	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
)

// Resolve is fiber middleware for routes under /t/:slug (and the API's
// equivalent): it looks the tenant up by its slug and puts it in the request
// context. An unknown slug is a 404. A suspended tenant may be read but not
// changed.
func Resolve(store *Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, err := store.BySlug(c.UserContext(), c.Params("slug"))
		if err != nil {
			return err
		}
		if t.Suspended() && !safeMethod(c.Method()) {
			return errs.E(errs.ReadOnly, t.Name+" is suspended on Carepass. You can look at its records, but nothing can be changed until it is resumed.")
		}
		c.SetUserContext(WithTenant(c.UserContext(), t))
		return c.Next()
	}
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// ResolveLink puts the tenant named by the route's :slug in the request
// context, for public links (invitations, claims) that a token authorises.
// It reports false when no tenant has that slug, so the caller can answer
// exactly as for any other link that cannot be used.
func ResolveLink(c *fiber.Ctx, store *Store) (bool, error) {
	t, err := store.BySlug(c.UserContext(), c.Params("slug"))
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.SetUserContext(WithTenant(c.UserContext(), t))
	return true, nil
}
