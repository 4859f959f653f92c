package web

import (
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// mountBench adds the floors the benchmark harness measures real endpoints
// against: a handler that does nothing and one raw pgx single-row query.
// They exist only when the server is started with CAREPASS_BENCH=1.
func (s *Server) mountBench() {
	s.App.Get("/_bench/noop", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.App.Get("/_bench/pgx", func(c *fiber.Ctx) error {
		var n int64
		if err := s.deps.Pool.QueryRow(c.UserContext(), `SELECT count(*) FROM tenants WHERE status = 'active'`).Scan(&n); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"active_tenants": n})
	})
}

func httpFS(f fs.FS) http.FileSystem { return http.FS(f) }
