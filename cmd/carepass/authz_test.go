package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// matrixRow is one route of policy/authz_matrix.txt.
type matrixRow struct {
	line         int
	method, path string
	signedOut    int             // status for a signed-out visitor
	otherTenant  int             // status for a member of a different tenant (0: not a tenant route)
	allowed      map[string]bool // role keys (or "operator", "*") allowed in their own tenant
	ok, denied   int             // status for allowed and for other roles
}

func loadMatrix(t *testing.T) []matrixRow {
	t.Helper()
	f, err := os.Open("../../policy/authz_matrix.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	groups := map[string][]string{}
	var rows []matrixRow
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			name, list, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("matrix line %d: group needs =", n)
			}
			groups[strings.TrimSpace(name)] = strings.Split(strings.Join(strings.Fields(list), ""), ",")
			continue
		}
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("matrix line %d: want 7 columns (method path signed_out other_tenant allowed ok denied), got %d", n, len(f))
		}
		num := func(s string) int {
			if s == "-" {
				return 0
			}
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("matrix line %d: %q is not a status", n, s)
			}
			return v
		}
		r := matrixRow{line: n, method: f[0], path: f[1], signedOut: num(f[2]), otherTenant: num(f[3]),
			allowed: map[string]bool{}, ok: num(f[5]), denied: num(f[6])}
		for _, name := range strings.Split(f[4], ",") {
			if g, ok := groups[name]; ok {
				for _, k := range g {
					r.allowed[k] = true
				}
			} else {
				r.allowed[name] = true
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// persona is one demo account acting in one tenant (or nowhere).
type persona struct {
	label  string
	email  string
	role   string
	tenant *tenants.Tenant
}

// TestAuthorizationMatrix walks the whole fiber route table: every route must
// be in the matrix, and every role of every tenant kind, a member of another
// tenant, the operator and a signed-out visitor must get exactly the status
// the matrix says.
func TestAuthorizationMatrix(t *testing.T) {
	a, _ := testApp(t)
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rows := loadMatrix(t)
	byRoute := map[string]matrixRow{}
	for _, r := range rows {
		byRoute[r.method+" "+r.path] = r
	}
	var missing []string
	seen := map[string]bool{}
	for _, rt := range srv.App.GetRoutes(true) {
		if rt.Method == "HEAD" || rt.Method == "USE" || rt.Method == "OPTIONS" || strings.HasPrefix(rt.Path, "/static") {
			continue
		}
		key := rt.Method + " " + rt.Path
		seen[key] = true
		if _, ok := byRoute[key]; !ok {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("routes missing from policy/authz_matrix.txt:\n  %s", strings.Join(missing, "\n  "))
	}
	for k, r := range byRoute {
		if !seen[k] {
			t.Errorf("matrix line %d: %s is not a route", r.line, k)
		}
	}

	// Personas: every template role of every demo tenant, plus the operator.
	var people []persona
	all, err := a.tenants.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySlug := map[string]tenants.Tenant{}
	for _, tn := range all {
		bySlug[tn.Slug] = tn
	}
	for _, d := range demoTenants {
		tn := bySlug[d.slug]
		for _, rt := range policy.Templates(d.kind) {
			people = append(people, persona{label: d.short + "/" + rt.Key, email: demoEmail(rt.Key, d.short), role: rt.Key, tenant: &tn})
		}
	}
	people = append(people, persona{label: "operator", email: operatorEmail, role: "operator"})
	outsider := persona{label: "member of another tenant", email: demoEmail(policy.AdminRole(demoTenants[1].kind), demoTenants[1].short)}
	target := bySlug[demoTenants[0].slug] // the tenant the outsider probes

	for _, r := range rows {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			tenantRoute := strings.Contains(r.path, ":slug") && !strings.HasPrefix(r.path, "/operator") && !strings.HasPrefix(r.path, "/join")
			// Signed out.
			var signedOutTenant *tenants.Tenant
			if tenantRoute {
				signedOutTenant = &target // a real tenant, so the answer is about sign-in, not the slug
			}
			if got := do(t, a, srv, r, nil, signedOutTenant); got != r.signedOut {
				t.Errorf("signed out: got %d, matrix line %d says %d", got, r.line, r.signedOut)
			}
			if tenantRoute {
				if got := do(t, a, srv, r, &outsider, &target); got != r.otherTenant {
					t.Errorf("%s probing %s: got %d, matrix line %d says %d", outsider.label, target.Slug, got, r.line, r.otherTenant)
				}
			}
			for _, p := range people {
				// The operator belongs to no tenant: tenant routes are covered by the outsider.
				if tenantRoute && p.tenant == nil {
					continue
				}
				want := r.denied
				if r.allowed["*"] || r.allowed[p.role] {
					want = r.ok
				}
				if got := do(t, a, srv, r, &p, p.tenant); got != want {
					t.Errorf("%s: got %d, matrix line %d says %d", p.label, got, r.line, want)
				}
			}
		})
	}
}

var paramPattern = regexp.MustCompile(`:[a-zA-Z_]+`)

// do sends one request for route r as p (nil: signed out) in tenant tn and
// returns the status. Each request gets a fresh session so routes that end
// sessions do not disturb the rest.
func do(t *testing.T, a *app, srv *web.Server, r matrixRow, p *persona, tn *tenants.Tenant) int {
	t.Helper()
	ctx := context.Background()
	path := paramPattern.ReplaceAllStringFunc(r.path, func(param string) string {
		switch param {
		case ":slug":
			if tn != nil && !strings.HasPrefix(r.path, "/operator") {
				return tn.Slug
			}
			return "no-such-tenant"
		case ":key":
			if tn != nil {
				return policy.AdminRole(tn.Kind)
			}
			return "no_such_role"
		case ":token":
			return account.NewToken()
		}
		return uuid.Must(uuid.NewV7()).String()
	})
	c := webtest.NewClient(t, srv)
	if p != nil {
		var id uuid.UUID
		err := a.db.Platform(ctx, func(tx *gorm.DB) error {
			acct, err := a.accounts.ByEmail(ctx, tx, p.email)
			id = acct.ID
			return err
		})
		if err != nil {
			t.Fatalf("session for %s: %v", p.email, err)
		}
		c.SignIn(a.db, a.accounts, id)
	}
	req := httptest.NewRequest(r.method, path, nil)
	if r.method != http.MethodGet {
		// A valid CSRF token, so the matrix tests authorization, not CSRF:
		// the sign-in page's, which carries one whoever asks.
		if tr := c.Get("/signin"); c.Token() == "" {
			t.Fatalf("no CSRF token on /signin (status %d)", tr.Status)
		}
		req = httptest.NewRequest(r.method, path, strings.NewReader(url.Values{"_csrf": {c.Token()}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", c.Token())
	}
	return c.Do(req).Status
}
