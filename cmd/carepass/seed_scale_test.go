package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carepass/carepass/migrations/testdb"
)

// runScale runs `carepass seed scale args` with env as the environment.
func runScale(env map[string]string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"seed", "scale"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestSeedScaleRefuses(t *testing.T) {
	dev := map[string]string{"CAREPASS_ENV": "development", "MIGRATION_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	prod := map[string]string{"CAREPASS_ENV": "production", "MIGRATION_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"in production", prod, []string{"--tenants", "2", "--holders", "4", "--records", "4"}, "refuses to run with CAREPASS_ENV=production"},
		{"no tenants", dev, []string{"--tenants", "0"}, "--tenants must be between 1"},
		{"fewer holders than tenants", dev, []string{"--tenants", "10", "--holders", "3"}, "--holders must be at least --tenants"},
		{"more records than competencies", dev, []string{"--tenants", "2", "--holders", "10", "--records", "1000"}, "do not fit 10 holders"},
		{"a bad date", dev, []string{"--as-of", "31/03/2026"}, "--as-of must be a date"},
		{"a stray argument", dev, []string{"demo"}, "takes flags only"},
		{"no database", map[string]string{}, []string{"--tenants", "2", "--holders", "4", "--records", "4"}, "MIGRATION_DATABASE_URL is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runScale(tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (output %q), want an error containing %q", err, out, tc.want)
			}
			if strings.Contains(out, "Made ") {
				t.Fatalf("reported making something: %s", out)
			}
		})
	}
}

func TestSeedScaleLoadsOnceAndSaysSo(t *testing.T) {
	db := testdb.New(t)
	env := map[string]string{"CAREPASS_ENV": "development", "MIGRATION_DATABASE_URL": db.OwnerURL}
	args := []string{"--tenants", "4", "--holders", "80", "--records", "400", "--ref-holders", "20", "--seed", "3"}
	out, err := runScale(env, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"Made 4 synthetic tenants (slugs synth-3-NNNNN)", "holders (and people)", "80\n", "400\n", "admin@<slug>.synthetic.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run's report lacks %q:\n%s", want, out)
		}
	}
	out, err = runScale(env, args...)
	if err != nil || !strings.Contains(out, "Nothing to do: all 4 synthetic tenants of seed 3 are already loaded") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	// In production, forced, it runs; its administrators get no password.
	env["CAREPASS_ENV"] = "production"
	out, err = runScale(env, "--force", "--tenants", "1", "--holders", "5", "--records", "5", "--seed", "4")
	if err != nil || !strings.Contains(out, "Made 1 synthetic tenants") {
		t.Fatalf("forced production run: %v\n%s", err, out)
	}
	var hash string
	if err := db.Pool.QueryRow(context.Background(), `SELECT password_hash FROM accounts WHERE email = 'admin@synth-4-00001.synthetic.example'`).Scan(&hash); err != nil || hash != "" {
		t.Fatalf("the production administrator's password hash is %q (%v), want none", hash, err)
	}
}
