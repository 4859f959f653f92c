package register_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/register"
)

func TestValidNHSNumber(t *testing.T) {
	for n, want := range map[string]bool{
		"9990000018": true, "9990000026": true, "9434765919": true,
		"9990000017": false, // wrong check digit
		"999000001":  false, "99900000188": false, "999000001X": false, "": false,
		"9990000140": false, "9990000141": false, // the check digit would be 10: never issued
	} {
		if got := register.ValidNHSNumber(n); got != want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", n, got, want)
		}
	}
	if got := register.NormaliseNHSNumber(" 999 000-0018 "); got != "9990000018" {
		t.Errorf("NormaliseNHSNumber = %q", got)
	}
}

// TestPaidCaregiverIsNeverOfferedOrAccepted: 229774002 "Caregiver" is the
// paid occupation. It is not among the concepts offered, the service refuses
// it saying why, and the database refuses it too.
func TestPaidCaregiverIsNeverOfferedOrAccepted(t *testing.T) {
	for _, c := range register.Concepts {
		if c.Code == register.PaidCaregiver {
			t.Fatal("the paid caregiver concept is offered")
		}
	}
	if register.ConceptDisplay(register.PaidCaregiver) != "" {
		t.Fatal("the paid caregiver concept has a display as an unpaid-carer concept")
	}
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	in := valid("Pat", "Worker", "2024-01-10")
	in.SNOMEDCode = register.PaidCaregiver
	_, err := f.register.Add(as(tn, admin), in)
	if fe := errs.FieldsOf(err); len(fe) != 1 || fe[0].Field != "snomed_code" || !strings.Contains(fe[0].Message, "paid caregiver") {
		t.Fatalf("add with 229774002: %v %+v", err, fe)
	}
	e := f.add(tn, admin, valid("Pat", "Carer", "2024-01-10"))
	in.GivenName = "Pat"
	if _, err := f.register.Update(as(tn, admin), e.ID, in); !errs.Is(err, errs.Invalid) {
		t.Fatalf("update to 229774002: %v", err)
	}
	if got, _ := f.register.Get(as(tn, admin), e.ID); got.SNOMEDCode != "302767002" {
		t.Fatalf("concept after refused update: %s", got.SNOMEDCode)
	}
	// Below the service, the table's check refuses it as well.
	err = f.Scoped.Tx(as(tn, admin), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE carer_register_entries SET snomed_code = '229774002' WHERE tenant_id = ? AND id = ?`, tn.ID, e.ID).Error
	})
	if err == nil || !strings.Contains(err.Error(), "check constraint") {
		t.Fatalf("the database accepted 229774002: %v", err)
	}
}

func TestAddRefusesInvalidInputAndStoresNothing(t *testing.T) {
	f := newFixture(t, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	tn, admin := f.practice("kestrel")
	with := func(change func(*register.Input)) register.Input {
		in := valid("Margaret", "Ellery", "2025-01-02")
		change(&in)
		return in
	}
	cases := []struct {
		name  string
		in    register.Input
		field string
		msg   string
	}{
		{"no names", with(func(in *register.Input) { in.GivenName, in.FamilyName = " ", "" }), "given_name", "Enter their first name"},
		{"NHS number fails its check digit", with(func(in *register.Input) { in.NHSNumber = "999 000 0017" }), "nhs_number", "check digit"},
		{"NHS number too short", with(func(in *register.Input) { in.NHSNumber = "99900001" }), "nhs_number", "10 digits"},
		{"no concept", with(func(in *register.Input) { in.SNOMEDCode = "" }), "snomed_code", "Select how they care"},
		{"unknown concept", with(func(in *register.Input) { in.SNOMEDCode = "133932002" }), "snomed_code", "unpaid carer concepts"},
		{"no recorded date", with(func(in *register.Input) { in.RecordedOn = register.Date{} }), "recorded_on", "Enter the date"},
		{"recorded date not real", with(func(in *register.Input) { in.RecordedOn = register.Date{Day: "30", Month: "2", Year: "2025"} }), "recorded_on", "real date"},
		{"recorded date in the future", with(func(in *register.Input) { in.RecordedOn = date("2025-03-11") }), "recorded_on", "today or in the past"},
		{"date of birth not real", with(func(in *register.Input) { in.DateOfBirth = register.Date{Day: "31", Month: "4", Year: "1960"} }), "date_of_birth", "real date"},
		{"review not after recorded", with(func(in *register.Input) { in.ReviewDue = date("2025-01-02") }), "review_due", "after the date recorded"},
		{"review date not real", with(func(in *register.Input) { in.ReviewDue = date("2025-13-01") }), "review_due", "real date"},
		{"consent date without consent", with(func(in *register.Input) { in.ConsentOn = date("2025-01-02") }), "consent_on", "record that they consent"},
		{"cared-for known neither yes nor no", with(func(in *register.Input) { in.CaredForKnown = "maybe" }), "cared_for_known", "Select whether"},
		{"control character in a name", with(func(in *register.Input) { in.CaredForName = "Alan\x00Ellery" }), "cared_for_name", "without tabs or line breaks"},
	}
	for _, c := range cases {
		_, err := f.register.Add(as(tn, admin), c.in)
		fe := errs.FieldsOf(err)
		if !errs.Is(err, errs.Invalid) || len(fe) == 0 || fe[0].Field != c.field || !strings.Contains(fe[0].Message, c.msg) {
			t.Errorf("%s: got %v %+v, want %s: %q", c.name, err, fe, c.field, c.msg)
		}
	}
	if n := f.entries(tn); n != 0 {
		t.Fatalf("%d entries stored from invalid input", n)
	}
	if got := f.actions(tn, "carer_register."); len(got) != 0 {
		t.Fatalf("audited %v for nothing stored", got)
	}
}

func TestEntryLifecycleIsAudited(t *testing.T) {
	f := newFixture(t, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	tn, admin := f.practice("kestrel")
	ctx := as(tn, admin)
	in := register.Input{GivenName: " Margaret ", FamilyName: "Ellery", DateOfBirth: date("1951-03-08"),
		NHSNumber: "999 000 0018", SNOMEDCode: "824401000000105", RecordedOn: date("2025-01-02"), ConsentToShare: true,
		ReviewDue: date("2026-01-02"), CaredForName: "Alan Ellery", CaredForRelationship: "Wife", CaredForKnown: "yes"}
	e, err := f.register.Add(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.register.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.GivenName != "Margaret" || got.NHSNumber != "9990000018" || got.SNOMEDCode != "824401000000105" ||
		got.RecordedOn.Format(time.DateOnly) != "2025-01-02" || got.DateOfBirth.Format(time.DateOnly) != "1951-03-08" ||
		!got.ConsentToShare || got.ConsentOn == nil || got.ConsentOn.Format(time.DateOnly) != "2025-01-02" ||
		got.ReviewDue.Format(time.DateOnly) != "2026-01-02" || got.CaredForKnown == nil || !*got.CaredForKnown ||
		got.Status != register.StatusActive || got.CreatedBy == nil || *got.CreatedBy != admin || got.Source != nil {
		t.Fatalf("stored entry: %+v", got)
	}

	in.NHSNumber, in.CaredForKnown, in.ConsentToShare = "", "", false
	up, err := f.register.Update(ctx, e.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if up.NHSNumber != "" || up.CaredForKnown != nil || up.ConsentToShare || up.ConsentOn != nil {
		t.Fatalf("after update: %+v", up)
	}
	if _, err := f.register.Update(ctx, e.ID, in); err != nil { // no change: not audited
		t.Fatal(err)
	}

	// Closing needs a real date on or after the recorded one, and a reason.
	_, err = f.register.Close(ctx, e.ID, register.Closure{On: date("2024-12-31")})
	if fe := errs.FieldsOf(err); len(fe) != 2 || fe[0].Field != "closed_on" || fe[1].Field != "closed_reason" {
		t.Fatalf("close before recorded, no reason: %v", err)
	}
	closed, err := f.register.Close(ctx, e.ID, register.Closure{On: date("2025-03-01"), Reason: "cared_for_died"})
	if err != nil {
		t.Fatal(err)
	}
	if !closed.Closed() || closed.ClosedOn.Format(time.DateOnly) != "2025-03-01" || closed.ClosedReasonLabel() != "The person they cared for has died" {
		t.Fatalf("closed: %+v", closed)
	}
	if _, err := f.register.Close(ctx, e.ID, register.Closure{On: date("2025-03-01"), Reason: "other"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("close twice: %v", err)
	}
	// An update keeps the closure, and may not move the recorded date past it.
	in.RecordedOn = date("2025-03-05")
	if _, err := f.register.Update(ctx, e.ID, in); !errs.Is(err, errs.Invalid) {
		t.Fatalf("recorded after closed: %v", err)
	}
	reopened, err := f.register.Reopen(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if reopened.Closed() || reopened.ClosedOn != nil || reopened.ClosedReason != "" {
		t.Fatalf("reopened: %+v", reopened)
	}
	if _, err := f.register.Reopen(ctx, e.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("reopen an active entry: %v", err)
	}
	want := []string{"carer_register.create", "carer_register.read", "carer_register.update", "carer_register.close",
		"carer_register.reopen"}
	if got := f.actions(tn, "carer_register."); !slices.Equal(got, want) {
		t.Fatalf("audit trail %v, want %v", got, want)
	}
	for _, ev := range f.Events(tn) {
		if ev.Action == "carer_register.update" && ev.Detail["fields"] != "nhs_number,consent_to_share,consent_on,cared_for_known" {
			t.Errorf("update audited fields %q", ev.Detail["fields"])
		}
		if strings.Contains(strings.Join([]string{ev.Detail["fields"], ev.Detail["concept"]}, " "), "9990000018") {
			t.Errorf("an audit event carries the NHS number: %+v", ev)
		}
	}
}

func TestAddFromCheckKeepsTheSource(t *testing.T) {
	f := newFixture(t, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	tn, admin := f.practice("kestrel")
	ctx := as(tn, admin)
	if _, err := f.register.AddFromCheck(ctx, valid("Sam", "Whitlow", "2025-03-10"), register.CheckResult{}); !errs.Is(err, errs.Invalid) ||
		errs.MessageOf(err) != register.MsgNotConfirmed {
		t.Fatalf("unconfirmed check: %v", err)
	}
	res := register.CheckResult{Confirmed: true, HolderName: "Sam Whitlow", IssuerName: "Lanternfield Carers' Centre",
		SchemeName: "Young carer passport", ValidUntil: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Code: "CP7K-9QXW-4MZT-H2RD"}
	e, err := f.register.AddFromCheck(ctx, valid("Sam", "Whitlow", "2025-03-10"), res)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.register.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source == nil || got.Source.Issuer != res.IssuerName || got.Source.Scheme != res.SchemeName ||
		got.Source.CodeLast4 != "H2RD" || !got.Source.VerifiedAt.Equal(f.clock.Now()) {
		t.Fatalf("source: %+v", got.Source)
	}
	var stored int64
	f.In(tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM carer_register_entries WHERE tenant_id = ? AND source_code_last4 = 'H2RD'
			AND NOT EXISTS (SELECT 1 FROM carer_register_entries WHERE tenant_id = ? AND
			(given_name || family_name || source_issuer || source_scheme) LIKE '%CP7K%')`, tn.ID, tn.ID).Row().Scan(&stored)
	})
	if stored != 1 {
		t.Fatal("more than the last four characters of the passport code were kept")
	}
}

