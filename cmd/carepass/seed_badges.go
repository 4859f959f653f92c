package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// trainerEmail is the demo carer appointed a peer trainer at the carers'
// centre, who exports that appointment as a credential.
const trainerEmail = "helen.ashdown@demo.carepass.example"

// seedBadges makes the demo's skills credentials through the holders' own
// use case: the demo holder exports one signed-off competency at every
// organisation where she has one, and at the carers' centre, which signs
// off no skills, a carer appointed peer trainer exports the appointment, so
// every demo organisation that issues has a credential. Running it again
// changes nothing: a live credential is returned, not made again.
func seedBadges(ctx context.Context, a *app) error {
	amira, found, err := accountByEmail(ctx, a, holderEmail)
	if err != nil {
		return err
	}
	if found {
		actx := tenants.WithActor(ctx, amira)
		w, err := a.badges.Own(actx)
		if err != nil {
			return fmt.Errorf("seed badges: %w", err)
		}
		done := map[uuid.UUID]bool{}
		for _, c := range w.Competencies {
			if done[c.TenantID] {
				continue
			}
			done[c.TenantID] = true
			if c.Badge != nil {
				continue
			}
			if _, err := a.badges.Issue(actx, c.RecordID); err != nil {
				return fmt.Errorf("seed badge of %s at %s: %w", c.Code, c.TenantName, err)
			}
		}
	}
	return seedTrainerBadge(ctx, a)
}

// accountByEmail returns the id of the account with email, and whether
// there is one.
func accountByEmail(ctx context.Context, a *app, email string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := a.db.PlatformRead(ctx).Raw(`SELECT id FROM accounts WHERE lower(email) = lower(?)`, email).Row().Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("seed badges: account %s: %w", email, err)
	}
	return id, true, nil
}

// seedTrainerBadge gives the carers' centre its credential: its
// administrator appoints Helen Ashdown, one of its carers, a peer trainer,
// and Helen, signed in as herself, exports the appointment.
func seedTrainerBadge(ctx context.Context, a *app) error {
	var d demoTenant
	for _, dt := range demoTenants {
		if dt.kind == tenants.KindCarersCharity {
			d = dt
		}
	}
	t, err := a.tenants.BySlug(ctx, d.slug)
	if err != nil {
		return fmt.Errorf("seed trainer badge: %w", err)
	}
	tctx := tenants.WithTenant(ctx, t)
	var (
		badges           int64
		holderID, person uuid.UUID
	)
	err = a.db.Tx(tctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT count(*) FROM badges WHERE tenant_id = ?`, t.ID).Row().Scan(&badges); err != nil {
			return err
		}
		return tx.Raw(`SELECT id, person_id FROM holders WHERE tenant_id = ? AND given_name = 'Helen' AND family_name = 'Ashdown'
			ORDER BY created_at LIMIT 1`, t.ID).Row().Scan(&holderID, &person)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not the demo data set
	}
	if err != nil {
		return fmt.Errorf("seed trainer badge: %w", err)
	}
	if badges > 0 {
		return nil
	}

	trainer, err := a.ensureAccount(ctx, trainerEmail, "Helen Ashdown", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	// Demo data only: her account is linked to her passport directly, as
	// claiming it through a claim link would.
	if err := a.db.Tx(tctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ? AND account_id IS NULL`, trainer, person).Error
	}); err != nil {
		return fmt.Errorf("seed trainer account: %w", err)
	}

	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	adminCtx := tenants.WithActor(tctx, admin)
	cat, ok, err := seedCatalogues(ctx, a, t)
	if err != nil || !ok {
		return err
	}
	_, comps, err := a.catalogues.Get(tctx, cat.ID)
	if err != nil {
		return err
	}
	var appointed catalogue.Competency
	for _, k := range comps {
		if k.Kind == catalogue.KindTrainer {
			appointed = k
			break
		}
	}
	if appointed.ID == uuid.Nil {
		return nil // a catalogue without trainer competencies
	}
	var (
		recordID uuid.UUID
		state    string
	)
	err = a.db.Tx(tctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id, state FROM competency_records WHERE tenant_id = ? AND holder_id = ? AND competency_id = ?`,
			t.ID, holderID, appointed.ID).Row().Scan(&recordID, &state)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r, err := a.records.Enrol(adminCtx, holderID, record.EnrolInput{CompetencyID: appointed.ID, Setting: "Carers' centre"})
		if err != nil {
			return fmt.Errorf("seed trainer enrol: %w", err)
		}
		recordID, state = r.ID, string(r.StoredState)
	case err != nil:
		return fmt.Errorf("seed trainer record: %w", err)
	}
	if state != string(record.Competent) {
		if _, err := a.records.Transition(adminCtx, recordID, record.TransitionInput{Action: record.ActAppoint,
			Setting: "Carers' centre", EvidenceRef: "Peer trainer course certificate (demo)"}); err != nil {
			return fmt.Errorf("seed trainer appointment: %w", err)
		}
	}
	if _, err := a.badges.Issue(tenants.WithActor(ctx, trainer), recordID); err != nil {
		return fmt.Errorf("seed trainer badge: %w", err)
	}
	return nil
}
