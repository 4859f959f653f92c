package record_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
)

func (w *world) prescribe(cf uuid.UUID, values map[string]string) record.Prescription {
	w.T.Helper()
	p, err := w.svc.SetPrescription(as(w.tn, w.assessor), cf, record.PrescriptionInput{CompetencyID: w.comp["PCC-02"], Parameters: values})
	if err != nil {
		w.T.Fatal(err)
	}
	return p
}

// TestPrescriptionChangeMarksSignedOffRecordsForReassessment signs off a
// person-specific competency against version 1 of a care prescription,
// then changes the prescription: the record needs re-assessment, with a
// history entry, until it is signed off against the new version.
func TestPrescriptionChangeMarksSignedOffRecordsForReassessment(t *testing.T) {
	w := newWorld(t, record.Config{})
	cf := w.caredForWithoutPrescription()
	v1 := w.prescribe(cf, map[string]string{"tube size": "3.5", "suction depth": "8 cm"})
	if v1.Version != 1 || v1.Reassessment != 0 || len(v1.Parameters) != 2 || v1.Parameters[0] != (record.Parameter{Name: "tube size", Value: "3.5"}) {
		t.Fatalf("v1 = %+v", v1)
	}
	parent := w.learner("Pam Parent")
	other := w.learner("Oli Other") // enrolled but not yet signed off: not marked
	r, err := w.svc.Enrol(as(w.tn, w.trainer), parent, record.EnrolInput{CompetencyID: w.comp["PCC-02"], CaredForID: &cf, Setting: "home"})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := w.svc.Enrol(as(w.tn, w.trainer), other, record.EnrolInput{CompetencyID: w.comp["PCC-02"], CaredForID: &cf})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []record.Action{record.ActAttend, record.ActPractice} {
		if _, err := w.svc.Transition(as(w.tn, w.trainer), r.ID, record.TransitionInput{Action: a}); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := w.svc.Transition(as(w.tn, w.assessor), r.ID, record.TransitionInput{Action: record.ActSignOff, Setting: "home", CaredForID: &cf})
	if err != nil {
		t.Fatal(err)
	}
	if signed.PrescriptionVersion == nil || *signed.PrescriptionVersion != 1 {
		t.Fatalf("signed off against %v, want version 1", signed.PrescriptionVersion)
	}

	v2 := w.prescribe(cf, map[string]string{"tube size": "4.0", "suction depth": "8.5 cm"})
	if v2.Version != 2 || v2.Reassessment != 1 {
		t.Fatalf("v2 = %+v, want version 2 marking one record", v2)
	}
	if s := w.stored(w.tn, r.ID); !s.ReassessmentRequired || s.State != string(record.Competent) {
		t.Errorf("after the change the record is %+v", s)
	}
	if s := w.stored(w.tn, pending.ID); s.ReassessmentRequired {
		t.Errorf("a record never signed off was marked")
	}
	d, err := w.svc.Record(as(w.tn, w.viewer), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := d.History[len(d.History)-1]
	if d.State != record.ReassessmentRequired || d.StateLabel != "Re-assessment required" ||
		last.Notes != "prescription changed: re-assessment required" || last.ToState != record.Competent || last.FromState != record.Competent {
		t.Errorf("record %s, last history %+v", d.State, last)
	}
	if d.CaredFor == nil || d.CaredFor.Name != "Mia Child" {
		t.Errorf("cared-for = %+v", d.CaredFor)
	}
	// Re-assessment against the new version clears the mark.
	again, err := w.svc.Transition(as(w.tn, w.assessor), r.ID, record.TransitionInput{Action: record.ActSignOff, Setting: "home"})
	if err != nil {
		t.Fatal(err)
	}
	if again.State != record.Competent || *again.PrescriptionVersion != 2 || again.ReassessmentRequired {
		t.Errorf("after re-assessment %+v", again)
	}
	detail, err := w.svc.CaredFor(as(w.tn, w.viewer), cf)
	if err != nil {
		t.Fatal(err)
	}
	if cur := detail.Current(); len(detail.Prescriptions) != 2 || len(cur) != 1 || cur[0].Version != 2 {
		t.Errorf("prescriptions %+v", detail.Prescriptions)
	}
	found := false
	for _, e := range w.Events(w.tn) {
		found = found || (e.Action == "prescription.set" && e.Detail["version"] == "2" && e.Detail["reassessment_marked"] == "1")
	}
	if !found {
		t.Error("no prescription.set audit event for version 2")
	}
}

// TestPrescriptionParametersMustMatchTheSpecification checks the
// parameter rules: exactly the named parameters, each with a value.
func TestPrescriptionParametersMustMatchTheSpecification(t *testing.T) {
	w := newWorld(t, record.Config{})
	cf := w.caredForWithoutPrescription()
	cases := []struct {
		name   string
		comp   string
		values map[string]string
		fields string
	}{
		{"a missing parameter", "PCC-02", map[string]string{"tube size": "3.5"}, "param_1"},
		{"an empty parameter", "PCC-02", map[string]string{"tube size": " ", "suction depth": "8 cm"}, "param_0"},
		{"an unknown parameter", "PCC-02", map[string]string{"tube size": "3.5", "suction depth": "8 cm", "colour": "blue"}, "parameters"},
		{"a competency not specific to a person", "PCC-01", map[string]string{}, "competency_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.SetPrescription(as(w.tn, w.assessor), cf, record.PrescriptionInput{CompetencyID: w.comp[c.comp], Parameters: c.values})
			var got []string
			for _, f := range errs.FieldsOf(err) {
				got = append(got, f.Field)
			}
			if strings.Join(got, " ") != c.fields {
				t.Errorf("err = %v, fields %v, want %s", err, got, c.fields)
			}
		})
	}
	if n := w.Rows(w.tn, "prescriptions", ""); n != 0 {
		t.Errorf("%d prescriptions stored by refused requests", n)
	}
	if _, err := w.svc.SetPrescription(as(w.tn, w.viewer), cf, record.PrescriptionInput{CompetencyID: w.comp["PCC-02"],
		Parameters: map[string]string{"tube size": "3.5", "suction depth": "8 cm"}}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("ward staff set a prescription: %v", err)
	}
}

// TestEnrolmentRules checks what enrolling requires.
func TestEnrolmentRules(t *testing.T) {
	w := newWorld(t, record.Config{})
	bare := w.caredForWithoutPrescription()
	prescribed := w.caredForWithoutPrescription()
	w.prescribe(prescribed, map[string]string{"tube size": "3.5", "suction depth": "8 cm"})
	draft := uuid.Must(uuid.NewV7())
	w.In(w.tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO catalogues (tenant_id, id, key, version, title, status) VALUES (?, ?, 'drafty', 1, 'Draft catalogue', 'draft')`,
			w.tn.ID, draft).Error
	})
	draftComp := uuid.Must(uuid.NewV7())
	w.In(w.tn, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO competencies (tenant_id, id, catalogue_id, code, title, kind, description, tier, key_elements,
			specificity, training_formats, assessment_method, signoff_by, supervised_practices, reassess_months, review_date)
			VALUES (?, ?, ?, 'DR-01', 'Draft skill', 'skill', 'd', 'core', '[]', 'general', '[]', 'm', '[]', 0, 12, '2027-01-01')`,
			w.tn.ID, draftComp, draft).Error
	})
	cases := []struct {
		name     string
		in       record.EnrolInput
		kind     errs.Kind // -1: allowed
		field    string
		contains string
	}{
		{"general competency", record.EnrolInput{CompetencyID: w.comp["PCC-01"]}, -1, "", ""},
		{"no competency chosen", record.EnrolInput{}, errs.Invalid, "competency_id", "Select the competency"},
		{"unknown competency", record.EnrolInput{CompetencyID: uuid.Must(uuid.NewV7())}, errs.NotFound, "", ""},
		{"draft catalogue version", record.EnrolInput{CompetencyID: draftComp}, errs.Invalid, "competency_id", "published version"},
		{"person-specific without a cared-for person", record.EnrolInput{CompetencyID: w.comp["PCC-02"]}, errs.Invalid, "cared_for_id", "Select the person cared for"},
		{"person-specific without a prescription", record.EnrolInput{CompetencyID: w.comp["PCC-02"], CaredForID: &bare}, errs.Invalid, "cared_for_id", "Set Mia Child's care prescription for PCC-02"},
		{"person-specific with an unknown cared-for person", record.EnrolInput{CompetencyID: w.comp["PCC-02"], CaredForID: ptr(uuid.Must(uuid.NewV7()))}, errs.Invalid, "cared_for_id", "from the list"},
		{"person-specific with a prescription", record.EnrolInput{CompetencyID: w.comp["PCC-02"], CaredForID: &prescribed}, -1, "", ""},
		{"general competency with a cared-for person", record.EnrolInput{CompetencyID: w.comp["PCC-03"], CaredForID: &prescribed}, errs.Invalid, "cared_for_id", "not specific to one person"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := w.learner("Ena Enrol")
			r, err := w.svc.Enrol(as(w.tn, w.trainer), h, c.in)
			if c.kind == -1 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if r.State != record.Enrolled || r.HolderID != h {
					t.Errorf("record %+v", r)
				}
				return
			}
			if !errs.Is(err, c.kind) {
				t.Fatalf("err = %v, want %s", err, c.kind)
			}
			if c.field != "" {
				f := errs.FieldsOf(err)
				if len(f) != 1 || f[0].Field != c.field || !strings.Contains(f[0].Message, c.contains) {
					t.Errorf("fields %+v, want %s: …%s…", f, c.field, c.contains)
				}
			}
			if n := w.Rows(w.tn, "competency_records", "holder_id = ?", h); n != 0 {
				t.Errorf("a refused enrolment stored %d records", n)
			}
		})
	}
	if _, err := w.svc.Enrol(as(w.tn, w.viewer), w.learner("Vic View"), record.EnrolInput{CompetencyID: w.comp["PCC-01"]}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("ward staff enrolled someone: %v", err)
	}
	if _, err := w.svc.Enrol(as(w.tn, w.trainer), uuid.Must(uuid.NewV7()), record.EnrolInput{CompetencyID: w.comp["PCC-01"]}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown holder: %v", err)
	}
}

