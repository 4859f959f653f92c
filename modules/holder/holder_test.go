package holder_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/tenants"
)

func fieldNames(err error) []string {
	var out []string
	for _, f := range errs.FieldsOf(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestEnrolValidatesEveryFieldAndStoresNothingOnError(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	ctx := as(a, staff)

	cases := []struct {
		name   string
		in     holder.Input
		fields string
	}{
		{"everything missing", holder.Input{}, "given_name,family_name,date_of_birth,role_in_care"},
		{"bad email and phone", holder.Input{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: dob("1990-01-02"),
			Email: "not an email", Phone: "12ab", RoleInCare: "parent"}, "email,phone"},
		{"not a real date", holder.Input{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: holder.Date{Day: "31", Month: "2", Year: "1990"},
			RoleInCare: "parent"}, "date_of_birth"},
		{"date in the future", holder.Input{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: dob("2030-01-01"),
			RoleInCare: "parent"}, "date_of_birth"},
		{"missing year", holder.Input{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: holder.Date{Day: "1", Month: "2"},
			RoleInCare: "parent"}, "date_of_birth"},
		{"unknown role", holder.Input{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: dob("1990-01-02"),
			RoleInCare: "doctor"}, "role_in_care"},
		{"name too long", holder.Input{GivenName: strings.Repeat("a", 101), FamilyName: "Lee", DateOfBirth: dob("1990-01-02"),
			RoleInCare: "parent"}, "given_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.holders.Enrol(ctx, tc.in, false)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("want Invalid, got %v", err)
			}
			if got := strings.Join(fieldNames(err), ","); got != tc.fields {
				t.Errorf("fields %q, want %q", got, tc.fields)
			}
		})
	}
	if n := f.Count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 0 {
		t.Fatalf("%d holders stored after invalid input", n)
	}
	if n := f.Count(nil, uuid.Nil, `SELECT count(*) FROM persons`); n != 0 {
		t.Fatalf("%d persons stored after invalid input", n)
	}

	h, err := f.holders.Enrol(ctx, holder.Input{GivenName: "  Ann  Marie ", FamilyName: "Lee", DateOfBirth: holder.Date{Day: "2", Month: "1", Year: "1990"},
		Email: " Ann@Example.org ", Phone: "07700 900 982", RoleInCare: "unpaid_carer"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.GivenName != "Ann Marie" || h.Email != "ann@example.org" || h.DateOfBirth.Format(time.DateOnly) != "1990-01-02" {
		t.Errorf("not normalised: %+v", h)
	}
	if e := f.LastEvent(a, "holder.create"); e.ObjectID != h.ID.String() {
		t.Errorf("holder.create audited for %s, want %s", e.ObjectID, h.ID)
	}
}

func TestLikelyDuplicateIsWarnedNotBlocked(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	b := f.Tenant("home-b", tenants.KindCareHome)
	staff := f.staff(a, "staff@a.example")
	staffB := f.staff(b, "staff@b.example")
	ctx := as(a, staff)
	first := f.enrol(a, staff, "Jane", "Smith", "1990-05-01", "")

	// The same name, in other case, and date of birth: a warning with the match.
	again := holder.Input{GivenName: "jane", FamilyName: "SMITH", DateOfBirth: dob("1990-05-01"), RoleInCare: "paid_carer"}
	_, err := f.holders.Enrol(ctx, again, false)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("want a Conflict warning, got %v", err)
	}
	matches, ok := holder.Duplicates(err)
	if !ok || len(matches) != 1 || matches[0].ID != first.ID {
		t.Fatalf("matches %+v, want the first holder", matches)
	}
	if n := f.Count(&a, staff, `SELECT count(*) FROM holders WHERE tenant_id = ?`, a.ID); n != 1 {
		t.Fatalf("%d holders after the warning, want 1", n)
	}
	if e := f.LastEvent(a, "holder.duplicate_warning"); e.Detail["matches"] != first.ID.String() {
		t.Errorf("warning audited with %v", e.Detail)
	}

	// Another tenant's holder with the same name is not a match: tenants
	// never learn of each other's holders.
	if _, err := f.holders.Enrol(as(b, staffB), again, false); err != nil {
		t.Fatalf("same name in another tenant: %v", err)
	}

	// A different date of birth is not a match.
	if _, err := f.holders.Enrol(ctx, holder.Input{GivenName: "Jane", FamilyName: "Smith", DateOfBirth: dob("1991-05-01"),
		RoleInCare: "parent"}, false); err != nil {
		t.Fatalf("different date of birth: %v", err)
	}

	// Confirmed as a different person: added, and the confirmation audited.
	second, err := f.holders.Enrol(ctx, again, true)
	if err != nil {
		t.Fatal(err)
	}
	if second.PersonID == first.PersonID {
		t.Error("a confirmed different person shares the first one's person")
	}
	if e := f.LastEvent(a, "holder.create"); e.ObjectID != second.ID.String() || e.Detail["duplicate_confirmed"] != "yes" {
		t.Errorf("confirmation not audited: %+v", e)
	}
}

func TestUpdateAndMarkAsLeft(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	staff := f.staff(a, "staff@a.example")
	ctx := as(a, staff)
	h := f.enrol(a, staff, "Jo", "Bloggs", "1985-07-09", "jo@example.org")

	// A partial change keeps the rest.
	got, err := f.holders.Update(ctx, h.ID, holder.Changes{Phone: ptr("01632 960 001")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != "01632 960 001" || got.Email != "jo@example.org" || got.GivenName != "Jo" {
		t.Errorf("partial update: %+v", got)
	}
	if e := f.LastEvent(a, "holder.update"); e.Detail["fields"] != "phone" {
		t.Errorf("update audited with %v", e.Detail)
	}

	// An invalid change stores nothing.
	if _, err := f.holders.Update(ctx, h.ID, holder.Changes{FamilyName: ptr(""), Email: ptr("x")}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("invalid change: %v", err)
	}
	again, err := f.holders.Get(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.FamilyName != "Bloggs" || again.Email != "jo@example.org" {
		t.Errorf("invalid change stored: %+v", again)
	}

	left, err := f.holders.SetStatus(ctx, h.ID, holder.StatusLeft)
	if err != nil || !left.Left() {
		t.Fatalf("mark as left: %+v %v", left, err)
	}
	if e := f.LastEvent(a, "holder.status_change"); e.Detail["status_after"] != "left" {
		t.Errorf("status change audited with %v", e.Detail)
	}
	if _, err := f.holders.SetStatus(ctx, h.ID, "gone"); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := f.holders.Update(ctx, uuid.Must(uuid.NewV7()), holder.Changes{Phone: ptr("")}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown holder: %v", err)
	}
}

func TestExpiryAndEffectiveState(t *testing.T) {
	jan31 := time.Date(2025, 1, 31, 10, 0, 0, 0, time.UTC)
	if got := holder.AddMonths(jan31, 1); !got.Equal(time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("31 January + 1 month = %v", got)
	}
	if got := holder.AddMonths(jan31, 13); !got.Equal(time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("31 January + 13 months = %v", got)
	}
	exp := holder.Expiry(&jan31, 12)
	cases := []struct {
		now  time.Time
		want string
	}{
		{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), "competent"},
		{time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC), "due_for_update"},
		{time.Date(2026, 1, 30, 23, 59, 0, 0, time.UTC), "due_for_update"},
		{time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), "expired"},
	}
	for _, tc := range cases {
		if got := holder.EffectiveState("competent", exp, tc.now); got != tc.want {
			t.Errorf("at %v: %s, want %s", tc.now, got, tc.want)
		}
	}
	if got := holder.EffectiveState("enrolled", nil, time.Now()); got != "enrolled" {
		t.Errorf("enrolled: %s", got)
	}
	// A sign-off late in a summer evening counts from its London date.
	late := time.Date(2025, 6, 30, 23, 30, 0, 0, time.UTC)
	if got := holder.Expiry(&late, 1); got.Format(time.RFC3339) != "2025-08-01T00:00:00+01:00" {
		t.Errorf("expiry of a sign-off at 00:30 on 1 July, London: %v", got)
	}
	if holder.Expiry(nil, 12) != nil {
		t.Error("a record never signed off has an expiry")
	}
}
