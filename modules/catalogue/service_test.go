package catalogue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

type fixture struct {
	db  *tenants.DB
	svc *catalogue.Service
	ctx context.Context
	std catalogue.StdCatalogue
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	env := moduletest.New(t, time.Now)
	tn := env.NamedTenant("wren", "Wren", tenants.KindPaediatricTrust)
	svc := catalogue.NewService(env.Scoped, env.Log, time.Now)
	ctx := tenants.WithTenant(context.Background(), tn)
	lib, err := svc.Library(ctx)
	if err != nil || len(lib) == 0 {
		t.Fatalf("the standard library must be loaded by migrations: %v %v", lib, err)
	}
	return fixture{db: env.Scoped, svc: svc, ctx: ctx, std: lib[0]}
}

func TestStandardLibraryIsLoadedAndValid(t *testing.T) {
	lib, err := migrations.Library()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	got, err := f.svc.Library(f.ctx)
	if err != nil || len(got) != len(lib) {
		t.Fatalf("library: %d catalogues loaded, %d shipped (%v)", len(got), len(lib), err)
	}
	for _, c := range got {
		_, comps, err := f.svc.StdCatalogue(f.ctx, c.ID)
		if err != nil || len(comps) == 0 {
			t.Fatalf("%s: %v", c.Code, err)
		}
		for _, k := range comps {
			if err := k.Spec.Validate(); err != nil {
				t.Errorf("%s %s: %v", c.Code, k.Code, errs.FieldsOf(err))
			}
		}
	}
}

