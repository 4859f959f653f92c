package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/carepass/carepass/tenants"
)

// adminOnly are the permissions that only a kind's admin role may hold.
var adminOnly = []string{"members", "roles", "billing", "audit", "tenant"}

func TestEveryTemplatePermissionIsInTheCatalogue(t *testing.T) {
	for _, kind := range tenants.Kinds {
		for _, role := range Templates(kind) {
			for _, p := range role.Permissions {
				if !KnownPermission(p) {
					t.Errorf("%s/%s holds %s, which is not in the catalogue", kind, role.Key, p)
				}
			}
		}
	}
	for _, role := range platformTemplates() {
		for _, p := range role.Permissions {
			if !knownPlatformPermission(p) {
				t.Errorf("platform/%s holds %s, which is not a platform permission", role.Key, p)
			}
		}
	}
}

func TestEveryKindHasAnAdminRoleThatManagesMembersAndRoles(t *testing.T) {
	want := map[tenants.Kind]string{
		tenants.KindPaediatricTrust: "tenant_admin",
		tenants.KindCareHome:        "provider_admin",
		tenants.KindGPPractice:      "practice_admin",
		tenants.KindCarersCharity:   "charity_admin",
	}
	for _, kind := range tenants.Kinds {
		key := AdminRole(kind)
		if key != want[kind] {
			t.Errorf("AdminRole(%s) = %q, want %q", kind, key, want[kind])
		}
		role, ok := Template(kind, key)
		if !ok {
			t.Fatalf("%s: admin role %q has no template", kind, key)
		}
		for _, info := range Catalogue() {
			if !slices.Contains(role.Permissions, info.Permission) {
				t.Errorf("%s/%s lacks %s; the admin role holds every permission", kind, key, info.Permission)
			}
		}
		for _, p := range []Permission{{"members", "read"}, {"members", "write"}, {"roles", "read"}, {"roles", "write"}} {
			if !slices.Contains(role.Permissions, p) {
				t.Errorf("%s/%s lacks %s", kind, key, p)
			}
		}
	}
	if AdminRole("nursery") != "" {
		t.Error("AdminRole of an unknown kind is not empty")
	}
}

func TestOnlyAdminRolesHoldAdministrativePermissions(t *testing.T) {
	for _, kind := range tenants.Kinds {
		for _, role := range Templates(kind) {
			if role.Key == AdminRole(kind) {
				continue
			}
			for _, p := range role.Permissions {
				if slices.Contains(adminOnly, p.Object) {
					t.Errorf("%s/%s holds %s, which only the admin role may hold", kind, role.Key, p)
				}
			}
		}
	}
}

func TestEveryRoleCanSeeTheDashboard(t *testing.T) {
	for _, kind := range tenants.Kinds {
		for _, role := range Templates(kind) {
			if !slices.Contains(role.Permissions, Permission{"dashboard", "read"}) {
				t.Errorf("%s/%s lacks dashboard:read", kind, role.Key)
			}
		}
	}
}

func TestTemplatesHoldTheRolesOfEachKind(t *testing.T) {
	want := map[tenants.Kind][]string{
		tenants.KindPaediatricTrust: {"tenant_admin", "practice_educator", "assessor", "trainer", "ward_staff", "discharge_coordinator"},
		tenants.KindCareHome:        {"provider_admin", "home_manager", "assessor", "trainer", "care_staff"},
		tenants.KindGPPractice:      {"practice_admin", "carers_lead", "reception"},
		tenants.KindCarersCharity:   {"charity_admin", "passport_officer", "trainer", "volunteer_verifier"},
	}
	for _, kind := range tenants.Kinds {
		var got []string
		for _, r := range Templates(kind) {
			got = append(got, r.Key)
		}
		if !slices.Equal(got, want[kind]) {
			t.Errorf("Templates(%s) = %v, want %v", kind, got, want[kind])
		}
	}
	if Templates("nursery") != nil {
		t.Error("Templates of an unknown kind is not nil")
	}
	if _, ok := Template(tenants.KindGPPractice, "assessor"); ok {
		t.Error("a GP practice has an assessor template")
	}
}

