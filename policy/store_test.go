package policy

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// inTx runs fn in a transaction on db and fails the test if it fails.
func inTx(t testing.TB, db *testdb.DB, fn func(tx *gorm.DB) error) {
	t.Helper()
	if err := db.Gorm.Transaction(fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

// txErr runs fn in a transaction that is rolled back and returns fn's error.
func txErr(t testing.TB, db *testdb.DB, fn func(tx *gorm.DB) error) error {
	t.Helper()
	tx := db.Gorm.Begin()
	if tx.Error != nil {
		t.Fatalf("begin: %v", tx.Error)
	}
	defer tx.Rollback()
	return fn(tx)
}

func versionOf(t testing.TB, db *testdb.DB, domain string) int64 {
	t.Helper()
	v, err := pgSource{pool: db.Pool}.version(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newDBEnforcers(t testing.TB, db *testdb.DB, opts Options) *Enforcers {
	t.Helper()
	e, err := New(context.Background(), db.Pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// provision gives a new tenant domain its kind's templates.
func provision(t testing.TB, db *testdb.DB, kind tenants.Kind) string {
	t.Helper()
	d := uuid.NewString()
	inTx(t, db, func(tx *gorm.DB) error { return ApplyTemplates(context.Background(), tx, d, kind) })
	return d
}

func TestFilteredLoadKeepsDomainsApartAndLoadsRoleLinks(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	a := provision(t, db, tenants.KindPaediatricTrust)
	b := provision(t, db, tenants.KindPaediatricTrust)
	s := uuid.NewString()
	inTx(t, db, func(tx *gorm.DB) error {
		if err := AssignRole(ctx, tx, a, s, "assessor"); err != nil {
			return err
		}
		if err := AssignRole(ctx, tx, b, s, "tenant_admin"); err != nil {
			return err
		}
		// A rule in B that names A's role key must not reach A.
		return Grant(ctx, tx, b, "assessor", billing)
	})
	e := newDBEnforcers(t, db, Options{})

	// With role links missing (the single-v1-filter trap) this is false.
	if !mustAllowed(t, e, a, s, signoff) {
		t.Error("assessor in A may not sign off: role links did not load")
	}
	if mustAllowed(t, e, a, s, billing) {
		t.Error("a rule of B allows in A")
	}
	if !mustAllowed(t, e, b, s, billing) {
		t.Error("admin in B may not manage billing")
	}
	if ok, _ := e.HasAnyRole(ctx, a, s); !ok {
		t.Error("HasAnyRole in A is false")
	}
	if ok, _ := e.HasAnyRole(ctx, a, uuid.NewString()); ok {
		t.Error("HasAnyRole of a stranger is true")
	}

	// The loaded enforcer holds exactly A's rules: p rules with v1 = A and
	// g rules with v2 = A.
	snap, err := e.snapshot(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	m := snap.enf.GetModel()
	ps, gs := m["p"]["p"].Policy, m["g"]["g"].Policy
	var wantP int
	for _, r := range Templates(tenants.KindPaediatricTrust) {
		wantP += len(r.Permissions)
	}
	if len(ps) != wantP || len(gs) != 1 {
		t.Errorf("A's enforcer has %d p and %d g rules, want %d and 1", len(ps), len(gs), wantP)
	}
	for _, p := range ps {
		if p[1] != a {
			t.Errorf("A's enforcer holds p rule %v of another domain", p)
		}
	}
	if len(gs) == 1 && !slices.Equal(gs[0], []string{s, "assessor", a}) {
		t.Errorf("A's g rule = %v", gs[0])
	}
	if snap.version != versionOf(t, db, a) {
		t.Errorf("snapshot version %d, stored %d", snap.version, versionOf(t, db, a))
	}
}

func TestRoleChangesBumpTheVersion(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := uuid.NewString()
	s := uuid.NewString()
	step := func(name string, want int64, fn func(tx *gorm.DB) error) {
		t.Helper()
		inTx(t, db, fn)
		if got := versionOf(t, db, d); got != want {
			t.Errorf("after %s: version %d, want %d", name, got, want)
		}
	}
	if got := versionOf(t, db, d); got != 0 {
		t.Fatalf("version of a new domain = %d", got)
	}
	step("apply templates", 1, func(tx *gorm.DB) error { return ApplyTemplates(ctx, tx, d, tenants.KindGPPractice) })
	step("apply templates again", 1, func(tx *gorm.DB) error { return ApplyTemplates(ctx, tx, d, tenants.KindGPPractice) })
	step("assign", 2, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "reception") })
	step("assign again", 2, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "reception") })
	step("assign another", 3, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "carers_lead") })

	inTx(t, db, func(tx *gorm.DB) error {
		roles, err := RolesOf(ctx, tx, d, s)
		if err != nil {
			return err
		}
		if !slices.Equal(roles, []string{"carers_lead", "reception"}) {
			t.Errorf("RolesOf = %v", roles)
		}
		subjects, err := SubjectsWithRole(ctx, tx, d, "reception")
		if err != nil {
			return err
		}
		if !slices.Equal(subjects, []string{s}) {
			t.Errorf("SubjectsWithRole = %v", subjects)
		}
		return nil
	})

	step("unassign", 4, func(tx *gorm.DB) error { return UnassignRole(ctx, tx, d, s, "reception") })
	step("unassign again", 4, func(tx *gorm.DB) error { return UnassignRole(ctx, tx, d, s, "reception") })
	step("remove subject", 5, func(tx *gorm.DB) error { return RemoveSubject(ctx, tx, d, s) })
	inTx(t, db, func(tx *gorm.DB) error {
		roles, err := RolesOf(ctx, tx, d, s)
		if err == nil && len(roles) != 0 {
			t.Errorf("RolesOf after RemoveSubject = %v", roles)
		}
		return err
	})

	// A change that rolls back leaves the version alone.
	_ = txErr(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "reception") })
	if got := versionOf(t, db, d); got != 5 {
		t.Errorf("after a rolled-back assign: version %d, want 5", got)
	}
}

