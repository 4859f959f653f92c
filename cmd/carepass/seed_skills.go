package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// demoCatalogues says which standard catalogue each demo tenant adopts.
var demoCatalogues = map[string]string{
	"wrenford-childrens":  "PCC",
	"meadowbank-care":     "CHS",
	"lanternfield-carers": "PCC",
}

// seedCatalogues adopts and publishes each demo tenant's catalogue once.
func seedCatalogues(ctx context.Context, a *app, t tenants.Tenant) (catalogue.Catalogue, bool, error) {
	code, ok := demoCatalogues[t.Slug]
	if !ok {
		return catalogue.Catalogue{}, false, nil
	}
	tctx := tenants.WithTenant(ctx, t)
	list, err := a.catalogues.List(tctx)
	if err != nil {
		return catalogue.Catalogue{}, false, err
	}
	for _, c := range list {
		if c.StdCode == code && c.Status == catalogue.Published {
			return c, true, nil
		}
	}
	lib, err := a.catalogues.Library(tctx)
	if err != nil {
		return catalogue.Catalogue{}, false, err
	}
	for _, std := range lib {
		if std.Code != code {
			continue
		}
		c, err := a.catalogues.Adopt(tctx, std.ID, catalogue.NewCatalogue{})
		if err != nil {
			return c, false, fmt.Errorf("seed %s: adopt %s: %w", t.Slug, code, err)
		}
		c, err = a.catalogues.Publish(tctx, c.ID)
		return c, true, err
	}
	return catalogue.Catalogue{}, false, errs.E(errs.NotFound, "standard catalogue "+code+" is not in the library")
}

// holderEmail is the demo holder who has claimed her passport.
const holderEmail = "amira.okafor@demo.carepass.example"

// seedRecords gives a freshly provisioned demo tenant people cared for,
// prescriptions and competency records at several stages, through the real
// lifecycle: an appointed assessor signs off a carer's person-specific skill.
func seedRecords(ctx context.Context, a *app, t tenants.Tenant, d demoTenant, cat catalogue.Catalogue, holders []holder.Holder) error {
	if len(holders) == 0 {
		return nil
	}
	_, comps, err := a.catalogues.Get(tenants.WithTenant(ctx, t), cat.ID)
	if err != nil {
		return err
	}
	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	adminCtx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)

	// The skill to show off: person-specific where the catalogue has one.
	var skill, general catalogue.Competency
	for _, k := range comps {
		switch {
		case k.Kind == catalogue.KindSkill && k.Specificity == catalogue.Person && skill.ID == uuid.Nil:
			skill = k
		case k.Kind == catalogue.KindSkill && k.Specificity == catalogue.General && general.ID == uuid.Nil:
			general = k
		}
	}
	if skill.ID == uuid.Nil {
		skill = general
	}
	var caredFor *uuid.UUID
	if skill.Specificity == catalogue.Person {
		cf, err := a.records.CreateCaredFor(adminCtx, record.NewCaredFor{GivenName: "Leo", FamilyName: holders[0].FamilyName, DateOfBirth: dob("2019-05-20")})
		if err != nil {
			return fmt.Errorf("seed cared-for: %w", err)
		}
		params := map[string]string{}
		for i, p := range skill.PrescriptionParameters {
			params[p] = fmt.Sprintf("As set by the physiotherapist, %s (demo value %d)", strings.ToLower(p), i+1)
		}
		if _, err := a.records.SetPrescription(adminCtx, cf.ID, record.PrescriptionInput{CompetencyID: skill.ID, Parameters: params}); err != nil {
			return fmt.Errorf("seed prescription: %w", err)
		}
		caredFor = &cf.ID
	}
	step := func(ctx context.Context, id uuid.UUID, action record.Action, setting string) error {
		_, err := a.records.Transition(ctx, id, record.TransitionInput{Action: action, Setting: setting, Notes: "Demo record", EvidenceRef: "DEMO-" + string(action)})
		return err
	}
	learner, err := a.records.Enrol(adminCtx, holders[0].ID, record.EnrolInput{CompetencyID: skill.ID, CaredForID: caredFor, Setting: "Home"})
	if err != nil {
		return fmt.Errorf("seed enrol: %w", err)
	}
	if err := step(adminCtx, learner.ID, record.ActAttend, "Training room"); err != nil {
		return fmt.Errorf("seed attend: %w", err)
	}
	for i := 0; i < skill.SupervisedPractices; i++ {
		if err := step(adminCtx, learner.ID, record.ActPractice, "Ward"); err != nil {
			return fmt.Errorf("seed practice: %w", err)
		}
	}
	if general.ID != uuid.Nil && len(holders) > 1 {
		r, err := a.records.Enrol(adminCtx, holders[1].ID, record.EnrolInput{CompetencyID: general.ID, Setting: "Home"})
		if err != nil {
			return fmt.Errorf("seed enrol: %w", err)
		}
		if err := step(adminCtx, r.ID, record.ActAttend, "Training room"); err != nil {
			return err
		}
	}

	// Sign-off needs an assessor: a staff member enrolled as a holder, appointed
	// to the assessor competency that covers the skill, by the administrator.
	assessorAcct, err := a.ensureAccount(ctx, demoEmail("assessor", d.short), "", a.cfg.DemoPassword)
	if err != nil || !slices.ContainsFunc(policy.Templates(d.kind), func(r policy.RoleTemplate) bool { return r.Key == "assessor" }) {
		return err // no assessor role in this kind of tenant: the learner waits
	}
	var assessorComp catalogue.Competency
	for _, k := range comps {
		if k.Kind == catalogue.KindAssessor && slices.Contains(k.Covers, skill.Code) {
			assessorComp = k
			break
		}
	}
	var assessor holder.Holder
	err = a.db.Tx(adminCtx, func(tx *gorm.DB) error {
		var err error
		if assessor, err = a.holders.Create(adminCtx, tx, holder.NewHolder{GivenName: "Ada", FamilyName: "Assessor", RoleInCare: "staff"}); err != nil {
			return err
		}
		// Demo data only: the staff member's account is linked to her
		// passport directly, as claiming it through her invitation would.
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ?`, assessorAcct, assessor.PersonID).Error
	})
	if err != nil {
		return fmt.Errorf("seed assessor: %w", err)
	}
	appointed, err := a.records.Enrol(adminCtx, assessor.ID, record.EnrolInput{CompetencyID: assessorComp.ID, Setting: "Education centre"})
	if err != nil {
		return fmt.Errorf("seed assessor enrol: %w", err)
	}
	if _, err := a.records.Transition(adminCtx, appointed.ID, record.TransitionInput{Action: record.ActAppoint,
		Setting: "Education centre", EvidenceRef: "Assessor course certificate (demo)"}); err != nil {
		return fmt.Errorf("seed appointment: %w", err)
	}
	assessorCtx := tenants.WithActor(tenants.WithTenant(ctx, t), assessorAcct)
	if err := step(assessorCtx, learner.ID, record.ActSignOff, "Ward 3B"); err != nil {
		return fmt.Errorf("seed sign-off: %w", err)
	}
	return nil
}

// seedHolderAccount lets the first demo holder of the trust sign in and see
// her own passport, as if she had claimed it.
func seedHolderAccount(ctx context.Context, a *app, t tenants.Tenant, h holder.Holder) error {
	acct, err := a.ensureAccount(ctx, holderEmail, h.GivenName+" "+h.FamilyName, a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	return a.db.Tx(tenants.WithTenant(ctx, t), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ? AND account_id IS NULL`, acct, h.PersonID).Error
	})
}
