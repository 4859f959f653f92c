// Package page is the view model every server-rendered page shares: who is
// signed in, the tenant, navigation, the CSRF token, flash messages and the
// NHS error-summary data. The web layer fills the base; handlers add content.
package page

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Viewer is the signed-in account as pages show it.
type Viewer struct {
	ID       uuid.UUID
	Name     string
	Email    string
	Operator bool
}

// NavItem is one entry of the primary navigation.
type NavItem struct {
	Label   string
	Href    string
	Current bool
}

// Base is what the layout needs on every page.
type Base struct {
	Viewer    *Viewer
	Tenant    *tenants.Tenant
	Tenants   []tenants.Tenant // the viewer's tenants, for the switcher
	Nav       []NavItem
	CSRF      string
	Path      string
	Flash     string
	RequestID string
	// Notice is what every member of the tenant must see on every page,
	// such as the tenant being read-only until its subscription is paid.
	Notice string
}

// Data is one rendered page.
type Data struct {
	Base
	Title   string
	Errors  []errs.FieldError // the error summary, in field order
	Form    map[string]string // the user's input, kept when a form is redisplayed
	Content any               // page-specific data
}

type localsKey struct{}

// SetBase stores the request's base view model (web middleware calls this).
func SetBase(c *fiber.Ctx, b *Base) { c.Locals(localsKey{}, b) }

// BaseOf returns the request's base view model, never nil.
func BaseOf(c *fiber.Ctx) *Base {
	if b, ok := c.Locals(localsKey{}).(*Base); ok {
		return b
	}
	b := &Base{}
	SetBase(c, b)
	return b
}

// New returns a page with the request's base and the given title and content.
func New(c *fiber.Ctx, title string, content any) Data {
	return Data{Base: *BaseOf(c), Title: title, Content: content}
}

// Render renders template name (e.g. "account/signin") inside the layout.
func Render(c *fiber.Ctx, name string, d Data) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render(name, d)
}

// Invalid re-renders a form with the error summary and the user's input kept.
// Errors that are not validation errors are returned for the error handler.
func Invalid(c *fiber.Ctx, name string, d Data, err error, form map[string]string) error {
	fields := errs.FieldsOf(err)
	if fields == nil {
		if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			return err
		}
		fields = []errs.FieldError{{Message: errs.MessageOf(err)}}
	}
	d.Errors, d.Form = fields, form
	c.Status(fiber.StatusUnprocessableEntity)
	return Render(c, name, d)
}

// ErrorFor returns the message for field, or "".
func (d Data) ErrorFor(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// Value returns the kept form value for field.
func (d Data) Value(field string) string { return d.Form[field] }

// TenantPath returns the path of a page inside the current tenant.
func (b Base) TenantPath(rest string) string {
	if b.Tenant == nil {
		return rest
	}
	return "/t/" + b.Tenant.Slug + rest
}

type flashKey struct{}

// SetFlash queues a message for the next page this browser shows (after a redirect).
func SetFlash(c *fiber.Ctx, msg string) { c.Locals(flashKey{}, msg) }

// QueuedFlash returns the message queued by SetFlash in this request.
func QueuedFlash(c *fiber.Ctx) string {
	s, _ := c.Locals(flashKey{}).(string)
	return s
}

// Client returns the client address of the request.
func Client(c *fiber.Ctx) string { return c.IP() }

// ParamID returns the route parameter name as an id. Anything that is not a
// UUID (or is the nil UUID) is answered as an error of kind NotFound with
// notFound, the message the page would give for an id that matches nothing.
func ParamID(c *fiber.Ctx, name, notFound string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.E(errs.NotFound, notFound)
	}
	return id, nil
}
