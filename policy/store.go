package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// The functions below change and read the stored policy on the caller's
// transaction, so a change commits or rolls back together with the caller's
// audit event. Every change that alters a row bumps the domain's version in
// policy_versions and queues a NOTIFY on NotifyChannel, which Postgres
// delivers at commit; every node's Listen then drops its cached enforcer for
// the domain. A writer may also call (*Enforcers).Invalidate after commit to
// drop its own node's copy at once.
//
// Changes that would alter nothing (assigning a role already held, revoking
// a permission not granted) succeed without bumping the version.

// bump records that domain's policy changed: it increments the domain's
// version and queues the notification that is sent at commit.
func bump(ctx context.Context, tx *gorm.DB, domain string) error {
	err := tx.WithContext(ctx).Exec(`
		WITH v AS (
			INSERT INTO policy_versions AS pv (domain, version, updated_at) VALUES (?, 1, now())
			ON CONFLICT (domain) DO UPDATE SET version = pv.version + 1, updated_at = now()
			RETURNING version
		)
		SELECT pg_notify(?, ?) FROM v`, domain, NotifyChannel, domain).Error
	if err != nil {
		return fmt.Errorf("policy: bump version of %s: %w", domain, err)
	}
	return nil
}

// roleExists reports whether role has at least one permission in domain.
func roleExists(ctx context.Context, tx *gorm.DB, domain, role string) (bool, error) {
	var ok bool
	err := tx.WithContext(ctx).Raw(
		`SELECT EXISTS (SELECT 1 FROM casbin_rule WHERE ptype = 'p' AND v0 = ? AND v1 = ?)`,
		role, domain).Scan(&ok).Error
	if err != nil {
		return false, fmt.Errorf("policy: look up role %s in %s: %w", role, domain, err)
	}
	return ok, nil
}

// AssignRole gives subject (an account ID) role in domain. The role must
// exist in the domain, that is, hold at least one permission. Assigning a
// role the subject already holds does nothing.
func AssignRole(ctx context.Context, tx *gorm.DB, domain, subject, role string) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkSubject(subject); err != nil {
		return err
	}
	if err := checkRole(role); err != nil {
		return err
	}
	ok, err := roleExists(ctx, tx, domain, role)
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.NotFound, "That role does not exist")
	}
	res := tx.WithContext(ctx).Exec(
		`INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES ('g', ?, ?, ?) ON CONFLICT DO NOTHING`,
		subject, role, domain)
	if res.Error != nil {
		return fmt.Errorf("policy: assign %s to %s in %s: %w", role, subject, domain, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return bump(ctx, tx, domain)
}

// UnassignRole takes role in domain away from subject. Taking away a role
// the subject does not hold does nothing.
func UnassignRole(ctx context.Context, tx *gorm.DB, domain, subject, role string) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkSubject(subject); err != nil {
		return err
	}
	if err := checkRole(role); err != nil {
		return err
	}
	return deleteRules(ctx, tx, domain, fmt.Sprintf("unassign %s from %s", role, subject),
		`DELETE FROM casbin_rule WHERE ptype = 'g' AND v0 = ? AND v1 = ? AND v2 = ?`,
		subject, role, domain)
}

// RemoveSubject takes every role in domain away from subject, as when an
// account leaves a tenant.
func RemoveSubject(ctx context.Context, tx *gorm.DB, domain, subject string) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkSubject(subject); err != nil {
		return err
	}
	return deleteRules(ctx, tx, domain, "remove "+subject,
		`DELETE FROM casbin_rule WHERE ptype = 'g' AND v0 = ? AND v2 = ?`,
		subject, domain)
}

// RolesOf returns the keys of the roles subject holds in domain, sorted.
func RolesOf(ctx context.Context, tx *gorm.DB, domain, subject string) ([]string, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	roles := []string{}
	err := tx.WithContext(ctx).Raw(
		`SELECT v1 FROM casbin_rule WHERE ptype = 'g' AND v0 = ? AND v2 = ? ORDER BY v1`,
		subject, domain).Scan(&roles).Error
	if err != nil {
		return nil, fmt.Errorf("policy: roles of %s in %s: %w", subject, domain, err)
	}
	return roles, nil
}

// Assignments returns every subject's roles in domain, each list sorted, in
// one query.
func Assignments(ctx context.Context, tx *gorm.DB, domain string) (map[string][]string, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	var rows []struct{ V0, V1 string }
	err := tx.WithContext(ctx).Raw(
		`SELECT v0, v1 FROM casbin_rule WHERE ptype = 'g' AND v2 = ? ORDER BY v0, v1`, domain).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("policy: assignments in %s: %w", domain, err)
	}
	out := make(map[string][]string)
	for _, r := range rows {
		out[r.V0] = append(out[r.V0], r.V1)
	}
	return out, nil
}

// SubjectsWithRole returns the account IDs that hold role in domain, sorted.
func SubjectsWithRole(ctx context.Context, tx *gorm.DB, domain, role string) ([]string, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	subjects := []string{}
	err := tx.WithContext(ctx).Raw(
		`SELECT v0 FROM casbin_rule WHERE ptype = 'g' AND v1 = ? AND v2 = ? ORDER BY v0`,
		role, domain).Scan(&subjects).Error
	if err != nil {
		return nil, fmt.Errorf("policy: holders of %s in %s: %w", role, domain, err)
	}
	return subjects, nil
}

