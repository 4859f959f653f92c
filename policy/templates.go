package policy

import (
	_ "embed" // the catalogue and templates are embedded CSV.
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/carepass/carepass/tenants"
)

//go:embed catalogue.csv
var catalogueCSV string

//go:embed templates.csv
var templatesCSV string

// PermissionInfo describes one permission for the roles page.
type PermissionInfo struct {
	Permission  Permission
	Group       string // human name of the object, e.g. "Training sessions"
	Description string // what holding the permission lets a person do
}

// RoleTemplate is a role that a tenant of some kind starts with.
type RoleTemplate struct {
	Key         string
	Name        string
	Description string
	Permissions []Permission
}

// namePattern matches objects and actions.
var namePattern = regexp.MustCompile(`^[a-z][a-z_]*$`)

// platformKind names the platform operator area in templates.csv.
const platformKind tenants.Kind = "platform"

// data is the parsed content of the embedded CSV files.
type data struct {
	catalogue []PermissionInfo // tenant permissions, in display order
	platform  []PermissionInfo // platform permissions, in display order
	tenantSet map[Permission]bool
	platSet   map[Permission]bool
	templates map[tenants.Kind][]RoleTemplate
	admin     map[tenants.Kind]string
}

// embedded is parsed once at start-up. The files are part of the binary, so
// an error in them is a bug caught by the package's tests.
var embedded = mustParse(catalogueCSV, templatesCSV)

func mustParse(catalogue, templates string) *data {
	d, err := parseData(catalogue, templates)
	if err != nil {
		panic(err)
	}
	return d
}

// parseData parses and validates the catalogue and the role templates.
func parseData(catalogue, templates string) (*data, error) {
	d := &data{
		tenantSet: map[Permission]bool{},
		platSet:   map[Permission]bool{},
		templates: map[tenants.Kind][]RoleTemplate{},
		admin:     map[tenants.Kind]string{},
	}
	if err := d.parseCatalogue(catalogue); err != nil {
		return nil, fmt.Errorf("policy: catalogue.csv: %w", err)
	}
	if err := d.parseTemplates(templates); err != nil {
		return nil, fmt.Errorf("policy: templates.csv: %w", err)
	}
	return d, nil
}

// readCSV reads every record after the header, which must equal header.
func readCSV(text string, header []string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = len(header)
	first, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if !slices.Equal(first, header) {
		return nil, fmt.Errorf("header is %q, want %q", first, header)
	}
	var out [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		out = append(out, rec)
	}
}

func (d *data) parseCatalogue(text string) error {
	recs, err := readCSV(text, []string{"scope", "object", "action", "group", "description"})
	if err != nil {
		return err
	}
	for i, rec := range recs {
		scope, p := rec[0], Permission{Object: rec[1], Action: rec[2]}
		info := PermissionInfo{Permission: p, Group: rec[3], Description: rec[4]}
		if !namePattern.MatchString(p.Object) || !namePattern.MatchString(p.Action) {
			return fmt.Errorf("row %d: object and action are lower-case words, got %s", i+1, p)
		}
		if info.Group == "" || info.Description == "" {
			return fmt.Errorf("row %d: %s needs a group and a description", i+1, p)
		}
		if d.tenantSet[p] || d.platSet[p] {
			return fmt.Errorf("row %d: %s is listed twice", i+1, p)
		}
		switch scope {
		case "tenant":
			d.tenantSet[p] = true
			d.catalogue = append(d.catalogue, info)
		case "platform":
			d.platSet[p] = true
			d.platform = append(d.platform, info)
		default:
			return fmt.Errorf("row %d: scope %q is neither tenant nor platform", i+1, scope)
		}
	}
	// Keep each object's permissions together for the roles page.
	var grouped []PermissionInfo
	for _, info := range d.catalogue {
		if slices.ContainsFunc(grouped, func(g PermissionInfo) bool { return g.Permission.Object == info.Permission.Object }) {
			continue
		}
		for _, other := range d.catalogue {
			if other.Permission.Object == info.Permission.Object {
				grouped = append(grouped, other)
			}
		}
	}
	d.catalogue = grouped
	return nil
}

