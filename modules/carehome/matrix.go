package carehome

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
)

// Filter narrows the matrix; zero fields match everything.
type Filter struct {
	HomeID uuid.UUID `json:"home_id,omitempty"`
	RoleID uuid.UUID `json:"role_id,omitempty"`
	// Status keeps the staff with at least one cell in that status.
	Status Status `json:"status,omitempty"`
}

// Active reports whether any filter is set.
func (f Filter) Active() bool { return f.HomeID != uuid.Nil || f.RoleID != uuid.Nil || f.Status != "" }

// Clean drops an unknown status, so a hand-edited address filters by
// nothing rather than failing.
func (f Filter) Clean() Filter {
	if !validStatus(f.Status) {
		f.Status = ""
	}
	return f
}

// Cell is one required competency of one member of staff.
type Cell struct {
	Required  bool       `json:"required"` // false: not required of this person (an empty cell)
	Status    Status     `json:"status,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // start of the expiry date, London time
	// Shared is true when the cell is not compliant here but the person's
	// passport, shared with the provider by another organisation, holds
	// a current sign-off of the same standard competency, not yet
	// recognised here.
	Shared bool `json:"shared_not_recognised,omitempty"`
}

// Row is one member of staff and their cells, in the order of the
// matrix's columns.
type Row struct {
	Employment
	Cells []Cell `json:"cells"`
	Count Count  `json:"count"`
}

// Count counts cells by status.
type Count struct {
	Required int `json:"required"`
	Valid    int `json:"valid"`
	Due      int `json:"due_for_update"`
	Expired  int `json:"expired"`
	Missing  int `json:"missing"`
	Shared   int `json:"shared_not_recognised"`
}

func (c *Count) add(cell Cell) {
	c.Required++
	switch cell.Status {
	case Valid:
		c.Valid++
	case Due:
		c.Due++
	case Expired:
		c.Expired++
	default:
		c.Missing++
	}
	if cell.Shared {
		c.Shared++
	}
}

// Compliant is how many required cells hold a current sign-off.
func (c Count) Compliant() int { return c.Valid + c.Due }

// Percent is the compliant share of required cells, 0 to 100 (100 when
// nothing is required).
func (c Count) Percent() float64 {
	if c.Required == 0 {
		return 100
	}
	return 100 * float64(c.Compliant()) / float64(c.Required)
}

// PercentText is Percent rounded down to a whole number, as shown: 99.6%
// is not yet 100%.
func (c Count) PercentText() string {
	p := int(c.Percent())
	if c.Compliant() < c.Required && p == 100 {
		p = 99
	}
	return fmt.Sprintf("%d%%", p)
}

// Summary is the count of one home, role or competency.
type Summary struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Count Count     `json:"count"`
}

// Matrix is staff against the competencies they must hold, at one time.
type Matrix struct {
	At      time.Time    `json:"at"`
	Filter  Filter       `json:"filter"`
	Homes   []Home       `json:"-"` // every home, for the filter
	Roles   []Role       `json:"-"` // every role, for the filter
	Columns []Competency `json:"competencies"`
	Rows    []Row        `json:"staff"` // those matching the whole filter
	// Total, ByHome, ByRole and ByCompetency count the staff matching the
	// home and role filters (the status filter only picks rows).
	Total        Count     `json:"total"`
	ByHome       []Summary `json:"by_home"`
	ByRole       []Summary `json:"by_role"`
	ByCompetency []Summary `json:"by_competency"`
	Staff        int       `json:"staff_count"`
}

// Matrix computes the compliance matrix of the tenant in ctx at the
// service's clock, audited as carehome.matrix.read (it reads every
// member of staff's records).
func (s *Service) Matrix(ctx context.Context, f Filter) (Matrix, error) {
	return s.matrix(ctx, f.Clean(), true)
}

func (s *Service) matrix(ctx context.Context, f Filter, audited bool) (Matrix, error) {
	t, err := scope(ctx)
	if err != nil {
		return Matrix{}, err
	}
	var m Matrix
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if m, err = s.compute(tx, t.ID, f); err != nil {
			return err
		}
		if !audited {
			return nil
		}
		detail := map[string]string{"staff": fmt.Sprint(m.Staff), "shown": fmt.Sprint(len(m.Rows))}
		if f.HomeID != uuid.Nil {
			detail["home"] = f.HomeID.String()
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.matrix.read", ObjectType: "compliance", Detail: detail})
	})
	return m, err
}

// compute builds the matrix in tx from three set-based reads: the current
// employments, the requirements, and the competent records of the staff
// (plus, when the tenant holds live shares, what others signed off).
func (s *Service) compute(tx *gorm.DB, tenant uuid.UUID, f Filter) (Matrix, error) {
	now := s.Now()
	m := Matrix{At: now, Filter: f}
	st := store{tx: tx, tenant: tenant}
	var err error
	if m.Homes, m.Roles, err = st.homesAndRoles(); err != nil {
		return m, err
	}
	if f.HomeID != uuid.Nil && !hasHome(m.Homes, f.HomeID) {
		return m, errs.E(errs.NotFound, MsgNoHome)
	}
	where, args := `e.ended_on IS NULL`, []any{}
	if f.HomeID != uuid.Nil {
		where, args = where+` AND e.home_id = ?`, append(args, f.HomeID)
	}
	if f.RoleID != uuid.Nil {
		where, args = where+` AND e.role_id = ?`, append(args, f.RoleID)
	}
	staff, err := st.employments(where, args...)
	if err != nil {
		return m, err
	}
	sort.SliceStable(staff, func(i, j int) bool { return staff[i].Name < staff[j].Name })
	m.Staff = len(staff)
	roleReq, homeReq := map[uuid.UUID][]Competency{}, map[uuid.UUID][]Competency{}
	for _, r := range m.Roles {
		roleReq[r.ID] = r.Requirements
	}
	for _, h := range m.Homes {
		homeReq[h.ID] = h.Additions
	}

	// The columns: every competency required of anyone shown, by code.
	colIndex := map[string]int{}
	required := make([][]int, len(staff))
	for i, e := range staff {
		seen := map[string]bool{}
		for _, c := range append(append([]Competency{}, roleReq[e.RoleID]...), homeReq[e.HomeID]...) {
			if seen[c.key] {
				continue
			}
			seen[c.key] = true
			idx, ok := colIndex[c.key]
			if !ok {
				idx = len(m.Columns)
				colIndex[c.key] = idx
				m.Columns = append(m.Columns, c)
			}
			required[i] = append(required[i], idx)
		}
	}
	order := make([]int, len(m.Columns))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return m.Columns[order[a]].Code < m.Columns[order[b]].Code })
	pos := make([]int, len(order)) // old index → sorted position
	cols := make([]Competency, len(order))
	for p, old := range order {
		pos[old] = p
		cols[p] = m.Columns[old]
	}
	m.Columns = cols

	rowOf := make(map[uuid.UUID]int, len(staff))
	m.Rows = make([]Row, len(staff))
	for i, e := range staff {
		rowOf[e.HolderID] = i
		m.Rows[i] = Row{Employment: e, Cells: make([]Cell, len(m.Columns))}
		for _, old := range required[i] {
			m.Rows[i].Cells[pos[old]] = Cell{Required: true, Status: Missing}
		}
	}
	if len(staff) > 0 && len(m.Columns) > 0 {
		if err := s.fillRecords(st, where, args, colIndexSorted(m.Columns), rowOf, m.Rows, now); err != nil {
			return m, err
		}
		if err := s.fillShared(st, where, args, m.Columns, rowOf, m.Rows, now); err != nil {
			return m, err
		}
	}
	m.summarise()
	if f.Status != "" {
		kept := m.Rows[:0]
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				if c.Required && c.Status == f.Status {
					kept = append(kept, r)
					break
				}
			}
		}
		m.Rows = kept
	}
	return m, nil
}

func hasHome(list []Home, id uuid.UUID) bool {
	for _, h := range list {
		if h.ID == id {
			return true
		}
	}
	return false
}

func colIndexSorted(cols []Competency) map[string]int {
	out := make(map[string]int, len(cols))
	for i, c := range cols {
		out[c.key] = i
	}
	return out
}

// better reports whether a is a better cell than b: compliant beats not,
// and then the later expiry wins.
func better(a, b Cell) bool {
	if a.Status.Compliant() != b.Status.Compliant() {
		return a.Status.Compliant()
	}
	if b.ExpiresAt == nil {
		return a.ExpiresAt != nil
	}
	return a.ExpiresAt != nil && a.ExpiresAt.After(*b.ExpiresAt)
}

// fillRecords reads the competent sign-offs of the staff matching where in
// one query and derives each cell's status as the passport does. The
// tenant's competencies (a few hundred at most) are read first, so the
// records query joins nothing but the employments.
func (s *Service) fillRecords(st store, where string, args []any, cols map[string]int, rowOf map[uuid.UUID]int, rows []Row, now time.Time) error {
	type spec struct {
		col    int
		months int
	}
	specs := map[uuid.UUID]spec{}
	cr, err := st.tx.Raw(`SELECT c.id, cat.key || '/' || c.code, c.reassess_months FROM competencies c
		JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id WHERE c.tenant_id = ?`, st.tenant).Rows()
	if err != nil {
		return storeErr("read competencies", err)
	}
	for cr.Next() {
		var (
			id     uuid.UUID
			key    string
			months int
		)
		if err := cr.Scan(&id, &key, &months); err != nil {
			cr.Close()
			return storeErr("read competencies", err)
		}
		if col, ok := cols[key]; ok {
			specs[id] = spec{col: col, months: months}
		}
	}
	cr.Close()
	if err := cr.Err(); err != nil {
		return storeErr("read competencies", err)
	}
	q := `SELECT r.holder_id, r.competency_id, r.signed_off_at, r.reassessment_required
		FROM employments e
		JOIN competency_records r ON r.tenant_id = e.tenant_id AND r.holder_id = e.holder_id
		WHERE e.tenant_id = ? AND r.tenant_id = ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL
		  AND r.cared_for_id IS NULL AND ` + where
	res, err := st.tx.Raw(q, append([]any{st.tenant, st.tenant}, args...)...).Rows()
	if err != nil {
		return storeErr("read records", err)
	}
	defer res.Close()
	var (
		holder, comp uuid.UUID
		signed       time.Time
		reassess     bool
	)
	// Sign-offs cluster (a session's candidates, a recognition), and the
	// derivation's London calendar arithmetic is the costly part of a cell.
	type derivedKey struct {
		at       int64
		months   int
		reassess bool
	}
	type derived struct {
		status Status
		exp    *time.Time
	}
	memo := map[derivedKey]derived{}
	for res.Next() {
		if err := res.Scan(&holder, &comp, &signed, &reassess); err != nil {
			return storeErr("read records", err)
		}
		sp, ok := specs[comp]
		if !ok {
			continue
		}
		i, ok := rowOf[holder]
		if !ok || !rows[i].Cells[sp.col].Required {
			continue
		}
		k := derivedKey{signed.UnixMicro(), sp.months, reassess}
		d, ok := memo[k]
		if !ok {
			state, exp := Derive(signed, sp.months, reassess, now, s.window)
			d = derived{statusOf(state), &exp}
			memo[k] = d
		}
		cell := Cell{Required: true, Status: d.status, ExpiresAt: d.exp}
		if cur := rows[i].Cells[sp.col]; cur.Status == Missing || better(cell, cur) {
			rows[i].Cells[sp.col] = cell
		}
	}
	return res.Err()
}

// fillShared marks the cells that are not compliant here but that a live
// share lets the provider see signed off elsewhere, current, for the same
// standard competency. Row-level security (the share's grant) decides
// which other tenants' records are visible at all.
func (s *Service) fillShared(st store, where string, args []any, cols []Competency, rowOf map[uuid.UUID]int, rows []Row, now time.Time) error {
	var live bool
	if err := st.tx.Raw(`SELECT EXISTS (SELECT app_shared_persons())`).Row().Scan(&live); err != nil {
		return storeErr("read shares", err)
	}
	if !live {
		return nil
	}
	byStd := map[uuid.UUID][]int{}
	for i, c := range cols {
		if c.std != nil {
			byStd[*c.std] = append(byStd[*c.std], i)
		}
	}
	q := `SELECT e.holder_id, c.std_competency_id, r.signed_off_at, c.reassess_months
		FROM employments e
		JOIN holders h ON h.tenant_id = e.tenant_id AND h.id = e.holder_id
		JOIN competency_records r ON r.person_id = h.person_id
		JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
		WHERE e.tenant_id = ? AND r.tenant_id <> ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL
		  AND c.specificity <> 'person' AND c.std_competency_id IS NOT NULL AND ` + where
	res, err := st.tx.Raw(q, append([]any{st.tenant, st.tenant}, args...)...).Rows()
	if err != nil {
		return storeErr("read shared records", err)
	}
	defer res.Close()
	for res.Next() {
		var (
			holder, std uuid.UUID
			signed      time.Time
			months      int
		)
		if err := res.Scan(&holder, &std, &signed, &months); err != nil {
			return storeErr("read shared records", err)
		}
		i, ok := rowOf[holder]
		if !ok {
			continue
		}
		if state, _ := Derive(signed, months, false, now, s.window); !statusOf(state).Compliant() {
			continue
		}
		for _, col := range byStd[std] {
			if c := &rows[i].Cells[col]; c.Required && !c.Status.Compliant() {
				c.Shared = true
			}
		}
	}
	return res.Err()
}

// summarise counts the rows by home, role and competency.
func (m *Matrix) summarise() {
	homes, roles := map[uuid.UUID]*Summary{}, map[uuid.UUID]*Summary{}
	comps := make([]Summary, len(m.Columns))
	for i, c := range m.Columns {
		comps[i] = Summary{ID: c.ID, Name: c.Code + " " + c.Title}
	}
	for i := range m.Rows {
		r := &m.Rows[i]
		h, ok := homes[r.HomeID]
		if !ok {
			h = &Summary{ID: r.HomeID, Name: r.HomeName}
			homes[r.HomeID] = h
		}
		ro, ok := roles[r.RoleID]
		if !ok {
			ro = &Summary{ID: r.RoleID, Name: r.RoleName}
			roles[r.RoleID] = ro
		}
		for j, c := range r.Cells {
			if !c.Required {
				continue
			}
			r.Count.add(c)
			m.Total.add(c)
			h.Count.add(c)
			ro.Count.add(c)
			comps[j].Count.add(c)
		}
	}
	for _, h := range m.Homes {
		if v, ok := homes[h.ID]; ok {
			m.ByHome = append(m.ByHome, *v)
		}
	}
	for _, r := range m.Roles {
		if v, ok := roles[r.ID]; ok {
			m.ByRole = append(m.ByRole, *v)
		}
	}
	m.ByCompetency = comps
}

// Expiring is one current sign-off of a member of staff that expires soon.
type Expiring struct {
	Employment
	Competency Competency `json:"competency"`
	Status     Status     `json:"status"`
	ExpiresAt  time.Time  `json:"expires_at"`
	DaysLeft   int        `json:"days_left"`
}

// ExpiryWindows are the windows the expiry lists offer, in days.
var ExpiryWindows = []int{30, 60, 90}

// Expiring lists the required, current sign-offs of the staff matching f
// (its status is ignored) that expire within days of now, soonest first.
// Audited as carehome.expiring.read.
func (s *Service) Expiring(ctx context.Context, days int, f Filter) ([]Expiring, error) {
	t, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if days < 1 || days > 366 {
		return nil, errs.Validation(errs.FieldError{Field: "days", Message: "Choose a number of days from 1 to 366"})
	}
	f.Status = ""
	var out []Expiring
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		m, err := s.compute(tx, t.ID, f.Clean())
		if err != nil {
			return err
		}
		limit := m.At.AddDate(0, 0, days)
		for _, r := range m.Rows {
			for j, c := range r.Cells {
				if !c.Required || !c.Status.Compliant() || c.ExpiresAt == nil || !c.ExpiresAt.Before(limit) {
					continue
				}
				left := int(dayOf(*c.ExpiresAt).Sub(dayOf(m.At)).Hours() / 24)
				out = append(out, Expiring{Employment: r.Employment, Competency: m.Columns[j], Status: c.Status,
					ExpiresAt: *c.ExpiresAt, DaysLeft: left})
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if !out[i].ExpiresAt.Equal(out[j].ExpiresAt) {
				return out[i].ExpiresAt.Before(out[j].ExpiresAt)
			}
			return out[i].Name < out[j].Name
		})
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.expiring.read", ObjectType: "compliance",
			Detail: map[string]string{"days": fmt.Sprint(days), "results": fmt.Sprint(len(out))}})
	})
	return out, err
}
