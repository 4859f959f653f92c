package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/setting"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// seedCareplan gives Wrenford a ward with three children at different
// readiness for discharge (one not ready with a sign-off awaited, one in
// progress with a carer booked on a session, one ready), a course whose
// sessions the board suggests, and a special school with a class and its
// plan for the coming academic year. Every other demo tenant with a
// published catalogue gets a small plan and a respite setting, so that
// each tenant's tables have rows. A tenant that already has a care plan is
// left as it is.
func seedCareplan(ctx context.Context, a *app) error {
	for i, d := range demoTenants {
		if i != 0 && d.kind != tenants.KindCarersCharity {
			continue
		}
		t, err := a.tenants.BySlug(ctx, d.slug)
		if err != nil {
			return err
		}
		admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
		if err != nil {
			return err
		}
		actx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)
		var plans int64
		if err := a.db.Tx(actx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT count(*) FROM care_plans WHERE tenant_id = ?`, t.ID).Row().Scan(&plans)
		}); err != nil {
			return err
		}
		if plans > 0 {
			continue
		}
		if i == 0 {
			err = seedWard(actx, a, t)
		} else {
			err = seedSmallSetting(actx, a, t)
		}
		if err != nil {
			return fmt.Errorf("seed %s care plans: %w", d.slug, err)
		}
	}
	return nil
}

// seedIDs reads the ids of the tenant's published competencies by code,
// its holders by given name and its cared-for children by given name.
func seedIDs(ctx context.Context, a *app, t tenants.Tenant) (comps, holders, children map[string]uuid.UUID, err error) {
	comps, holders, children = map[string]uuid.UUID{}, map[string]uuid.UUID{}, map[string]uuid.UUID{}
	err = a.db.Tx(ctx, func(tx *gorm.DB) error {
		var rows []struct {
			Key string
			ID  uuid.UUID
		}
		if err := tx.Raw(`SELECT c.code AS key, c.id FROM competencies c JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
			WHERE c.tenant_id = ? AND k.status = 'published' ORDER BY k.version`, t.ID).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			comps[r.Key] = r.ID
		}
		rows = nil
		if err := tx.Raw(`SELECT given_name || ' ' || family_name AS key, id FROM holders WHERE tenant_id = ?`, t.ID).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			holders[r.Key] = r.ID
		}
		rows = nil
		if err := tx.Raw(`SELECT given_name AS key, id FROM cared_for WHERE tenant_id = ?`, t.ID).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			children[r.Key] = r.ID
		}
		return nil
	})
	return comps, holders, children, err
}

// seedHolder returns the holder called given family, adding them when missing.
func seedHolder(ctx context.Context, a *app, holders map[string]uuid.UUID, given, family, role string) (uuid.UUID, error) {
	if id, ok := holders[given+" "+family]; ok {
		return id, nil
	}
	var id uuid.UUID
	err := a.db.Tx(ctx, func(tx *gorm.DB) error {
		h, err := a.holders.Create(ctx, tx, holder.NewHolder{GivenName: given, FamilyName: family, RoleInCare: role})
		id = h.ID
		return err
	})
	holders[given+" "+family] = id
	return id, err
}

// seedCompetent stores a competent record signed off months ago, with its
// history entry, as an assessor's sign-off would have left it.
func seedCompetent(ctx context.Context, a *app, t tenants.Tenant, holderID, competencyID uuid.UUID, caredFor *uuid.UUID, monthsAgo int) error {
	return a.db.Tx(ctx, func(tx *gorm.DB) error {
		id, now := uuid.Must(uuid.NewV7()), time.Now().UTC()
		signed := now.AddDate(0, -monthsAgo, 0)
		var version *int
		if caredFor != nil {
			v := 1
			version = &v
		}
		if err := tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, cared_for_id, state,
				signed_off_at, assessor_name, setting, prescription_version, created_at, updated_at)
			SELECT ?, ?, h.id, h.person_id, ?, ?, 'competent', ?, 'Ada Assessor', 'Ward 4', ?, ?, ? FROM holders h WHERE h.tenant_id = ? AND h.id = ?`,
			t.ID, id, competencyID, caredFor, signed, version, signed, now, t.ID, holderID).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at, by_name, setting, notes)
			VALUES (?, ?, ?, '', 'competent', ?, 'Ada Assessor', 'Ward 4', 'Demo record: signed off')`,
			t.ID, uuid.Must(uuid.NewV7()), id, signed).Error
	})
}

func seedWard(ctx context.Context, a *app, t tenants.Tenant) error {
	comps, holders, children, err := seedIDs(ctx, a, t)
	if err != nil {
		return err
	}
	for _, code := range []string{"PCC-01", "PCC-12", "PCC-16", "PCC-18"} {
		if comps[code] == uuid.Nil {
			return nil // not the paediatric catalogue: nothing to plan against
		}
	}
	today := careplan.DayStart(time.Now())
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	people := map[string]uuid.UUID{}
	for _, p := range []struct{ given, family, role string }{
		{"Amira", "Okafor", "parent"}, {"Frank", "Mensah", "unpaid_carer"}, {"Priya", "Sandhu", "paid_carer"},
		{"Grace", "Hughes", "parent"}, {"Owen", "Hughes", "parent"}, {"Dan", "Clarke", "parent"},
		{"Jo", "Bennett", "staff"}, {"Ravi", "Shah", "staff"},
	} {
		if people[p.given], err = seedHolder(ctx, a, holders, p.given, p.family, p.role); err != nil {
			return err
		}
	}
	for _, c := range []struct{ given, family, dob string }{{"Mia", "Hughes", "2021-02-11"}, {"Noah", "Clarke", "2018-10-03"}} {
		if _, ok := children[c.given]; ok {
			continue
		}
		cf, err := a.records.CreateCaredFor(ctx, record.NewCaredFor{GivenName: c.given, FamilyName: c.family, DateOfBirth: dob(c.dob)})
		if err != nil {
			return err
		}
		children[c.given] = cf.ID
	}
	leo, ok := children["Leo"]
	if !ok {
		return nil
	}
	// Leo (with the care prescription the skills seed set) goes home in five
	// days: his mother's tracheostomy care awaits sign-off and nobody has
	// basic life support yet, so he is flagged not ready.
	type plan struct {
		child   uuid.UUID
		days    int
		needs   map[string][]string
		carers  []string
		related []string
	}
	ward := "Ward 4 (Puffin)"
	for _, p := range []plan{
		{leo, 5, map[string][]string{"Tracheostomy care": {"PCC-01", "PCC-18"}}, []string{"Amira", "Frank"}, []string{"Mother", "Grandfather"}},
		{children["Mia"], 12, map[string][]string{"Seizure management": {"PCC-16"}}, []string{"Grace", "Owen"}, []string{"Mother", "Father"}},
		{children["Noah"], 9, map[string][]string{"Enteral feeding": {"PCC-12"}}, []string{"Priya", "Dan"}, []string{"Paid carer", "Father"}},
	} {
		made, err := a.careplans.CreatePlan(ctx, careplan.PlanInput{CaredForID: p.child, Ward: ward, ExpectedDischarge: day(p.days)})
		if err != nil {
			return err
		}
		for i, c := range p.carers {
			if err := a.careplans.AddCarer(ctx, made.ID, careplan.CarerInput{HolderID: people[c], Relationship: p.related[i]}); err != nil {
				return err
			}
		}
		for name, codes := range p.needs {
			var ids []uuid.UUID
			for _, c := range codes {
				ids = append(ids, comps[c])
			}
			if _, err := a.careplans.AddNeed(ctx, made.ID, careplan.NeedInput{Name: name, Competencies: ids}); err != nil {
				return err
			}
		}
	}
	for _, r := range []struct {
		who, code string
		months    int
	}{{"Grace", "PCC-16", 3}, {"Priya", "PCC-12", 5}, {"Dan", "PCC-12", 2}, {"Jo", "PCC-16", 4}} {
		if err := seedCompetent(ctx, a, t, people[r.who], comps[r.code], nil, r.months); err != nil {
			return err
		}
	}
	// Frank has done his observed practice of Leo's tracheostomy care and
	// waits for an assessor.
	if err := a.db.Tx(ctx, func(tx *gorm.DB) error {
		id, now := uuid.Must(uuid.NewV7()), time.Now().UTC()
		if err := tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, cared_for_id, state,
				practices_done, setting, created_at, updated_at)
			SELECT ?, ?, h.id, h.person_id, c.id, ?, 'supervised_practice', c.supervised_practices, 'Ward 4', ?, ?
			FROM holders h, competencies c WHERE h.tenant_id = ? AND h.id = ? AND c.tenant_id = h.tenant_id AND c.id = ?`,
			t.ID, id, leo, now, now, t.ID, people["Frank"], comps["PCC-01"]).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at, by_name, setting, notes)
			VALUES (?, ?, ?, 'training_attended', 'supervised_practice', ?, 'Demo trainer', 'Ward 4', 'Demo record: observed practice complete')`,
			t.ID, uuid.Must(uuid.NewV7()), id, now).Error
	}); err != nil {
		return err
	}
	// Sessions the board suggests: one before every discharge date and one
	// after; Owen is booked on the first.
	course, err := a.training.CreateCourse(ctx, training.CourseInput{Title: "Seizures and basic life support for families",
		Description: "Recognising seizures, first aid and recording, and basic life support on manikins.", Format: training.FormatManikin,
		DurationMinutes: 120, Audience: training.AudienceParentsCarers, DefaultCapacity: 6,
		Competencies: []uuid.UUID{comps["PCC-16"], comps["PCC-18"]}})
	if err != nil {
		return err
	}
	var first uuid.UUID
	for i, n := range []int{3, 16} {
		s, err := a.training.CreateSessions(ctx, training.SessionInput{CourseID: course.ID, Date: day(n), Start: "10:00", End: "12:00",
			Location: "Ward 4 seminar room"})
		if err != nil {
			return err
		}
		if i == 0 {
			first = s[0].ID
		}
	}
	if _, err := a.training.Book(ctx, first, people["Owen"]); err != nil {
		return err
	}
	// A special school with a class of Leo and Mia, two staff, and its plan
	// for the coming academic year with the parents included.
	school, err := a.settings.CreateSetting(ctx, setting.SettingInput{Kind: setting.SpecialSchool, Name: "Brookside Special School"})
	if err != nil {
		return err
	}
	class, err := a.settings.CreateGroup(ctx, school.ID, setting.GroupInput{Name: "Kestrel class"})
	if err != nil {
		return err
	}
	if err := a.settings.AddChildren(ctx, class.ID, setting.MemberInput{IDs: []uuid.UUID{leo, children["Mia"]}}); err != nil {
		return err
	}
	if err := a.settings.AddStaff(ctx, class.ID, setting.MemberInput{IDs: []uuid.UUID{people["Jo"], people["Ravi"]}}); err != nil {
		return err
	}
	_, err = a.settings.CreatePlan(ctx, class.ID, setting.PlanInput{AcademicYear: setting.CurrentYear(time.Now()) + 1, IncludeParents: true})
	return err
}

// seedSmallSetting gives a tenant one child's plan and a respite setting.
func seedSmallSetting(ctx context.Context, a *app, t tenants.Tenant) error {
	comps, holders, children, err := seedIDs(ctx, a, t)
	if err != nil {
		return err
	}
	var skill uuid.UUID
	for _, code := range []string{"PCSP-06", "PCC-18", "CHS-05"} {
		if id, ok := comps[code]; ok {
			skill = id
			break
		}
	}
	if skill == uuid.Nil || len(holders) == 0 {
		return nil
	}
	child, ok := children["Rosie"]
	if !ok {
		cf, err := a.records.CreateCaredFor(ctx, record.NewCaredFor{GivenName: "Rosie", FamilyName: "Whitlow", DateOfBirth: dob("2015-04-09")})
		if err != nil {
			return err
		}
		child = cf.ID
	}
	var carer uuid.UUID
	for _, id := range holders {
		carer = id
		break
	}
	p, err := a.careplans.CreatePlan(ctx, careplan.PlanInput{CaredForID: child, Ward: "Community",
		ExpectedDischarge: careplan.DayStart(time.Now()).AddDate(0, 0, 30).Format(time.DateOnly)})
	if err != nil {
		return err
	}
	if err := a.careplans.AddCarer(ctx, p.ID, careplan.CarerInput{HolderID: carer}); err != nil {
		return err
	}
	if _, err := a.careplans.AddNeed(ctx, p.ID, careplan.NeedInput{Name: "Working with the family", Competencies: []uuid.UUID{skill}}); err != nil {
		return err
	}
	st, err := a.settings.CreateSetting(ctx, setting.SettingInput{Kind: setting.RespiteUnit, Name: "Short breaks"})
	if err != nil {
		return err
	}
	g, err := a.settings.CreateGroup(ctx, st.ID, setting.GroupInput{Name: "Saturday club"})
	if err != nil {
		return err
	}
	if err := a.settings.AddChildren(ctx, g.ID, setting.MemberInput{IDs: []uuid.UUID{child}}); err != nil {
		return err
	}
	if err := a.settings.AddStaff(ctx, g.ID, setting.MemberInput{IDs: []uuid.UUID{carer}}); err != nil {
		return err
	}
	_, err = a.settings.CreatePlan(ctx, g.ID, setting.PlanInput{AcademicYear: setting.CurrentYear(time.Now()) + 1})
	return err
}
