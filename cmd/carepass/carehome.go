package main

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/dashboard"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/share"
)

// staffHolders lets a staff import enrol new people as holders (the
// holder service audits each) inside the import's transaction.
type staffHolders struct{ holders *holder.Service }

func (s staffHolders) CreateStaff(ctx context.Context, tx *gorm.DB, given, family, email string) (uuid.UUID, error) {
	h, err := s.holders.Create(ctx, tx, holder.NewHolder{GivenName: given, FamilyName: family, Email: email, RoleInCare: "staff"})
	return h.ID, err
}

// sharedCompetencies lets staff compliance offer, and make, recognition of
// what a new starter's shared passport holds, through the share module's
// own reads (audited as passport reads) and its recognition rule.
type sharedCompetencies struct{ shares *share.Service }

func (s sharedCompetencies) Recognisable(ctx context.Context, holderID uuid.UUID) ([]carehome.SharedCompetency, error) {
	received, err := s.shares.Received(ctx)
	if err != nil {
		return nil, err
	}
	var out []carehome.SharedCompetency
	for _, r := range received {
		if r.HolderID == nil || *r.HolderID != holderID {
			continue
		}
		p, err := s.shares.View(ctx, r.Share.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range p.Competencies {
			if !c.Recognisable() {
				continue
			}
			for _, t := range c.Targets {
				out = append(out, carehome.SharedCompetency{ShareID: r.Share.ID, RecordID: c.RecordID, CompetencyID: t.CompetencyID,
					Code: t.Code, Title: t.Title, From: c.Issuer, SignedOffAt: c.SignedOffAt, ExpiresAt: c.ExpiresAt})
			}
		}
	}
	return out, nil
}

func (s sharedCompetencies) Recognise(ctx context.Context, c carehome.SharedCompetency) error {
	_, err := s.shares.Recognise(ctx, c.ShareID, share.Recognition{Record: c.RecordID, CompetencyID: c.CompetencyID})
	return err
}

// complianceHistory gives the dashboard a care home's compliance over time.
type complianceHistory struct{ svc *carehome.Service }

func (c complianceHistory) History(ctx context.Context, from, to time.Time) ([]dashboard.CompliancePoint, error) {
	points, err := c.svc.History(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.CompliancePoint, len(points))
	for i, p := range points {
		out[i] = dashboard.CompliancePoint{Day: p.Day, Percent: p.Percent, Valid: p.Valid, Required: p.Required}
	}
	return out, nil
}
