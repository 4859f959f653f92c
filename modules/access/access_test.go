package access_test

import (
	"slices"
	"testing"
	"time"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
)

func TestKeyFromNameMakesValidKeys(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Senior trainer", "senior_trainer"},
		{"  Senior   Trainer (nights) ", "senior_trainer_nights"},
		{"Band-6 nurse", "band_6_nurse"},
		{"2nd line", "role_2nd_line"},
		{"Ré", "r_role"},
		{"!!", "role"},
		{"A", "a_role"},
		{"An extraordinarily long role name that goes on and on", "an_extraordinarily_long_role_name_that_go"},
	}
	for _, tt := range tests {
		got := access.KeyFromName(tt.name)
		if got != tt.want {
			t.Errorf("KeyFromName(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if !access.ValidRoleKey(got) {
			t.Errorf("KeyFromName(%q) = %q, which is not a valid key", tt.name, got)
		}
	}
}

func TestInvitationStatus(t *testing.T) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour)
	tests := []struct {
		name string
		inv  access.Invitation
		want access.InvitationStatus
	}{
		{"pending", access.Invitation{ExpiresAt: now.Add(time.Second)}, access.InvitationPending},
		{"expires now", access.Invitation{ExpiresAt: now}, access.InvitationExpired},
		{"accepted", access.Invitation{ExpiresAt: now.Add(time.Hour), AcceptedAt: &at}, access.InvitationAccepted},
		{"revoked", access.Invitation{ExpiresAt: now.Add(time.Hour), RevokedAt: &at}, access.InvitationRevoked},
		{"accepted then expired", access.Invitation{ExpiresAt: now.Add(-time.Minute), AcceptedAt: &at}, access.InvitationAccepted},
	}
	for _, tt := range tests {
		if got := tt.inv.Status(now); got != tt.want {
			t.Errorf("%s: status = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestParsePermissions(t *testing.T) {
	got, err := access.ParsePermissions("permissions", []string{"roles:read", "dashboard:read", "roles:read"})
	want := []policy.Permission{{Object: "dashboard", Action: "read"}, {Object: "roles", Action: "read"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParsePermissions = %v, %v; want %v in catalogue order", got, err, want)
	}
	for _, bad := range []string{"roles", "roles:fly", "tenants:write", ""} {
		if _, err := access.ParsePermissions("permissions", []string{bad}); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParsePermissions(%q): %v, want a validation error", bad, err)
		}
	}
}
