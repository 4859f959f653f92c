package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/tenants"
)

// After an operator rotates an issuer's key, passports signed with the old
// key still verify (its public half stays published) and new signatures use
// the new key.
func TestRotateKeyKeepsOldPassportsVerifiable(t *testing.T) {
	a, db := testApp(t)
	ctx := context.Background()
	charity, err := a.tenants.BySlug(ctx, demoTenants[3].slug)
	if err != nil {
		t.Fatal(err)
	}
	var oldQR string
	err = a.db.Tx(tenants.WithTenant(ctx, charity), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT qr FROM carer_passports WHERE tenant_id = ? AND state = 'active' LIMIT 1`, charity.ID).Row().Scan(&oldQR)
	})
	if err != nil {
		t.Fatalf("a seeded active passport: %v", err)
	}
	signed, err := credential.ParseQR(oldQR)
	if err != nil {
		t.Fatal(err)
	}

	getenv := func(k string) string {
		return map[string]string{"CAREPASS_ENV": "development", "DATABASE_URL": db.AppURL}[k]
	}
	var out, errOut strings.Builder
	if err := run(ctx, []string{"tenant", "rotate-key", charity.Slug}, getenv, nil, &out, &errOut); err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "now signs with key") {
		t.Fatalf("rotate-key said %q", out.String())
	}
	if err := run(ctx, []string{"tenant", "rotate-key", "no-such-tenant"}, getenv, nil, &out, &errOut); err == nil {
		t.Fatal("rotating the key of an unknown tenant succeeded")
	}

	fresh, err := issuer.New(a.db, a.cfg.CredentialKey, time.Now) // no cached key set
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fresh.KeySet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, ok := keys.Lookup(charity.Slug, signed.KeyID)
	if !ok || old.Retired.IsZero() || !signed.CheckSignature(old.Key) {
		t.Fatalf("the old key is not published as retired, or does not verify the old QR: %+v %v", old, ok)
	}
	if n := len(keys.Issuers[charity.Slug]); n != 2 {
		t.Fatalf("%d keys published for the issuer after one rotation, want 2", n)
	}
	r, err := a.passports.Verify(ctx, carerpassport.VerifyInput{Text: oldQR, Channel: carerpassport.ChannelQR, Client: "test"})
	if err != nil || !r.Confirmed {
		t.Fatalf("a passport signed before the rotation no longer verifies online: %+v %v", r, err)
	}
}
