// Package access manages who may use a tenant: its members, the roles they
// hold and the invitations that bring new people in. Roles are rows of the
// tenant's roles table (names, whether they may be edited) and casbin rules
// in package policy (what they allow); both change in the same transaction,
// together with the audit event.
package access

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
)

// InvitationTTL is how long an invitation link can be used.
const InvitationTTL = 14 * 24 * time.Hour

// MsgInvalidInvitation is the one answer for an invitation link that is
// unknown, expired, used or revoked, so the answer never tells which.
const MsgInvalidInvitation = "This invitation link is not valid. Ask for a new one."

// Member is an account with an active membership of the tenant.
type Member struct {
	AccountID uuid.UUID
	Name      string
	Email     string
	Roles     []string // role keys, sorted
	Since     time.Time
}

// DisplayName is the member's name, or their email address when they have
// not given one.
func (m Member) DisplayName() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}

// HasRole reports whether the member holds the role key.
func (m Member) HasRole(key string) bool { return slices.Contains(m.Roles, key) }

// Role is a named set of permissions within a tenant.
type Role struct {
	ID          uuid.UUID
	Key         string
	Name        string
	Description string
	TemplateKey string // the template the role came from; "" for roles the tenant made
	Editable    bool   // false for template roles, which are read-only
	CreatedAt   time.Time
	Permissions []policy.Permission // sorted by object and action
	Holders     int                 // how many members hold the role
}

// Template reports whether the role is one of the kind's template roles.
func (r Role) Template() bool { return !r.Editable }

// Has reports whether the role holds permission p.
func (r Role) Has(p policy.Permission) bool { return slices.Contains(r.Permissions, p) }

// InvitationStatus is where an invitation is in its life.
type InvitationStatus string

// Invitation statuses.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
	InvitationExpired  InvitationStatus = "expired"
)

// Invitation is an offer to join the tenant with one role. Only the hash of
// its token is stored; the token itself is shown once, to the inviter.
type Invitation struct {
	ID         uuid.UUID
	Email      string
	RoleKey    string
	InvitedBy  uuid.UUID // uuid.Nil when the inviter's account is gone
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// Status returns the invitation's status at now.
func (i Invitation) Status(now time.Time) InvitationStatus {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationPending
}

// JoinMode is what a person opening an invitation link must do to accept it.
type JoinMode string

// Join modes.
const (
	// JoinNewAccount: no account has the invited email; the person chooses a
	// name and a password.
	JoinNewAccount JoinMode = "new_account"
	// JoinExistingAccount: an account has the invited email; the person
	// enters its password to show it is theirs.
	JoinExistingAccount JoinMode = "existing_account"
	// JoinSignedIn: the signed-in account has the invited email; accepting
	// needs nothing more.
	JoinSignedIn JoinMode = "signed_in"
)

// Join is an invitation as the person invited sees it.
type Join struct {
	Invitation Invitation
	TenantName string
	RoleName   string
	Mode       JoinMode
}

// AcceptInput is what the person invited submits.
type AcceptInput struct {
	Name     string // JoinNewAccount only
	Password string // JoinNewAccount and JoinExistingAccount
	Confirm  string // JoinNewAccount only
}

// validate checks the input for mode and returns every problem at once.
// Password rules themselves are the account package's.
func (in AcceptInput) validate(mode JoinMode) error {
	var fe []errs.FieldError
	switch mode {
	case JoinNewAccount:
		name := strings.TrimSpace(in.Name)
		switch {
		case name == "":
			fe = append(fe, errs.FieldError{Field: "name", Message: "Enter your full name"})
		case utf8.RuneCountInString(name) > 120:
			fe = append(fe, errs.FieldError{Field: "name", Message: "Name must be 120 characters or fewer"})
		}
		if in.Password == "" {
			fe = append(fe, errs.FieldError{Field: "password", Message: "Enter a password"})
		}
		if in.Password != "" && in.Confirm != in.Password {
			fe = append(fe, errs.FieldError{Field: "confirm", Message: "The passwords do not match"})
		}
	case JoinExistingAccount:
		if in.Password == "" {
			fe = append(fe, errs.FieldError{Field: "password", Message: "Enter the password of your Carepass account"})
		}
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// roleKeyPattern is the roles table's rule for keys.
var roleKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

// maxRoleKey is the longest key the roles table accepts.
const maxRoleKey = 41

// ValidRoleKey reports whether key is a well-formed role key.
func ValidRoleKey(key string) bool { return roleKeyPattern.MatchString(key) }

// normaliseRoleName trims a role name and collapses runs of white space.
func normaliseRoleName(name string) string {
	return strings.Join(strings.Fields(name), " ")
}

// validateRoleName checks a role name already normalised.
func validateRoleName(name string) error {
	if n := utf8.RuneCountInString(name); n < 2 || n > 80 {
		return errs.Validation(errs.FieldError{Field: "name", Message: "Enter a role name of 2 to 80 characters"})
	}
	return nil
}

// KeyFromName derives a role key from a role name: lower-case letters and
// digits, words joined by underscores, starting with a letter. Callers make
// it unique within the tenant.
func KeyFromName(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
		default:
			gap = true
		}
	}
	key := b.String()
	if key == "" || key[0] < 'a' || key[0] > 'z' {
		key = "role_" + key
	}
	if len(key) < 2 {
		key += "_role"
	}
	return trimKey(key, maxRoleKey)
}

// trimKey shortens key to at most n bytes without leaving a trailing underscore.
func trimKey(key string, n int) string {
	if len(key) > n {
		key = key[:n]
	}
	return strings.TrimRight(key, "_")
}

// parsePermission parses "object:action" and checks it is in the catalogue.
func parsePermission(s string) (policy.Permission, bool) {
	obj, act, ok := strings.Cut(s, ":")
	p := policy.Permission{Object: obj, Action: act}
	return p, ok && policy.KnownPermission(p)
}

// ParsePermissions parses "object:action" strings from a form or a request
// body into catalogue permissions, without duplicates and in catalogue
// order. Any unknown entry is a validation error on field.
func ParsePermissions(field string, in []string) ([]policy.Permission, error) {
	want := map[policy.Permission]bool{}
	for _, s := range in {
		p, ok := parsePermission(s)
		if !ok {
			return nil, errs.Validation(errs.FieldError{Field: field, Message: "Select permissions from the list"})
		}
		want[p] = true
	}
	var out []policy.Permission
	for _, info := range policy.Catalogue() {
		if want[info.Permission] {
			out = append(out, info.Permission)
		}
	}
	return out, nil
}

// permissionStrings returns ps as sorted "object:action" strings.
func permissionStrings(ps []policy.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return out
}