func TestAdoptTightenPublishVersionCompare(t *testing.T) {
	f := newFixture(t)
	_, stdComps, err := f.svc.StdCatalogue(f.ctx, f.std.ID)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := f.svc.Adopt(f.ctx, f.std.ID, catalogue.NewCatalogue{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Status != catalogue.Draft || v1.Version != 1 || v1.StdCode != f.std.Code || v1.Competencies != len(stdComps) {
		t.Fatalf("adopted: %+v", v1)
	}
	_, comps, err := f.svc.Get(f.ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	skill := comps[0]
	if skill.StdCompetencyID == nil {
		t.Fatal("an adopted competency records its standard equivalent")
	}

	// Loosening is refused field by field; tightening is accepted.
	loose := skill.Spec
	loose.ReassessMonths++
	loose.SupervisedPractices = 0
	_, err = f.svc.SaveCompetency(f.ctx, v1.ID, loose, nil)
	fields := errs.FieldsOf(err)
	if len(fields) == 0 || !slices.ContainsFunc(fields, func(e errs.FieldError) bool { return e.Field == "reassess_months" }) {
		t.Fatalf("loosening the interval must be refused: %v", err)
	}
	tight := skill.Spec
	tight.ReassessMonths = max(1, skill.ReassessMonths-1)
	tight.SupervisedPractices = skill.SupervisedPractices + 1
	if _, err := f.svc.SaveCompetency(f.ctx, v1.ID, tight, nil); err != nil {
		t.Fatalf("tightening: %v", err)
	}

	// Missing required fields: field errors, nothing stored.
	bad := catalogue.Spec{Code: "OWN-01", Title: "Own"}
	if _, err := f.svc.SaveCompetency(f.ctx, v1.ID, bad, nil); len(errs.FieldsOf(err)) < 5 {
		t.Fatalf("incomplete spec: want field errors, got %v", err)
	}
	if _, err := f.svc.CompetencyByCode(f.ctx, v1.ID, "OWN-01"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("an invalid competency must not be stored: %v", err)
	}

	pub, err := f.svc.Publish(f.ctx, v1.ID)
	if err != nil || pub.Status != catalogue.Published {
		t.Fatalf("publish: %+v %v", pub, err)
	}
	// Published is immutable: through the service and in the database itself.
	if _, err := f.svc.SaveCompetency(f.ctx, v1.ID, tight, nil); !errs.Is(err, errs.Conflict) {
		t.Fatalf("editing a published version: %v", err)
	}
	err = f.db.Tx(f.ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE competencies SET title = 'changed' WHERE catalogue_id = ?`, v1.ID).Error
	})
	if err == nil {
		t.Fatal("the database let a published competency change")
	}

	v2, err := f.svc.NewVersion(f.ctx, v1.ID)
	if err != nil || v2.Version != 2 || v2.Status != catalogue.Draft {
		t.Fatalf("new version: %+v %v", v2, err)
	}
	if _, err := f.svc.NewVersion(f.ctx, v1.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a second draft must be refused: %v", err)
	}
	changed := tight
	changed.Title = "Renamed skill"
	if _, err := f.svc.SaveCompetency(f.ctx, v2.ID, changed, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveCompetency(f.ctx, v2.ID, comps[1].Code); err != nil {
		t.Fatal(err)
	}
	_, _, changes, err := f.svc.Compare(f.ctx, v1.ID, v2.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{skill.Code: "changed", comps[1].Code: "removed"}
	if len(changes) != len(want) {
		t.Fatalf("compare: %+v", changes)
	}
	for _, c := range changes {
		if want[c.Code] != c.Change {
			t.Fatalf("compare: %+v", changes)
		}
	}
	// Publishing v2 fails while an assessor still covers the removed code, or succeeds; either way v1 stays intact.
	if _, err := f.svc.Publish(f.ctx, v2.ID); err == nil {
		got, _, _ := f.svc.Get(f.ctx, v1.ID)
		if got.Status != catalogue.Retired {
			t.Fatalf("publishing v2 retires v1: %+v", got)
		}
	}
	_, again, err := f.svc.Get(f.ctx, v1.ID)
	if err != nil || len(again) != len(comps) || again[0].ReassessMonths != tight.ReassessMonths {
		t.Fatalf("v1 must be unchanged: %v", err)
	}
}

func TestOwnCatalogueNeedsCompleteSpecsToPublish(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.Create(f.ctx, catalogue.NewCatalogue{Key: "school-skills", Title: "School skills"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(f.ctx, c.ID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("an empty catalogue cannot be published: %v", err)
	}
	spec := catalogue.Spec{Code: "SCH-A01", Title: "Assessor", Kind: catalogue.KindAssessor, Description: "d", Tier: "core",
		KeyElements: catalogue.List{"k"}, Specificity: catalogue.General, TrainingFormats: catalogue.List{"classroom"},
		AssessmentMethod: "observed", SignoffBy: catalogue.List{"lead"}, ReassessMonths: 12,
		ReviewDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Covers: catalogue.List{"SCH-01"}}
	if _, err := f.svc.SaveCompetency(f.ctx, c.ID, spec, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(f.ctx, c.ID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("covering a code that is not in the catalogue must block publishing: %v", err)
	}
	if _, err := f.svc.Create(f.ctx, catalogue.NewCatalogue{Key: "school-skills", Title: "Again"}); len(errs.FieldsOf(err)) == 0 {
		t.Fatalf("duplicate short name: %v", err)
	}
}

// TestImportIsAllOrNothing: an import with a missing specification field
// stores nothing and names the competency and field; a complete one becomes
// a draft, never published by the import itself.
func TestImportIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	good := catalogue.Spec{Code: "SCH-01", Title: "Gastrostomy feeding at school", Kind: catalogue.KindSkill, Description: "d", Tier: "core",
		KeyElements: catalogue.List{"Checks the stoma site"}, Specificity: catalogue.General, TrainingFormats: catalogue.List{"classroom"},
		AssessmentMethod: "observed", SignoffBy: catalogue.List{"School nurse"}, SupervisedPractices: 1, ReassessMonths: 12,
		ReviewDate: time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)}
	bad := good
	bad.Code, bad.AssessmentMethod, bad.SignoffBy = "SCH-02", "", nil
	in := catalogue.NewCatalogue{Key: "school", Title: "School skills"}
	_, err := f.svc.Import(f.ctx, in, []catalogue.Spec{good, bad})
	fields := map[string]bool{}
	for _, fe := range errs.FieldsOf(err) {
		fields[fe.Field] = true
	}
	if !fields["competencies[1].assessment_method"] || !fields["competencies[1].signoff_by"] || fields["competencies[0].code"] {
		t.Fatalf("want field errors on the second competency only, got %v", errs.FieldsOf(err))
	}
	if list, _ := f.svc.List(f.ctx); len(list) != 0 {
		t.Fatalf("a refused import stored %d catalogues", len(list))
	}
	c, err := f.svc.Import(f.ctx, in, []catalogue.Spec{good})
	if err != nil || c.Status != catalogue.Draft || c.Competencies != 1 {
		t.Fatalf("import: %+v %v", c, err)
	}
}
