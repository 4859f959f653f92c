package holder

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Passport is a holder's own view of their passport across every tenant
// that recorded anything for them, and who has viewed it.
type Passport struct {
	// Claimed is false when the account is not linked to any person yet.
	Claimed bool
	Tenants []TenantPassport
	Views   []View
}

// Records returns how many competency records the passport holds.
func (p Passport) Records() int {
	n := 0
	for _, t := range p.Tenants {
		n += len(t.Records)
	}
	return n
}

// TenantPassport is what one tenant recorded for the holder.
type TenantPassport struct {
	TenantID   uuid.UUID
	TenantName string
	HolderID   uuid.UUID
	Status     string // the enrolment's status: active or left
	RoleInCare string
	Records    []OwnRecord
}

// RoleLabel is the human name of the holder's role in care at the tenant.
func (t TenantPassport) RoleLabel() string { return RoleLabel(t.RoleInCare) }

// OwnRecord is one competency record as its holder sees it.
type OwnRecord struct {
	ID                   uuid.UUID
	CompetencyCode       string
	CompetencyTitle      string
	CatalogueTitle       string
	CatalogueVersion     int
	State                string // as stored
	EffectiveState       string // at the time of reading: competent may read due_for_update or expired
	PracticesDone        int
	PracticesRequired    int
	SignedOffAt          *time.Time
	ExpiresAt            *time.Time
	AssessorName         string
	Setting              string
	Recognised           bool
	ReassessmentRequired bool
}

// StateLabel is the human name of the record's state at the time of reading.
func (r OwnRecord) StateLabel() string { return StateLabel(r.EffectiveState) }

// View is one read of the holder's passport by a tenant's staff.
type View struct {
	At         time.Time
	TenantName string
	Viewer     string // the staff member's name, or their email when they gave none
	ViaShare   bool   // the reader saw it through a share
}

// viewActions are the audit actions that count as viewing a passport.
var viewActions = []string{"holder.read", "passport.read"}

// maxViews bounds the "who viewed" list.
const maxViews = 200

// Passport returns the passport of the signed-in account's own person. It
// reads in a platform transaction acting as the account, where row-level
// security shows the account its own enrolments, records and the audit
// events about them, in every tenant, and nothing else. An account that
// has claimed nothing gets an empty passport with Claimed false.
func (s *Service) Passport(ctx context.Context) (Passport, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return Passport{}, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	var p Passport
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		var person uuid.UUID
		err := tx.Raw(`SELECT id FROM persons WHERE account_id = ?`, actor).Row().Scan(&person)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return storeErr("read person", err)
		}
		p.Claimed = true
		if p.Tenants, err = s.ownEnrolments(tx, person); err != nil {
			return err
		}
		if err := s.ownRecords(tx, person, p.Tenants); err != nil {
			return err
		}
		p.Views, err = s.ownViews(ctx, tx, p.Tenants)
		return err
	})
	return p, err
}

func (s *Service) ownEnrolments(tx *gorm.DB, person uuid.UUID) ([]TenantPassport, error) {
	rows, err := tx.Raw(`SELECT h.tenant_id, t.name, h.id, h.status, h.role_in_care
		FROM holders h JOIN tenants t ON t.id = h.tenant_id
		WHERE h.person_id = ? ORDER BY lower(t.name)`, person).Rows()
	if err != nil {
		return nil, storeErr("read enrolments", err)
	}
	defer rows.Close()
	var out []TenantPassport
	for rows.Next() {
		var tp TenantPassport
		if err := rows.Scan(&tp.TenantID, &tp.TenantName, &tp.HolderID, &tp.Status, &tp.RoleInCare); err != nil {
			return nil, storeErr("read enrolments", err)
		}
		out = append(out, tp)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read enrolments", err)
	}
	return out, nil
}

func (s *Service) ownRecords(tx *gorm.DB, person uuid.UUID, tps []TenantPassport) error {
	rows, err := tx.Raw(`SELECT r.tenant_id, r.id, c.code, c.title, cat.title, cat.version, r.state, r.practices_done,
			c.supervised_practices, r.signed_off_at, c.reassess_months, r.assessor_name, r.setting,
			r.recognised_from IS NOT NULL, r.reassessment_required
		FROM competency_records r
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
		WHERE r.person_id = ?
		ORDER BY c.code, r.created_at`, person).Rows()
	if err != nil {
		return storeErr("read records", err)
	}
	defer rows.Close()
	byTenant := map[uuid.UUID]*TenantPassport{}
	for i := range tps {
		byTenant[tps[i].TenantID] = &tps[i]
	}
	now := s.now().UTC()
	for rows.Next() {
		var (
			tenant uuid.UUID
			r      OwnRecord
			months int
		)
		if err := rows.Scan(&tenant, &r.ID, &r.CompetencyCode, &r.CompetencyTitle, &r.CatalogueTitle, &r.CatalogueVersion,
			&r.State, &r.PracticesDone, &r.PracticesRequired, &r.SignedOffAt, &months, &r.AssessorName, &r.Setting,
			&r.Recognised, &r.ReassessmentRequired); err != nil {
			return storeErr("read records", err)
		}
		if r.State == "competent" {
			r.ExpiresAt = Expiry(r.SignedOffAt, months)
		}
		r.EffectiveState = EffectiveState(r.State, r.ExpiresAt, now)
		if tp, ok := byTenant[tenant]; ok {
			tp.Records = append(tp.Records, r)
		}
	}
	if err := rows.Err(); err != nil {
		return storeErr("read records", err)
	}
	return nil
}

func (s *Service) ownViews(ctx context.Context, tx *gorm.DB, tps []TenantPassport) ([]View, error) {
	holderIDs := make([]string, 0, len(tps))
	for _, tp := range tps {
		holderIDs = append(holderIDs, tp.HolderID.String())
	}
	shareIDs := []string{}
	if s.shares != nil {
		ids, err := s.shares(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("holder: shares: %w", err)
		}
		for _, id := range ids {
			shareIDs = append(shareIDs, id.String())
		}
	}
	if len(holderIDs) == 0 && len(shareIDs) == 0 {
		return nil, nil
	}
	if len(shareIDs) == 0 {
		shareIDs = append(shareIDs, "") // IN () is not valid SQL; "" matches no share
	}
	if len(holderIDs) == 0 {
		holderIDs = append(holderIDs, "")
	}
	// Row-level security (own_passport_views) limits this to events about
	// the account's own enrolments and shares; the ids let it use an index.
	rows, err := tx.Raw(`SELECT e.occurred_at, t.name, coalesce(nullif(a.name, ''), a.email, nullif(e.actor_label, ''), 'Unknown'),
			e.object_type = 'share'
		FROM audit_events e
		JOIN tenants t ON t.id = e.tenant_id
		LEFT JOIN accounts a ON a.id = e.actor_id
		WHERE e.action IN ? AND e.outcome = 'success'
		  AND ((e.object_type = 'holder' AND e.object_id IN ?) OR (e.object_type = 'share' AND e.object_id IN ?))
		ORDER BY e.occurred_at DESC LIMIT ?`, viewActions, holderIDs, shareIDs, maxViews).Rows()
	if err != nil {
		return nil, storeErr("read views", err)
	}
	defer rows.Close()
	var out []View
	for rows.Next() {
		var v View
		if err := rows.Scan(&v.At, &v.TenantName, &v.Viewer, &v.ViaShare); err != nil {
			return nil, storeErr("read views", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read views", err)
	}
	return out, nil
}
