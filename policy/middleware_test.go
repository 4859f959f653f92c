package policy

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// kindStatus stands in for the web layer's mapping of error kinds.
var kindStatus = map[errs.Kind]int{
	errs.Unauthenticated: fiber.StatusUnauthorized,
	errs.Forbidden:       fiber.StatusForbidden,
	errs.NotFound:        fiber.StatusNotFound,
	errs.Internal:        fiber.StatusInternalServerError,
	errs.Unavailable:     fiber.StatusServiceUnavailable,
}

func TestRequire(t *testing.T) {
	src := newMemSource()
	tenantID, accountID, operatorID := uuid.New(), uuid.New(), uuid.New()
	d := tenantID.String()
	src.applyTemplates(d, tenants.KindGPPractice)
	src.add(d, "g", accountID.String(), "reception", d)
	src.add(PlatformDomain, "p", OperatorRole, PlatformDomain, "tenants", "write")
	src.add(PlatformDomain, "g", operatorID.String(), OperatorRole, PlatformDomain)
	e := newMemEnforcers(t, src, Options{})

	tests := []struct {
		name    string
		path    string
		actor   uuid.UUID
		tenant  bool
		status  int
		message string
	}{
		{"no one signed in is sent to sign in", "/check", uuid.Nil, true, 401, "Sign in to continue"},
		{"a route without a tenant is a wiring bug", "/check", accountID, false, 500, ""},
		{"a role with the permission passes", "/check", accountID, true, 200, ""},
		{"a role without the permission is refused", "/billing", accountID, true, 403, "You do not have permission to do that"},
		{"an account with no role in the tenant is told the page does not exist", "/check", uuid.New(), true, 404, "Page not found"},
		{"an operator passes the platform check", "/platform", operatorID, false, 200, ""},
		{"a tenant member is refused the platform check", "/platform", accountID, true, 403, ""},
		{"the platform check needs a sign-in", "/platform", uuid.Nil, false, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotMsg string
			app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
				var fe *fiber.Error
				if errors.As(err, &fe) {
					return c.SendStatus(fe.Code)
				}
				gotMsg = errs.MessageOf(err)
				return c.SendStatus(kindStatus[errs.KindOf(err)])
			}})
			app.Use(func(c *fiber.Ctx) error {
				ctx := c.UserContext()
				if tt.actor != uuid.Nil {
					ctx = tenants.WithActor(ctx, tt.actor)
				}
				if tt.tenant {
					ctx = tenants.WithTenant(ctx, tenants.Tenant{ID: tenantID, Kind: tenants.KindGPPractice})
				}
				c.SetUserContext(ctx)
				return c.Next()
			})
			ok := func(c *fiber.Ctx) error { return c.SendString("ok") }
			app.Get("/check", e.Require("verification", "check"), ok)
			app.Get("/billing", e.Require("billing", "manage"), ok)
			app.Get("/platform", e.RequirePlatform("tenants", "write"), ok)

			resp, err := app.Test(httptest.NewRequest("GET", tt.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.message != "" && gotMsg != tt.message {
				t.Errorf("message = %q, want %q", gotMsg, tt.message)
			}
		})
	}
}

func TestRequireRejectsUnknownPermissionsWhenWired(t *testing.T) {
	e := newMemEnforcers(t, newMemSource(), Options{})
	for name, wire := range map[string]func(){
		"tenant":             func() { e.Require("passport", "frobnicate") },
		"platform in tenant": func() { e.Require("tenants", "write") },
		"tenant in platform": func() { e.RequirePlatform("billing", "manage") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("wiring an unknown permission did not panic")
				}
			}()
			wire()
		})
	}
}
