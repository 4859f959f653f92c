package carehome

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Holders enrols new staff as holders of the tenant in ctx, inside the
// caller's tenant transaction (auditing it), and returns the new holder's
// id. cmd/carepass adapts *holder.Service.
type Holders interface {
	CreateStaff(ctx context.Context, tx *gorm.DB, givenName, familyName, email string) (uuid.UUID, error)
}

// SharedCompetency is a competency another tenant signed off and shared
// with this one through a live share, which this tenant may recognise as
// its own competency CompetencyID.
type SharedCompetency struct {
	ShareID      uuid.UUID `json:"share_id"`
	RecordID     uuid.UUID `json:"record_id"`     // the issuer's record
	CompetencyID uuid.UUID `json:"competency_id"` // this tenant's competency
	Code         string    `json:"code"`          // this tenant's code
	Title        string    `json:"title"`
	From         string    `json:"from"` // the issuing organisation
	SignedOffAt  time.Time `json:"signed_off_at"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// Recogniser reaches the sharing of passports between tenants: what the
// tenant in ctx could recognise of a holder's shared passport, and the
// recognition itself (an audited record of prior competence, through the
// share's own rule). cmd/carepass adapts *share.Service.
type Recogniser interface {
	Recognisable(ctx context.Context, holderID uuid.UUID) ([]SharedCompetency, error)
	Recognise(ctx context.Context, c SharedCompetency) error
}

// Deps are what the service needs.
type Deps struct {
	DB      *tenants.DB
	Audit   *audit.Log
	Holders Holders    // nil: the import cannot add new people
	Shares  Recogniser // nil: nothing shared is offered for recognition
	// HomesLimit is asked, inside the transaction that would add them,
	// whether the tenant may have adding more homes (a plan's limit);
	// nil: no limit.
	HomesLimit func(ctx context.Context, tx *gorm.DB, adding int) error
}

// Config tunes the service.
type Config struct {
	Now func() time.Time // default time.Now
	// DueWindowDays is how many days before expiry a sign-off is due for
	// update: the passport's own setting (DUE_WINDOW_DAYS).
	DueWindowDays int
}

// Service runs homes, roles, employments and the compliance matrix.
type Service struct {
	db      *tenants.DB
	audit   *audit.Log
	holders Holders
	shares  Recogniser
	limit   func(ctx context.Context, tx *gorm.DB, adding int) error
	now     func() time.Time
	window  int
}

// NewService returns the service.
func NewService(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DueWindowDays <= 0 {
		cfg.DueWindowDays = 60
	}
	return &Service{db: d.DB, audit: d.Audit, holders: d.Holders, shares: d.Shares, limit: d.HomesLimit, now: cfg.Now,
		window: cfg.DueWindowDays}
}

// Now is the service's clock, for pages that show dates relative to it.
func (s *Service) Now() time.Time { return s.now().UTC() }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func scope(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return tenants.Tenant{}, errors.New("carehome: no tenant in context")
	}
	return t, nil
}

func storeErr(op string, err error) error { return pg.StoreErr("carehome", op, err) }

// Messages of errors people see.
const (
	MsgNoHome       = "No home with that reference"
	MsgNoRole       = "No job role with that reference"
	MsgNoEmployment = "No employment with that reference"
	MsgNoStaff      = "No member of staff with that reference"
)

// Setup is the provider's homes and roles with their requirements, and
// the competencies that may be required.
type Setup struct {
	Homes   []Home
	Roles   []Role
	Choices []Competency // published, not person-specific
}

// Setup returns the homes, roles and requirement choices of the tenant in ctx.
func (s *Service) Setup(ctx context.Context) (Setup, error) {
	t, err := scope(ctx)
	if err != nil {
		return Setup{}, err
	}
	var out Setup
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := store{tx: tx, tenant: t.ID}
		if out.Homes, out.Roles, err = st.homesAndRoles(); err != nil {
			return err
		}
		out.Choices, err = st.choices()
		return err
	})
	return out, err
}

// CountHomes counts the homes of tenant inside tx (scoped to it): the
// usage of a plan's limit on care settings.
func CountHomes(ctx context.Context, tx *gorm.DB, tenant uuid.UUID) (int, error) {
	var n int64
	if err := tx.WithContext(ctx).Raw(`SELECT count(*) FROM care_homes WHERE tenant_id = ?`, tenant).Scan(&n).Error; err != nil {
		return 0, storeErr("count homes", err)
	}
	return int(n), nil
}

// AddHome adds a home; a plan's limit on homes (Deps.HomesLimit) is asked
// first.
func (s *Service) AddHome(ctx context.Context, name string) (Home, error) {
	t, err := scope(ctx)
	if err != nil {
		return Home{}, err
	}
	name, ok := cleanName(name)
	if !ok {
		return Home{}, errs.Validation(errs.FieldError{Field: "home_name", Message: "Enter the home's name, 120 characters or fewer"})
	}
	h := Home{ID: newID(), Name: name}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if s.limit != nil {
			if err := s.limit(ctx, tx, 1); err != nil {
				return err
			}
		}
		err := tx.Exec(`INSERT INTO care_homes (tenant_id, id, name, created_at) VALUES (?, ?, ?, ?)`, t.ID, h.ID, name, s.Now()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "home_name", Message: "There is already a home called " + name})
		}
		if err != nil {
			return storeErr("add home", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.home.create", ObjectType: "care_home", ObjectID: h.ID.String(),
			Detail: map[string]string{"name": name}})
	})
	return h, err
}

// AddRole adds a job role.
func (s *Service) AddRole(ctx context.Context, name string) (Role, error) {
	t, err := scope(ctx)
	if err != nil {
		return Role{}, err
	}
	name, ok := cleanName(name)
	if !ok {
		return Role{}, errs.Validation(errs.FieldError{Field: "role_name", Message: "Enter the role's name, 120 characters or fewer"})
	}
	r := Role{ID: newID(), Name: name}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO job_roles (tenant_id, id, name, created_at) VALUES (?, ?, ?, ?)`, t.ID, r.ID, name, s.Now()).Error
		if _, dup := pg.IsUniqueViolation(err); dup {
			return errs.Validation(errs.FieldError{Field: "role_name", Message: "There is already a role called " + name})
		}
		if err != nil {
			return storeErr("add role", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.role.create", ObjectType: "job_role", ObjectID: r.ID.String(),
			Detail: map[string]string{"name": name}})
	})
	return r, err
}

