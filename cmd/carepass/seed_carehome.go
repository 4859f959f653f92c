package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// demoCompliance is the staff compliance set-up of a demo tenant: homes,
// roles with the codes they require, per-home additions, and staff (home
// index, role index, and each required competency's state, in order:
// v valid, d due for update, x expired, anything else missing).
type demoCompliance struct {
	homes     []string
	additions map[int][]string
	roles     []struct {
		name  string
		codes []string
	}
	staff []demoStaff
}

type demoStaff struct {
	given, family string
	home, role    int
	states        string
	left          bool
}

var demoComplianceOf = map[string]demoCompliance{
	"meadowbank-care": {
		homes:     []string{"Meadowbank House", "Willow Court"},
		additions: map[int][]string{1: {"CHS-12"}},
		roles: []struct {
			name  string
			codes []string
		}{
			{"Care assistant", []string{"CHS-01", "CHS-02", "CHS-03", "CHS-04", "CHS-05"}},
			{"Senior carer", []string{"CHS-01", "CHS-02", "CHS-03", "CHS-04", "CHS-05", "CHS-15", "CHS-17"}},
			{"Nurse", []string{"CHS-01", "CHS-02", "CHS-03", "CHS-18", "CHS-19", "CHS-20"}},
			{"Matron", []string{"CHS-01", "CHS-02", "CHS-03", "CHS-20", "CHS-22"}},
		},
		staff: []demoStaff{
			{"Grace", "Mwangi", 0, 1, "vvvvvvv", false},
			{"Declan", "Foley", 0, 0, "vvdvv", false},
			{"Aisha", "Rahman", 0, 0, "vvvxv", false},
			{"Ben", "Okoro", 0, 0, "vv-vv", false},
			{"Chloe", "Whitfield", 0, 2, "vvvvdv", false},
			{"Daniel", "Price", 0, 3, "vvvvv", false},
			{"Ewa", "Kowalska", 1, 0, "vxvvv-", false},
			{"Femi", "Adeyemi", 1, 1, "vvvvvdvv", false},
			{"Hannah", "Doyle", 1, 0, "dvvvvv", false},
			{"Imran", "Shah", 1, 2, "vvvxvvv", false},
			{"Joy", "Bennett", 1, 0, "------", false},
			{"Kieran", "Walsh", 0, 0, "vvvvv", true},
		},
	},
	// Staff compliance serves any organisation with staff: the carers'
	// centre tracks its peer trainers.
	"lanternfield-carers": {
		homes:     []string{"Lanternfield Centre"},
		additions: map[int][]string{0: {"PCC-15"}},
		roles: []struct {
			name  string
			codes []string
		}{{"Peer trainer", []string{"PCC-13"}}},
		staff: []demoStaff{{"Rosa", "Lindqvist", 0, 0, "vd", false}},
	},
}

// seedCareHome gives each demo tenant in demoComplianceOf its homes, roles,
// requirements and staff, with competency records in several states so the
// matrix has something to show, and today's compliance snapshot. A tenant
// that already has a home is left as it is.
func seedCareHome(ctx context.Context, a *app) error {
	for _, d := range demoTenants {
		dc, ok := demoComplianceOf[d.slug]
		if !ok {
			continue
		}
		if err := seedCompliance(ctx, a, d, dc); err != nil {
			return fmt.Errorf("seed %s compliance: %w", d.slug, err)
		}
	}
	return nil
}

