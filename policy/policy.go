// Package policy decides which functions a signed-in account may use within a
// tenant. It holds the casbin model (RBAC with domains, one domain per tenant
// plus the platform operator area), the role templates of each tenant kind,
// the SQL that changes roles and permissions inside the caller's transaction,
// a bounded cache of per-tenant enforcers kept fresh across nodes by Postgres
// NOTIFY, and the Require middleware.
//
// Which rows an account may see is not decided here: the tenant scope of each
// query, and row-level security beneath it, decide that.
package policy

import (
	_ "embed" // model.conf and the CSV data files are embedded.
	"regexp"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// PlatformDomain is the domain of the platform operator area. Every other
// domain is a tenant's ID in its canonical string form.
const PlatformDomain = "platform"

// OperatorRole is the role of platform operators in PlatformDomain.
const OperatorRole = "operator"

// NotifyChannel is the Postgres NOTIFY channel on which every policy change
// announces the domain it changed.
const NotifyChannel = "carepass_policy"

//go:embed model.conf
var modelConf string

// Permission is one function of the application: an action on an object.
type Permission struct {
	Object string
	Action string
}

// String returns the permission as "object:action".
func (p Permission) String() string { return p.Object + ":" + p.Action }

// roleKeyPattern matches role keys; it is the same rule as the roles table's.
var roleKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

// checkDomain reports an Invalid error unless d is PlatformDomain or a
// tenant ID in canonical form.
func checkDomain(d string) error {
	if d == PlatformDomain {
		return nil
	}
	return checkTenantDomain(d)
}

// checkTenantDomain reports an Invalid error unless d is a tenant ID in
// canonical form.
func checkTenantDomain(d string) error {
	id, err := uuid.Parse(d)
	if err != nil || id == uuid.Nil || id.String() != d {
		return errs.E(errs.Invalid, "That organisation is not valid")
	}
	return nil
}

// checkSubject reports an Invalid error unless s is an account ID in
// canonical form.
func checkSubject(s string) error {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil || id.String() != s {
		return errs.E(errs.Invalid, "That account is not valid")
	}
	return nil
}

// checkRole reports an Invalid error unless r is a well-formed role key.
func checkRole(r string) error {
	if !roleKeyPattern.MatchString(r) {
		return errs.E(errs.Invalid, "Role keys are 2 to 41 lower-case letters, digits or underscores, starting with a letter")
	}
	return nil
}

// checkPermission reports an Invalid error unless p may be granted in domain.
func checkPermission(domain string, p Permission) error {
	if domain == PlatformDomain {
		if !knownPlatformPermission(p) {
			return errs.E(errs.Invalid, "That permission does not exist in the platform area")
		}
		return nil
	}
	if !KnownPermission(p) {
		return errs.E(errs.Invalid, "That permission does not exist")
	}
	return nil
}
