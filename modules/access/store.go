package access

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// The rows below are the tables as stored. Every query names the tenant in
// its WHERE clause even though row-level security also scopes it: the
// memberships table's own_memberships policy lets the acting account see its
// own memberships of other tenants, so the tenant condition is what keeps
// those out, and it is what the indexes lead with.

// roleRow is the roles table as stored.
type roleRow struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	Key         string
	Name        string
	Description string
	TemplateKey string
	Editable    bool
	CreatedAt   time.Time
}

func (roleRow) TableName() string { return "roles" }

// roleFromRow converts a stored role; permissions and holders are policy's
// and are filled by the service.
func roleFromRow(r roleRow) Role {
	return Role{ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description, TemplateKey: r.TemplateKey,
		Editable: r.Editable, CreatedAt: r.CreatedAt}
}

// invitationRow is the invitations table as stored.
type invitationRow struct {
	TenantID   uuid.UUID
	ID         uuid.UUID
	Email      string
	RoleKey    string
	TokenHash  []byte
	InvitedBy  *uuid.UUID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

func (invitationRow) TableName() string { return "invitations" }

// invitationFromRow converts a stored invitation.
func invitationFromRow(r invitationRow) Invitation {
	inv := Invitation{ID: r.ID, Email: r.Email, RoleKey: r.RoleKey, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		AcceptedAt: r.AcceptedAt, RevokedAt: r.RevokedAt}
	if r.InvitedBy != nil {
		inv.InvitedBy = *r.InvitedBy
	}
	return inv
}

// memberRow is an active membership joined with its account's name and email.
type memberRow struct {
	AccountID uuid.UUID
	Name      string
	Email     string
	CreatedAt time.Time
}

// memberFromRow converts a stored member; roles are policy's and are filled
// by the service.
func memberFromRow(r memberRow) Member {
	return Member{AccountID: r.AccountID, Name: r.Name, Email: r.Email, Since: r.CreatedAt, Roles: []string{}}
}

// store reads and writes one tenant's access tables inside a transaction.
type store struct {
	tx     *gorm.DB
	tenant uuid.UUID
}

func newStore(ctx context.Context, tx *gorm.DB, tenant uuid.UUID) store {
	return store{tx: tx.WithContext(ctx), tenant: tenant}
}

// lock serialises, for the rest of the transaction, the changes of one kind
// (name) in this tenant: membership changes, so two admins cannot remove each
// other at once, and role changes, so two roles cannot take the same name.
func (s store) lock(name string) error {
	if err := s.tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`,
		"access:"+name+":"+s.tenant.String()).Error; err != nil {
		return storeErr("lock "+name, err)
	}
	return nil
}

// Roles.

func (s store) roles() ([]Role, error) {
	var rows []roleRow
	err := s.tx.Where("tenant_id = ?", s.tenant).Order("editable, lower(name)").Find(&rows).Error
	if err != nil {
		return nil, storeErr("list roles", err)
	}
	out := make([]Role, len(rows))
	for i, r := range rows {
		out[i] = roleFromRow(r)
	}
	return out, nil
}

func (s store) role(key string) (Role, error) {
	if !ValidRoleKey(key) {
		return Role{}, errs.E(errs.NotFound, "No such role")
	}
	var r roleRow
	err := s.tx.Where("tenant_id = ? AND key = ?", s.tenant, key).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Role{}, errs.E(errs.NotFound, "No such role")
	}
	if err != nil {
		return Role{}, storeErr("read role", err)
	}
	return roleFromRow(r), nil
}

// insertTemplateRole stores a template role unless the tenant has it already.
func (s store) insertTemplateRole(key, name, description string, now time.Time) error {
	err := s.tx.Exec(`INSERT INTO roles (tenant_id, id, key, name, description, template_key, editable, created_at)
		VALUES (?, ?, ?, ?, ?, ?, false, ?) ON CONFLICT (tenant_id, key) DO NOTHING`,
		s.tenant, uuid.Must(uuid.NewV7()), key, name, description, key, now).Error
	if err != nil {
		return storeErr("insert template role", err)
	}
	return nil
}

func (s store) insertRole(r Role) error {
	row := roleRow{TenantID: s.tenant, ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description,
		TemplateKey: r.TemplateKey, Editable: r.Editable, CreatedAt: r.CreatedAt}
	if err := s.tx.Create(&row).Error; err != nil {
		if _, ok := pg.IsUniqueViolation(err); ok {
			return errs.Validation(errs.FieldError{Field: "name", Message: "A role with this name already exists; choose another name"})
		}
		return storeErr("insert role", err)
	}
	return nil
}

// keyTaken reports whether the tenant has a role with key.
func (s store) keyTaken(key string) (bool, error) {
	var ok bool
	err := s.tx.Raw(`SELECT EXISTS (SELECT 1 FROM roles WHERE tenant_id = ? AND key = ?)`, s.tenant, key).Scan(&ok).Error
	if err != nil {
		return false, storeErr("look up role key", err)
	}
	return ok, nil
}

// nameTaken reports whether another role than exceptKey is called name,
// ignoring case.
func (s store) nameTaken(name, exceptKey string) (bool, error) {
	var ok bool
	err := s.tx.Raw(`SELECT EXISTS (SELECT 1 FROM roles WHERE tenant_id = ? AND lower(name) = lower(?) AND key <> ?)`,
		s.tenant, name, exceptKey).Scan(&ok).Error
	if err != nil {
		return false, storeErr("look up role name", err)
	}
	return ok, nil
}

func (s store) renameRole(key, name string) error {
	res := s.tx.Exec(`UPDATE roles SET name = ? WHERE tenant_id = ? AND key = ? AND editable`, name, s.tenant, key)
	if res.Error != nil {
		return storeErr("rename role", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such role")
	}
	return nil
}

func (s store) deleteRole(key string) error {
	res := s.tx.Exec(`DELETE FROM roles WHERE tenant_id = ? AND key = ? AND editable`, s.tenant, key)
	if res.Error != nil {
		return storeErr("delete role", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such role")
	}
	return nil
}

// Members.

const memberSelect = `SELECT m.account_id, a.name, a.email, m.created_at
	FROM memberships m JOIN accounts a ON a.id = m.account_id
	WHERE m.tenant_id = ? AND m.status = 'active'`

func (s store) members() ([]Member, error) {
	var rows []memberRow
	if err := s.tx.Raw(memberSelect+` ORDER BY lower(coalesce(nullif(a.name, ''), a.email)), a.email`, s.tenant).
		Scan(&rows).Error; err != nil {
		return nil, storeErr("list members", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = memberFromRow(r)
	}
	return out, nil
}

func (s store) member(accountID uuid.UUID) (Member, error) {
	var rows []memberRow
	if err := s.tx.Raw(memberSelect+` AND m.account_id = ?`, s.tenant, accountID).Scan(&rows).Error; err != nil {
		return Member{}, storeErr("read member", err)
	}
	if len(rows) == 0 {
		return Member{}, errs.E(errs.NotFound, "No such member")
	}
	return memberFromRow(rows[0]), nil
}

// activeMember reports whether the account is an active member.
func (s store) activeMember(accountID uuid.UUID) (bool, error) {
	var ok bool
	err := s.tx.Raw(`SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND account_id = ? AND status = 'active')`,
		s.tenant, accountID).Scan(&ok).Error
	if err != nil {
		return false, storeErr("look up membership", err)
	}
	return ok, nil
}

// joinMembership makes the account an active member: a new membership, or a
// removed one made active again (its "since" restarts then).
func (s store) joinMembership(accountID uuid.UUID, now time.Time) error {
	err := s.tx.Exec(`INSERT INTO memberships AS m (tenant_id, id, account_id, status, created_at, updated_at)
		VALUES (?, ?, ?, 'active', ?, ?)
		ON CONFLICT (tenant_id, account_id) DO UPDATE SET
		  status = 'active',
		  created_at = CASE WHEN m.status = 'removed' THEN EXCLUDED.created_at ELSE m.created_at END,
		  updated_at = EXCLUDED.updated_at`,
		s.tenant, uuid.Must(uuid.NewV7()), accountID, now, now).Error
	if err != nil {
		return storeErr("join membership", err)
	}
	return nil
}

func (s store) removeMembership(accountID uuid.UUID, now time.Time) error {
	res := s.tx.Exec(`UPDATE memberships SET status = 'removed', updated_at = ?
		WHERE tenant_id = ? AND account_id = ? AND status = 'active'`, now, s.tenant, accountID)
	if res.Error != nil {
		return storeErr("remove membership", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such member")
	}
	return nil
}

// Invitations.

func (s store) insertInvitation(r invitationRow) error {
	r.TenantID = s.tenant
	if err := s.tx.Create(&r).Error; err != nil {
		return storeErr("insert invitation", err)
	}
	return nil
}

// invitationByHash returns the invitation whose token hashes to hash, in
// whatever state it is.
func (s store) invitationByHash(hash []byte) (Invitation, error) {
	var r invitationRow
	err := s.tx.Where("tenant_id = ? AND token_hash = ?", s.tenant, hash).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Invitation{}, errs.E(errs.NotFound, MsgInvalidInvitation)
	}
	if err != nil {
		return Invitation{}, storeErr("read invitation", err)
	}
	return invitationFromRow(r), nil
}

// claimInvitation marks the pending invitation whose token hashes to hash as
// accepted and returns it. One statement, so two people using the same link
// at once cannot both succeed.
func (s store) claimInvitation(hash []byte, now time.Time) (Invitation, error) {
	var rows []invitationRow
	err := s.tx.Raw(`UPDATE invitations SET accepted_at = ?
		WHERE tenant_id = ? AND token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING *`, now, s.tenant, hash, now).Scan(&rows).Error
	if err != nil {
		return Invitation{}, storeErr("accept invitation", err)
	}
	if len(rows) == 0 {
		return Invitation{}, errs.E(errs.NotFound, MsgInvalidInvitation)
	}
	return invitationFromRow(rows[0]), nil
}

const pendingWhere = `tenant_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?`

func (s store) pendingInvitations(now time.Time) ([]Invitation, error) {
	var rows []invitationRow
	if err := s.tx.Where(pendingWhere, s.tenant, now).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, storeErr("list invitations", err)
	}
	out := make([]Invitation, len(rows))
	for i, r := range rows {
		out[i] = invitationFromRow(r)
	}
	return out, nil
}

// revokeInvitation revokes one pending invitation and returns it.
func (s store) revokeInvitation(id uuid.UUID, now time.Time) (Invitation, error) {
	var rows []invitationRow
	err := s.tx.Raw(`UPDATE invitations SET revoked_at = ? WHERE `+pendingWhere+` AND id = ? RETURNING *`,
		now, s.tenant, now, id).Scan(&rows).Error
	if err != nil {
		return Invitation{}, storeErr("revoke invitation", err)
	}
	if len(rows) == 0 {
		return Invitation{}, errs.E(errs.NotFound, "No such invitation, or it has already been used, revoked or has expired")
	}
	return invitationFromRow(rows[0]), nil
}

// revokePendingFor revokes every pending invitation for email and returns
// how many there were.
func (s store) revokePendingFor(email string, now time.Time) (int64, error) {
	res := s.tx.Exec(`UPDATE invitations SET revoked_at = ? WHERE `+pendingWhere+` AND email = ?`,
		now, s.tenant, now, email)
	if res.Error != nil {
		return 0, storeErr("revoke earlier invitations", res.Error)
	}
	return res.RowsAffected, nil
}

// pendingForRole counts the pending invitations that would give role key.
func (s store) pendingForRole(key string, now time.Time) (int64, error) {
	var n int64
	if err := s.tx.Model(&invitationRow{}).Where(pendingWhere+` AND role_key = ?`, s.tenant, now, key).
		Count(&n).Error; err != nil {
		return 0, storeErr("count invitations", err)
	}
	return n, nil
}

// deleteSpentInvitations deletes the used, revoked and expired invitations
// that name role key, which would otherwise keep the role from being
// deleted. What they did stays in the audit trail.
func (s store) deleteSpentInvitations(key string, now time.Time) error {
	err := s.tx.Exec(`DELETE FROM invitations WHERE tenant_id = ? AND role_key = ?
		AND (accepted_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at <= ?)`, s.tenant, key, now).Error
	if err != nil {
		return storeErr("delete spent invitations", err)
	}
	return nil
}

// activeTenantIDs returns the tenants in which the account is an active
// member. Run it in a platform transaction acting as that account: only the
// own_memberships policy makes the rows visible there.
func activeTenantIDs(ctx context.Context, tx *gorm.DB, accountID uuid.UUID) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	err := tx.WithContext(ctx).Raw(`SELECT tenant_id FROM memberships WHERE account_id = ? AND status = 'active'`,
		accountID).Scan(&ids).Error
	if err != nil {
		return nil, storeErr("list memberships", err)
	}
	return ids, nil
}

// storeErr wraps a driver error with the operation, keeps application
// errors as they are and turns an unreachable database into Unavailable.
func storeErr(op string, err error) error {
	return pg.StoreErr("access", op, err)
}
