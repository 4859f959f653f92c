package carehome

import (
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
)

// store is the module's queries inside one tenant transaction.
type store struct {
	tx     *gorm.DB
	tenant uuid.UUID
}

// competencyColumns select a Competency from c (competencies) and cat
// (catalogues).
const competencyColumns = `c.id, c.code, c.title, c.reassess_months, cat.key || '/' || c.code, c.std_competency_id`

func scanCompetency(rows *sql.Rows, extra ...any) (Competency, error) {
	var c Competency
	err := rows.Scan(append([]any{&c.ID, &c.Code, &c.Title, &c.Months, &c.key, &c.std}, extra...)...)
	return c, err
}

// choices returns the published, general competencies a role or home may require.
func (s store) choices() ([]Competency, error) {
	rows, err := s.tx.Raw(`SELECT `+competencyColumns+` FROM competencies c
		JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
		WHERE c.tenant_id = ? AND cat.status = 'published' AND c.specificity <> 'person' AND c.kind = 'skill'
		ORDER BY c.code, cat.version DESC`, s.tenant).Rows()
	if err != nil {
		return nil, storeErr("read choices", err)
	}
	defer rows.Close()
	var out []Competency
	for rows.Next() {
		c, err := scanCompetency(rows)
		if err != nil {
			return nil, storeErr("read choices", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// homesAndRoles returns the homes and roles, by name, with their requirements.
func (s store) homesAndRoles() ([]Home, []Role, error) {
	homes, roles := s.names(`care_homes`), s.names(`job_roles`)
	if homes.err != nil || roles.err != nil {
		return nil, nil, storeErr("read homes and roles", errors.Join(homes.err, roles.err))
	}
	reqs, err := s.requirements()
	if err != nil {
		return nil, nil, err
	}
	var hs []Home
	var rs []Role
	for _, h := range homes.list {
		hs = append(hs, Home{ID: h.id, Name: h.name, Additions: reqs.home[h.id]})
	}
	for _, r := range roles.list {
		rs = append(rs, Role{ID: r.id, Name: r.name, Requirements: reqs.role[r.id]})
	}
	return hs, rs, nil
}

type named struct {
	id   uuid.UUID
	name string
}

type nameList struct {
	list []named
	err  error
}

// names reads the ids and names of table (care_homes or job_roles) by name.
func (s store) names(table string) nameList {
	var out nameList
	rows, err := s.tx.Raw(`SELECT id, name FROM `+table+` WHERE tenant_id = ? ORDER BY lower(name)`, s.tenant).Rows()
	if err != nil {
		out.err = err
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var n named
		if out.err = rows.Scan(&n.id, &n.name); out.err != nil {
			return out
		}
		out.list = append(out.list, n)
	}
	out.err = rows.Err()
	return out
}

// requirementSet is every role's and home's requirements.
type requirementSet struct {
	role map[uuid.UUID][]Competency
	home map[uuid.UUID][]Competency
}

func (s store) requirements() (requirementSet, error) {
	out := requirementSet{role: map[uuid.UUID][]Competency{}, home: map[uuid.UUID][]Competency{}}
	rows, err := s.tx.Raw(`SELECT `+competencyColumns+`, q.owner, q.kind FROM (
			SELECT competency_id, role_id AS owner, 'role' AS kind FROM role_requirements WHERE tenant_id = ?
			UNION ALL
			SELECT competency_id, home_id, 'home' FROM home_requirements WHERE tenant_id = ?) q
		JOIN competencies c ON c.tenant_id = ? AND c.id = q.competency_id
		JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
		ORDER BY c.code`, s.tenant, s.tenant, s.tenant).Rows()
	if err != nil {
		return out, storeErr("read requirements", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner uuid.UUID
		var kind string
		c, err := scanCompetency(rows, &owner, &kind)
		if err != nil {
			return out, storeErr("read requirements", err)
		}
		if kind == "role" {
			out.role[owner] = append(out.role[owner], c)
		} else {
			out.home[owner] = append(out.home[owner], c)
		}
	}
	return out, rows.Err()
}

const employmentSelect = `SELECT e.id, e.holder_id, h.given_name || ' ' || h.family_name, e.home_id, hm.name, e.role_id, r.name,
		e.started_on, e.ended_on, e.end_reason
	FROM employments e
	JOIN holders h ON h.tenant_id = e.tenant_id AND h.id = e.holder_id
	JOIN care_homes hm ON hm.tenant_id = e.tenant_id AND hm.id = e.home_id
	JOIN job_roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
	WHERE e.tenant_id = ? AND `

// employments returns the employments matching where, newest first.
func (s store) employments(where string, args ...any) ([]Employment, error) {
	rows, err := s.tx.Raw(employmentSelect+where+` ORDER BY e.ended_on IS NULL DESC, e.started_on DESC, e.created_at DESC`,
		append([]any{s.tenant}, args...)...).Rows()
	if err != nil {
		return nil, storeErr("read employments", err)
	}
	defer rows.Close()
	var out []Employment
	for rows.Next() {
		var e Employment
		if err := rows.Scan(&e.ID, &e.HolderID, &e.Name, &e.HomeID, &e.HomeName, &e.RoleID, &e.RoleName, &e.StartedOn,
			&e.EndedOn, &e.EndReason); err != nil {
			return nil, storeErr("read employments", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// currentEmployment returns employment id, locked, refusing one that has ended.
func (s store) currentEmployment(id uuid.UUID) (Employment, error) {
	var ended *time.Time
	err := s.tx.Raw(`SELECT ended_on FROM employments WHERE tenant_id = ? AND id = ? FOR UPDATE`, s.tenant, id).Row().Scan(&ended)
	if errors.Is(err, sql.ErrNoRows) {
		return Employment{}, errs.E(errs.NotFound, MsgNoEmployment)
	}
	if err != nil {
		return Employment{}, storeErr("read employment", err)
	}
	if ended != nil {
		return Employment{}, errs.E(errs.Conflict, "This employment ended on "+showDate(*ended)+" and cannot be changed.")
	}
	list, err := s.employments(`e.id = ?`, id)
	if err != nil {
		return Employment{}, err
	}
	return list[0], nil
}

// checkPlace checks that the home and role exist.
func (s store) checkPlace(home, role uuid.UUID) []errs.FieldError {
	var fe []errs.FieldError
	var n int
	if err := s.tx.Raw(`SELECT count(*) FROM care_homes WHERE tenant_id = ? AND id = ?`, s.tenant, home).Row().Scan(&n); err != nil || n == 0 {
		fe = append(fe, errs.FieldError{Field: "home_id", Message: "Select the home they work at"})
	}
	if err := s.tx.Raw(`SELECT count(*) FROM job_roles WHERE tenant_id = ? AND id = ?`, s.tenant, role).Row().Scan(&n); err != nil || n == 0 {
		fe = append(fe, errs.FieldError{Field: "role_id", Message: "Select their job role"})
	}
	return fe
}
