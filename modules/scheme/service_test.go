package scheme_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/scheme"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

var as = moduletest.As

// start is 20 October 2026 at noon in London, five days before the clocks
// go back.
var start = time.Date(2026, 10, 20, 11, 0, 0, 0, time.UTC)

// fixture is a database with the scheme service over it.
type fixture struct {
	*moduletest.Env
	clock   *moduletest.Clock
	schemes *scheme.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := moduletest.NewClock(start)
	f := &fixture{Env: moduletest.New(t, clock.Now), clock: clock}
	f.schemes = scheme.NewService(f.Scoped, f.Log, clock.Now)
	return f
}

// admin makes a new account that holds tn's admin role.
func (f *fixture) admin(tn tenants.Tenant, email string) uuid.UUID {
	f.T.Helper()
	return f.Staff(tn, email, "Admin "+email, policy.AdminRole(tn.Kind))
}

func ptr[T any](v T) *T { return &v }

// input is a valid scheme called name.
func input(name string) scheme.Input {
	return scheme.Input{Name: name, Audience: "adult_carer", Eligibility: "Adult carers in the area.",
		Benefits: []string{"Flexible visiting under John's Campaign", "Parking concession"}, ValidityKind: "days",
		ValidityDays: "365", ConsentRequired: ptr(true), Renewable: ptr(true)}
}

// create adds a scheme to tn as actor.
func (f *fixture) create(tn tenants.Tenant, actor uuid.UUID, in scheme.Input) scheme.Scheme {
	f.T.Helper()
	s, err := f.schemes.Create(as(tn, actor), in)
	if err != nil {
		f.T.Fatalf("create %s: %v %+v", in.Name, err, errs.FieldsOf(err))
	}
	return s
}

// fieldError fails the test unless err is a validation error with a
// message on field containing msg.
func fieldError(t *testing.T, err error, field, msg string) {
	t.Helper()
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("err %v, want a validation error on %s", err, field)
	}
	for _, fe := range errs.FieldsOf(err) {
		if fe.Field == field && strings.Contains(fe.Message, msg) {
			return
		}
	}
	t.Errorf("field errors %+v, want one on %s saying %q", errs.FieldsOf(err), field, msg)
}

func actions(evs []moduletest.Event, prefix string) []string {
	var out []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, prefix) {
			out = append(out, e.Action)
		}
	}
	return out
}

