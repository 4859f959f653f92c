// Package jsonbody reads the JSON API's request bodies the same way in every
// module: exactly one JSON object, no field the target does not have, and
// errors a client can act on (the field, the expected type), never the
// decoder's internals.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
)

const (
	msgOneObject = "The request body must be one JSON object"
	msgNotJSON   = "The request body is not valid JSON"
)

// Decode decodes the request body into v. Fiber has already enforced the
// body limit.
func Decode(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return errs.E(errs.Invalid, msgOneObject)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return errs.Validation(errs.FieldError{Field: te.Field, Message: "Expected " + kind(te.Type.Kind().String()) + " for " + te.Field})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			// The field name is the client's own input, quoted back to it.
			return errs.E(errs.Invalid, "Unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field ")+" in the request body")
		}
		return errs.Wrap(errs.Invalid, msgNotJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.Invalid, msgOneObject)
	}
	return nil
}

// kind names a Go kind as a JSON type.
func kind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice" || k == "array":
		return "an array"
	case k == "bool":
		return "true or false"
	case k == "struct" || k == "map":
		return "an object"
	}
	return "a string"
}