func TestNarrowRolesHoldExactlyWhatTheyNeed(t *testing.T) {
	tests := []struct {
		kind tenants.Kind
		role string
		want []string
	}{
		{tenants.KindGPPractice, "reception", []string{"dashboard:read", "holder:read", "verification:check"}},
		{tenants.KindCarersCharity, "volunteer_verifier", []string{"dashboard:read", "verification:check"}},
		{tenants.KindPaediatricTrust, "assessor", []string{"catalogue:read", "dashboard:read", "holder:read", "record:read", "record:write", "signoff:write"}},
	}
	for _, tt := range tests {
		role, ok := Template(tt.kind, tt.role)
		if !ok {
			t.Fatalf("no template %s/%s", tt.kind, tt.role)
		}
		var got []string
		for _, p := range role.Permissions {
			got = append(got, p.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s/%s = %v, want %v", tt.kind, tt.role, got, tt.want)
		}
	}
}

func TestCatalogueKeepsEachObjectTogether(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for _, info := range Catalogue() {
		o := info.Permission.Object
		if o != prev && seen[o] {
			t.Errorf("%s appears in two places", o)
		}
		seen[o], prev = true, o
		if info.Group == "" || info.Description == "" {
			t.Errorf("%s has no group or description", info.Permission)
		}
	}
	for _, o := range []string{"dashboard", "catalogue", "holder", "record", "signoff", "session", "booking",
		"passport", "verification", "staff", "report", "billing", "members", "roles", "audit", "tenant"} {
		if !seen[o] {
			t.Errorf("catalogue lacks %s", o)
		}
	}
	if KnownPermission(Permission{"tenants", "write"}) {
		t.Error("a platform permission is in the tenant catalogue")
	}
	if len(PlatformCatalogue()) != 2 {
		t.Errorf("PlatformCatalogue() = %v, want tenants:read and tenants:write", PlatformCatalogue())
	}
}

func TestTemplatesReturnsCopies(t *testing.T) {
	a := Templates(tenants.KindCareHome)
	a[0].Permissions[0] = Permission{"x", "y"}
	a[0].Key = "changed"
	b := Templates(tenants.KindCareHome)
	if b[0].Key == "changed" || b[0].Permissions[0] == (Permission{"x", "y"}) {
		t.Error("changing the result of Templates changed the embedded templates")
	}
}

func TestPermissionString(t *testing.T) {
	if got := (Permission{"passport", "issue"}).String(); got != "passport:issue" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseDataRejectsBadData(t *testing.T) {
	const catHeader = "scope,object,action,group,description\n"
	const tplHeader = "kind,key,name,admin,permissions,description\n"
	goodCat := catHeader + "tenant,dashboard,read,Dashboard,See it\ntenant,members,write,Members,Manage\nplatform,tenants,read,Orgs,See them\n"
	goodTpl := tplHeader +
		"paediatric_trust,tenant_admin,Admin,yes,*,Runs it\n" +
		"care_home,provider_admin,Admin,yes,*,Runs it\n" +
		"gp_practice,practice_admin,Admin,yes,*,Runs it\n" +
		"carers_charity,charity_admin,Admin,yes,*,Runs it\n" +
		"platform,operator,Operator,yes,tenants:read,Runs the platform\n"
	if _, err := parseData(goodCat, goodTpl); err != nil {
		t.Fatalf("good data rejected: %v", err)
	}
	tests := []struct {
		name     string
		cat, tpl string
		want     string
	}{
		{"unknown permission in a template", goodCat, goodTpl + "care_home,x_role,X,no,dashboard:read bogus:read,X\n", "unknown permission"},
		{"platform permission in a tenant template", goodCat, goodTpl + "care_home,x_role,X,no,tenants:read,X\n", "unknown permission"},
		{"permission without an action", goodCat, goodTpl + "care_home,x_role,X,no,dashboard,X\n", "unknown permission"},
		{"unknown kind", goodCat, goodTpl + "nursery,x_role,X,no,dashboard:read,X\n", "unknown kind"},
		{"bad role key", goodCat, goodTpl + "care_home,X-Role,X,no,dashboard:read,X\n", "not valid"},
		{"role listed twice", goodCat, goodTpl + "care_home,provider_admin,X,no,dashboard:read,X\n", "twice"},
		{"two admins", goodCat, goodTpl + "care_home,boss,X,yes,dashboard:read,X\n", "two admin roles"},
		{"no permissions", goodCat, goodTpl + "care_home,x_role,X,no,,X\n", "no permissions"},
		{"missing admin role", goodCat, tplHeader + "care_home,provider_admin,Admin,yes,*,Runs it\n", "no admin role"},
		{"bad admin flag", goodCat, goodTpl + "care_home,x_role,X,maybe,dashboard:read,X\n", "want yes or no"},
		{"duplicate catalogue entry", goodCat + "tenant,dashboard,read,Dashboard,Again\n", goodTpl, "twice"},
		{"bad scope", goodCat + "global,thing,read,Thing,Do\n", goodTpl, "scope"},
		{"bad catalogue header", "scope,object,action,description\n", goodTpl, "header"},
		{"missing description", goodCat + "tenant,thing,read,Thing,\n", goodTpl, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseData(tt.cat, tt.tpl)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseData error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