func TestCreateStoresAndAudits(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	admin := f.admin(a, "admin@a.example")

	in := input("  Adult   carer passport ")
	in.Benefits = append(in.Benefits, " parking CONCESSION ", "")
	s := f.create(a, admin, in)
	if s.Name != "Adult carer passport" || s.Status != scheme.Active || s.ValidityDays != 365 ||
		!slices.Equal(s.Benefits, []string{"Flexible visiting under John's Campaign", "Parking concession"}) {
		t.Errorf("created %+v", s)
	}
	got, err := f.schemes.Get(as(a, admin), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != s.Name || !slices.Equal(got.Benefits, s.Benefits) || got.ValidityKind != scheme.ValidForDays ||
		!got.ValidUntilDate.IsZero() || !got.CreatedAt.Equal(start) || !got.ConsentRequired || !got.Renewable {
		t.Errorf("read back %+v", got)
	}
	ev := f.LastEvent(a, "scheme.create")
	if ev.ObjectID != s.ID.String() || ev.Detail["name"] != "Adult carer passport" || ev.Outcome != "success" {
		t.Errorf("audit %+v", ev)
	}

	// A fixed end date is stored as the calendar date typed.
	in = input("Winter project passport")
	in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", scheme.DateFromISO("2027-03-31")
	dated := f.create(a, admin, in)
	got, err = f.schemes.Get(as(a, admin), dated.ID)
	if err != nil || got.ValidUntilDate.Format(time.DateOnly) != "2027-03-31" || got.ValidityDays != 0 {
		t.Errorf("dated scheme %+v %v", got, err)
	}
	end, err := got.ValidUntil(start)
	// 31 March 2027 is in British Summer Time.
	if err != nil || !end.Equal(time.Date(2027, 3, 31, 22, 59, 59, 0, time.UTC)) {
		t.Errorf("valid until %s %v", end, err)
	}

	// Invalid input stores nothing and audits nothing.
	before := len(f.Events(a))
	_, err = f.schemes.Create(as(a, admin), scheme.Input{Name: "No benefits", Audience: "young_carer"})
	fieldError(t, err, "benefits", "at least one")
	if n := f.Rows(a, "schemes", ""); n != 2 {
		t.Errorf("%d schemes after a refused one", n)
	}
	if len(f.Events(a)) != before {
		t.Error("a refused scheme was audited")
	}
}

func TestPresetsForEveryKind(t *testing.T) {
	f := newFixture(t)
	for _, kind := range tenants.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			tn := f.Tenant(strings.ReplaceAll(string(kind), "_", "-"), kind)
			admin := f.admin(tn, "admin@"+tn.Slug+".example")
			ctx := as(tn, admin)
			presets := f.schemes.Presets(kind)
			if len(presets) < 2 {
				t.Fatalf("%d presets", len(presets))
			}
			for _, p := range presets {
				s, err := f.schemes.CreateFromPreset(ctx, p.Key)
				if err != nil {
					t.Fatalf("%s: %v %+v", p.Key, err, errs.FieldsOf(err))
				}
				if s.Name != p.Name || s.ValidityKind != p.ValidityKind || s.ValidityDays != p.ValidityDays ||
					!slices.Equal(s.Benefits, p.Benefits) || s.Status != scheme.Active {
					t.Errorf("%s: created %+v", p.Key, s)
				}
				if _, err := s.ValidUntil(start); err != nil {
					t.Errorf("%s: valid until: %v", p.Key, err)
				}
				ev := f.LastEvent(tn, "scheme.create")
				if ev.Detail["preset"] != p.Key || ev.ObjectID != s.ID.String() {
					t.Errorf("%s: audit %+v", p.Key, ev)
				}
				// Adding it again is a duplicate name.
				_, err = f.schemes.CreateFromPreset(ctx, p.Key)
				fieldError(t, err, "name", "There is already a scheme called "+p.Name)
			}
			list, err := f.schemes.List(ctx, false)
			if err != nil || len(list) != len(presets) {
				t.Fatalf("list: %d schemes, %v", len(list), err)
			}
			_, err = f.schemes.CreateFromPreset(ctx, "no-such-preset")
			if !errs.Is(err, errs.NotFound) {
				t.Errorf("unknown preset: %v", err)
			}
		})
	}
	// A preset of another kind is not offered.
	gp, err := f.Store.BySlug(context.Background(), "gp-practice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.schemes.CreateFromPreset(as(gp, uuid.Nil), "essential-care-giver"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a care home's preset in a GP practice: %v", err)
	}
}

