package scheme

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// now is 20 October 2026 at noon in London (British Summer Time).
var now = time.Date(2026, 10, 20, 11, 0, 0, 0, time.UTC)

func validInput() Input {
	return Input{Name: "  Adult   carer passport ", Audience: "adult_carer", Eligibility: "Adults who care.\r\nIn the area.",
		Benefits:     []string{" Flexible visiting ", "", "Parking concession", "flexible VISITING", "Meals"},
		ValidityKind: "days", ValidityDays: " 365 ", ConsentRequired: ptr(true), Renewable: ptr(false)}
}

func TestValidateNormalises(t *testing.T) {
	f, err := validInput().validate(now, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if f.name != "Adult carer passport" || f.eligibility != "Adults who care.\nIn the area." || f.validityDays != 365 ||
		!f.consentRequired || f.renewable || f.audience != AdultCarer {
		t.Errorf("normalised to %+v", f)
	}
	if want := []string{"Flexible visiting", "Parking concession", "Meals"}; !slices.Equal(f.benefits, want) {
		t.Errorf("benefits %q, want %q", f.benefits, want)
	}
}

func TestValidateRefuses(t *testing.T) {
	many := make([]string, MaxBenefits+1)
	for i := range many {
		many[i] = "Benefit " + strings.Repeat("x", i+1)
	}
	cases := []struct {
		name  string
		edit  func(*Input)
		field string
		msg   string
	}{
		{"an empty name", func(in *Input) { in.Name = "   " }, "name", "Enter a name"},
		{"a name over 120 characters", func(in *Input) { in.Name = strings.Repeat("é", 121) }, "name", "120 characters or fewer"},
		{"a name of exactly 120 characters passes, so 121 is the limit", func(in *Input) { in.Name = strings.Repeat("é", 120); in.Audience = "" }, "audience", ""},
		{"a control character in the name", func(in *Input) { in.Name = "Carer\x00passport" }, "name", "special characters"},
		{"an unknown audience", func(in *Input) { in.Audience = "paid_carer" }, "audience", "Select who"},
		{"eligibility over 2000 characters", func(in *Input) { in.Eligibility = strings.Repeat("a", 2001) }, "eligibility", "2000"},
		{"no benefits", func(in *Input) { in.Benefits = []string{" ", ""} }, "benefits", "at least one"},
		{"more than 20 benefits", func(in *Input) { in.Benefits = many }, "benefits", "no more than 20"},
		{"a benefit over 200 characters", func(in *Input) { in.Benefits = []string{"ok", strings.Repeat("b", 201)} }, "benefits", "Benefit 2 must be 200"},
		{"a benefit over two lines", func(in *Input) { in.Benefits = []string{"one\ntwo"} }, "benefits", "one line"},
		{"an unknown validity kind", func(in *Input) { in.ValidityKind = "forever" }, "validity_kind", "Select how long"},
		{"days without a number", func(in *Input) { in.ValidityDays = "" }, "validity_days", "how many days"},
		{"days that are not a number", func(in *Input) { in.ValidityDays = "a year" }, "validity_days", "whole number"},
		{"zero days", func(in *Input) { in.ValidityDays = "0" }, "validity_days", "between 1 and 3660"},
		{"3661 days", func(in *Input) { in.ValidityDays = "3661" }, "validity_days", "between 1 and 3660"},
		{"days with an end date", func(in *Input) { in.ValidUntilDate = DateFromISO("2027-01-01") }, "valid_until_date", "Leave the end date empty"},
		{"a stay passport without its longest stay", func(in *Input) { in.ValidityKind = "until_discharge"; in.ValidityDays = "" },
			"validity_days", "longest a stay passport"},
		{"until a date without a date", func(in *Input) { in.ValidityKind = "until_date"; in.ValidityDays = "" }, "valid_until_date", "Enter the date"},
		{"until a date with a number of days", func(in *Input) {
			in.ValidityKind, in.ValidUntilDate = "until_date", DateFromISO("2027-01-01")
		}, "validity_days", "Leave the number of days empty"},
		{"until a date that does not exist", func(in *Input) {
			in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", DateFromISO("2027-02-30")
		}, "valid_until_date", "real date"},
		{"until a date missing its month", func(in *Input) {
			in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", Date{Day: "1", Year: "2027"}
		}, "valid_until_date", "must include a month"},
		{"until today", func(in *Input) {
			in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", DateFromISO("2026-10-20")
		}, "valid_until_date", "in the future"},
		{"until a date more than 10 years ahead", func(in *Input) {
			in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", DateFromISO("2036-12-31")
		}, "valid_until_date", "within 10 years"},
		{"consent not answered", func(in *Input) { in.ConsentRequired = nil }, "consent_required", "consent"},
		{"renewal not answered", func(in *Input) { in.Renewable = nil }, "renewable", "renewed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := validInput()
			tc.edit(&in)
			_, err := in.validate(now, time.Time{})
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("err %v, want a validation error", err)
			}
			fe := errs.FieldsOf(err)
			if len(fe) != 1 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
				t.Errorf("field errors %+v, want one on %s saying %q", fe, tc.field, tc.msg)
			}
		})
	}
}