func seedCompliance(ctx context.Context, a *app, d demoTenant, dc demoCompliance) error {
	t, err := a.tenants.BySlug(ctx, d.slug)
	if err != nil {
		return err
	}
	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	actx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)
	set, err := a.carehome.Setup(actx)
	if err != nil || len(set.Homes) > 0 {
		return err
	}
	ids := map[string]uuid.UUID{}
	months := map[string]int{}
	for _, c := range set.Choices {
		if _, seen := ids[c.Code]; !seen {
			ids[c.Code], months[c.Code] = c.ID, c.Months
		}
	}
	pick := func(codes []string) []uuid.UUID {
		var out []uuid.UUID
		for _, c := range codes {
			if id, ok := ids[c]; ok {
				out = append(out, id)
			}
		}
		return out
	}
	var homes []carehome.Home
	for i, name := range dc.homes {
		h, err := a.carehome.AddHome(actx, name)
		if err != nil {
			return err
		}
		if err := a.carehome.SetHomeAdditions(actx, h.ID, pick(dc.additions[i])); err != nil {
			return err
		}
		homes = append(homes, h)
	}
	var roles []carehome.Role
	for _, r := range dc.roles {
		role, err := a.carehome.AddRole(actx, r.name)
		if err != nil {
			return err
		}
		if err := a.carehome.SetRoleRequirements(actx, role.ID, pick(r.codes)); err != nil {
			return err
		}
		roles = append(roles, role)
	}
	now := time.Now().UTC()
	for i, s := range dc.staff {
		email := strings.ToLower(s.given+"."+s.family) + "@" + d.short + ".example.org"
		var hid uuid.UUID
		err := a.db.Tx(actx, func(tx *gorm.DB) error {
			// A demo holder of the same name is employed rather than added again.
			err := tx.Raw(`SELECT id FROM holders WHERE tenant_id = ? AND given_name = ? AND family_name = ?`,
				t.ID, s.given, s.family).Row().Scan(&hid)
			if err == nil || !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			h, err := a.holders.Create(actx, tx, holder.NewHolder{GivenName: s.given, FamilyName: s.family, Email: email, RoleInCare: "staff"})
			hid = h.ID
			return err
		})
		if err != nil {
			return err
		}
		started := now.AddDate(-1-i%3, -i, 0).Format(time.DateOnly)
		e, err := a.carehome.Start(actx, carehome.StartInput{HolderID: hid, HomeID: homes[s.home].ID, RoleID: roles[s.role].ID, StartedOn: started})
		if err != nil {
			return err
		}
		codes := append(append([]string{}, dc.roles[s.role].codes...), dc.additions[s.home]...)
		if err := seedComplianceRecords(actx, a, t, hid, codes, s.states, ids, months, now); err != nil {
			return err
		}
		if s.left {
			if _, err := a.carehome.End(actx, e.ID, carehome.EndInput{EndedOn: now.AddDate(0, -1, 0).Format(time.DateOnly),
				Reason: "Moved to another provider"}); err != nil {
				return err
			}
		}
	}
	_, err = a.carehome.Snapshot(actx)
	return err
}

// seedComplianceRecords stores signed-off records for the demo states,
// with their history: the demo's sign-offs were made before Carepass.
func seedComplianceRecords(ctx context.Context, a *app, t tenants.Tenant, holderID uuid.UUID, codes []string, states string,
	ids map[string]uuid.UUID, months map[string]int, now time.Time) error {
	return a.db.Tx(ctx, func(tx *gorm.DB) error {
		seen := map[string]bool{}
		for i, code := range codes {
			if seen[code] || i >= len(states) {
				continue
			}
			seen[code] = true
			id, ok := ids[code]
			if !ok {
				continue
			}
			var signed time.Time
			switch states[i] {
			case 'v':
				signed = now.AddDate(0, -3-i, -5*i)
			case 'd':
				signed = now.AddDate(0, -months[code], 25)
			case 'x':
				signed = now.AddDate(0, -months[code], -20)
			default:
				continue
			}
			rid := uuid.Must(uuid.NewV7())
			// A person who already has a record of the competency keeps it.
			res := tx.Exec(`INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state, signed_off_at,
					assessor_name, setting, created_at, updated_at)
				SELECT ?, ?, h.id, h.person_id, ?, 'competent', ?, 'Demo assessor', 'Induction', ?, ?
				FROM holders h WHERE h.tenant_id = ? AND h.id = ?
				  AND NOT EXISTS (SELECT 1 FROM competency_records r WHERE r.tenant_id = h.tenant_id AND r.holder_id = h.id AND r.competency_id = ?)`,
				t.ID, rid, id, signed, now, now, t.ID, holderID, id)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			if err := tx.Exec(`INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at, by_name, setting, notes)
				VALUES (?, ?, ?, '', 'competent', ?, 'Demo assessor', 'Induction', 'Signed off before the provider used Carepass (demo record)')`,
				t.ID, uuid.Must(uuid.NewV7()), rid, signed).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
