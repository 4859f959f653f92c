package issuer_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

var start = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*moduletest.Env, *moduletest.Clock, *issuer.Service) {
	t.Helper()
	clock := moduletest.NewClock(start)
	env := moduletest.New(t, clock.Now)
	svc, err := issuer.New(env.Scoped, make([]byte, credential.ServerKeySize), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return env, clock, svc
}

func signingKey(t *testing.T, env *moduletest.Env, svc *issuer.Service, tn tenants.Tenant) credential.SigningKey {
	t.Helper()
	var k credential.SigningKey
	env.In(tn, func(tx *gorm.DB) error {
		var err error
		k, err = svc.SigningKey(context.Background(), tx, tn)
		return err
	})
	return k
}

func TestKeysAreCreatedOnceRotatedAndPublished(t *testing.T) {
	env, clock, svc := newService(t)
	ctx := context.Background()
	a := env.Tenant("charity-a", tenants.KindCarersCharity)
	b := env.Tenant("gp-b", tenants.KindGPPractice)

	first := signingKey(t, env, svc, a)
	if again := signingKey(t, env, svc, a); again.KID != first.KID || !again.Private.Equal(first.Private) {
		t.Fatalf("second call made another key: %s then %s", first.KID, again.KID)
	}
	if other := signingKey(t, env, svc, b); other.KID == first.KID {
		t.Fatal("two tenants share a key")
	}
	if n := env.Count(nil, uuid.Nil, `SELECT count(*) FROM issuer_keys WHERE issuer_tenant = ?`, a.ID); n != 1 {
		t.Fatalf("%d keys stored for a", n)
	}

	// A credential signed before rotation still verifies from the published set.
	qr, err := credential.Sign(credential.Payload{HolderName: "Ada", Scheme: "S", ValidFrom: start,
		ValidUntil: start.AddDate(1, 0, 0), StatusIndex: 3, CredentialID: uuid.New()}, first)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	var next credential.PublicKey
	env.In(a, func(tx *gorm.DB) error {
		next, err = svc.Rotate(ctx, tx, a)
		return err
	})
	if cur := signingKey(t, env, svc, a); cur.KID != next.KID {
		t.Fatalf("current key %s after rotating to %s", cur.KID, next.KID)
	}

	clock.Advance(time.Minute) // past the in-memory cache
	set, err := svc.KeySet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, ok := set.Lookup(a.Slug, first.KID)
	if !ok || old.Retired.IsZero() {
		t.Fatalf("retired key not published as retired: %+v %v", old, ok)
	}
	signed, err := credential.ParseQR(qr)
	if err != nil || !signed.CheckSignature(old.Key) {
		t.Fatalf("old credential does not verify with the published old key: %v", err)
	}
	if _, ok := set.Lookup(a.Slug, next.KID); !ok {
		t.Fatal("new key not published")
	}
	if _, ok := set.Lookup(b.Slug, first.KID); ok {
		t.Fatal("a's key published under b")
	}
	// The published JSON parses back with every key checked.
	data, _ := json.Marshal(set)
	if _, err := credential.ParseKeySet(data); err != nil {
		t.Fatalf("published key set does not parse: %v", err)
	}
}

func TestStatusPositionsAreRandomUniqueAndRevocationIsPublished(t *testing.T) {
	env, clock, svc := newService(t)
	ctx := context.Background()
	a := env.Tenant("charity-a", tenants.KindCarersCharity)

	seen := map[int]bool{}
	var positions []int
	env.In(a, func(tx *gorm.DB) error {
		for range 200 {
			idx, err := svc.Allocate(ctx, tx, a.ID, issuer.KindCarerPassport)
			if err != nil {
				return err
			}
			if seen[idx] || idx < 0 || idx >= issuer.ListSize {
				t.Fatalf("position %d handed out twice or outside the list", idx)
			}
			seen[idx] = true
			positions = append(positions, idx)
		}
		return nil
	})
	// Random, not sequential: 200 draws from 131,072 land in many different
	// 1/16ths of the list (sequential allocation would use one).
	buckets := map[int]bool{}
	for _, p := range positions {
		buckets[p*16/issuer.ListSize] = true
	}
	if len(buckets) < 12 {
		t.Fatalf("positions cluster in %d of 16 buckets: %v", len(buckets), positions[:10])
	}

	revoked, kept := positions[0], positions[1]
	env.In(a, func(tx *gorm.DB) error {
		if err := svc.SetRevoked(ctx, tx, a.ID, revoked, true); err != nil {
			return err
		}
		if err := svc.SetRevoked(ctx, tx, a.ID, kept, true); err != nil {
			return err
		}
		return svc.SetRevoked(ctx, tx, a.ID, kept, false)
	})
	clock.Advance(time.Minute)
	doc, err := svc.StatusList(ctx, a.Slug)
	if err != nil {
		t.Fatal(err)
	}
	list, err := doc.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range positions {
		got, _ := list.Revoked(p)
		if got != (p == revoked) {
			t.Fatalf("position %d revoked=%v", p, got)
		}
	}
	if doc.Size != issuer.ListSize || doc.MaxAge <= 0 || doc.Issuer != a.Slug {
		t.Fatalf("document: %+v", doc)
	}
	if _, err := svc.StatusList(ctx, "no-such-issuer"); err != issuer.ErrNoList {
		t.Fatalf("unknown issuer: %v", err)
	}
	all, err := svc.StatusLists(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("all lists: %d %v", len(all), err)
	}
}

func TestServerKeyIsRequired(t *testing.T) {
	if _, err := issuer.New(nil, make([]byte, 16), time.Now); err == nil {
		t.Fatal("a short server key was accepted")
	}
}
