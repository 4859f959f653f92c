package badge_test

import (
	"testing"

	"github.com/carepass/carepass/modules/badge"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/policy"
)

// The record service, with the badge service as its Changed hook, keeps a
// credential's status in step with every transition it makes.
func TestRecordServiceTransitionsReachTheCredential(t *testing.T) {
	f := newFixture(t)
	admin := f.Staff(f.trust, "admin@wrenford.example", "Ada Admin", policy.AdminRole(f.trust.Kind))
	specs := catalogue.NewService(f.Scoped, f.Log, f.clock.Now)
	records := record.NewService(record.Deps{DB: f.Scoped, Specs: specs, Finder: specs, Accounts: f.Accounts,
		Authz: f.Enforcers(), Audit: f.Log, Changed: f.badges.RecordChanged}, record.Config{Now: f.clock.Now})
	b := f.issue(f.amira, f.competent)
	ctx := as(f.trust, admin)

	step := func(in record.TransitionInput, want string) {
		t.Helper()
		if _, err := records.Transition(ctx, f.competent, in); err != nil {
			t.Fatalf("%s: %v", in.Action, err)
		}
		f.clock.Advance(6e9) // past the published list's few seconds in memory
		if r := f.verify(b.JWT); r.Reason != want {
			t.Fatalf("after %s: reason %q, want %q", in.Action, r.Reason, want)
		}
	}
	step(record.TransitionInput{Action: record.ActSuspend, Reason: "Concern raised on the ward"}, badge.ReasonRevoked)
	step(record.TransitionInput{Action: record.ActReinstate, Notes: "Concern resolved"}, "")
	step(record.TransitionInput{Action: record.ActRevoke, Reason: "Left the scheme"}, badge.ReasonRevoked)
	if ev := f.LastEvent(f.trust, "badge.withdraw"); ev.ObjectID != b.ID.String() || ev.Detail["reason"] != "revoked" {
		t.Errorf("audit: %+v", ev)
	}
}
