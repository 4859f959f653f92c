package account_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// clock is a settable time source for expiry tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

const pw = "correct horse battery"

func setup(t *testing.T) (*account.Service, *clock, *tenants.DB, account.Account) {
	t.Helper()
	db := testdb.New(t)
	clk := &clock{t: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}
	scoped := tenants.NewDB(db.Gorm)
	svc := account.NewService(scoped, audit.New(clk.now), account.Config{
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Now: clk.now})
	var acct account.Account
	err := scoped.Platform(context.Background(), func(tx *gorm.DB) (err error) {
		acct, err = svc.Create(context.Background(), tx, "Carer@Example.org", "Casey Carer", pw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk, scoped, acct
}

func signIn(t *testing.T, svc *account.Service, email, password string) string {
	t.Helper()
	token, _, err := svc.SignIn(context.Background(), email, password, account.Client{IP: "192.0.2.7"})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return token
}

func TestSessionLifetimes(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // advance the clock, authenticating after each step
		alive bool
	}{
		{"fresh session is live", nil, true},
		{"activity within the idle timeout keeps it live", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, true},
		{"idle past 30 minutes ends it", []time.Duration{31 * time.Minute}, false},
		{"absolute limit ends it despite activity", repeat(25*time.Minute, 29), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, clk, _, _ := setup(t)
			token := signIn(t, svc, "carer@example.org", pw)
			_, _, err := svc.Authenticate(context.Background(), token)
			if err != nil {
				t.Fatalf("a new session must authenticate: %v", err)
			}
			for _, d := range tc.steps {
				clk.advance(d)
				if _, _, err = svc.Authenticate(context.Background(), token); err != nil {
					break
				}
			}
			if tc.alive && err != nil {
				t.Fatalf("want live session, got %v", err)
			}
			if !tc.alive && !errs.Is(err, errs.Unauthenticated) {
				t.Fatalf("want Unauthenticated, got %v", err)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestSignInRotatesAndSignOutRevokes(t *testing.T) {
	svc, _, _, acct := setup(t)
	ctx := context.Background()
	first := signIn(t, svc, "CARER@example.org", pw)
	second := signIn(t, svc, "carer@example.org", pw)
	if first == second || len(first) < 43 {
		t.Fatalf("each sign-in must issue a new 256-bit token: %q %q", first, second)
	}
	if err := svc.SignOut(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, first); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("signed-out token still works: %v", err)
	}
	if _, a, err := svc.Authenticate(ctx, second); err != nil || a.ID != acct.ID {
		t.Fatalf("other session must survive a single sign-out: %v", err)
	}
	if err := svc.SignOutEverywhere(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, second); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("sign-out-everywhere left a session: %v", err)
	}
}

func TestPasswordChangeAndDisableRevokeSessions(t *testing.T) {
	svc, _, db, acct := setup(t)
	ctx := context.Background()
	old := signIn(t, svc, "carer@example.org", pw)
	if _, err := svc.ChangePassword(ctx, acct.ID, "wrong", "a new long password", account.Client{}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("wrong current password must be refused: %v", err)
	}
	fresh, err := svc.ChangePassword(ctx, acct.ID, pw, "a new long password", account.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, old); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("password change left the old session alive: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("the changing browser keeps a fresh session: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "carer@example.org", pw, account.Client{IP: "192.0.2.7"}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("old password still signs in: %v", err)
	}
	err = db.Platform(ctx, func(tx *gorm.DB) error { return svc.SetStatus(ctx, tx, acct.ID, account.StatusDisabled) })
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, fresh); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("disabled account keeps a session: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "carer@example.org", "a new long password", account.Client{IP: "192.0.2.7"}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("disabled account signs in: %v", err)
	}
}

func TestSignInThrottleAndOneMessage(t *testing.T) {
	svc, clk, _, _ := setup(t)
	ctx := context.Background()
	var msgs []string
	for i := 0; i < 5; i++ {
		_, _, err := svc.SignIn(ctx, "carer@example.org", "wrong password", account.Client{IP: "192.0.2.8"})
		if !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		msgs = append(msgs, errs.MessageOf(err))
	}
	_, _, unknown := svc.SignIn(ctx, "nobody@example.org", "whatever", account.Client{IP: "192.0.2.9"})
	if errs.MessageOf(unknown) != msgs[0] {
		t.Fatalf("unknown account must get the same message: %q vs %q", errs.MessageOf(unknown), msgs[0])
	}
	// The sixth attempt is throttled even with the right password.
	if _, _, err := svc.SignIn(ctx, "carer@example.org", pw, account.Client{IP: "192.0.2.10"}); !errs.Is(err, errs.TooMany) || errs.MessageOf(err) != msgs[0] {
		t.Fatalf("want throttled with the generic message, got %v", err)
	}
	clk.advance(16 * time.Minute)
	if _, _, err := svc.SignIn(ctx, "carer@example.org", pw, account.Client{IP: "192.0.2.10"}); err != nil {
		t.Fatalf("after the window a correct sign-in works: %v", err)
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := account.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !account.CheckPassword(h, pw) || account.CheckPassword(h, pw+"x") || account.CheckPassword("", pw) || account.CheckPassword("$argon2id$v=19$m=1,t=1,p=1$$", pw) {
		t.Fatal("argon2id check is wrong")
	}
}
