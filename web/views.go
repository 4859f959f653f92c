package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/tenants"
)

// field is what the text-field partial renders.
type field struct {
	Name, Label, Hint, Autocomplete, Value, Error string
}

// Views renders html/template pages inside the shared layout. Each module
// contributes its own templates under a namespace ("account/signin").
type Views struct {
	layout *template.Template
	pages  map[string]*template.Template
}

// TemplateSet is one module's templates: files named templates/*.html in FS,
// each a page, except templates/_*.html, the partials every page of the set shares.
type TemplateSet struct {
	Namespace string
	FS        fs.FS
}

var funcs = template.FuncMap{
	"kindLabel": func(k tenants.Kind) string { return k.Label() },
	"date": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return ""
		}
		return t.In(london).Format("2 January 2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(london).Format("2 January 2006 at 15:04")
	},
	"join": strings.Join,
	"fieldOf": func(d page.Data, name, label, hint, autocomplete string) field {
		return field{Name: name, Label: label, Hint: hint, Autocomplete: autocomplete, Value: d.Value(name), Error: d.ErrorFor(name)}
	},
	"title": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
}

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// NewViews parses the layout and shared partials from web/templates and every
// page of every set. It fails at start-up, not at first render, on a bad template.
func NewViews(sets ...TemplateSet) (*Views, error) {
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	v := &Views{layout: layout, pages: map[string]*template.Template{}}
	pages, err := fs.Sub(pageFS, "pages")
	if err != nil {
		return nil, fmt.Errorf("web: pages: %w", err)
	}
	sets = append([]TemplateSet{{Namespace: "web", FS: pages}}, sets...)
	for _, set := range sets {
		names, err := fs.Glob(set.FS, "templates/*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates %s: %w", set.Namespace, err)
		}
		// Files named _*.html are the set's partials: parsed into each of
		// its pages, never pages themselves.
		partials, err := fs.Glob(set.FS, "templates/_*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates %s: %w", set.Namespace, err)
		}
		for _, name := range names {
			if strings.HasPrefix(path.Base(name), "_") {
				continue
			}
			t, err := layout.Clone()
			if err != nil {
				return nil, fmt.Errorf("web: clone layout: %w", err)
			}
			if _, err := t.ParseFS(set.FS, append(partials, name)...); err != nil {
				return nil, fmt.Errorf("web: template %s/%s: %w", set.Namespace, name, err)
			}
			v.pages[set.Namespace+"/"+strings.TrimSuffix(path.Base(name), ".html")] = t
		}
	}
	return v, nil
}

// Load satisfies fiber.Views; templates are parsed once in NewViews.
func (v *Views) Load() error { return nil }

// Render renders page name inside the layout. It renders into a buffer first
// so a template error never sends half a page.
func (v *Views) Render(w io.Writer, name string, data any, _ ...string) error {
	t, ok := v.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
