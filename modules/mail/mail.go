// Package mail sends email: a Message with a plain-text and an HTML body and
// optional attachments (a calendar invite, say), built into a MIME message
// with the standard library and delivered by SMTP.
//
// Sending is a side effect outside the database: callers send after commit or
// from a durable job, and retry when an error wraps ErrSend. A message that
// can never be sent (a header value carrying a line break, no recipient, a
// malformed address) fails with ErrInvalid instead, and retrying it is
// pointless; so is retrying an error that also wraps ErrRejected, the
// server's permanent refusal.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors callers branch on.
var (
	// ErrSend wraps every failure to deliver a valid message: a refused or
	// timed-out connection, a TLS failure, a temporary (4xx) or permanent
	// (5xx) reply from the server. A job queue retries these, except the
	// ones that also wrap ErrRejected.
	ErrSend = errors.New("mail: send failed")
	// ErrRejected is wrapped, alongside ErrSend, when the server answered
	// with a permanent (5xx) failure: the same message will be refused again.
	ErrRejected = errors.New("mail: rejected by server")
	// ErrInvalid wraps an error in a Message or an SMTPConfig: header
	// injection (CR or LF in a header value), no recipient, a malformed
	// address or header name, no body. It is never worth retrying.
	ErrInvalid = errors.New("mail: invalid message")
)

// Sender delivers a message. Implementations honour ctx's deadline and
// cancellation and wrap delivery failures in ErrSend.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Address is a mailbox: an optional display name (any Unicode, encoded as
// RFC 2047 when it is not ASCII) and an ASCII email address.
type Address struct {
	Name  string
	Email string
}

// Attachment is a file sent with a message, base64-encoded. ContentType is a
// full media type with parameters, for example
// "text/calendar; method=REQUEST; charset=UTF-8" for an invite.ics.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Message is one email. At least one of Text and HTML is needed; send both,
// since some readers show only one. Headers holds extra header fields such as
// List-Unsubscribe; it may not set the fields this package writes itself
// (From, To, Subject, Date, Message-ID, MIME-Version, Content-*), nor Cc,
// Bcc, Sender or Return-Path. ID becomes the Message-ID (<ID@domain of the
// sender>, or <ID> when it already holds an @); when empty a fresh UUIDv7 is
// used. Keeping sends idempotent, for instance by deriving ID from a job id,
// is the caller's business.
type Message struct {
	To          []Address
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
	Headers     map[string]string
	ID          string
}

// reserved are header fields a Message's Headers may not set, canonicalised.
var reserved = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Sender": true,
	"Subject": true, "Date": true, "Message-Id": true, "Mime-Version": true,
	"Return-Path": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Content-Disposition": true, "Content-Id": true, "Content-Description": true,
}

// invalid returns an error wrapping ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkHeaderText refuses a header value that is not UTF-8 or that carries a
// control character: CR and LF above all, which would let a value start a
// header of its own.
func checkHeaderText(what, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r == '\r' || r == '\n' {
			return invalid("%s contains a line break", what)
		}
		if unicode.IsControl(r) {
			return invalid("%s contains a control character", what)
		}
	}
	return nil
}

// validate checks an address: a display name without control characters and
// a plain ASCII addr-spec.
func (a Address) validate(what string) error {
	if err := checkHeaderText(what+" name", a.Name); err != nil {
		return err
	}
	if err := checkHeaderText(what+" email", a.Email); err != nil {
		return err
	}
	if a.Email == "" {
		return invalid("%s email is empty", what)
	}
	for i := 0; i < len(a.Email); i++ {
		if a.Email[i] >= utf8.RuneSelf {
			return invalid("%s email %q is not ASCII", what, a.Email)
		}
	}
	p, err := mail.ParseAddress(a.Email)
	if err != nil || p.Name != "" || p.Address != a.Email || !strings.Contains(a.Email, "@") {
		return invalid("%s email %q is not an address", what, a.Email)
	}
	return nil
}

// domain is the part of the email after the @.
func (a Address) domain() string {
	return a.Email[strings.LastIndexByte(a.Email, '@')+1:]
}

// validate checks everything that ends up in a header, and the bodies.
func (m Message) validate() error {
	if len(m.To) == 0 {
		return invalid("no recipient")
	}
	for i, a := range m.To {
		if err := a.validate(fmt.Sprintf("recipient %d", i+1)); err != nil {
			return err
		}
	}
	if err := checkHeaderText("subject", m.Subject); err != nil {
		return err
	}
	if m.Text == "" && m.HTML == "" {
		return invalid("no body: set Text, HTML or both")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return invalid("body is not valid UTF-8")
	}
	if m.ID != "" {
		if err := checkID(m.ID); err != nil {
			return err
		}
	}
	seen := make(map[string]bool, len(m.Headers))
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return invalid("header name %q is not valid", k)
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if reserved[ck] {
			return invalid("header %s is set by the mailer, not by Headers", ck)
		}
		if seen[ck] {
			return invalid("header %s is given twice", ck)
		}
		seen[ck] = true
		if err := checkHeaderText("header "+ck, v); err != nil {
			return err
		}
	}
	for i, a := range m.Attachments {
		what := fmt.Sprintf("attachment %d", i+1)
		if a.Filename == "" {
			return invalid("%s has no filename", what)
		}
		if err := checkHeaderText(what+" filename", a.Filename); err != nil {
			return err
		}
		if utf8.RuneCountInString(a.Filename) > 255 {
			return invalid("%s filename is longer than 255 characters", what)
		}
		if strings.ContainsAny(a.Filename, `/\`) {
			return invalid("%s filename %q holds a path separator", what, a.Filename)
		}
		if err := checkHeaderText(what+" content type", a.ContentType); err != nil {
			return err
		}
	}
	return nil
}

// validFieldName reports whether s is an RFC 5322 field name: printable
// ASCII other than the colon.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// checkID accepts a Message-ID left part made of RFC 5322 atext and dots,
// optionally with one @ and a domain of the same characters.
func checkID(id string) error {
	if len(id) > 200 {
		return invalid("message ID is longer than 200 characters")
	}
	if strings.Count(id, "@") > 1 || strings.HasPrefix(id, "@") || strings.HasSuffix(id, "@") {
		return invalid("message ID %q is not valid", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~.@", c) >= 0
		if !ok {
			return invalid("message ID %q is not valid", id)
		}
	}
	return nil
}
