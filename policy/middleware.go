package policy

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Messages of the middleware's errors.
const (
	msgSignIn    = "Sign in to continue"
	msgForbidden = "You do not have permission to do that"
	msgProblem   = "Sorry, there is a problem with the service"
	msgTryLater  = "Sorry, the service is unavailable. Try again later."
)

// Require lets a request through only if the signed-in account holds
// obj:act in the request's tenant. It reads the actor and the tenant from
// the request's user context, so it runs after the middleware that resolves
// them. It panics when the route is wired with a permission that is not in
// the catalogue, so a typo fails at start-up rather than denying everyone.
func (e *Enforcers) Require(obj, act string) fiber.Handler {
	p := Permission{Object: obj, Action: act}
	if !KnownPermission(p) {
		panic(fmt.Sprintf("policy: Require(%q, %q): no such permission in the catalogue", obj, act))
	}
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		actor, ok := tenants.ActorFrom(ctx)
		if !ok {
			return errs.E(errs.Unauthenticated, msgSignIn)
		}
		t, ok := tenants.FromContext(ctx)
		if !ok {
			return errs.Wrap(errs.Internal, msgProblem,
				fmt.Errorf("policy: Require(%s) on a route without a resolved tenant: %w", p, errNoTenant))
		}
		return e.decide(c, t.ID.String(), actor.String(), p)
	}
}

// RequirePlatform lets a request through only if the signed-in account
// holds obj:act in the platform operator area. Like Require, it panics on a
// permission that is not in the platform catalogue.
func (e *Enforcers) RequirePlatform(obj, act string) fiber.Handler {
	p := Permission{Object: obj, Action: act}
	if !knownPlatformPermission(p) {
		panic(fmt.Sprintf("policy: RequirePlatform(%q, %q): no such platform permission", obj, act))
	}
	return func(c *fiber.Ctx) error {
		actor, ok := tenants.ActorFrom(c.UserContext())
		if !ok {
			return errs.E(errs.Unauthenticated, msgSignIn)
		}
		return e.decide(c, PlatformDomain, actor.String(), p)
	}
}

// errNoTenant is the cause logged when Require runs without a tenant.
var errNoTenant = errors.New("no tenant in the request context")

func (e *Enforcers) decide(c *fiber.Ctx, domain, subject string, p Permission) error {
	ok, err := e.Allowed(c.UserContext(), domain, subject, p)
	if err != nil {
		return errs.Wrap(errs.Unavailable, msgTryLater, fmt.Errorf("policy: decide %s: %w", p, err))
	}
	if !ok {
		// Someone who is not a member must not learn that the tenant's
		// pages exist: answer as if there were nothing here.
		if domain != PlatformDomain {
			if member, err := e.HasAnyRole(c.UserContext(), domain, subject); err == nil && !member {
				return errs.E(errs.NotFound, "Page not found")
			}
		}
		return errs.E(errs.Forbidden, msgForbidden)
	}
	return c.Next()
}

// SignedIn lets a request through only with a signed-in account, in any
// tenant or none (the holder's own pages).
func SignedIn(c *fiber.Ctx) error {
	if _, ok := tenants.ActorFrom(c.UserContext()); !ok {
		return errs.E(errs.Unauthenticated, msgSignIn)
	}
	return c.Next()
}

// Can reports whether the request's account may do obj:act in the request's
// tenant, for pages that show an action only to those allowed it. A
// suspended tenant allows nothing.
func (e *Enforcers) Can(c *fiber.Ctx, obj, act string) bool {
	ctx := c.UserContext()
	actor, ok := tenants.ActorFrom(ctx)
	t, tok := tenants.FromContext(ctx)
	if !ok || !tok || t.Suspended() {
		return false
	}
	yes, err := e.Allowed(ctx, t.ID.String(), actor.String(), Permission{Object: obj, Action: act})
	return err == nil && yes
}
