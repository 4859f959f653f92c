package web

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
)

// status maps an error kind to its HTTP status: the one place this happens.
func status(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return fiber.StatusUnprocessableEntity
	case errs.NotFound:
		return fiber.StatusNotFound
	case errs.Conflict:
		return fiber.StatusConflict
	case errs.Unauthenticated:
		return fiber.StatusUnauthorized
	case errs.Forbidden, errs.ReadOnly:
		return fiber.StatusForbidden
	case errs.TooMany:
		return fiber.StatusTooManyRequests
	case errs.Unavailable:
		return fiber.StatusServiceUnavailable
	case errs.TooLarge:
		return fiber.StatusRequestEntityTooLarge
	}
	return fiber.StatusInternalServerError
}

// errorPage is what the error template shows.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// errorHandler maps every error a handler returns to a status and a safe
// message; internals are logged with the request id and never shown.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		kind := errs.KindOf(err)
		var fe *fiber.Error
		if errors.As(err, &fe) {
			// Fiber's own errors: unknown route, method, oversized body.
			switch fe.Code {
			case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
				kind, err = errs.NotFound, errs.E(errs.NotFound, "Page not found")
			case fiber.StatusRequestEntityTooLarge:
				kind, err = errs.TooLarge, errs.E(errs.TooLarge, "The request is too large")
			case fiber.StatusBadRequest:
				kind, err = errs.Invalid, errs.E(errs.Invalid, "The request could not be read")
			}
		}
		code := status(kind)
		rid, _ := c.Locals(requestIDKey{}).(string)
		if code >= 500 {
			log.Error("request failed", "request_id", rid, "kind", kind.String(), "route", c.Route().Path, "err", err)
		}
		api := strings.HasPrefix(c.Path(), "/api/")
		if kind == errs.Unauthenticated && !api && c.Method() == fiber.MethodGet {
			return c.Redirect("/signin?next=" + url.QueryEscape(c.OriginalURL()))
		}
		msg := errs.MessageOf(err)
		if api {
			body := fiber.Map{"code": kind.String(), "message": msg}
			if f := errs.FieldsOf(err); len(f) > 0 {
				body["fields"] = f
			}
			return c.Status(code).JSON(fiber.Map{"error": body, "request_id": rid})
		}
		c.Status(code)
		d := page.New(c, headingFor(code), errorPage{Status: code, Heading: headingFor(code), Message: msg})
		if rerr := page.Render(c, "web/error", d); rerr != nil {
			log.Error("error page failed", "request_id", rid, "err", rerr)
			return c.Status(code).SendString(msg)
		}
		return nil
	}
}

func headingFor(code int) string {
	switch code {
	case fiber.StatusNotFound:
		return "Page not found"
	case fiber.StatusForbidden:
		return "You cannot do that"
	case fiber.StatusUnauthorized:
		return "Sign in to continue"
	case fiber.StatusTooManyRequests:
		return "Too many attempts"
	case fiber.StatusServiceUnavailable:
		return "Sorry, the service is unavailable"
	case fiber.StatusUnprocessableEntity:
		return "There is a problem"
	case fiber.StatusRequestEntityTooLarge:
		return "That was too large"
	}
	return "Sorry, there is a problem with the service"
}
