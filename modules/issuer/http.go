package issuer

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/errs"
)

// Well-known URLs of the published documents.
const (
	KeysPath       = "/.well-known/carepass/keys.json"
	StatusPath     = "/.well-known/carepass/status.json"
	IssuerListPath = "/.well-known/carepass/status/" // + issuer slug
)

// Routes publishes, without sign-in, the key set of every issuer, every
// issuer's status list, and one issuer's status list, each cacheable for its
// stated maximum age.
func Routes(public fiber.Router, svc *Service) {
	public.Get(KeysPath, func(c *fiber.Ctx) error {
		set, err := svc.KeySet(c.UserContext())
		if err != nil {
			return err
		}
		return published(c, credential.KeySetMaxAge.Seconds(), set)
	})
	public.Get(StatusPath, func(c *fiber.Ctx) error {
		docs, err := svc.StatusLists(c.UserContext())
		if err != nil {
			return err
		}
		if docs == nil {
			docs = []credential.StatusListDocument{}
		}
		return published(c, credential.StatusListMaxAge.Seconds(), docs)
	})
	public.Get(IssuerListPath+":issuer", func(c *fiber.Ctx) error {
		slug := c.Params("issuer")
		if !credential.ValidIssuer(slug) {
			return errs.E(errs.NotFound, "No status list for that issuer")
		}
		doc, err := svc.StatusList(c.UserContext(), slug)
		if errors.Is(err, ErrNoList) {
			return errs.E(errs.NotFound, "No status list for that issuer")
		}
		if err != nil {
			return err
		}
		return published(c, credential.StatusListMaxAge.Seconds(), doc)
	})
}

func published(c *fiber.Ctx, maxAge float64, v any) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(maxAge)))
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.JSON(v)
}