func TestListFiltersAndReviewDue(t *testing.T) {
	f := newFixture(t, time.Date(2025, 3, 10, 23, 30, 0, 0, time.UTC)) // 23:30 UTC is still 10 March in London
	tn, admin := f.practice("kestrel")
	ctx := as(tn, admin)
	mk := func(given, family, nhs, code, recorded, review string, consent bool) register.Entry {
		in := valid(given, family, recorded)
		in.NHSNumber, in.SNOMEDCode, in.ConsentToShare = nhs, code, consent
		if review != "" {
			in.ReviewDue = date(review)
		}
		return f.add(tn, admin, in)
	}
	due5 := mk("Ada", "Brook", "9990000018", "302767002", "2024-03-15", "2025-03-15", true)
	due40 := mk("Ben", "Carr", "9990000026", "224485002", "2024-04-19", "2025-04-19", false)
	overdue := mk("Cat", "Dale", "", "302767002", "2024-01-01", "2025-02-01", true)
	dueToday := mk("Dan", "Eve", "", "407543004", "2024-03-10", "2025-03-10", false)
	noReview := mk("Eve", "Ford", "9990000034", "824401000000105", "2025-01-01", "", true)
	closedDue := mk("Fay", "Gale", "", "302767002", "2024-03-01", "2025-03-12", false)
	if _, err := f.register.Close(ctx, closedDue.ID, register.Closure{On: date("2025-03-01"), Reason: "left_practice"}); err != nil {
		t.Fatal(err)
	}
	ids := func(es []register.Entry) []uuid.UUID {
		out := make([]uuid.UUID, len(es))
		for i, e := range es {
			out[i] = e.ID
		}
		return out
	}
	cases := []struct {
		name string
		f    register.Filter
		want []register.Entry // in order
	}{
		{"everything, active first by name", register.Filter{}, []register.Entry{due5, due40, overdue, dueToday, noReview, closedDue}},
		{"by part of a name", register.Filter{Query: "  ar "}, []register.Entry{due40}},
		{"by NHS number with spaces", register.Filter{Query: "999 000 0026"}, []register.Entry{due40}},
		{"by the start of an NHS number", register.Filter{Query: "999000"}, []register.Entry{due5, due40, noReview}},
		{"LIKE wildcards are literal", register.Filter{Query: "%"}, nil},
		{"closed", register.Filter{Status: register.StatusClosed}, []register.Entry{closedDue}},
		{"by concept", register.Filter{Concept: "302767002"}, []register.Entry{due5, overdue, closedDue}},
		{"consent given", register.Filter{Consent: "yes"}, []register.Entry{due5, overdue, noReview}},
		{"consent not given, active", register.Filter{Consent: "no", Status: register.StatusActive}, []register.Entry{due40, dueToday}},
		{"review due within 30 days, by date", register.Filter{ReviewWithinDays: 30}, []register.Entry{overdue, dueToday, due5}},
		{"review due within 5 days", register.Filter{ReviewWithinDays: 5}, []register.Entry{overdue, dueToday, due5}},
		{"review due within 4 days", register.Filter{ReviewWithinDays: 4}, []register.Entry{overdue, dueToday}},
	}
	for _, c := range cases {
		got, err := f.register.List(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("%s: got %v", c.name, names(got))
		}
	}
	if _, err := f.register.List(ctx, register.Filter{Concept: "229774002"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("filter by the paid caregiver concept: %v", err)
	}

	// Time passes: 39 days on it is 23:30 on 18 April in UTC but already
	// 19 April in London, the day the April review is due; March's are
	// overdue.
	f.clock.Advance(39 * 24 * time.Hour)
	due, err := f.register.ReviewDue(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(due), ids([]register.Entry{overdue, dueToday, due5, due40})) {
		t.Fatalf("review due 40 days on: %v", names(due))
	}
	for _, e := range due[:min(3, len(due))] {
		if !e.ReviewOverdue(f.clock.Now()) {
			t.Errorf("%s is not overdue", e.Name())
		}
	}
	if len(due) != 4 || due[3].ReviewOverdue(f.clock.Now()) {
		t.Errorf("%s is overdue", due[3].Name())
	}
}

func names(es []register.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name()
	}
	return out
}

