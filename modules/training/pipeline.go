package training

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
)

// The trainer pipeline: who is working towards a trainer or assessor
// competency and how far they are, and who holds one now, what it covers
// and when it lapses. Train-the-trainer is how a tenant grows the people
// who may run its sessions and sign off its carers.

// staffExpirySQL is when the sign-off of record r of competency c lapses:
// the start, in London, of the same calendar date reassess_months later (a
// date the later month lacks becomes its last day, as PostgreSQL's month
// arithmetic does), which is how the passport derives expiry.
const staffExpirySQL = `(((r.signed_off_at AT TIME ZONE 'Europe/London')::date
	+ make_interval(months => c.reassess_months))::timestamp AT TIME ZONE 'Europe/London')`

// Record states as the staff views show them: the stored ones, and the two
// a competent record is derived into when its sign-off no longer stands.
const (
	staffEnrolled     = "enrolled"
	staffAttended     = "training_attended"
	staffPractice     = "supervised_practice"
	staffCompetent    = "competent"
	staffNotYet       = "not_yet_competent"
	staffSuspended    = "suspended"
	staffExpired      = "expired"
	staffReassessment = "reassessment_required"
)

var staffStateLabels = map[string]string{
	staffEnrolled: "Enrolled", staffAttended: "Training attended", staffPractice: "Supervised practice",
	staffCompetent: "Current", staffNotYet: "Not yet competent", staffSuspended: "Suspended",
	staffExpired: "Expired", staffReassessment: "Re-assessment required",
}

// PipelineStages is how many steps a record passes through to be appointed:
// enrolled, training attended, supervised practice, ready to be appointed.
const PipelineStages = 4

// PipelineEntry is one holder's record of a trainer or assessor competency.
type PipelineEntry struct {
	RecordID     uuid.UUID  `json:"record_id"`
	HolderID     uuid.UUID  `json:"holder_id"`
	HolderName   string     `json:"holder_name"`
	CompetencyID uuid.UUID  `json:"competency_id"`
	Code         string     `json:"code"`
	Title        string     `json:"title"`
	Kind         string     `json:"kind"`   // trainer or assessor
	Covers       []string   `json:"covers"` // the codes it lets its holder train or assess
	State        string     `json:"state"`  // as stored, or expired / reassessment_required when derived
	StateLabel   string     `json:"state_label"`
	Stage        int        `json:"stage"` // 1 to PipelineStages; 0 when suspended
	Next         string     `json:"next"`
	Practices    int        `json:"practices_done"`
	Needed       int        `json:"practices_needed"`
	StartedAt    time.Time  `json:"started_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	SignedOffAt  *time.Time `json:"signed_off_at,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	// ExpiresSoon: current, and lapses within PipelineSoonDays of now.
	ExpiresSoon bool `json:"expires_soon"`
}

// KindLabel names the entry's kind.
func (e PipelineEntry) KindLabel() string {
	if e.Kind == "assessor" {
		return "Assessor"
	}
	return "Trainer"
}

// PipelineSoonDays is how close to its expiry a current trainer or
// assessor competency is flagged.
const PipelineSoonDays = 60

// Pipeline is the tenant's trainers and assessors, current and to come.
type Pipeline struct {
	AsOf time.Time `json:"as_of"`
	// InProgress: records not current (working towards the competency, or
	// re-qualifying), closest to appointment first.
	InProgress []PipelineEntry `json:"in_progress"`
	// Current: current records, soonest to lapse first.
	Current []PipelineEntry `json:"current"`
}