func TestValidateReportsEveryProblemInFormOrder(t *testing.T) {
	_, err := Input{Benefits: nil}.validate(now, time.Time{})
	var got []string
	for _, f := range errs.FieldsOf(err) {
		got = append(got, f.Field)
	}
	want := []string{"name", "audience", "benefits", "validity_kind", "consent_required", "renewable"}
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}

func TestValidateKeepsAnEndDateThatHasPassed(t *testing.T) {
	in := validInput()
	in.ValidityKind, in.ValidityDays, in.ValidUntilDate = "until_date", "", DateFromISO("2026-03-31")
	kept := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	if _, err := in.validate(now, kept); err != nil {
		t.Errorf("the scheme's own past end date: %v", err)
	}
	if _, err := in.validate(now, kept.AddDate(0, 0, 1)); !errs.Is(err, errs.Invalid) {
		t.Errorf("a new past end date: %v", err)
	}
	in.ValidUntilDate = DateFromISO("2026-10-21")
	f, err := in.validate(now, time.Time{})
	if err != nil || !f.validUntilDate.Equal(time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("tomorrow: %v %v", f.validUntilDate, err)
	}
}

func TestChangesApply(t *testing.T) {
	cur := Input{Name: "A", ValidityKind: "days", ValidityDays: "30", ConsentRequired: ptr(true), Renewable: ptr(true)}
	got := Changes{ValidityKind: ptr("until_date"), ValidUntilDate: ptr("2027-01-31")}.apply(cur)
	if got.ValidityDays != "" || got.ValidUntilDate != (Date{Day: "31", Month: "01", Year: "2027"}) || got.Name != "A" {
		t.Errorf("to until_date: %+v", got)
	}
	got = Changes{ValidityKind: ptr("until_discharge")}.apply(cur)
	if got.ValidityDays != "30" {
		t.Errorf("to until_discharge keeps the days: %+v", got)
	}
	got = Changes{ValidityKind: ptr("until_date"), ValidityDays: ptr(7)}.apply(cur)
	if got.ValidityDays != "7" {
		t.Errorf("days given with the kind stay, for validation to refuse: %+v", got)
	}
	got = Changes{Renewable: ptr(false)}.apply(cur)
	if *got.Renewable || !*cur.Renewable {
		t.Errorf("renewable: %v, current changed: %v", *got.Renewable, *cur.Renewable)
	}
}

func mustLondon(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, london)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidUntil(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	date := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	cases := []struct {
		name   string
		scheme Scheme
		from   time.Time
		want   time.Time
	}{
		{"days: the end of the Nth day after, in summer time", Scheme{ValidityKind: ValidForDays, ValidityDays: 30},
			mustLondon(t, "2026-06-01 09:30:00"), utc("2026-07-01T22:59:59Z")},
		{"days: across the October clock change the day ends an hour later in UTC", Scheme{ValidityKind: ValidForDays, ValidityDays: 7},
			mustLondon(t, "2026-10-20 12:00:00"), utc("2026-10-27T23:59:59Z")},
		{"days: just after midnight in London is already the next day", Scheme{ValidityKind: ValidForDays, ValidityDays: 1},
			utc("2026-10-24T23:30:00Z"), utc("2026-10-26T23:59:59Z")},
		{"days: a year from issue", Scheme{ValidityKind: ValidForDays, ValidityDays: 365},
			mustLondon(t, "2026-03-01 08:00:00"), utc("2027-03-01T23:59:59Z")},
		{"until a date in summer: the end of that day in British Summer Time", Scheme{ValidityKind: ValidUntilDate, ValidUntilDate: date("2027-08-31")},
			now, utc("2027-08-31T22:59:59Z")},
		{"until the day of the October clock change", Scheme{ValidityKind: ValidUntilDate, ValidUntilDate: date("2026-10-25")},
			now, utc("2026-10-25T23:59:59Z")},
		{"until the day before it", Scheme{ValidityKind: ValidUntilDate, ValidUntilDate: date("2026-10-24")},
			now, utc("2026-10-24T22:59:59Z")},
		{"until discharge: the ceiling is the end of the day validity_days after issue", Scheme{ValidityKind: ValidUntilDischarge, ValidityDays: 90},
			mustLondon(t, "2026-09-01 15:00:00"), utc("2026-11-30T23:59:59Z")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.scheme.ValidUntil(tc.from)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("ValidUntil(%s) = %s, want %s", tc.from, got, tc.want)
			}
			if !got.After(tc.from) {
				t.Errorf("ends %s, not after issue at %s", got, tc.from)
			}
		})
	}
}

