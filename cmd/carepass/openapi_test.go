package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/carepass/carepass/web"
)

var paramRe = regexp.MustCompile(`:([a-zA-Z_]+)`)

// TestOpenAPIMatchesRoutes fails when the JSON API has a route the served
// OpenAPI document lacks, or the document describes a route that does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a, _ := testApp(t)
	srv, err := a.server()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == "HEAD" || r.Method == "USE" || r.Method == "OPTIONS" {
			continue
		}
		have[r.Method+" "+paramRe.ReplaceAllString(r.Path, "{$1}")] = true
	}

	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("want OpenAPI 3.1, got %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "patch", "delete":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	if len(have) == 0 {
		t.Fatal("no API routes found in the route table")
	}
	var missing, stale []string
	for r := range have {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !have[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from web/openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("web/openapi.json describes routes that do not exist:\n  %s", strings.Join(stale, "\n  "))
	}
}