func TestGrantRevokeAndDeleteRole(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindCarersCharity)
	s := uuid.NewString()
	report := Permission{"report", "read"}
	inTx(t, db, func(tx *gorm.DB) error {
		if err := Grant(ctx, tx, d, "helpdesk", Permission{"dashboard", "read"}); err != nil {
			return err
		}
		if err := Grant(ctx, tx, d, "helpdesk", report); err != nil {
			return err
		}
		return AssignRole(ctx, tx, d, s, "helpdesk")
	})
	inTx(t, db, func(tx *gorm.DB) error {
		perms, err := PermissionsOf(ctx, tx, d, "helpdesk")
		if err != nil {
			return err
		}
		if !slices.Equal(perms, []Permission{{"dashboard", "read"}, {"report", "read"}}) {
			t.Errorf("PermissionsOf = %v", perms)
		}
		roles, err := Roles(ctx, tx, d)
		if err != nil {
			return err
		}
		if !slices.Contains(roles, "helpdesk") || !slices.Contains(roles, "charity_admin") || len(roles) != 5 {
			t.Errorf("Roles = %v", roles)
		}
		return nil
	})
	e := newDBEnforcers(t, db, Options{MaxAge: time.Hour})
	if !mustAllowed(t, e, d, s, report) {
		t.Fatal("granted permission does not allow")
	}

	inTx(t, db, func(tx *gorm.DB) error { return Revoke(ctx, tx, d, "helpdesk", report) })
	e.Invalidate(d)
	if mustAllowed(t, e, d, s, report) {
		t.Error("revoked permission still allows")
	}
	err := txErr(t, db, func(tx *gorm.DB) error { return Revoke(ctx, tx, d, "helpdesk", Permission{"dashboard", "read"}) })
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("revoking the last permission = %v, want Conflict", err)
	}

	inTx(t, db, func(tx *gorm.DB) error { return DeleteRole(ctx, tx, d, "helpdesk") })
	e.Invalidate(d)
	if ok, _ := e.HasAnyRole(ctx, d, s); ok {
		t.Error("the holder of a deleted role is still a member")
	}
	err = txErr(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "helpdesk") })
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("assigning a deleted role = %v, want NotFound", err)
	}
}

func TestWritesRejectBadInput(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindCareHome)
	s := uuid.NewString()
	tests := []struct {
		name string
		fn   func(tx *gorm.DB) error
		kind errs.Kind
	}{
		{"unknown role", func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "receptionist") }, errs.NotFound},
		{"role of another kind", func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "reception") }, errs.NotFound},
		{"subject that is not an account ID", func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, "alice", "assessor") }, errs.Invalid},
		{"domain that is not a tenant ID", func(tx *gorm.DB) error { return AssignRole(ctx, tx, "acme", s, "assessor") }, errs.Invalid},
		{"upper-case domain", func(tx *gorm.DB) error {
			return AssignRole(ctx, tx, uuid.MustParse(d).URN(), s, "assessor")
		}, errs.Invalid},
		{"bad role key", func(tx *gorm.DB) error { return Grant(ctx, tx, d, "Bad Role", signoff) }, errs.Invalid},
		{"unknown permission", func(tx *gorm.DB) error { return Grant(ctx, tx, d, "assessor", Permission{"passport", "forge"}) }, errs.Invalid},
		{"platform permission in a tenant", func(tx *gorm.DB) error { return Grant(ctx, tx, d, "assessor", Permission{"tenants", "write"}) }, errs.Invalid},
		{"tenant permission on the platform", func(tx *gorm.DB) error { return Grant(ctx, tx, PlatformDomain, OperatorRole, billing) }, errs.Invalid},
		{"templates on the platform", func(tx *gorm.DB) error { return ApplyTemplates(ctx, tx, PlatformDomain, tenants.KindCareHome) }, errs.Invalid},
		{"unknown kind", func(tx *gorm.DB) error { return ApplyTemplates(ctx, tx, uuid.NewString(), "nursery") }, errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txErr(t, db, tt.fn)
			if err == nil || errs.KindOf(err) != tt.kind {
				t.Errorf("error = %v, want kind %s", err, tt.kind)
			}
		})
	}
	if v := versionOf(t, db, d); v != 1 {
		t.Errorf("rejected writes moved the version to %d", v)
	}
}

func TestPlatformOperator(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	op := uuid.NewString()
	inTx(t, db, func(tx *gorm.DB) error {
		if err := ApplyPlatform(ctx, tx); err != nil {
			return err
		}
		return AssignRole(ctx, tx, PlatformDomain, op, OperatorRole)
	})
	e := newDBEnforcers(t, db, Options{})
	if !mustAllowed(t, e, PlatformDomain, op, Permission{"tenants", "write"}) {
		t.Error("operator may not manage tenants")
	}
	if mustAllowed(t, e, PlatformDomain, uuid.NewString(), Permission{"tenants", "read"}) {
		t.Error("a non-operator may see tenants")
	}
}
