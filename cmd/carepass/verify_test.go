package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
)

// TestVerifyCommand runs `carepass verify` as a user would, offline, on a
// credential signed and published with the credential package.
func TestVerifyCommand(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	key, err := credential.GenerateSigningKey("lanternfield-carers", now)
	if err != nil {
		t.Fatal(err)
	}
	keys := credential.NewKeySet()
	if err := keys.Add("lanternfield-carers", key.Public(), now); err != nil {
		t.Fatal(err)
	}
	list, err := credential.NewStatusList(131072)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := credential.NewStatusListDocument("lanternfield-carers", list, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keysFile, statusFile := write("keys.json", keys), write("status.json", doc)
	qr, err := credential.Sign(credential.Payload{Issuer: "lanternfield-carers", KeyID: key.KID, HolderName: "Sam Whitlow",
		Scheme: "Young carers' passport", ValidFrom: now.Add(-time.Hour), ValidUntil: now.AddDate(1, 0, 0), StatusIndex: 4242,
		CredentialID: uuid.New()}, key)
	if err != nil {
		t.Fatal(err)
	}
	verifyCmd := func(payload string) (string, error) {
		var out, errOut strings.Builder
		err := run(context.Background(), []string{"verify", "--keys", keysFile, "--status", statusFile, payload},
			func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return out.String(), err
	}
	if out, err := verifyCmd(qr); err != nil || !strings.Contains(out, "valid") || !strings.Contains(out, "Sam Whitlow") {
		t.Fatalf("a genuine credential: %q, %v", out, err)
	}
	tampered := qr[:len(qr)-3] + "AAA"
	out, err := verifyCmd(tampered)
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(out, "invalid") {
		t.Fatalf("a tampered credential: %q, %v", out, err)
	}
}