// SetRoleRequirements replaces what role id requires with competencies,
// which must be published, general competencies of the tenant.
func (s *Service) SetRoleRequirements(ctx context.Context, id uuid.UUID, competencies []uuid.UUID) error {
	return s.setRequirements(ctx, "role_requirements", "role_id", "job_roles", MsgNoRole, "carehome.role.requirements", id, competencies)
}

// SetHomeAdditions replaces what everyone at home id must hold in
// addition to their role's requirements.
func (s *Service) SetHomeAdditions(ctx context.Context, id uuid.UUID, competencies []uuid.UUID) error {
	return s.setRequirements(ctx, "home_requirements", "home_id", "care_homes", MsgNoHome, "carehome.home.requirements", id, competencies)
}

func (s *Service) setRequirements(ctx context.Context, table, column, owner, notFound, action string, id uuid.UUID, comps []uuid.UUID) error {
	t, err := scope(ctx)
	if err != nil {
		return err
	}
	comps = uniq(comps)
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var n int
		if err := tx.Raw(`SELECT count(*) FROM `+owner+` WHERE tenant_id = ? AND id = ?`, t.ID, id).Row().Scan(&n); err != nil {
			return storeErr("read owner", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, notFound)
		}
		if len(comps) > 0 {
			if err := tx.Raw(`SELECT count(*) FROM competencies c JOIN catalogues cat ON cat.tenant_id = c.tenant_id AND cat.id = c.catalogue_id
				WHERE c.tenant_id = ? AND c.id IN ? AND cat.status = 'published' AND c.specificity <> 'person'`, t.ID, comps).Row().Scan(&n); err != nil {
				return storeErr("check competencies", err)
			}
			if n != len(comps) {
				return errs.Validation(errs.FieldError{Field: "competency_ids",
					Message: "Choose competencies from the organisation's published catalogues that are not tied to one person's care"})
			}
		}
		if err := tx.Exec(`DELETE FROM `+table+` WHERE tenant_id = ? AND `+column+` = ?`, t.ID, id).Error; err != nil {
			return storeErr("clear requirements", err)
		}
		for _, c := range comps {
			if err := tx.Exec(`INSERT INTO `+table+` (tenant_id, `+column+`, competency_id) VALUES (?, ?, ?)`, t.ID, id, c).Error; err != nil {
				return storeErr("add requirement", err)
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: owner, ObjectID: id.String(),
			Detail: map[string]string{"competencies": fmt.Sprint(len(comps))}})
	})
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Staff is one holder as the compliance pages know them: their
// employments, newest first, and what of a shared passport could be
// recognised.
type Staff struct {
	HolderID    uuid.UUID
	Name        string
	Email       string
	Employments []Employment
	Shared      []SharedCompetency
}

