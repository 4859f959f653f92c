// Package share is the one place a holder's passport crosses from one tenant
// to another: a consented, expiring, revocable and audited grant, made by the
// holder or by a tenant recording the holder's consent, either directly to a
// named tenant or as a share code any tenant's staff can redeem. A receiving
// tenant sees the holder's signed-off competencies from other tenants and
// nothing else, and may recognise one that maps to the same standard
// competency as one of its own. Row-level security (shared_passport) decides
// what a grant lets a tenant read; this package only makes and ends grants.
package share

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// Share lifetimes.
const (
	DefaultDays = 30
	MaxDays     = 365
)

// Ways a share is granted.
const (
	ViaHolder = "holder" // by the holder, from their own account
	ViaTenant = "tenant" // by a tenant, recording the holder's consent
)

// Share statuses, derived at read time.
const (
	StatusPending = "pending" // a code not yet redeemed
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// Share is one grant of a person's passport to another tenant.
type Share struct {
	ID                 uuid.UUID
	PersonID           uuid.UUID // platform-wide; never shown to a tenant
	GrantedVia         string
	GrantingTenantID   *uuid.UUID // the tenant that granted it, when granted via a tenant
	GrantingTenantName string
	GranteeTenantID    *uuid.UUID // nil until a code is redeemed
	GranteeTenantName  string
	GranteeTenantSlug  string
	ByCode             bool
	ConsentNote        string
	CreatedAt          time.Time
	ExpiresAt          time.Time
	RedeemedAt         *time.Time
	RevokedAt          *time.Time
}

// Status returns the share's status at now.
func (s Share) Status(now time.Time) string {
	switch {
	case s.RevokedAt != nil:
		return StatusRevoked
	case !now.Before(s.ExpiresAt):
		return StatusExpired
	case s.RedeemedAt == nil:
		return StatusPending
	}
	return StatusActive
}

// Live reports whether the share lets its grantee read the passport at now.
func (s Share) Live(now time.Time) bool { return s.Status(now) == StatusActive }

// Ways to hand a share over.
const (
	ToTenant = "tenant" // directly to a named tenant: live at once
	ToCode   = "code"   // as a share code any tenant's staff can redeem
)

// Grant is what the person granting a share chooses.
type Grant struct {
	To string // ToTenant or ToCode
	// TenantSlug names the receiving tenant when To is ToTenant.
	TenantSlug string
	// Days until the share ends: 0 for DefaultDays, at most MaxDays.
	Days int
}

// Consent is the holder's consent as a tenant records it when it grants a
// share on their behalf.
type Consent struct {
	GivenBy string // who gave it: the holder, or the person acting for them
	Method  string // one of ConsentMethods' keys
	Note    string
}

// ConsentMethod is one way consent can be given.
type ConsentMethod struct {
	Key   string
	Label string
}

// ConsentMethods lists how consent can be given, in the order forms show them.
var ConsentMethods = []ConsentMethod{
	{"in_person", "In person"},
	{"phone", "By phone"},
	{"written", "In writing, by letter or email"},
	{"video", "By video call"},
}

func consentLabel(key string) (string, bool) {
	for _, m := range ConsentMethods {
		if m.Key == key {
			return m.Label, true
		}
	}
	return "", false
}

// validate checks the grant and returns its lifetime; tenantProblem is
// what is wrong with the receiving tenant named, if anything.
func (g Grant) validate(tenantProblem string) (time.Duration, []errs.FieldError) {
	var fe []errs.FieldError
	switch g.To {
	case ToCode:
	case ToTenant:
		if strings.TrimSpace(g.TenantSlug) == "" {
			tenantProblem = "Enter the organisation's Carepass address"
		}
		if tenantProblem != "" {
			fe = append(fe, errs.FieldError{Field: "tenant", Message: tenantProblem})
		}
	default:
		fe = append(fe, errs.FieldError{Field: "to", Message: "Select how you want to share the passport"})
	}
	days := g.Days
	if days == 0 {
		days = DefaultDays
	}
	if days < 1 || days > MaxDays {
		fe = append(fe, errs.FieldError{Field: "days", Message: "Enter a number of days from 1 to 365"})
	}
	return time.Duration(days) * 24 * time.Hour, fe
}

// note validates the consent and returns it as the share's consent note.
func (c Consent) note(at time.Time) (string, []errs.FieldError) {
	var fe []errs.FieldError
	by := strings.Join(strings.Fields(c.GivenBy), " ")
	if by == "" {
		fe = append(fe, errs.FieldError{Field: "consent_given_by", Message: "Enter who gave consent"})
	} else if len([]rune(by)) > 120 {
		fe = append(fe, errs.FieldError{Field: "consent_given_by", Message: "Who gave consent must be 120 characters or fewer"})
	}
	label, ok := consentLabel(c.Method)
	if !ok {
		fe = append(fe, errs.FieldError{Field: "consent_method", Message: "Select how consent was given"})
	}
	note := strings.TrimSpace(c.Note)
	if len([]rune(note)) > 500 {
		fe = append(fe, errs.FieldError{Field: "consent_note", Message: "The note must be 500 characters or fewer"})
	}
	if len(fe) > 0 {
		return "", fe
	}
	out := "Consent given by " + by + ", " + strings.ToLower(label[:1]) + label[1:] + ", on " + at.In(london).Format("2 January 2006")
	if note != "" {
		out += ": " + note
	}
	return out, nil
}

// Share codes: Crockford's base-32 alphabet (no I, L, O or U, so nothing
// looks like anything else), 15 random symbols (75 bits) and a Luhn mod 32
// check symbol that catches every single mistyped symbol and most swaps of
// neighbours, grouped in fours: 7K3M-Q9PX-2R4T-8VWZ.
const (
	codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	codeData     = 15
	codeLen      = codeData + 1
	// CodeBits is the entropy of a share code.
	CodeBits = codeData * 5
)

// NewCode returns a new share code in its display form.
func NewCode() string {
	b := make([]byte, codeData)
	if _, err := rand.Read(b); err != nil {
		panic("share: crypto/rand failed: " + err.Error())
	}
	data := make([]byte, codeData)
	for i, v := range b {
		data[i] = codeAlphabet[v&31] // 256 is a multiple of 32: no bias
	}
	return FormatCode(string(data) + string(codeAlphabet[luhnCheck(string(data))]))
}

// FormatCode groups a canonical code in fours.
func FormatCode(canonical string) string {
	var b strings.Builder
	for i := 0; i < len(canonical); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(canonical[i])
	}
	return b.String()
}

