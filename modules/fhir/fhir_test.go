package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/fhir"
	"github.com/carepass/carepass/modules/fhir/fhirtest"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// entries are register entries covering what the builders vary on: with and
// without an NHS number, a date of birth and a cared-for person; open and
// closed.
func entries() []fhir.CarerEntry {
	return []fhir.CarerEntry{
		{ID: uuid.MustParse("01900000-0000-7000-8000-000000000001"), GivenName: "Margaret", FamilyName: "Ellery",
			DateOfBirth: ptr(day("1951-03-08")), NHSNumber: "9990000018", SNOMEDCode: "302767002",
			SNOMEDDisplay: "Cares for a relative", RecordedOn: day("2024-02-01"), Active: true,
			CaredForName: "Alan Ellery", CaredForRelationship: "Wife", UpdatedAt: time.Date(2024, 2, 1, 9, 30, 0, 0, time.UTC)},
		{ID: uuid.MustParse("01900000-0000-7000-8000-000000000002"), GivenName: "Sam", FamilyName: "Whitlow",
			SNOMEDCode: "224484003", SNOMEDDisplay: "Patient themselves providing care", RecordedOn: day("2023-06-10"),
			Active: false, ClosedOn: ptr(day("2024-01-15")), ClosedReason: "No longer caring",
			UpdatedAt: time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)},
		{ID: uuid.MustParse("01900000-0000-7000-8000-000000000003"), GivenName: "Priya", FamilyName: "Sandhu",
			NHSNumber: "9990000026", SNOMEDCode: "824401000000105", SNOMEDDisplay: "Carer of person with dementia",
			RecordedOn: day("2022-11-30"), Active: false, ClosedOn: ptr(day("2023-12-01")),
			CaredForName: "Dev Sandhu", UpdatedAt: time.Date(2023, 12, 1, 8, 0, 0, 0, time.UTC)},
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestEveryResourceIsValidR4(t *testing.T) {
	fhirtest.Schema(t)
	for _, e := range entries() {
		for _, r := range fhir.CarerResources(e) {
			fhirtest.MustValidate(t, r.ResourceType()+" of "+e.GivenName, marshal(t, r))
		}
		fhirtest.MustValidate(t, "bundle of "+e.GivenName, marshal(t, fhir.CarerBundle(e.ID, time.Now(), e)))
	}
	all := fhir.CarerBundle(uuid.Must(uuid.NewV7()), time.Now(), entries()...)
	fhirtest.MustValidate(t, "register bundle", marshal(t, all))
	if len(all.Entry) != 5 {
		t.Fatalf("register bundle has %d entries, want 3 observations and 2 related persons", len(all.Entry))
	}
	fhirtest.MustValidate(t, "empty bundle", marshal(t, fhir.CarerBundle(uuid.Must(uuid.NewV7()), time.Now())))
}

// TestValidatorRejectsBrokenResources proves the validator is live: each of
// these must fail, for the reason given.
func TestValidatorRejectsBrokenResources(t *testing.T) {
	fhirtest.Schema(t)
	good := string(marshal(t, fhir.CarerObservation(entries()[0])))
	bundle := string(marshal(t, fhir.CarerBundle(uuid.Must(uuid.NewV7()), time.Now(), entries()[0])))
	rp, _ := fhir.CarerRelatedPerson(entries()[0])
	related := string(marshal(t, rp))
	cases := []struct {
		name, doc, old, new, want string
	}{
		{"unknown status", good, `"status":"final"`, `"status":"done"`, "at '/status'"},
		{"no code", good, `"code":{`, `"kode":{`, "missing property 'code'"},
		{"unknown resource type", good, `"resourceType":"Observation"`, `"resourceType":"Carer"`, "'oneOf' failed, none matched"},
		{"date not in FHIR form", good, `"start":"2024-02-01"`, `"start":"01/02/2024"`, "at '/effectivePeriod/start'"},
		{"bundle carrying a broken observation", bundle, `"status":"final"`, `"status":"done"`, "at '/entry/0/resource'"},
		{"bundle of an unknown type", bundle, `"type":"collection"`, `"type":"pile"`, "at '/type'"},
		{"related person without patient", related, `"patient":`, `"cared_for":`, "missing property 'patient'"},
	}
	for _, c := range cases {
		doc := strings.Replace(c.doc, c.old, c.new, 1)
		if doc == c.doc {
			t.Fatalf("%s: %s is not in the document", c.name, c.old)
		}
		if err := fhirtest.Validate(t, []byte(doc)); err == nil {
			t.Errorf("%s: validated, want an error\n%s", c.name, doc)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error does not say %q:\n%v", c.name, c.want, err)
		}
	}
}

func TestObservationCarriesSNOMEDAndUKCore(t *testing.T) {
	e := entries()[0]
	var got map[string]any
	if err := json.Unmarshal(marshal(t, fhir.CarerObservation(e)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"resourceType": "Observation",
		"id":           e.ID.String(),
		"status":       "final",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
	raw := string(marshal(t, fhir.CarerObservation(e)))
	for _, s := range []string{
		`"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"]`,
		`{"system":"http://snomed.info/sct","code":"302767002","display":"Cares for a relative"}`,
		`"subject":{"identifier":{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"},"display":"Margaret Ellery"}`,
		`"effectivePeriod":{"start":"2024-02-01"}`,
	} {
		if !strings.Contains(raw, s) {
			t.Errorf("observation lacks %s\n%s", s, raw)
		}
	}
	if strings.Contains(raw, `"note"`) || strings.Contains(raw, `"end"`) {
		t.Errorf("an open entry has an end or a note\n%s", raw)
	}

	closed := string(marshal(t, fhir.CarerObservation(entries()[1])))
	for _, s := range []string{`"effectivePeriod":{"start":"2023-06-10","end":"2024-01-15"}`,
		`"text":"No longer a carer from 2024-01-15: No longer caring"`, `"subject":{"display":"Sam Whitlow"}`} {
		if !strings.Contains(closed, s) {
			t.Errorf("closed observation lacks %s\n%s", s, closed)
		}
	}
}

func TestRelatedPersonOnlyWhenCaredForKnown(t *testing.T) {
	es := entries()
	if _, ok := fhir.CarerRelatedPerson(es[1]); ok {
		t.Fatal("a related person for an entry with no cared-for person")
	}
	rp, ok := fhir.CarerRelatedPerson(es[0])
	if !ok {
		t.Fatal("no related person for a known cared-for person")
	}
	if rp.ID == es[0].ID.String() || rp.ID != fhir.RelatedPersonID(es[0].ID).String() {
		t.Fatalf("related person id %s: must be derived from, and differ from, the entry's", rp.ID)
	}
	if again, _ := fhir.CarerRelatedPerson(es[0]); again.ID != rp.ID {
		t.Fatal("related person id is not deterministic")
	}
	raw := string(marshal(t, rp))
	for _, s := range []string{
		`"resourceType":"RelatedPerson"`,
		`"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-RelatedPerson"]`,
		`{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole","code":"Carer","display":"Carer of patient"}`,
		`"patient":{"display":"Alan Ellery"}`, `{"text":"Wife"}`, `"active":true`, `"birthDate":"1951-03-08"`,
		`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}]`,
	} {
		if !strings.Contains(raw, s) {
			t.Errorf("related person lacks %s\n%s", s, raw)
		}
	}
	closed, _ := fhir.CarerRelatedPerson(es[2])
	if raw := string(marshal(t, closed)); !strings.Contains(raw, `"active":false`) || !strings.Contains(raw, `"end":"2023-12-01"`) {
		t.Errorf("closed related person is not inactive with an end\n%s", raw)
	}
}

func TestBundleFullURLsAreUnique(t *testing.T) {
	b := fhir.CarerBundle(uuid.Must(uuid.NewV7()), time.Date(2024, 5, 1, 10, 0, 0, 123, time.UTC), entries()...)
	seen := map[string]bool{}
	for _, e := range b.Entry {
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") || seen[e.FullURL] {
			t.Fatalf("fullUrl %q is not a fresh urn:uuid", e.FullURL)
		}
		seen[e.FullURL] = true
	}
	raw := string(marshal(t, b))
	for _, s := range []string{`"resourceType":"Bundle"`, `"type":"collection"`, `"timestamp":"2024-05-01T10:00:00Z"`,
		`"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Bundle"]`} {
		if !strings.Contains(raw, s) {
			t.Errorf("bundle lacks %s", s)
		}
	}
}
