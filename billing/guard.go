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
// the paths of Config.Exempt (where "*" matches one segment). Reads and exports, being GETs, always pass.
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
		if s.exempt(underTenant(c.Path(), t.Slug)) || !s.member(c, t) {
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
	got := strings.Split(strings.Trim(rest, "/"), "/")
	for _, e := range append([]string{BillingPath}, s.cfg.Exempt...) {
		if pathUnder(got, strings.Split(strings.Trim(e, "/"), "/")) {
			return true
		}
	}
	return false
}

// pathUnder reports whether the path segments got are pattern or lie under
// it; "*" in pattern stands for any one segment (an id).
func pathUnder(got, pattern []string) bool {
	if len(got) < len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != got[i] {
			return false
		}
	}
	return true
}

// RequireFeature is middleware for routes that only plans with feature name
// (one of Features) include, such as the JSON API or FHIR export: a tenant
// whose plan lacks it is refused with kind Forbidden and a message naming
// the plans that include it. With billing disabled everything passes.
func (s *Service) RequireFeature(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, ok := tenants.FromContext(c.UserContext())
		if !ok || !s.member(c, t) {
			return c.Next()
		}
		ok, err := s.Feature(c.UserContext(), name)
		if err != nil {
			return err
		}
		if ok {
			return c.Next()
		}
		var with []string
		for _, p := range Plans {
			if p.Features[name] && p.For(t.Kind) {
				with = append(with, p.Name)
			}
		}
		msg := featureLabel(name) + " is not part of your organisation's plan."
		if len(with) > 0 {
			msg += " It comes with the " + strings.Join(with, " and ") + " plan"
			if len(with) > 1 {
				msg += "s"
			}
			msg += ": an administrator can change plan on the Billing page."
		}
		return errs.E(errs.Forbidden, msg)
	}
}

// member reports whether the request's account belongs to t, so may learn
// about its billing. Signed-out visitors and other tenants' people are not
// told: the route's own authorization answers them.
func (s *Service) member(c *fiber.Ctx, t tenants.Tenant) bool {
	if s.cfg.Members == nil {
		return true
	}
	actor, ok := tenants.ActorFrom(c.UserContext())
	if !ok {
		return false
	}
	yes, err := s.cfg.Members.HasAnyRole(c.UserContext(), t.ID.String(), actor.String())
	return err == nil && yes
}