// Messages for codes that cannot be read.
const (
	MsgCodeEmpty    = "Enter the share code"
	MsgCodeFormat   = "A share code has 16 letters and numbers, like 7K3M-Q9PX-2R4T-8VWZ"
	MsgCodeMistyped = "This share code is not right. Check you have typed it exactly as it was given to you"
)

// ParseCode returns the canonical form of a typed code (upper case, no
// spaces or hyphens, O read as 0 and I or L as 1), or a field error: empty,
// badly formed, or failing its check symbol (a typing mistake).
func ParseCode(typed string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" {
		return "", errs.Validation(errs.FieldError{Field: "code", Message: MsgCodeEmpty})
	}
	if len(s) != codeLen || strings.Trim(s, codeAlphabet) != "" {
		return "", errs.Validation(errs.FieldError{Field: "code", Message: MsgCodeFormat})
	}
	if !luhnValid(s) {
		return "", errs.Validation(errs.FieldError{Field: "code", Message: MsgCodeMistyped})
	}
	return s, nil
}

// luhnCheck returns the index of the Luhn mod 32 check symbol for data.
func luhnCheck(data string) int {
	const n = len(codeAlphabet)
	factor, sum := 2, 0
	for i := len(data) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(codeAlphabet, data[i])
		factor = 3 - factor
		sum += addend/n + addend%n
	}
	return (n - sum%n) % n
}

// luhnValid reports whether the last symbol of s is the check symbol of the rest.
func luhnValid(s string) bool {
	const n = len(codeAlphabet)
	factor, sum := 1, 0
	for i := len(s) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(codeAlphabet, s[i])
		factor = 3 - factor
		sum += addend/n + addend%n
	}
	return sum%n == 0
}

// hashCode is the stored form of a canonical code.
func hashCode(canonical string) []byte {
	h := sha256.Sum256([]byte("carepass-share-code:" + canonical))
	return h[:]
}