func TestDuplicateNames(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	b := f.Tenant("charity-b", tenants.KindCarersCharity)
	admin := f.admin(a, "admin@a.example")
	ctx := as(a, admin)

	first := f.create(a, admin, input("Adult carer passport"))
	_, err := f.schemes.Create(ctx, input("ADULT carer   passport"))
	fieldError(t, err, "name", "There is already a scheme called Adult carer passport")

	// Another tenant may use the same name.
	f.create(b, f.admin(b, "admin@b.example"), input("Adult carer passport"))

	// A retired scheme keeps its name.
	if _, err := f.schemes.Retire(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.schemes.Create(ctx, input("adult carer passport"))
	fieldError(t, err, "name", "retired scheme called Adult carer passport")

	// Renaming onto another scheme's name is refused; changing the case of
	// a scheme's own name is not.
	second := f.create(a, admin, input("Young carer passport"))
	_, err = f.schemes.Change(ctx, second.ID, scheme.Changes{Name: ptr("Adult Carer Passport")})
	fieldError(t, err, "name", "already")
	renamed, err := f.schemes.Change(ctx, second.ID, scheme.Changes{Name: ptr("YOUNG carer passport")})
	if err != nil || renamed.Name != "YOUNG carer passport" {
		t.Errorf("case change: %+v %v", renamed, err)
	}
	if n := f.Rows(a, "schemes", ""); n != 2 {
		t.Errorf("%d schemes in a", n)
	}
}

func TestUpdate(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("trust-a", tenants.KindPaediatricTrust)
	admin := f.admin(a, "admin@a.example")
	ctx := as(a, admin)
	s := f.create(a, admin, input("Parent carer passport"))

	f.clock.Advance(time.Hour)
	in := input("Parent carer passport: hospital stay")
	in.Audience, in.ValidityKind, in.ValidityDays = "parent_carer", "until_discharge", "90"
	in.Benefits = []string{"Stay overnight", "Meals"}
	in.ConsentRequired = ptr(false)
	got, err := f.schemes.Update(ctx, s.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != in.Name || got.ValidityKind != scheme.ValidUntilDischarge || got.ValidityDays != 90 || got.ConsentRequired ||
		!got.UpdatedAt.Equal(start.Add(time.Hour)) || !got.CreatedAt.Equal(start) || got.Status != scheme.Active {
		t.Errorf("updated %+v", got)
	}
	ev := f.LastEvent(a, "scheme.update")
	if ev.Detail["fields"] != "name,audience,benefits,validity_kind,validity_days,consent_required" {
		t.Errorf("audit %+v", ev)
	}
	reread, _ := f.schemes.Get(ctx, s.ID)
	if reread.Name != got.Name || reread.ValidityDays != 90 || !slices.Equal(reread.Benefits, []string{"Stay overnight", "Meals"}) {
		t.Errorf("read back %+v", reread)
	}

	// The same values again change nothing and audit nothing.
	n := len(actions(f.Events(a), "scheme.update"))
	if _, err := f.schemes.Update(ctx, s.ID, in); err != nil {
		t.Fatal(err)
	}
	if m := len(actions(f.Events(a), "scheme.update")); m != n {
		t.Errorf("%d update events after a change of nothing, want %d", m, n)
	}

	// Invalid changes leave the scheme as it was.
	in.ValidityDays = "0"
	_, err = f.schemes.Update(ctx, s.ID, in)
	fieldError(t, err, "validity_days", "between 1 and 3660")
	if again, _ := f.schemes.Get(ctx, s.ID); again.ValidityDays != 90 {
		t.Errorf("days %d after a refused change", again.ValidityDays)
	}

	// A partial change to a fixed end date clears the number of days.
	got, err = f.schemes.Change(ctx, s.ID, scheme.Changes{ValidityKind: ptr("until_date"), ValidUntilDate: ptr("2026-12-31")})
	if err != nil || got.ValidityDays != 0 || got.ValidUntilDate.Format(time.DateOnly) != "2026-12-31" || got.Name != in.Name {
		t.Fatalf("to a fixed date: %+v %v", got, err)
	}

	// Once that date has passed the scheme can still be changed, keeping it;
	// a new date must be in the future.
	f.clock.Set(time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC))
	if got, err = f.schemes.Change(ctx, s.ID, scheme.Changes{Eligibility: ptr("Parents of children on the wards.")}); err != nil {
		t.Errorf("change beside a past end date: %v %+v", err, errs.FieldsOf(err))
	}
	_, err = f.schemes.Change(ctx, s.ID, scheme.Changes{ValidUntilDate: ptr("2027-01-31")})
	fieldError(t, err, "valid_until_date", "in the future")

	// Unknown schemes are not found.
	if _, err := f.schemes.Update(ctx, uuid.Must(uuid.NewV7()), in); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown scheme: %v", err)
	}
}

