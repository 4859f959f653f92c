// Package errs is the one error type of the application: a kind that the web
// layer maps to an HTTP status in exactly one place, a message that is safe to
// show to a user, and the wrapped cause that is only ever logged.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the caller and for the HTTP mapping.
type Kind int

// Error kinds. The zero value is Internal so an unclassified error is never
// shown as the user's fault.
const (
	Internal        Kind = iota // a bug or an unexpected failure
	Invalid                     // the request was malformed or failed validation
	NotFound                    // the thing does not exist, or the caller may not know it does
	Conflict                    // a unique value is already taken, or state forbids the change
	Unauthenticated             // the caller must sign in
	Forbidden                   // the caller is known but may not do this
	TooMany                     // throttled
	ReadOnly                    // the tenant is suspended or read-only
	Unavailable                 // a dependency (the database) is unreachable
	TooLarge                    // the body is too large
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case TooMany:
		return "too_many"
	case ReadOnly:
		return "read_only"
	case Unavailable:
		return "unavailable"
	case TooLarge:
		return "too_large"
	}
	return "internal"
}

// FieldError is a validation failure of one form field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the application's error.
type Error struct {
	Kind    Kind
	Message string       // safe to show to the user
	Fields  []FieldError // per-field validation failures, for the error summary
	Err     error        // the cause; logged, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a user-safe message.
func E(k Kind, msg string) error { return &Error{Kind: k, Message: msg} }

// Wrap builds an error of kind k with a user-safe message around a cause.
func Wrap(k Kind, msg string, err error) error { return &Error{Kind: k, Message: msg, Err: err} }

// Validation builds an Invalid error carrying per-field messages.
func Validation(fields ...FieldError) error {
	return &Error{Kind: Invalid, Message: "There is a problem", Fields: fields}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf returns the user-safe message of err, or a generic one.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" && e.Kind != Internal {
		return e.Message
	}
	return "Sorry, there is a problem with the service"
}

// FieldsOf returns the field errors carried by err, if any.
func FieldsOf(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