// Current returns the current employment, if any.
func (s Staff) Current() *Employment {
	for i := range s.Employments {
		if s.Employments[i].Current() {
			return &s.Employments[i]
		}
	}
	return nil
}

// StaffMember returns holder id's employments and the shared competencies
// the tenant could recognise for them (which the sharing side audits as a
// passport read). The read of the employments is audited.
func (s *Service) StaffMember(ctx context.Context, id uuid.UUID) (Staff, error) {
	t, err := scope(ctx)
	if err != nil {
		return Staff{}, err
	}
	out := Staff{HolderID: id}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Raw(`SELECT given_name || ' ' || family_name, email FROM holders WHERE tenant_id = ? AND id = ?`, t.ID, id).
			Row().Scan(&out.Name, &out.Email)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, MsgNoStaff)
		}
		if err != nil {
			return storeErr("read holder", err)
		}
		if out.Employments, err = (store{tx: tx, tenant: t.ID}).employments(`e.holder_id = ?`, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.staff.read", ObjectType: "holder", ObjectID: id.String()})
	})
	if err != nil {
		return Staff{}, err
	}
	out.Shared, err = s.Recognisable(ctx, id)
	return out, err
}

// Recognisable returns what of holder id's shared passport the tenant
// could recognise and does not yet hold as current: one entry per own
// competency, the latest sign-off first.
func (s *Service) Recognisable(ctx context.Context, holderID uuid.UUID) ([]SharedCompetency, error) {
	t, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var n int
		if err := tx.Raw(`SELECT count(*) FROM holders WHERE tenant_id = ? AND id = ?`, t.ID, holderID).Row().Scan(&n); err != nil {
			return storeErr("read holder", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, MsgNoStaff)
		}
		return nil
	})
	if err != nil || s.shares == nil {
		return nil, err
	}
	list, err := s.shares.Recognisable(ctx, holderID)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	held := map[uuid.UUID]bool{}
	now := s.Now()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT r.competency_id, r.signed_off_at, c.reassess_months, r.reassessment_required
			FROM competency_records r JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id
			WHERE r.tenant_id = ? AND r.holder_id = ? AND r.state = 'competent' AND r.signed_off_at IS NOT NULL`, t.ID, holderID).Rows()
		if err != nil {
			return storeErr("read own records", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id       uuid.UUID
				at       time.Time
				months   int
				reassess bool
			)
			if err := rows.Scan(&id, &at, &months, &reassess); err != nil {
				return storeErr("read own records", err)
			}
			if st, _ := Derive(at, months, reassess, now, s.window); statusOf(st).Compliant() {
				held[id] = true
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var out []SharedCompetency
	seen := map[uuid.UUID]bool{}
	for _, c := range list {
		if held[c.CompetencyID] || seen[c.CompetencyID] || !now.Before(c.ExpiresAt) {
			continue
		}
		seen[c.CompetencyID] = true
		out = append(out, c)
	}
	return out, nil
}

// RecogniseShared recognises every shared competency the tenant could
// recognise for holder id (see Recognisable), each through the share's
// own rule and audit, and returns how many were recognised.
func (s *Service) RecogniseShared(ctx context.Context, holderID uuid.UUID) (int, error) {
	list, err := s.Recognisable(ctx, holderID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range list {
		if err := s.shares.Recognise(ctx, c); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// StartInput starts an employment.
type StartInput struct {
	HolderID  uuid.UUID
	HomeID    uuid.UUID
	RoleID    uuid.UUID
	StartedOn string // YYYY-MM-DD
}

// Start employs holder in.HolderID at a home in a role. A holder has at
// most one current employment: moving is a Change.
func (s *Service) Start(ctx context.Context, in StartInput) (Employment, error) {
	t, err := scope(ctx)
	if err != nil {
		return Employment{}, err
	}
	var fe []errs.FieldError
	start, ok := ParseDate(in.StartedOn)
	if !ok {
		fe = append(fe, errs.FieldError{Field: "started_on", Message: "Enter the start date as a real date, like 2027-03-01"})
	}
	var out Employment
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := store{tx: tx, tenant: t.ID}
		var n int
		if err := tx.Raw(`SELECT count(*) FROM holders WHERE tenant_id = ? AND id = ?`, t.ID, in.HolderID).Row().Scan(&n); err != nil {
			return storeErr("read holder", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, MsgNoStaff)
		}
		fe = append(fe, st.checkPlace(in.HomeID, in.RoleID)...)
		if len(fe) > 0 {
			return errs.Validation(fe...)
		}
		id, err := s.start(ctx, tx, t.ID, in.HolderID, in.HomeID, in.RoleID, start)
		if err != nil {
			return err
		}
		list, err := st.employments(`e.id = ?`, id)
		if err != nil {
			return err
		}
		out = list[0]
		return nil
	})
	return out, err
}

// start inserts an employment and audits it.
func (s *Service) start(ctx context.Context, tx *gorm.DB, tenant, holder, home, role uuid.UUID, start time.Time) (uuid.UUID, error) {
	id, now := newID(), s.Now()
	err := tx.Exec(`INSERT INTO employments (tenant_id, id, holder_id, home_id, role_id, started_on, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenant, id, holder, home, role, start, now, now).Error
	if _, dup := pg.IsUniqueViolation(err); dup {
		return uuid.Nil, errs.E(errs.Conflict, "This person is already employed here. Change their home or role, or end that employment first.")
	}
	if err != nil {
		return uuid.Nil, storeErr("start employment", err)
	}
	return id, s.audit.Record(ctx, tx, audit.Event{Action: "carehome.employment.start", ObjectType: "employment", ObjectID: id.String(),
		Detail: map[string]string{"holder": holder.String(), "home": home.String(), "role": role.String(),
			"started_on": start.Format(time.DateOnly)}})
}

