package billing

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// BillingPath is where the billing pages live under a tenant's address.
// Guard always lets it through, so a read-only tenant can pay.
const BillingPath = "/billing"

// Guard is middleware for the tenant routers (/t/:slug and
// /api/v1/t/:slug), after the tenant is resolved: while the tenant's
// billing makes it read-only (a trial that has ended, a payment overdue
// beyond the grace period, a subscription that is unpaid or cancelled) it
// refuses every request that is not GET, HEAD or OPTIONS with an error of
// kind ReadOnly that says why and what to do, except under BillingPath and
// the paths of Config.Exempt. Reads and exports, being GETs, always pass.
// Holders' own pages (/me) and public verification are not under these
// routers, so Guard never touches them.
func (s *Service) Guard() fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		if !s.Enabled() {
			return c.Next()
		}
		t, ok := tenants.FromContext(c.UserContext())
		if !ok {
			return c.Next() // not a tenant route: not for Guard to judge
		}
		if s.exempt(underTenant(c.Path(), t.Slug)) {
			return c.Next()
		}
		st, err := s.Status(c.UserContext(), t.ID)
		if err != nil {
			return err
		}
		if st.ReadOnly {
			return errs.E(errs.ReadOnly, readOnlyMessage(st))
		}
		return c.Next()
	}
}

// underTenant returns the part of path after the tenant's address
// (/t/<slug> or /api/v1/t/<slug>): "/holders/new" for
// "/t/wren/holders/new".
func underTenant(path, slug string) string {
	marker := "/t/" + strings.ToLower(slug)
	i := strings.Index(strings.ToLower(path), marker)
	if i < 0 {
		return path
	}
	rest := path[i+len(marker):]
	if rest != "" && rest[0] != '/' {
		return path // another slug that starts with this one
	}
	return rest
}

func (s *Service) exempt(rest string) bool {
	for _, e := range append([]string{BillingPath}, s.cfg.Exempt...) {
		e = "/" + strings.Trim(e, "/")
		if rest == e || strings.HasPrefix(rest, e+"/") {
			return true
		}
	}
	return false
}