func TestValidUntilRefuses(t *testing.T) {
	ended := Scheme{Name: "Project passport", ValidityKind: ValidUntilDate, ValidUntilDate: time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC)}
	_, err := ended.ValidUntil(now)
	if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), "ended on 19 October 2026") {
		t.Errorf("an end date that has passed: %v", err)
	}
	// On its last day a passport can still be issued, to the end of the day.
	end, err := ended.ValidUntil(mustLondon(t, "2026-10-19 23:00:00"))
	if err != nil || !end.Equal(mustLondon(t, "2026-10-19 23:59:59")) {
		t.Errorf("issued on the last day: %v %v", end, err)
	}
	for _, s := range []Scheme{{ValidityKind: ValidForDays}, {ValidityKind: ValidUntilDischarge, ValidityDays: 4000},
		{ValidityKind: ValidUntilDate}, {ValidityKind: "forever"}} {
		if _, err := s.ValidUntil(now); err == nil || errs.Is(err, errs.Invalid) {
			t.Errorf("%+v: %v, want an internal error", s, err)
		}
	}
}

func TestValidityLabels(t *testing.T) {
	for _, tc := range []struct {
		s    Scheme
		want string
	}{
		{Scheme{ValidityKind: ValidForDays, ValidityDays: 1}, "1 day from issue"},
		{Scheme{ValidityKind: ValidForDays, ValidityDays: 365}, "365 days (1 year) from issue"},
		{Scheme{ValidityKind: ValidForDays, ValidityDays: 1095}, "1095 days (3 years) from issue"},
		{Scheme{ValidityKind: ValidForDays, ValidityDays: 400}, "400 days from issue"},
		{Scheme{ValidityKind: ValidUntilDate, ValidUntilDate: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}, "Until 31 March 2027"},
		{Scheme{ValidityKind: ValidUntilDischarge, ValidityDays: 90}, "Until discharge, at most 90 days"},
	} {
		if got := tc.s.ValidityLabel(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestPresets proves every ready-made scheme of every kind would be
// accepted as it is, and that keys and names are unique within a kind.
func TestPresets(t *testing.T) {
	for _, kind := range tenants.Kinds {
		ps := PresetsFor(kind)
		if len(ps) < 2 || len(ps) > 3 {
			t.Errorf("%s: %d presets, want 2 or 3", kind, len(ps))
		}
		keys, names := map[string]bool{}, map[string]bool{}
		for _, p := range ps {
			if p.Key == "" || keys[p.Key] || names[strings.ToLower(p.Name)] {
				t.Errorf("%s: key %q or name %q empty or repeated", kind, p.Key, p.Name)
			}
			keys[p.Key], names[strings.ToLower(p.Name)] = true, true
			if p.Summary == "" || p.Eligibility == "" {
				t.Errorf("%s/%s: no summary or eligibility", kind, p.Key)
			}
			f, err := p.Input().validate(now, time.Time{})
			if err != nil {
				t.Errorf("%s/%s: %v %+v", kind, p.Key, err, errs.FieldsOf(err))
				continue
			}
			if len(f.benefits) != len(p.Benefits) {
				t.Errorf("%s/%s: benefits repeat or are blank", kind, p.Key)
			}
		}
	}
	if _, ok := presets["platform"]; ok || len(presets) != len(tenants.Kinds) {
		t.Errorf("presets for %d kinds", len(presets))
	}
	// What the brief of each kind asks for.
	find := func(kind tenants.Kind, key string) Preset {
		p, ok := presetFor(kind, key)
		if !ok {
			t.Fatalf("%s has no preset %s", kind, key)
		}
		return p
	}
	if p := find(tenants.KindPaediatricTrust, "parent-carer-stay"); p.ValidityKind != ValidUntilDischarge || p.Audience != ParentCarer || p.ValidityDays != 90 {
		t.Errorf("parent carer stay: %+v", p)
	}
	if p := find(tenants.KindGPPractice, "practice-carer"); p.ValidityKind != ValidForDays || p.ValidityDays != 365 {
		t.Errorf("practice carer: %+v", p)
	}
	if p := find(tenants.KindCarersCharity, "adult-carer"); p.ValidityDays != 3*365 {
		t.Errorf("adult carer: %+v", p)
	}
	if p := find(tenants.KindCareHome, "essential-care-giver"); p.Audience != AdultCarer {
		t.Errorf("essential care-giver: %+v", p)
	}
	// The copy handed out is the caller's own.
	ps := PresetsFor(tenants.KindCareHome)
	ps[0].Benefits[0] = "changed"
	if PresetsFor(tenants.KindCareHome)[0].Benefits[0] == "changed" {
		t.Error("PresetsFor shares its benefits with callers")
	}
}

// TestStoreErrWordsTheNameIndex: two people creating the same name at once
// pass the check before either inserts; the unique index decides, and the
// loser sees the same field error as anyone else.
func TestStoreErrWordsTheNameIndex(t *testing.T) {
	err := storeErr("create scheme", &pgconn.PgError{Code: "23505", ConstraintName: "schemes_name"})
	fe := errs.FieldsOf(err)
	if !errs.Is(err, errs.Invalid) || len(fe) != 1 || fe[0].Field != "name" || !strings.Contains(fe[0].Message, "already a scheme") {
		t.Errorf("%v %+v", err, fe)
	}
	if err := storeErr("create scheme", &pgconn.PgError{Code: "23505", ConstraintName: "other"}); errs.Is(err, errs.Invalid) {
		t.Errorf("another unique index: %v", err)
	}
}