// TestCrossTenantRecordsAreNotFound checks that tenant B can neither see
// nor change tenant A's records, holders' passports or cared-for people,
// even while it holds a live share of the holder's passport.
func TestCrossTenantRecordsAreNotFound(t *testing.T) {
	w := newWorld(t, record.Config{})
	cf := w.caredForWithoutPrescription()
	w.prescribe(cf, map[string]string{"tube size": "3.5", "suction depth": "8 cm"})
	h := w.learner("Ann Across")
	recent := start.AddDate(0, 0, -5)
	id := w.insertRecord(w.tn, h, w.comp["PCC-01"], rec{state: record.Competent, practices: 2, signedOff: &recent})

	b := w.Tenant("riverside", tenants.KindPaediatricTrust)
	bAdmin := w.Staff(b, "admin@riverside.example", "Bea Admin", "tenant_admin")
	bAssessor := w.Holder(b, "Bea", "Admin", bAdmin)
	bComp := w.Catalogue(b, "pcc", moduletest.Competency{Code: "PCC-A01", Kind: "assessor", Months: 24, Covers: []string{"PCC-01"}})
	w.insertRecord(b, bAssessor, bComp["PCC-A01"], rec{state: record.Competent, signedOff: &recent})

	check := func(t *testing.T) {
		t.Helper()
		ctx := as(b, bAdmin)
		if _, err := w.svc.Record(ctx, id); !errs.Is(err, errs.NotFound) {
			t.Errorf("record: %v", err)
		}
		if _, err := w.svc.Passport(ctx, h, record.Filter{}); !errs.Is(err, errs.NotFound) {
			t.Errorf("passport: %v", err)
		}
		for _, a := range []record.Action{record.ActRevoke, record.ActSuspend, record.ActAttend} {
			if _, err := w.svc.Transition(ctx, id, record.TransitionInput{Action: a, Reason: "r"}); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: %v", a, err)
			}
		}
		if _, err := w.svc.Enrol(ctx, h, record.EnrolInput{CompetencyID: bComp["PCC-A01"]}); !errs.Is(err, errs.NotFound) {
			t.Errorf("enrol A's holder: %v", err)
		}
		if _, err := w.svc.CaredFor(ctx, cf); !errs.Is(err, errs.NotFound) {
			t.Errorf("cared-for: %v", err)
		}
		if _, err := w.svc.SetPrescription(ctx, cf, record.PrescriptionInput{CompetencyID: w.comp["PCC-02"],
			Parameters: map[string]string{"tube size": "9", "suction depth": "9"}}); !errs.Is(err, errs.NotFound) {
			t.Errorf("prescription: %v", err)
		}
		list, err := w.svc.CaredForList(ctx)
		if err != nil || len(list) != 0 {
			t.Errorf("B lists %d cared-for people of A (%v)", len(list), err)
		}
		if s := w.stored(w.tn, id); s.State != string(record.Competent) {
			t.Errorf("A's record is now %s", s.State)
		}
	}
	t.Run("without a share", check)

	var person struct{ PersonID uuid.UUID }
	w.In(w.tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?`, w.tn.ID, h).Scan(&person).Error
	})
	if err := w.DB.Gorm.Exec(`INSERT INTO passport_shares (id, person_id, grantee_tenant, granted_via, created_at, expires_at, redeemed_at)
		VALUES (?, ?, ?, 'holder', now(), now() + interval '30 days', now())`, uuid.Must(uuid.NewV7()), person.PersonID, b.ID).Error; err != nil {
		t.Fatal(err)
	}
	t.Run("with a live share", check)
}
