package training

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
)

// Assessor capacity: for each skill, the sign-offs the coming weeks will
// need against who can give them. Assessor capacity is where carer
// training schemes have stalled: people are trained and practised, then
// wait for someone authorised to sign them off.

// Capacity window limits, in weeks.
const (
	CapacityDefaultWeeks = 6
	CapacityMaxWeeks     = 26
)

// CapacityRow is one competency (by code) in the capacity view.
type CapacityRow struct {
	Code  string `json:"code"`
	Title string `json:"title"`
	// Need: records of active holders needing a sign-off in the window.
	// Ready: training attended and the required observed practices done,
	// awaiting assessment. Reassessment: current, but marked for
	// re-assessment (a changed care prescription). Expiring: current, and
	// lapsing within the window.
	Ready        int `json:"ready_for_sign_off"`
	Reassessment int `json:"reassessment_required"`
	Expiring     int `json:"expiring"`
	Need         int `json:"need"`
	// Assessors: active holders with a current assessor competency
	// covering the code; Lapsing: those of them whose assessor competency
	// lapses within the window.
	Assessors int `json:"assessors"`
	Lapsing   int `json:"assessors_lapsing"`
	// Sessions and Places: scheduled sign-off sessions in the window of a
	// course assessing the code, and their places; Unstaffed: those of the
	// sessions with no assessor assigned yet.
	Sessions  int `json:"sessions"`
	Places    int `json:"places"`
	Unstaffed int `json:"unstaffed_sessions"`
	// Shortfall is how many more sign-offs are needed than places
	// scheduled; Bottleneck is set when there is a shortfall or nobody
	// could sign off at all.
	Shortfall  int    `json:"shortfall"`
	Bottleneck bool   `json:"bottleneck"`
	Reason     string `json:"reason,omitempty"`
}