func TestRetireAndReactivate(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("home-a", tenants.KindCareHome)
	admin := f.admin(a, "admin@a.example")
	ctx := as(a, admin)
	s := f.create(a, admin, input("Essential care-giver passport"))
	other := f.create(a, admin, input("Visiting carer passport"))

	retired, err := f.schemes.Retire(ctx, s.ID)
	if err != nil || retired.Status != scheme.Retired || !retired.Retired() {
		t.Fatalf("retire: %+v %v", retired, err)
	}
	active, _ := f.schemes.List(ctx, false)
	all, _ := f.schemes.List(ctx, true)
	if len(active) != 1 || active[0].ID != other.ID || len(all) != 2 || all[1].ID != s.ID {
		t.Errorf("active %v, all %v", active, all)
	}
	// Retiring again changes nothing.
	if _, err := f.schemes.Retire(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if got := actions(f.Events(a), "scheme.retire"); len(got) != 1 {
		t.Errorf("retire events %v", got)
	}
	ev := f.LastEvent(a, "scheme.retire")
	if ev.ObjectID != s.ID.String() || ev.Detail["status_before"] != "active" || ev.Detail["status_after"] != "retired" {
		t.Errorf("audit %+v", ev)
	}

	// A retired scheme can still be read and changed, but not issued under.
	if _, err := f.schemes.Change(ctx, s.ID, scheme.Changes{Eligibility: ptr("Named by the resident.")}); err != nil {
		t.Errorf("change a retired scheme: %v", err)
	}
	err = f.Scoped.Tx(ctx, func(tx *gorm.DB) error {
		_, err := f.schemes.ForIssue(ctx, tx, s.ID)
		return err
	})
	fieldError(t, err, "scheme_id", "retired")

	back, err := f.schemes.Reactivate(ctx, s.ID)
	if err != nil || back.Status != scheme.Active {
		t.Fatalf("reactivate: %+v %v", back, err)
	}
	if ev := f.LastEvent(a, "scheme.reactivate"); ev.Detail["status_after"] != "active" {
		t.Errorf("audit %+v", ev)
	}
	err = f.Scoped.Tx(ctx, func(tx *gorm.DB) error {
		got, err := f.schemes.ForIssue(ctx, tx, s.ID)
		if err == nil && (got.ID != s.ID || got.Eligibility != "Named by the resident.") {
			t.Errorf("for issue: %+v", got)
		}
		return err
	})
	if err != nil {
		t.Errorf("for issue after reactivating: %v", err)
	}
	for _, op := range []func(context.Context, uuid.UUID) (scheme.Scheme, error){f.schemes.Retire, f.schemes.Reactivate} {
		if _, err := op(ctx, uuid.Must(uuid.NewV7())); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown scheme: %v", err)
		}
	}
}

// TestForIssueHoldsTheScheme proves a scheme cannot be retired while a
// passport is being issued under it: the retirement waits for the issue.
func TestForIssueHoldsTheScheme(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	admin := f.admin(a, "admin@a.example")
	ctx := as(a, admin)
	s := f.create(a, admin, input("Adult carer passport"))

	locked, release := make(chan struct{}), make(chan struct{})
	issued := make(chan error, 1)
	go func() {
		issued <- f.Scoped.Tx(ctx, func(tx *gorm.DB) error {
			if _, err := f.schemes.ForIssue(ctx, tx, s.ID); err != nil {
				close(locked)
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	retired := make(chan error, 1)
	go func() {
		_, err := f.schemes.Retire(ctx, s.ID)
		retired <- err
	}()
	select {
	case err := <-retired:
		t.Fatalf("retired while a passport was being issued: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-issued; err != nil {
		t.Fatal(err)
	}
	if err := <-retired; err != nil {
		t.Fatal(err)
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("charity-a", tenants.KindCarersCharity)
	b := f.Tenant("charity-b", tenants.KindCarersCharity)
	adminA, adminB := f.admin(a, "admin@a.example"), f.admin(b, "admin@b.example")
	s := f.create(a, adminA, input("Adult carer passport"))
	ctxB := as(b, adminB)

	if _, err := f.schemes.Get(ctxB, s.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("b reads a's scheme: %v", err)
	}
	if list, err := f.schemes.List(ctxB, true); err != nil || len(list) != 0 {
		t.Errorf("b lists %v %v", list, err)
	}
	if _, err := f.schemes.Update(ctxB, s.ID, input("Taken over")); !errs.Is(err, errs.NotFound) {
		t.Errorf("b updates a's scheme: %v", err)
	}
	if _, err := f.schemes.Retire(ctxB, s.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("b retires a's scheme: %v", err)
	}
	err := f.Scoped.Tx(ctxB, func(tx *gorm.DB) error {
		_, err := f.schemes.ForIssue(ctxB, tx, s.ID)
		return err
	})
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("b issues under a's scheme: %v", err)
	}
	if got, err := f.schemes.Get(as(a, adminA), s.ID); err != nil || got.Name != "Adult carer passport" || got.Status != scheme.Active {
		t.Errorf("a's scheme after b's attempts: %+v %v", got, err)
	}
	// Without a tenant the service refuses to run.
	if _, err := f.schemes.List(context.Background(), true); !errs.Is(err, errs.Internal) || err == nil {
		t.Errorf("no tenant: %v", err)
	}
}
