package policy

import (
	"context"
	"errors"
	"fmt"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// source is where enforcers get their rules: Postgres in production, memory
// in benchmarks.
type source interface {
	// rules returns every rule of domain as casbin policy lines (ptype
	// first), that is the p rules whose v1 is domain and the g rules whose v2
	// is domain, and the version of the domain's policy they reflect.
	rules(ctx context.Context, domain string) ([][]string, int64, error)
	// version returns the current version of domain's policy; 0 if it has
	// never changed.
	version(ctx context.Context, domain string) (int64, error)
}

// pgSource reads rules from casbin_rule and versions from policy_versions.
type pgSource struct {
	pool *pgxpool.Pool
}

// rules reads the domain's version and rules in one statement, so both come
// from the same snapshot. A domain's p rules carry it in v1 and its g rules
// in v2: filtering both on v1 would silently load no role links.
func (s pgSource) rules(ctx context.Context, domain string) ([][]string, int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT v.version, r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5
		FROM (SELECT coalesce(max(version), 0) AS version FROM policy_versions WHERE domain = $1) v
		LEFT JOIN casbin_rule r ON (r.ptype = 'p' AND r.v1 = $1) OR (r.ptype = 'g' AND r.v2 = $1)
		ORDER BY r.id`, domain)
	if err != nil {
		return nil, 0, fmt.Errorf("policy: load rules of %s: %w", domain, err)
	}
	var (
		out     [][]string
		version int64
	)
	for rows.Next() {
		var (
			ptype *string
			v     [6]*string
		)
		if err := rows.Scan(&version, &ptype, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("policy: load rules of %s: %w", domain, err)
		}
		if ptype == nil {
			continue // no rules: the one row carries only the version
		}
		out = append(out, ruleLine(*ptype, v))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("policy: load rules of %s: %w", domain, err)
	}
	return out, version, nil
}

// ruleLine makes a casbin policy line: ptype, then the values up to the last
// non-empty one (the model's p has 4 fields and g 3).
func ruleLine(ptype string, v [6]*string) []string {
	n := 3
	if ptype == "p" {
		n = 4
	}
	line := make([]string, 1, n+1)
	line[0] = ptype
	for i := range n {
		s := ""
		if v[i] != nil {
			s = *v[i]
		}
		line = append(line, s)
	}
	return line
}

func (s pgSource) version(ctx context.Context, domain string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx,
		`SELECT coalesce(max(version), 0) FROM policy_versions WHERE domain = $1`, domain).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("policy: version of %s: %w", domain, err)
	}
	return v, nil
}

// domainFilter is the filter of a filtered load: one domain. The adapter
// sets Version to the version of the rules it loaded.
type domainFilter struct {
	Domain  string
	Version int64
}

// adapter is a read-only casbin adapter that only loads one domain at a time
// from a source. Every change goes through the SQL functions of this package
// instead, on the caller's transaction.
type adapter struct {
	src source
}

var (
	_ persist.FilteredAdapter        = adapter{}
	_ persist.ContextFilteredAdapter = adapter{}
)

var (
	errReadOnly   = errors.New("policy: the casbin adapter is read-only; change policy with the package's functions")
	errNeedFilter = errors.New("policy: the casbin adapter only loads one domain at a time")
)

// LoadFilteredPolicyCtx loads the rules of the domain named by filter, which
// must be a *domainFilter, into m.
func (a adapter) LoadFilteredPolicyCtx(ctx context.Context, m model.Model, filter any) error {
	f, ok := filter.(*domainFilter)
	if !ok || f == nil {
		return fmt.Errorf("policy: filter is %T, want *domainFilter: %w", filter, errNeedFilter)
	}
	lines, version, err := a.src.rules(ctx, f.Domain)
	if err != nil {
		return err
	}
	for _, line := range lines {
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return fmt.Errorf("policy: load rule %q of %s: %w", line, f.Domain, err)
		}
	}
	f.Version = version
	return nil
}

// LoadFilteredPolicy is LoadFilteredPolicyCtx without a context.
func (a adapter) LoadFilteredPolicy(m model.Model, filter any) error {
	return a.LoadFilteredPolicyCtx(context.Background(), m, filter)
}

// IsFiltered is always true: the adapter never loads every domain.
func (adapter) IsFiltered() bool { return true }

// IsFilteredCtx is always true: the adapter never loads every domain.
func (adapter) IsFilteredCtx(context.Context) bool { return true }

// LoadPolicy refuses: loading every tenant's rules is what this package avoids.
func (adapter) LoadPolicy(model.Model) error { return errNeedFilter }

// LoadPolicyCtx refuses: loading every tenant's rules is what this package avoids.
func (adapter) LoadPolicyCtx(context.Context, model.Model) error { return errNeedFilter }

// SavePolicy refuses: the adapter is read-only.
func (adapter) SavePolicy(model.Model) error { return errReadOnly }

// SavePolicyCtx refuses: the adapter is read-only.
func (adapter) SavePolicyCtx(context.Context, model.Model) error { return errReadOnly }

// AddPolicy refuses: the adapter is read-only.
func (adapter) AddPolicy(string, string, []string) error { return errReadOnly }

// AddPolicyCtx refuses: the adapter is read-only.
func (adapter) AddPolicyCtx(context.Context, string, string, []string) error { return errReadOnly }

// RemovePolicy refuses: the adapter is read-only.
func (adapter) RemovePolicy(string, string, []string) error { return errReadOnly }

// RemovePolicyCtx refuses: the adapter is read-only.
func (adapter) RemovePolicyCtx(context.Context, string, string, []string) error { return errReadOnly }

// RemoveFilteredPolicy refuses: the adapter is read-only.
func (adapter) RemoveFilteredPolicy(string, string, int, ...string) error { return errReadOnly }

// RemoveFilteredPolicyCtx refuses: the adapter is read-only.
func (adapter) RemoveFilteredPolicyCtx(context.Context, string, string, int, ...string) error {
	return errReadOnly
}