// Roles returns the keys of every role that exists in domain, sorted.
func Roles(ctx context.Context, tx *gorm.DB, domain string) ([]string, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	roles := []string{}
	err := tx.WithContext(ctx).Raw(
		`SELECT DISTINCT v0 FROM casbin_rule WHERE ptype = 'p' AND v1 = ? ORDER BY v0`,
		domain).Scan(&roles).Error
	if err != nil {
		return nil, fmt.Errorf("policy: roles in %s: %w", domain, err)
	}
	return roles, nil
}

// Grant gives role permission p in domain, creating the role if it has no
// permission yet. p must be in the catalogue of the domain's scope (tenant or
// platform). Granting a permission the role holds does nothing.
func Grant(ctx context.Context, tx *gorm.DB, domain, role string, p Permission) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkRole(role); err != nil {
		return err
	}
	if err := checkPermission(domain, p); err != nil {
		return err
	}
	res := tx.WithContext(ctx).Exec(
		`INSERT INTO casbin_rule (ptype, v0, v1, v2, v3) VALUES ('p', ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		role, domain, p.Object, p.Action)
	if res.Error != nil {
		return fmt.Errorf("policy: grant %s to %s in %s: %w", p, role, domain, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return bump(ctx, tx, domain)
}

// Revoke takes permission p in domain away from role. A role keeps at least
// one permission: revoking its last one is a Conflict (delete the role
// instead). Revoking a permission the role does not hold does nothing.
func Revoke(ctx context.Context, tx *gorm.DB, domain, role string, p Permission) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkRole(role); err != nil {
		return err
	}
	// Lock the role's permissions so that two concurrent revokes cannot
	// both see another permission left and leave the role with none.
	var held []Permission
	err := tx.WithContext(ctx).Raw(
		`SELECT v2 AS object, v3 AS action FROM casbin_rule WHERE ptype = 'p' AND v0 = ? AND v1 = ? FOR UPDATE`,
		role, domain).Scan(&held).Error
	if err != nil {
		return fmt.Errorf("policy: lock permissions of %s in %s: %w", role, domain, err)
	}
	if !slices.Contains(held, p) {
		return nil
	}
	if len(held) == 1 {
		return errs.E(errs.Conflict, "A role must keep at least one permission. Delete the role instead.")
	}
	return deleteRules(ctx, tx, domain, fmt.Sprintf("revoke %s from %s", p, role),
		`DELETE FROM casbin_rule WHERE ptype = 'p' AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ?`,
		role, domain, p.Object, p.Action)
}

// PermissionsOf returns the permissions of role in domain, sorted by object
// and action.
func PermissionsOf(ctx context.Context, tx *gorm.DB, domain, role string) ([]Permission, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	perms := []Permission{}
	err := tx.WithContext(ctx).Raw(
		`SELECT v2 AS object, v3 AS action FROM casbin_rule WHERE ptype = 'p' AND v0 = ? AND v1 = ? ORDER BY v2, v3`,
		role, domain).Scan(&perms).Error
	if err != nil {
		return nil, fmt.Errorf("policy: permissions of %s in %s: %w", role, domain, err)
	}
	return perms, nil
}

// DeleteRole removes role from domain: its permissions and every
// assignment of it. The caller decides whether the role may go (for example,
// not the tenant's admin role while it is the only way to manage members).
func DeleteRole(ctx context.Context, tx *gorm.DB, domain, role string) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	if err := checkRole(role); err != nil {
		return err
	}
	return deleteRules(ctx, tx, domain, "delete role "+role,
		`DELETE FROM casbin_rule WHERE (ptype = 'p' AND v0 = ? AND v1 = ?) OR (ptype = 'g' AND v1 = ? AND v2 = ?)`,
		role, domain, role, domain)
}

// ApplyTemplates gives the tenant domain every template role of kind with
// its template permissions. Permissions the roles already hold are kept, so
// applying twice, or after a template gained a permission, is safe; it never
// takes a permission away.
func ApplyTemplates(ctx context.Context, tx *gorm.DB, domain string, kind tenants.Kind) error {
	if err := checkTenantDomain(domain); err != nil {
		return err
	}
	if !kind.Valid() {
		return errs.E(errs.Invalid, "That kind of organisation is not known")
	}
	return insertTemplates(ctx, tx, domain, embedded.templates[kind])
}

// ApplyPlatform gives PlatformDomain its roles (OperatorRole) with their
// permissions. Like ApplyTemplates, it is safe to run repeatedly.
func ApplyPlatform(ctx context.Context, tx *gorm.DB) error {
	return insertTemplates(ctx, tx, PlatformDomain, platformTemplates())
}

func insertTemplates(ctx context.Context, tx *gorm.DB, domain string, ts []RoleTemplate) error {
	var (
		rows []string
		args []any
	)
	for _, t := range ts {
		for _, p := range t.Permissions {
			rows = append(rows, "('p', ?, ?, ?, ?)")
			args = append(args, t.Key, domain, p.Object, p.Action)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	res := tx.WithContext(ctx).Exec(
		`INSERT INTO casbin_rule (ptype, v0, v1, v2, v3) VALUES `+strings.Join(rows, ", ")+` ON CONFLICT DO NOTHING`,
		args...)
	if res.Error != nil {
		return fmt.Errorf("policy: apply templates to %s: %w", domain, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return bump(ctx, tx, domain)
}

// deleteRules runs a DELETE on casbin_rule and bumps domain's version if it
// removed anything; what names the change in errors.
func deleteRules(ctx context.Context, tx *gorm.DB, domain, what, query string, args ...any) error {
	res := tx.WithContext(ctx).Exec(query, args...)
	if res.Error != nil {
		return fmt.Errorf("policy: %s in %s: %w", what, domain, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return bump(ctx, tx, domain)
}