// Capacity is the assessor capacity view over a window of weeks from now.
type Capacity struct {
	Weeks       int           `json:"weeks"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Rows        []CapacityRow `json:"competencies"`
	Bottlenecks int           `json:"bottlenecks"`
}

// staffWeight completes a row: its total need, its shortfall against the
// places scheduled, and whether (and why) it is a bottleneck.
func (r *CapacityRow) staffWeight() {
	r.Need = r.Ready + r.Reassessment + r.Expiring
	r.Shortfall = max(0, r.Need-r.Places)
	switch {
	case r.Need > 0 && r.Assessors == 0:
		r.Bottleneck = true
		r.Reason = "Nobody holds a current assessor competency covering it"
	case r.Shortfall > 0:
		r.Bottleneck = true
		r.Reason = fmt.Sprintf("%d more sign-offs needed than places on sign-off sessions", r.Shortfall)
	}
}

// staffWorstFirst orders rows: bottlenecks first, those nobody can sign
// off before those short of places, then by shortfall, fewest assessors
// and greatest need, and by code.
func staffWorstFirst(rows []CapacityRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Bottleneck != b.Bottleneck {
			return a.Bottleneck
		}
		noneA, noneB := a.Need > 0 && a.Assessors == 0, b.Need > 0 && b.Assessors == 0
		if noneA != noneB {
			return noneA
		}
		if a.Shortfall != b.Shortfall {
			return a.Shortfall > b.Shortfall
		}
		if a.Assessors != b.Assessors {
			return a.Assessors < b.Assessors
		}
		if a.Need != b.Need {
			return a.Need > b.Need
		}
		return a.Code < b.Code
	})
}

// AssessorCapacity computes, at read time, the sign-offs each competency
// needs within weeks from now against the assessors and sign-off places
// available, worst first. It reads in four set-based queries whatever the
// number of holders or competencies, and audits the read of the records.
// A competency appears when anything is needed or scheduled for it.
func (s *Service) AssessorCapacity(ctx context.Context, weeks int) (Capacity, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return Capacity{}, err
	}
	if weeks < 1 || weeks > CapacityMaxWeeks {
		return Capacity{}, errs.Validation(errs.FieldError{Field: "weeks",
			Message: fmt.Sprintf("Enter a number of weeks from 1 to %d", CapacityMaxWeeks)})
	}
	now := s.now().UTC()
	out := Capacity{Weeks: weeks, From: now, To: now.AddDate(0, 0, 7*weeks), Rows: []CapacityRow{}}
	byCode := map[string]*CapacityRow{}
	row := func(code string) *CapacityRow {
		r, ok := byCode[code]
		if !ok {
			r = &CapacityRow{Code: code}
			byCode[code] = r
		}
		return r
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		// What is needed: records of skills of the tenant's active holders.
		need, err := tx.Raw(`SELECT c.code,
				count(*) FILTER (WHERE r.state IN ('training_attended', 'supervised_practice')
					AND r.practices_done >= c.supervised_practices),
				count(*) FILTER (WHERE r.state = 'competent' AND r.reassessment_required
					AND (r.signed_off_at IS NULL OR `+staffExpirySQL+` > ?)),
				count(*) FILTER (WHERE r.state = 'competent' AND NOT r.reassessment_required AND r.signed_off_at IS NOT NULL
					AND `+staffExpirySQL+` > ? AND `+staffExpirySQL+` <= ?)
			FROM competency_records r
			JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
			WHERE r.tenant_id = ? AND c.kind = 'skill' AND h.status = 'active'
				AND r.state IN ('training_attended', 'supervised_practice', 'competent')
			GROUP BY c.code`, now, now, out.To, t.ID).Rows()
		if err != nil {
			return storeErr("capacity need", err)
		}
		defer need.Close()
		for need.Next() {
			var code string
			var ready, reassess, expiring int
			if err := need.Scan(&code, &ready, &reassess, &expiring); err != nil {
				return storeErr("capacity need", err)
			}
			if ready+reassess+expiring > 0 {
				r := row(code)
				r.Ready, r.Reassessment, r.Expiring = ready, reassess, expiring
			}
		}
		if err := need.Err(); err != nil {
			return storeErr("capacity need", err)
		}

		// Who may sign off: current assessor competencies, by code covered.
		assessors, err := tx.Raw(`SELECT cov.code, count(DISTINCT r.holder_id),
				count(DISTINCT r.holder_id) FILTER (WHERE r.signed_off_at IS NOT NULL AND `+staffExpirySQL+` <= ?)
			FROM competency_records r
			JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
			CROSS JOIN LATERAL jsonb_array_elements_text(c.covers) AS cov(code)
			WHERE r.tenant_id = ? AND c.kind = 'assessor' AND h.status = 'active'
				AND r.state = 'competent' AND NOT r.reassessment_required
				AND (r.signed_off_at IS NULL OR `+staffExpirySQL+` > ?)
			GROUP BY cov.code`, out.To, t.ID, now).Rows()
		if err != nil {
			return storeErr("capacity assessors", err)
		}
		defer assessors.Close()
		avail := map[string][2]int{}
		for assessors.Next() {
			var code string
			var n, lapsing int
			if err := assessors.Scan(&code, &n, &lapsing); err != nil {
				return storeErr("capacity assessors", err)
			}
			avail[code] = [2]int{n, lapsing}
		}
		if err := assessors.Err(); err != nil {
			return storeErr("capacity assessors", err)
		}

		// Places on scheduled sign-off sessions starting in the window.
		places, err := tx.Raw(`SELECT c.code, count(DISTINCT s.id), coalesce(sum(s.capacity), 0),
				count(DISTINCT s.id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM session_trainers st
					WHERE st.tenant_id = s.tenant_id AND st.session_id = s.id))
			FROM training_sessions s
			JOIN courses co ON co.tenant_id = s.tenant_id AND co.id = s.course_id
			JOIN course_competencies cc ON cc.tenant_id = co.tenant_id AND cc.course_id = co.id
			JOIN competencies c ON c.tenant_id = cc.tenant_id AND c.id = cc.competency_id
			WHERE s.tenant_id = ? AND co.sign_off AND s.status = 'scheduled' AND s.starts_at >= ? AND s.starts_at <= ?
			GROUP BY c.code`, t.ID, now, out.To).Rows()
		if err != nil {
			return storeErr("capacity places", err)
		}
		defer places.Close()
		for places.Next() {
			var code string
			var sessions, seats, unstaffed int
			if err := places.Scan(&code, &sessions, &seats, &unstaffed); err != nil {
				return storeErr("capacity places", err)
			}
			r := row(code)
			r.Sessions, r.Places, r.Unstaffed = sessions, seats, unstaffed
		}
		if err := places.Err(); err != nil {
			return storeErr("capacity places", err)
		}

		codes := make([]string, 0, len(byCode))
		for code, r := range byCode {
			r.Assessors, r.Lapsing = avail[code][0], avail[code][1]
			codes = append(codes, code)
		}
		if len(codes) > 0 {
			// Titles from the published version where there is one.
			titles, err := tx.Raw(`SELECT DISTINCT ON (c.code) c.code, c.title FROM competencies c
				JOIN catalogues k ON k.tenant_id = c.tenant_id AND k.id = c.catalogue_id
				WHERE c.tenant_id = ? AND c.code IN ?
				ORDER BY c.code, k.status = 'published' DESC, k.version DESC`, t.ID, codes).Rows()
			if err != nil {
				return storeErr("capacity titles", err)
			}
			defer titles.Close()
			for titles.Next() {
				var code, title string
				if err := titles.Scan(&code, &title); err != nil {
					return storeErr("capacity titles", err)
				}
				byCode[code].Title = title
			}
			if err := titles.Err(); err != nil {
				return storeErr("capacity titles", err)
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "training.assessor_capacity", ObjectType: "competency_record",
			Detail: map[string]string{"weeks": strconv.Itoa(weeks), "competencies": strconv.Itoa(len(byCode))}})
	})
	if err != nil {
		return Capacity{}, err
	}
	for _, r := range byCode {
		r.staffWeight()
		if r.Bottleneck {
			out.Bottlenecks++
		}
		out.Rows = append(out.Rows, *r)
	}
	staffWorstFirst(out.Rows)
	return out, nil
}