// ChangeInput moves a current employment to another home or role.
type ChangeInput struct {
	HomeID uuid.UUID
	RoleID uuid.UUID
}

// Change moves current employment id to another home or role, auditing
// where from and where to.
func (s *Service) Change(ctx context.Context, id uuid.UUID, in ChangeInput) (Employment, error) {
	t, err := scope(ctx)
	if err != nil {
		return Employment{}, err
	}
	var out Employment
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := store{tx: tx, tenant: t.ID}
		cur, err := st.currentEmployment(id)
		if err != nil {
			return err
		}
		if fe := st.checkPlace(in.HomeID, in.RoleID); len(fe) > 0 {
			return errs.Validation(fe...)
		}
		if cur.HomeID == in.HomeID && cur.RoleID == in.RoleID {
			return errs.Validation(errs.FieldError{Field: "home_id", Message: "Choose a different home or role"})
		}
		if err := tx.Exec(`UPDATE employments SET home_id = ?, role_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			in.HomeID, in.RoleID, s.Now(), t.ID, id).Error; err != nil {
			return storeErr("change employment", err)
		}
		list, err := st.employments(`e.id = ?`, id)
		if err != nil {
			return err
		}
		out = list[0]
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.employment.change", ObjectType: "employment", ObjectID: id.String(),
			Detail: map[string]string{"holder": cur.HolderID.String(), "from_home": cur.HomeName, "to_home": out.HomeName,
				"from_role": cur.RoleName, "to_role": out.RoleName}})
	})
	return out, err
}

// EndInput ends an employment: the person leaves.
type EndInput struct {
	EndedOn string // YYYY-MM-DD
	Reason  string
}

// End ends current employment id on a date with a reason. The employment,
// the holder and their passport are kept; the person leaves the matrix.
func (s *Service) End(ctx context.Context, id uuid.UUID, in EndInput) (Employment, error) {
	t, err := scope(ctx)
	if err != nil {
		return Employment{}, err
	}
	var fe []errs.FieldError
	end, ok := ParseDate(in.EndedOn)
	if !ok {
		fe = append(fe, errs.FieldError{Field: "ended_on", Message: "Enter the leaving date as a real date, like 2027-03-31"})
	}
	reason, rok := cleanReason(in.Reason)
	if !rok {
		fe = append(fe, errs.FieldError{Field: "reason", Message: "Enter why they left, 300 characters or fewer"})
	}
	var out Employment
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := store{tx: tx, tenant: t.ID}
		cur, err := st.currentEmployment(id)
		if err != nil {
			return err
		}
		if ok && end.Before(cur.StartedOn) {
			fe = append(fe, errs.FieldError{Field: "ended_on", Message: "The leaving date must be on or after the start date, " + showDate(cur.StartedOn)})
		}
		if len(fe) > 0 {
			return errs.Validation(fe...)
		}
		if err := tx.Exec(`UPDATE employments SET ended_on = ?, end_reason = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			end, reason, s.Now(), t.ID, id).Error; err != nil {
			return storeErr("end employment", err)
		}
		list, err := st.employments(`e.id = ?`, id)
		if err != nil {
			return err
		}
		out = list[0]
		return s.audit.Record(ctx, tx, audit.Event{Action: "carehome.employment.end", ObjectType: "employment", ObjectID: id.String(),
			Detail: map[string]string{"holder": cur.HolderID.String(), "ended_on": end.Format(time.DateOnly), "reason": reason}})
	})
	return out, err
}

func cleanReason(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	return s, s != "" && len([]rune(s)) <= maxReason
}