// TestAnotherTenantSeesNothing: every use of an entry from another tenant is
// NotFound, its listing is empty, and row-level security hides the rows even
// from a query that forgets the tenant.
func TestAnotherTenantSeesNothing(t *testing.T) {
	f := newFixture(t, time.Time{})
	a, adminA := f.practice("kestrel")
	b, adminB := f.practice("heron")
	e := f.add(a, adminA, valid("Margaret", "Ellery", "2024-01-10"))
	ctxB := as(b, adminB)

	checks := map[string]error{}
	_, checks["get"] = f.register.Get(ctxB, e.ID)
	_, checks["export"] = f.register.GetForExport(ctxB, e.ID, "fhir")
	_, checks["update"] = f.register.Update(ctxB, e.ID, valid("Mallory", "Ellery", "2024-01-10"))
	_, checks["close"] = f.register.Close(ctxB, e.ID, register.Closure{On: date("2024-02-01"), Reason: "other"})
	_, checks["reopen"] = f.register.Reopen(ctxB, e.ID)
	for what, err := range checks {
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("%s from another tenant: %v, want NotFound", what, err)
		}
	}
	for _, fl := range []register.Filter{{}, {Query: "Ellery"}, {ReviewWithinDays: 365}} {
		if list, err := f.register.List(ctxB, fl); err != nil || len(list) != 0 {
			t.Errorf("another tenant's listing %+v: %v %v", fl, names(list), err)
		}
	}
	if list, err := f.register.Export(ctxB, "csv"); err != nil || len(list) != 0 {
		t.Errorf("another tenant's export: %v %v", names(list), err)
	}
	if n := f.Count(&b, adminB, `SELECT count(*) FROM carer_register_entries`); n != 0 {
		t.Errorf("row-level security shows %d rows of another tenant", n)
	}
	if got, err := f.register.Get(as(a, adminA), e.ID); err != nil || got.GivenName != "Margaret" {
		t.Fatalf("the entry changed: %+v %v", got, err)
	}
	// Writing a row into another tenant is refused by the policy.
	err := f.Scoped.Tx(ctxB, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO carer_register_entries (tenant_id, id, given_name, family_name, snomed_code, recorded_on,
			created_at, updated_at) VALUES (?, ?, 'X', 'Y', '302767002', '2024-01-01', now(), now())`, a.ID, uuid.Must(uuid.NewV7())).Error
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Fatalf("insert into another tenant: %v", err)
	}
}

// TestTableRefusesBadNHSNumbers: the NHS number check holds below the
// service too.
func TestTableRefusesBadNHSNumbers(t *testing.T) {
	f := newFixture(t, time.Time{})
	tn, admin := f.practice("kestrel")
	for nhs, ok := range map[string]bool{"9990000018": true, "9990000017": false, "99900000": false, "99900000AB": false} {
		err := f.Scoped.Tx(as(tn, admin), func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO carer_register_entries (tenant_id, id, given_name, family_name, nhs_number, snomed_code,
				recorded_on, created_at, updated_at) VALUES (?, ?, 'X', 'Y', ?, '302767002', '2024-01-01', now(), now())`,
				tn.ID, uuid.Must(uuid.NewV7()), nhs).Error
		})
		if ok != (err == nil) {
			t.Errorf("NHS number %s: %v", nhs, err)
		}
		var pgErr interface{ SQLState() string }
		if err != nil && (!errors.As(err, &pgErr) || pgErr.SQLState() != "23514") {
			t.Errorf("NHS number %s: not a check violation: %v", nhs, err)
		}
	}
}