func (d *data) parseTemplates(text string) error {
	recs, err := readCSV(text, []string{"kind", "key", "name", "admin", "permissions", "description"})
	if err != nil {
		return err
	}
	for i, rec := range recs {
		kind, admin := tenants.Kind(rec[0]), rec[3]
		t := RoleTemplate{Key: rec[1], Name: rec[2], Description: rec[5]}
		if !kind.Valid() && kind != platformKind {
			return fmt.Errorf("row %d: unknown kind %q", i+1, kind)
		}
		if !roleKeyPattern.MatchString(t.Key) {
			return fmt.Errorf("row %d: role key %q is not valid", i+1, t.Key)
		}
		if t.Name == "" || t.Description == "" {
			return fmt.Errorf("row %d: %s needs a name and a description", i+1, t.Key)
		}
		if slices.ContainsFunc(d.templates[kind], func(o RoleTemplate) bool { return o.Key == t.Key }) {
			return fmt.Errorf("row %d: %s is listed twice for %s", i+1, t.Key, kind)
		}
		known := d.tenantSet
		if kind == platformKind {
			known = d.platSet
		}
		for _, f := range strings.Fields(rec[4]) {
			if f == "*" && kind != platformKind {
				for _, info := range d.catalogue {
					t.Permissions = append(t.Permissions, info.Permission)
				}
				continue
			}
			obj, act, ok := strings.Cut(f, ":")
			p := Permission{Object: obj, Action: act}
			if !ok || !known[p] {
				return fmt.Errorf("row %d: %s has unknown permission %q", i+1, t.Key, f)
			}
			if slices.Contains(t.Permissions, p) {
				return fmt.Errorf("row %d: %s lists %s twice", i+1, t.Key, p)
			}
			t.Permissions = append(t.Permissions, p)
		}
		if len(t.Permissions) == 0 {
			return fmt.Errorf("row %d: %s has no permissions", i+1, t.Key)
		}
		switch admin {
		case "yes":
			if prev, ok := d.admin[kind]; ok {
				return fmt.Errorf("row %d: %s has two admin roles, %s and %s", i+1, kind, prev, t.Key)
			}
			d.admin[kind] = t.Key
		case "no":
		default:
			return fmt.Errorf("row %d: admin is %q, want yes or no", i+1, admin)
		}
		d.templates[kind] = append(d.templates[kind], t)
	}
	for _, k := range append(slices.Clone(tenants.Kinds), platformKind) {
		if d.admin[k] == "" {
			return fmt.Errorf("kind %s has no admin role", k)
		}
	}
	return nil
}

// cloneTemplates returns a deep copy so callers cannot change the embedded data.
func cloneTemplates(ts []RoleTemplate) []RoleTemplate {
	out := make([]RoleTemplate, len(ts))
	for i, t := range ts {
		t.Permissions = slices.Clone(t.Permissions)
		out[i] = t
	}
	return out
}

// Templates returns the roles a tenant of kind starts with, in display
// order, or nil for an unknown kind.
func Templates(kind tenants.Kind) []RoleTemplate {
	if !kind.Valid() {
		return nil
	}
	return cloneTemplates(embedded.templates[kind])
}

// Template returns the template role key of kind.
func Template(kind tenants.Kind, key string) (RoleTemplate, bool) {
	if !kind.Valid() {
		return RoleTemplate{}, false
	}
	for _, t := range embedded.templates[kind] {
		if t.Key == key {
			return cloneTemplates([]RoleTemplate{t})[0], true
		}
	}
	return RoleTemplate{}, false
}

// AdminRole returns the key of kind's administrator role, the role given to
// the person who sets up a tenant; "" for an unknown kind.
func AdminRole(kind tenants.Kind) string {
	if !kind.Valid() {
		return ""
	}
	return embedded.admin[kind]
}

// Catalogue returns every permission that can be granted within a tenant,
// each object's permissions together, in display order.
func Catalogue() []PermissionInfo {
	return slices.Clone(embedded.catalogue)
}

// KnownPermission reports whether p is in the tenant permission catalogue.
func KnownPermission(p Permission) bool {
	return embedded.tenantSet[p]
}

// PlatformCatalogue returns every permission of the platform operator area.
func PlatformCatalogue() []PermissionInfo {
	return slices.Clone(embedded.platform)
}

// knownPlatformPermission reports whether p is a platform permission.
func knownPlatformPermission(p Permission) bool {
	return embedded.platSet[p]
}

// platformTemplates returns the roles of the platform operator area.
func platformTemplates() []RoleTemplate {
	return cloneTemplates(embedded.templates[platformKind])
}