// TrainerPipeline reads every record of a trainer or assessor competency of
// the tenant's active holders (revoked ones aside) in one query, and
// classifies it at the time now. The read is audited.
func (s *Service) TrainerPipeline(ctx context.Context) (Pipeline, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Pipeline{}, err
	}
	now := s.now().UTC()
	out := Pipeline{AsOf: now, InProgress: []PipelineEntry{}, Current: []PipelineEntry{}}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT r.id, r.holder_id, h.given_name || ' ' || h.family_name, c.id, c.code, c.title, c.kind,
				c.covers::text, r.state, r.reassessment_required, r.practices_done, c.supervised_practices, r.signed_off_at,
				CASE WHEN r.state IN ('competent', 'suspended') AND r.signed_off_at IS NOT NULL THEN `+staffExpirySQL+` END,
				r.created_at, r.updated_at
			FROM competency_records r
			JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
			WHERE r.tenant_id = ? AND c.kind IN ('trainer', 'assessor') AND h.status = 'active' AND r.state <> 'revoked'
			ORDER BY lower(h.family_name), lower(h.given_name), c.code, r.id`, t.ID).Rows()
		if err != nil {
			return storeErr("read pipeline", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var (
				e        PipelineEntry
				covers   string
				stored   string
				reassess bool
			)
			if err := rows.Scan(&e.RecordID, &e.HolderID, &e.HolderName, &e.CompetencyID, &e.Code, &e.Title, &e.Kind, &covers,
				&stored, &reassess, &e.Practices, &e.Needed, &e.SignedOffAt, &e.ExpiresAt, &e.StartedAt, &e.UpdatedAt); err != nil {
				return storeErr("read pipeline", err)
			}
			if err := json.Unmarshal([]byte(covers), &e.Covers); err != nil {
				return fmt.Errorf("training: covers of %s: %w", e.Code, err)
			}
			e.SignedOffAt, e.ExpiresAt = staffUTC(e.SignedOffAt), staffUTC(e.ExpiresAt)
			e.StartedAt, e.UpdatedAt = e.StartedAt.UTC(), e.UpdatedAt.UTC()
			staffClassify(&e, stored, reassess, now)
			if e.State == staffCompetent {
				out.Current = append(out.Current, e)
			} else {
				out.InProgress = append(out.InProgress, e)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return storeErr("read pipeline", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "training.pipeline", ObjectType: "competency_record",
			Detail: map[string]string{"records": strconv.Itoa(n)}})
	})
	if err != nil {
		return Pipeline{}, err
	}
	sort.SliceStable(out.InProgress, func(i, j int) bool { return out.InProgress[i].Stage > out.InProgress[j].Stage })
	sort.SliceStable(out.Current, func(i, j int) bool {
		a, b := out.Current[i].ExpiresAt, out.Current[j].ExpiresAt
		switch {
		case a == nil:
			return false
		case b == nil:
			return true
		}
		return a.Before(*b)
	})
	return out, nil
}

func staffUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// staffClassify derives an entry's state at now from its stored state,
// and says how far it is and what comes next.
func staffClassify(e *PipelineEntry, stored string, reassess bool, now time.Time) {
	e.State = stored
	if stored == staffCompetent && e.ExpiresAt != nil && !now.Before(*e.ExpiresAt) {
		e.State = staffExpired
	} else if stored == staffCompetent && reassess {
		e.State = staffReassessment
	}
	e.StateLabel = staffStateLabels[e.State]
	left := e.Needed - e.Practices
	switch e.State {
	case staffEnrolled:
		e.Stage, e.Next = 1, "Attend training"
	case staffAttended, staffPractice:
		e.Stage = 2
		if e.State == staffPractice {
			e.Stage = 3
		}
		if left > 0 {
			e.Next = fmt.Sprintf("Observed practice: %d of %d done", e.Practices, e.Needed)
		} else {
			e.Stage, e.Next = PipelineStages, "Ready to be appointed"
		}
	case staffNotYet:
		e.Stage, e.Next = 3, "Further practice, then re-assessment"
	case staffReassessment:
		e.Stage, e.Next = PipelineStages, "Re-assess against the change"
	case staffExpired:
		e.Stage, e.Next = 1, "Expired on "+staffLondonDay(e.ExpiresAt)+": re-train and be appointed again"
	case staffSuspended:
		e.Stage, e.Next = 0, "Suspended: needs a decision to reinstate or revoke"
	case staffCompetent:
		e.Stage, e.Next = PipelineStages, "Re-appoint before "+staffLondonDay(e.ExpiresAt)
		if e.ExpiresAt == nil {
			e.Next = "Does not expire"
		}
		e.ExpiresSoon = e.ExpiresAt != nil && !e.ExpiresAt.After(now.AddDate(0, 0, PipelineSoonDays))
	}
}

// staffLondonDay is t's date in London, as pages write it.
func staffLondonDay(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(London).Format("2 January 2006")
}
