package record

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// What training needs of the passport, inside the training module's own
// tenant transaction: who may train or assess a course, and recording that
// someone attended.

// Unqualified returns those of codes that the holder holds no current
// competency of kind covering: a trainer competency to train them, an
// assessor competency to assess them. A holder who has left qualifies for
// nothing. tx is the caller's transaction in the tenant of ctx.
func (s *Service) Unqualified(ctx context.Context, tx *gorm.DB, holderID uuid.UUID, kind catalogue.Kind, codes []string) ([]string, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return nil, errs.E(errs.Internal, "record work without a tenant")
	}
	st := store{tx: tx, tenant: t.ID}
	h, err := st.holder(holderID)
	if err != nil {
		return nil, err
	}
	covered := map[string]bool{}
	if h.Status == "active" {
		rows, err := st.holderRecords(holderID, false)
		if err != nil {
			return nil, err
		}
		specs := s.cache(ctx, tx)
		now := s.clock()
		for _, row := range rows {
			c, err := specs.get(row.CompetencyID)
			if err != nil {
				return nil, err
			}
			if c.Kind != kind {
				continue
			}
			r := row.record()
			r.derive(c, now, s.window)
			if !r.State.Current() {
				continue
			}
			for _, code := range c.Covers {
				covered[code] = true
			}
		}
	}
	var missing []string
	for _, code := range codes {
		if !covered[code] {
			missing = append(missing, code)
		}
	}
	return missing, nil
}

// TrainingAttended records, in the caller's transaction tx, that the holder
// attended training in each of the competencies, as the acting account of
// ctx (who needs record:write). A holder with no live record of a
// competency is enrolled first. A record already past training (in
// supervised practice, say) is left as it is, and so is a competency
// specific to one cared-for person, which needs that person named at
// enrolment. It returns the codes recorded and those left.
func (s *Service) TrainingAttended(ctx context.Context, tx *gorm.DB, holderID uuid.UUID, competencyIDs []uuid.UUID, setting, notes string) (recorded, left []string, err error) {
	actor, err := s.authorize(ctx, permWrite)
	if err != nil {
		return nil, nil, err
	}
	t, _ := tenants.FromContext(ctx)
	st := store{tx: tx, tenant: t.ID}
	rows, err := st.holderRecords(holderID, false)
	if err != nil {
		return nil, nil, err
	}
	specs := s.cache(ctx, tx)
	for _, cid := range competencyIDs {
		spec, err := specs.get(cid)
		if err != nil {
			return nil, nil, err
		}
		var id uuid.UUID
		for _, r := range rows { // the newest record of it that is not revoked
			if r.CompetencyID == cid && r.State != string(Revoked) {
				id = r.ID
			}
		}
		if id == uuid.Nil {
			if spec.Specificity == catalogue.Person {
				left = append(left, spec.Code)
				continue
			}
			in, err := EnrolInput{CompetencyID: cid, Setting: setting}.validate()
			if err != nil {
				return nil, nil, err
			}
			rec, err := s.enrol(ctx, tx, st, actor, holderID, in)
			if err != nil {
				return nil, nil, err
			}
			id = rec.ID
		}
		tr, in, err := TransitionInput{Action: ActAttend, Setting: setting, Notes: notes}.validate()
		if err != nil {
			return nil, nil, err
		}
		if _, err := s.transition(ctx, tx, st, tr, id, actor, in); err != nil {
			if errs.Is(err, errs.Conflict) {
				left = append(left, spec.Code)
				continue
			}
			return nil, nil, err
		}
		if s.changed != nil {
			if err := s.changed(ctx, tx, id); err != nil {
				return nil, nil, err
			}
		}
		recorded = append(recorded, spec.Code)
	}
	return recorded, left, nil
}
