package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// seedTraining gives each demo tenant that has a current trainer a course
// in what that trainer may teach, three public fortnightly sessions the
// trainer runs from tomorrow, two of its holders booked on the first (and
// reminded the day before), and a drop-in session later today. A tenant
// that already has a course is left as it is.
func seedTraining(ctx context.Context, a *app) error {
	for _, d := range demoTenants {
		t, err := a.tenants.BySlug(ctx, d.slug)
		if err != nil {
			return err
		}
		admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
		if err != nil {
			return err
		}
		actx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)
		var (
			courses int64
			trainer uuid.UUID
			covers  []byte // a JSON array of codes
			holders []uuid.UUID
		)
		err = a.db.Tx(actx, func(tx *gorm.DB) error {
			if err := tx.Raw(`SELECT count(*) FROM courses WHERE tenant_id = ?`, t.ID).Row().Scan(&courses); err != nil {
				return err
			}
			// A holder with a competent, appointed trainer record, and the
			// published skills that competency covers.
			row := tx.Raw(`SELECT r.holder_id, c.covers FROM competency_records r
				JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
				WHERE r.tenant_id = ? AND c.kind = 'trainer' AND r.state = 'competent' ORDER BY r.created_at LIMIT 1`, t.ID).Row()
			if err := row.Scan(&trainer, &covers); err != nil {
				return err
			}
			return tx.Raw(`SELECT id FROM holders WHERE tenant_id = ? AND status = 'active' AND id <> ? ORDER BY created_at LIMIT 2`,
				t.ID, trainer).Scan(&holders).Error
		})
		if courses > 0 || errors.Is(err, sql.ErrNoRows) {
			continue // already seeded, or no current trainer
		}
		if err != nil {
			return fmt.Errorf("seed %s training: %w", d.slug, err)
		}
		var skills []uuid.UUID
		err = a.db.Tx(actx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT c.id FROM competencies c JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
				WHERE c.tenant_id = ? AND cat.status = 'published' AND c.kind = 'skill'
				  AND c.code IN (SELECT jsonb_array_elements_text(?::jsonb))
				ORDER BY c.specificity <> 'general', c.code LIMIT 2`, // general skills: attending counts for anyone
				t.ID, string(covers)).Scan(&skills).Error
		})
		if err != nil || len(skills) == 0 {
			return err
		}
		c, err := a.training.CreateCourse(actx, training.CourseInput{Title: "Introduction to caring skills",
			Description: "A hands-on session for parents and carers, with time to practise on manikins.", Format: training.FormatManikin,
			DurationMinutes: 150, Audience: training.AudienceParentsCarers, DefaultCapacity: 8, Competencies: skills})
		if err != nil {
			return fmt.Errorf("seed %s course: %w", d.slug, err)
		}
		// Evening sessions for working parents, from tomorrow, bookable until
		// two hours before they start.
		first, cutoff := time.Now().In(training.London).AddDate(0, 0, 1), 2
		sessions, err := a.training.CreateSessions(actx, training.SessionInput{CourseID: c.ID, Date: first.Format(time.DateOnly),
			Start: "18:00", End: "20:30", Location: "Training room 1", Public: true, EveryWeeks: 2, Count: 3, CutoffHours: &cutoff})
		if err != nil {
			return fmt.Errorf("seed %s sessions: %w", d.slug, err)
		}
		for _, s := range sessions {
			if err := a.training.AssignTrainer(actx, s.ID, trainer); err != nil {
				return fmt.Errorf("seed %s trainer: %w", d.slug, err)
			}
		}
		for _, h := range holders {
			if _, err := a.training.Book(actx, sessions[0].ID, h); err != nil {
				return fmt.Errorf("seed %s booking: %w", d.slug, err)
			}
		}
		if _, err := a.training.CreateSessions(actx, dropIn(c.ID, time.Now())); err != nil {
			return fmt.Errorf("seed %s drop-in session: %w", d.slug, err)
		}
	}
	// The reminders for tomorrow's session, as the periodic sweep would
	// queue them; sending waits for the server's workers.
	if _, err := a.notifier.SweepTomorrow(ctx); err != nil {
		return fmt.Errorf("seed reminders: %w", err)
	}
	return nil
}

// dropIn is a public practice session starting 35 to 40 minutes after now,
// open for booking until it starts: on the day of seeding there is a
// session to book and, from an hour before it starts, to take the register
// of.
func dropIn(course uuid.UUID, now time.Time) training.SessionInput {
	start := now.In(training.London).Add(35 * time.Minute).Truncate(5 * time.Minute).Add(5 * time.Minute)
	end := start.Add(time.Hour)
	if end.Day() != start.Day() {
		end = time.Date(start.Year(), start.Month(), start.Day(), 23, 59, 0, 0, training.London)
	}
	zero := 0
	return training.SessionInput{CourseID: course, Date: start.Format(time.DateOnly), Start: start.Format("15:04"),
		End: end.Format("15:04"), Location: "Parents' room, ward 4", Public: true, CutoffHours: &zero}
}
