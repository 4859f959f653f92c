package web

import (
	_ "embed"
	"regexp"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/page"
)

//go:embed openapi.json
var openapi []byte

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$`)

// Home mounts the platform's own pages: the start page, the tenant switcher
// and the footer's statements.
func (s *Server) Home() {
	s.Public.Get("/", func(c *fiber.Ctx) error {
		b := page.BaseOf(c)
		if b.Viewer != nil {
			list, err := s.deps.Members.TenantsOf(c.UserContext(), b.Viewer.ID)
			if err != nil {
				return err
			}
			b.Tenants = list
		}
		return page.Render(c, "web/home", page.New(c, "Carepass", nil))
	})
	s.Public.Get("/switch", func(c *fiber.Ctx) error {
		to := c.Query("to")
		if !slugPattern.MatchString(to) {
			return c.Redirect("/", fiber.StatusSeeOther)
		}
		return c.Redirect("/t/"+to, fiber.StatusSeeOther)
	})
	s.Public.Get("/accessibility", func(c *fiber.Ctx) error {
		return page.Render(c, "web/accessibility", page.New(c, "Accessibility statement", nil))
	})
	s.Public.Get("/privacy", func(c *fiber.Ctx) error {
		return page.Render(c, "web/privacy", page.New(c, "Privacy", nil))
	})
}

// Docs serves the OpenAPI description of the JSON API.
func (s *Server) Docs() {
	s.API.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/json")
		return c.Send(openapi)
	})
}

// OpenAPI returns the served OpenAPI document (for tests and tooling).
func OpenAPI() []byte { return openapi }
