package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Accounts is what this package needs of the platform's accounts;
// *account.Service provides it.
type Accounts interface {
	Create(ctx context.Context, tx *gorm.DB, email, name, password string) (account.Account, error)
	ByEmail(ctx context.Context, tx *gorm.DB, email string) (account.Account, error)
	ByID(ctx context.Context, tx *gorm.DB, id uuid.UUID) (account.Account, error)
	StartSession(ctx context.Context, tx *gorm.DB, accountID uuid.UUID, cl account.Client) (string, error)
	SignIn(ctx context.Context, email, password string, cl account.Client) (string, account.Account, error)
}

// Invalidator drops a tenant's cached policy once a change has committed;
// *policy.Enforcers provides it.
type Invalidator interface {
	Invalidate(domain string)
}

// Service runs the use cases of members, roles and invitations. Each use
// case is one transaction scoped to the tenant in the context, with its
// audit event written in the same transaction.
type Service struct {
	db        *tenants.DB
	tenants   *tenants.Store
	accounts  Accounts
	audit     *audit.Log
	policy    Invalidator
	now       func() time.Time
	publicURL string
	seats     Seats
}

// Seats is asked, inside the transaction that would add them, whether the
// tenant in ctx may have adding more active members; it returns an error
// saying why not (a plan's limit, say) or nil.
type Seats func(ctx context.Context, tx *gorm.DB, adding int) error

// WithSeats has every invitation and every new membership checked against
// seats first.
func WithSeats(seats Seats) Option { return func(s *Service) { s.seats = seats } }

// allowSeat asks Seats, if set, whether one more member fits.
func (s *Service) allowSeat(ctx context.Context, tx *gorm.DB) error {
	if s.seats == nil {
		return nil
	}
	return s.seats(ctx, tx, 1)
}

// Option configures a Service.
type Option func(*Service)

// WithPublicURL sets the scheme and host of links people open from outside
// the app, such as invitation links ("https://carepass.example"). Without
// it, links use the address of the request that made them.
func WithPublicURL(u string) Option {
	return func(s *Service) { s.publicURL = strings.TrimRight(u, "/") }
}

// NewService returns a Service. cache drops a tenant's cached policy after
// each committed change (nil when nothing caches policy); now is the clock,
// time.Now when nil.
func NewService(db *tenants.DB, store *tenants.Store, accounts Accounts, log *audit.Log, cache Invalidator,
	now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: db, tenants: store, accounts: accounts, audit: log, policy: cache, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time in UTC at the database's precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// errNoTenant is the cause when a use case runs without a tenant in ctx.
var errNoTenant = errors.New("access: no tenant in context")

// tenantOf returns the tenant in ctx; without one the caller is miswired.
func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errNoTenant)
	}
	return t, nil
}

// writable refuses changes to a suspended tenant.
func writable(t tenants.Tenant) error {
	if t.Suspended() {
		return errs.E(errs.ReadOnly, t.Name+" is suspended on Carepass. Nothing can be changed until it is resumed.")
	}
	return nil
}

// change runs fn in a tenant transaction and, once it has committed, drops
// the tenant's cached policy so the change applies to the next request.
func (s *Service) change(ctx context.Context, fn func(tx *gorm.DB, t tenants.Tenant) error) error {
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	if err := writable(t); err != nil {
		return err
	}
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error { return fn(tx, t) }); err != nil {
		return err
	}
	if s.policy != nil {
		s.policy.Invalidate(t.ID.String())
	}
	return nil
}

// read runs fn in a tenant transaction.
func (s *Service) read(ctx context.Context, fn func(tx *gorm.DB, t tenants.Tenant) error) error {
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error { return fn(tx, t) })
}

// TenantsOf returns the tenants in which the account is an active member,
// ordered by name. It reads in a platform transaction acting as the account,
// where row-level security shows the account its own memberships only.
func (s *Service) TenantsOf(ctx context.Context, accountID uuid.UUID) ([]tenants.Tenant, error) {
	if accountID == uuid.Nil {
		return nil, nil
	}
	ctx = tenants.WithActor(ctx, accountID)
	var ids []uuid.UUID
	err := s.db.Platform(ctx, func(tx *gorm.DB) (err error) {
		ids, err = activeTenantIDs(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	list, err := s.tenants.ByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("access: tenants of account: %w", err)
	}
	return list, nil
}

// SetUpRoles gives the tenant in ctx the template roles of kind: one
// read-only roles row per template and the templates' permissions. It runs
// inside the provisioning transaction tx, which audits the provisioning as
// a whole, and is safe to run again.
func (s *Service) SetUpRoles(ctx context.Context, tx *gorm.DB, kind tenants.Kind) error {
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	templates := policy.Templates(kind)
	if len(templates) == 0 {
		return errs.E(errs.Invalid, "That kind of organisation is not known")
	}
	st := newStore(ctx, tx, t.ID)
	now := s.clock()
	for _, rt := range templates {
		if err := st.insertTemplateRole(rt.Key, rt.Name, rt.Description, now); err != nil {
			return err
		}
	}
	if err := policy.ApplyTemplates(ctx, tx, t.ID.String(), kind); err != nil {
		return fmt.Errorf("access: set up roles: %w", err)
	}
	return nil
}

// Members.

// Members returns the active members of the tenant in ctx with their roles.
func (s *Service) Members(ctx context.Context) ([]Member, error) {
	var out []Member
	err := s.read(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		members, err := st.members()
		if err != nil {
			return err
		}
		byAccount, err := policy.Assignments(ctx, tx, t.ID.String())
		if err != nil {
			return fmt.Errorf("access: members: %w", err)
		}
		for i := range members {
			members[i].Roles = byAccount[members[i].AccountID.String()]
		}
		out = members
		return nil
	})
	return out, err
}

// Member returns one active member of the tenant in ctx, or NotFound.
func (s *Service) Member(ctx context.Context, accountID uuid.UUID) (Member, error) {
	var m Member
	err := s.read(ctx, func(tx *gorm.DB, t tenants.Tenant) (err error) {
		m, err = s.member(ctx, tx, t, accountID)
		return err
	})
	return m, err
}

func (s *Service) member(ctx context.Context, tx *gorm.DB, t tenants.Tenant, accountID uuid.UUID) (Member, error) {
	m, err := newStore(ctx, tx, t.ID).member(accountID)
	if err != nil {
		return Member{}, err
	}
	roles, err := policy.RolesOf(ctx, tx, t.ID.String(), accountID.String())
	if err != nil {
		return Member{}, fmt.Errorf("access: member roles: %w", err)
	}
	m.Roles = roles
	return m, nil
}

// SetMemberRoles replaces the roles of a member of the tenant in ctx. A
// member keeps at least one role; the last holder of the kind's admin role
// keeps it; and no one may give a role whose permissions they do not hold.
// The change is audited as member.roles_change with the roles before and after.
func (s *Service) SetMemberRoles(ctx context.Context, accountID uuid.UUID, roleKeys []string) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("members"); err != nil {
			return err
		}
		m, err := s.member(ctx, tx, t, accountID)
		if err != nil {
			return err
		}
		after, err := s.checkRoleKeys(st, roleKeys)
		if err != nil {
			return err
		}
		if len(after) == 0 {
			return errs.Validation(errs.FieldError{Field: "roles", Message: "Select at least one role. To take away all access, remove the member instead."})
		}
		domain, subject := t.ID.String(), accountID.String()
		var added, removed []string
		for _, k := range after {
			if !slices.Contains(m.Roles, k) {
				added = append(added, k)
			}
		}
		for _, k := range m.Roles {
			if !slices.Contains(after, k) {
				removed = append(removed, k)
			}
		}
		if len(added) == 0 && len(removed) == 0 {
			return nil
		}
		if err := s.checkLastAdmin(ctx, tx, t, accountID, removed); err != nil {
			return err
		}
		if err := s.checkCanGive(ctx, tx, t, st, added, "roles"); err != nil {
			return err
		}
		for _, k := range added {
			if err := policy.AssignRole(ctx, tx, domain, subject, k); err != nil {
				return fmt.Errorf("access: assign role: %w", err)
			}
		}
		for _, k := range removed {
			if err := policy.UnassignRole(ctx, tx, domain, subject, k); err != nil {
				return fmt.Errorf("access: unassign role: %w", err)
			}
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "member.roles_change", ObjectType: "account", ObjectID: subject,
			Detail: map[string]string{"before": strings.Join(m.Roles, ","), "after": strings.Join(after, ",")}})
	})
}

// RemoveMember ends an account's membership of the tenant in ctx and takes
// away every role it held there. The last holder of the admin role cannot be
// removed. Audited as member.remove.
func (s *Service) RemoveMember(ctx context.Context, accountID uuid.UUID) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("members"); err != nil {
			return err
		}
		m, err := s.member(ctx, tx, t, accountID)
		if err != nil {
			return err
		}
		if err := s.checkLastAdmin(ctx, tx, t, accountID, m.Roles); err != nil {
			return err
		}
		if err := st.removeMembership(accountID, s.clock()); err != nil {
			return err
		}
		if err := policy.RemoveSubject(ctx, tx, t.ID.String(), accountID.String()); err != nil {
			return fmt.Errorf("access: remove member: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "member.remove", ObjectType: "account", ObjectID: accountID.String(),
			Detail: map[string]string{"email": m.Email, "roles": strings.Join(m.Roles, ",")}})
	})
}

// AddMember makes an account an active member of the tenant in ctx with
// role roleKey, in addition to any roles it holds, without an invitation.
// It is for set-up from the command line (seeding, operators); people join
// through invitations. Adding what is already there changes nothing;
// otherwise the change is audited as member.add.
func (s *Service) AddMember(ctx context.Context, accountID uuid.UUID, roleKey string) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("members"); err != nil {
			return err
		}
		if _, err := st.role(roleKey); err != nil {
			return err
		}
		if _, err := s.accounts.ByID(ctx, tx, accountID); err != nil {
			return err
		}
		member, err := st.activeMember(accountID)
		if err != nil {
			return err
		}
		domain, subject := t.ID.String(), accountID.String()
		held, err := policy.RolesOf(ctx, tx, domain, subject)
		if err != nil {
			return fmt.Errorf("access: add member: %w", err)
		}
		if member && slices.Contains(held, roleKey) {
			return nil
		}
		if !member {
			if err := s.allowSeat(ctx, tx); err != nil {
				return err
			}
			if err := st.joinMembership(accountID, s.clock()); err != nil {
				return err
			}
		}
		if err := policy.AssignRole(ctx, tx, domain, subject, roleKey); err != nil {
			return fmt.Errorf("access: add member: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "member.add", ObjectType: "account", ObjectID: subject,
			Detail: map[string]string{"role": roleKey}})
	})
}

// checkLastAdmin refuses to take the kind's admin role (among removing)
// from the account when no other member holds it.
func (s *Service) checkLastAdmin(ctx context.Context, tx *gorm.DB, t tenants.Tenant, accountID uuid.UUID, removing []string) error {
	admin := policy.AdminRole(t.Kind)
	if admin == "" || !slices.Contains(removing, admin) {
		return nil
	}
	holders, err := policy.SubjectsWithRole(ctx, tx, t.ID.String(), admin)
	if err != nil {
		return fmt.Errorf("access: admin holders: %w", err)
	}
	others := slices.DeleteFunc(holders, func(h string) bool { return h == accountID.String() })
	if len(others) == 0 {
		name := admin
		if r, err := newStore(ctx, tx, t.ID).role(admin); err == nil {
			name = r.Name
		}
		return errs.E(errs.Conflict, "This is the only person with the "+name+" role, so the organisation would have no one "+
			"to manage it. Give the role to someone else first.")
	}
	return nil
}

// checkRoleKeys checks every key names a role of the tenant and returns the
// keys sorted and without duplicates.
func (s *Service) checkRoleKeys(st store, keys []string) ([]string, error) {
	roles, err := st.roles()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, k := range keys {
		if !slices.ContainsFunc(roles, func(r Role) bool { return r.Key == k }) {
			return nil, errs.Validation(errs.FieldError{Field: "roles", Message: "Select roles from the list"})
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

// actorPermissions returns every permission the acting account holds in the
// tenant through its roles. Without an actor (set-up from the command line)
// it returns nil and false.
func actorPermissions(ctx context.Context, tx *gorm.DB, t tenants.Tenant) (map[policy.Permission]bool, bool, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return nil, false, nil
	}
	domain := t.ID.String()
	roles, err := policy.RolesOf(ctx, tx, domain, actor.String())
	if err != nil {
		return nil, false, fmt.Errorf("access: actor roles: %w", err)
	}
	held := map[policy.Permission]bool{}
	for _, r := range roles {
		ps, err := policy.PermissionsOf(ctx, tx, domain, r)
		if err != nil {
			return nil, false, fmt.Errorf("access: actor permissions: %w", err)
		}
		for _, p := range ps {
			held[p] = true
		}
	}
	return held, true, nil
}

// checkCanGive refuses to give roles that hold a permission the acting
// account does not hold itself, so no one can raise anyone's access, their
// own included, above their own.
func (s *Service) checkCanGive(ctx context.Context, tx *gorm.DB, t tenants.Tenant, st store, roleKeys []string, field string) error {
	if len(roleKeys) == 0 {
		return nil
	}
	held, ok, err := actorPermissions(ctx, tx, t)
	if err != nil || !ok {
		return err
	}
	var names []string
	for _, k := range roleKeys {
		ps, err := policy.PermissionsOf(ctx, tx, t.ID.String(), k)
		if err != nil {
			return fmt.Errorf("access: role permissions: %w", err)
		}
		for _, p := range ps {
			if !held[p] {
				r, err := st.role(k)
				if err != nil {
					return err
				}
				names = append(names, r.Name)
				break
			}
		}
	}
	if len(names) > 0 {
		return errs.Validation(errs.FieldError{Field: field, Message: "You cannot give a role that can do more than you can: " +
			strings.Join(names, ", ")})
	}
	return nil
}

// Invitations.

// Invite creates an invitation to join the tenant in ctx with role roleKey,
// inside tx, and returns its token: the only copy, to be shown once to the
// inviter. The inviter is the actor in ctx, if any. An earlier pending invitation
// for the same email is revoked, since its link can no longer be shown.
// Audited as member.invite. Provisioning calls it to invite a new tenant's
// first administrator; the members pages use InviteMember, which adds the
// rules that apply to members.
func (s *Service) Invite(ctx context.Context, tx *gorm.DB, email, roleKey string) (string, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return "", err
	}
	if err := writable(t); err != nil {
		return "", err
	}
	// No actor means the platform's own command line (tenant provisioning).
	var invitedBy *uuid.UUID
	if inviter, ok := tenants.ActorFrom(ctx); ok {
		invitedBy = &inviter
	}
	st := newStore(ctx, tx, t.ID)
	var fe []errs.FieldError
	norm := account.NormaliseEmail(email)
	if norm == "" {
		fe = append(fe, errs.FieldError{Field: "email", Message: "Enter an email address in the correct format, like name@example.org"})
	}
	role, err := st.role(roleKey)
	switch {
	case roleKey == "":
		fe = append(fe, errs.FieldError{Field: "role", Message: "Select a role"})
	case errs.Is(err, errs.NotFound):
		fe = append(fe, errs.FieldError{Field: "role", Message: "Select a role from the list"})
	case err != nil:
		return "", err
	}
	if len(fe) > 0 {
		return "", errs.Validation(fe...)
	}
	existing, err := s.accounts.ByEmail(ctx, tx, norm)
	switch {
	case err == nil:
		member, err := st.activeMember(existing.ID)
		if err != nil {
			return "", err
		}
		if member {
			return "", errs.Validation(errs.FieldError{Field: "email", Message: norm + " is already a member of " + t.Name +
				". To change what they can do, change their roles instead."})
		}
	case !errs.Is(err, errs.NotFound):
		return "", fmt.Errorf("access: invite: %w", err)
	}
	now := s.clock()
	replaced, err := st.revokePendingFor(norm, now)
	if err != nil {
		return "", err
	}
	token := account.NewToken()
	row := invitationRow{ID: uuid.Must(uuid.NewV7()), Email: norm, RoleKey: role.Key, TokenHash: account.HashToken(token),
		InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if err := st.insertInvitation(row); err != nil {
		return "", err
	}
	detail := map[string]string{"email": norm, "role": role.Key, "expires_at": row.ExpiresAt.Format(time.RFC3339)}
	if replaced > 0 {
		detail["replaced"] = strconv.FormatInt(replaced, 10)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "member.invite", ObjectType: "invitation", ObjectID: row.ID.String(),
		Detail: detail}); err != nil {
		return "", err
	}
	return token, nil
}

// InviteMember is Invite as the members page's use case, in a transaction
// of its own: a member may only invite with a role whose permissions they
// hold themselves. It returns the invitation and its token.
func (s *Service) InviteMember(ctx context.Context, email, roleKey string) (Invitation, string, error) {
	var (
		token string
		inv   Invitation
	)
	err := s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) (err error) {
		if err := s.allowSeat(ctx, tx); err != nil {
			return err
		}
		if token, err = s.Invite(ctx, tx, email, roleKey); err != nil {
			return err
		}
		st := newStore(ctx, tx, t.ID)
		if inv, err = st.invitationByHash(account.HashToken(token)); err != nil {
			return err
		}
		return s.checkCanGive(ctx, tx, t, st, []string{inv.RoleKey}, "role")
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

// PendingInvitations returns the tenant's invitations that can still be
// accepted, newest first.
func (s *Service) PendingInvitations(ctx context.Context) ([]Invitation, error) {
	var out []Invitation
	err := s.read(ctx, func(tx *gorm.DB, t tenants.Tenant) (err error) {
		out, err = newStore(ctx, tx, t.ID).pendingInvitations(s.clock())
		return err
	})
	return out, err
}

// RevokeInvitation revokes a pending invitation so its link stops working.
// Audited as member.invite_revoke.
func (s *Service) RevokeInvitation(ctx context.Context, id uuid.UUID) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		inv, err := newStore(ctx, tx, t.ID).revokeInvitation(id, s.clock())
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "member.invite_revoke", ObjectType: "invitation", ObjectID: inv.ID.String(),
			Detail: map[string]string{"email": inv.Email, "role": inv.RoleKey}})
	})
}

// Invitation returns the pending invitation with token for the person
// invited, with what they must do to accept it. The tenant is the one in
// ctx; the actor, if any, is whoever is signed in on this browser. Every
// link that cannot be used is the same NotFound, MsgInvalidInvitation.
func (s *Service) Invitation(ctx context.Context, token string) (Join, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Join{}, err
	}
	if err := joinable(t); err != nil {
		return Join{}, err
	}
	var j Join
	err = s.db.Tx(ctx, func(tx *gorm.DB) (err error) {
		j, err = s.join(ctx, tx, t, token)
		return err
	})
	return j, err
}

// joinable refuses invitations to a suspended tenant.
func joinable(t tenants.Tenant) error {
	if t.Suspended() {
		return errs.E(errs.ReadOnly, t.Name+" is suspended on Carepass, so no one can join it at the moment. "+
			"Try the link again once it has been resumed, or ask for a new one.")
	}
	return nil
}

// join reads the invitation for token and decides the join mode.
func (s *Service) join(ctx context.Context, tx *gorm.DB, t tenants.Tenant, token string) (Join, error) {
	if token == "" {
		return Join{}, errs.E(errs.NotFound, MsgInvalidInvitation)
	}
	st := newStore(ctx, tx, t.ID)
	inv, err := st.invitationByHash(account.HashToken(token))
	if err != nil {
		return Join{}, err
	}
	if inv.Status(s.clock()) != InvitationPending {
		return Join{}, errs.E(errs.NotFound, MsgInvalidInvitation)
	}
	role, err := st.role(inv.RoleKey)
	if err != nil {
		return Join{}, err
	}
	j := Join{Invitation: inv, TenantName: t.Name, RoleName: role.Name, Mode: JoinNewAccount}
	acct, err := s.accounts.ByEmail(ctx, tx, inv.Email)
	switch {
	case errs.Is(err, errs.NotFound):
		return j, nil
	case err != nil:
		return Join{}, fmt.Errorf("access: invitation account: %w", err)
	}
	j.Mode = JoinExistingAccount
	if actor, ok := tenants.ActorFrom(ctx); ok && actor == acct.ID {
		j.Mode = JoinSignedIn
	}
	return j, nil
}

// Accept accepts the invitation with token to the tenant in ctx. Depending
// on the join mode it creates the account, checks the existing account's
// password, or uses the signed-in account; then, in one transaction, it
// makes the account an active member, gives it the invited role, marks the
// invitation accepted and audits member.join. It returns a new session token
// for the account, or "" when the browser is already signed in as it.
func (s *Service) Accept(ctx context.Context, token string, in AcceptInput, cl account.Client) (string, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return "", err
	}
	if err := joinable(t); err != nil {
		return "", err
	}
	j, err := s.Invitation(ctx, token)
	if err != nil {
		return "", err
	}
	if err := in.validate(j.Mode); err != nil {
		return "", err
	}
	var session string
	if j.Mode == JoinExistingAccount {
		// Signing in checks the password under the account package's
		// throttling and starts the session.
		session, _, err = s.accounts.SignIn(ctx, j.Invitation.Email, in.Password, cl)
		if errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.TooMany) {
			return "", errs.Validation(errs.FieldError{Field: "password", Message: account.ErrSignIn})
		}
		if err != nil {
			return "", fmt.Errorf("access: accept: %w", err)
		}
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := newStore(ctx, tx, t.ID)
		inv, err := st.claimInvitation(account.HashToken(token), s.clock())
		if err != nil {
			return err
		}
		var acct account.Account
		switch j.Mode {
		case JoinNewAccount:
			acct, err = s.accounts.Create(ctx, tx, inv.Email, strings.TrimSpace(in.Name), in.Password)
			if errs.Is(err, errs.Invalid) && errs.FieldsOf(err) != nil && slices.ContainsFunc(errs.FieldsOf(err),
				func(f errs.FieldError) bool { return f.Field == "email" }) {
				// Someone made an account with this email since the form was shown.
				return errs.E(errs.Conflict, "An account with this email address now exists. Open the invitation link again to join with it.")
			}
		default:
			acct, err = s.accounts.ByEmail(ctx, tx, inv.Email)
			if err == nil && j.Mode == JoinSignedIn {
				if actor, ok := tenants.ActorFrom(ctx); !ok || actor != acct.ID {
					return errs.E(errs.NotFound, MsgInvalidInvitation)
				}
			}
		}
		if err != nil {
			return err
		}
		if acct.Status != account.StatusActive {
			return errs.E(errs.NotFound, MsgInvalidInvitation)
		}
		if err := s.allowSeat(ctx, tx); err != nil {
			return err
		}
		if err := st.joinMembership(acct.ID, s.clock()); err != nil {
			return err
		}
		if err := policy.AssignRole(ctx, tx, t.ID.String(), acct.ID.String(), inv.RoleKey); err != nil {
			return fmt.Errorf("access: accept: %w", err)
		}
		actx := tenants.WithActor(ctx, acct.ID)
		if err := s.audit.Record(actx, tx, audit.Event{Action: "member.join", ObjectType: "account", ObjectID: acct.ID.String(),
			Detail: map[string]string{"invitation": inv.ID.String(), "role": inv.RoleKey}}); err != nil {
			return err
		}
		if j.Mode == JoinNewAccount {
			session, err = s.accounts.StartSession(ctx, tx, acct.ID, cl)
			return err
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if s.policy != nil {
		s.policy.Invalidate(t.ID.String())
	}
	return session, nil
}

// Roles.

// Roles returns the tenant's roles, each with its permissions and how many
// members hold it: template roles first, in the kind's order, then the
// tenant's own by name.
func (s *Service) Roles(ctx context.Context) ([]Role, error) {
	var out []Role
	err := s.read(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		roles, err := newStore(ctx, tx, t.ID).roles()
		if err != nil {
			return err
		}
		order := map[string]int{}
		for i, tpl := range policy.Templates(t.Kind) {
			order[tpl.Key] = i
		}
		slices.SortStableFunc(roles, func(a, b Role) int {
			switch {
			case a.Editable && b.Editable:
				return 0 // kept in the store's order, by name
			case a.Editable:
				return 1
			case b.Editable:
				return -1
			}
			return order[a.TemplateKey] - order[b.TemplateKey]
		})
		for i := range roles {
			if err := fillRole(ctx, tx, t, &roles[i]); err != nil {
				return err
			}
		}
		out = roles
		return nil
	})
	return out, err
}

// Role returns one role of the tenant, or NotFound.
func (s *Service) Role(ctx context.Context, key string) (Role, error) {
	var r Role
	err := s.read(ctx, func(tx *gorm.DB, t tenants.Tenant) (err error) {
		r, err = s.role(ctx, tx, t, key)
		return err
	})
	return r, err
}

func (s *Service) role(ctx context.Context, tx *gorm.DB, t tenants.Tenant, key string) (Role, error) {
	r, err := newStore(ctx, tx, t.ID).role(key)
	if err != nil {
		return Role{}, err
	}
	return r, fillRole(ctx, tx, t, &r)
}

// fillRole adds the role's permissions and holder count from the policy.
func fillRole(ctx context.Context, tx *gorm.DB, t tenants.Tenant, r *Role) error {
	ps, err := policy.PermissionsOf(ctx, tx, t.ID.String(), r.Key)
	if err != nil {
		return fmt.Errorf("access: role permissions: %w", err)
	}
	holders, err := policy.SubjectsWithRole(ctx, tx, t.ID.String(), r.Key)
	if err != nil {
		return fmt.Errorf("access: role holders: %w", err)
	}
	r.Permissions, r.Holders = ps, len(holders)
	return nil
}

// CopyRole makes a new, editable role called name with the permissions of
// the role fromKey. Its key is derived from the name. Audited as role.create.
func (s *Service) CopyRole(ctx context.Context, fromKey, name string) (Role, error) {
	var out Role
	err := s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("roles"); err != nil {
			return err
		}
		from, err := s.role(ctx, tx, t, fromKey)
		if err != nil {
			return err
		}
		name = normaliseRoleName(name)
		if err := s.checkName(st, name, ""); err != nil {
			return err
		}
		key, err := uniqueKey(st, KeyFromName(name))
		if err != nil {
			return err
		}
		r := Role{ID: uuid.Must(uuid.NewV7()), Key: key, Name: name, Description: from.Description, Editable: true,
			CreatedAt: s.clock()}
		if err := st.insertRole(r); err != nil {
			return err
		}
		for _, p := range from.Permissions {
			if err := policy.Grant(ctx, tx, t.ID.String(), key, p); err != nil {
				return fmt.Errorf("access: copy role: %w", err)
			}
		}
		r.Permissions = from.Permissions
		out = r
		return s.audit.Record(ctx, tx, audit.Event{Action: "role.create", ObjectType: "role", ObjectID: key,
			Detail: map[string]string{"name": name, "copied_from": from.Key, "permissions": strings.Join(permissionStrings(r.Permissions), ",")}})
	})
	return out, err
}

// checkName refuses a role name that is not valid or that another role of
// the tenant (other than exceptKey) already has.
func (s *Service) checkName(st store, name, exceptKey string) error {
	if err := validateRoleName(name); err != nil {
		return err
	}
	taken, err := st.nameTaken(name, exceptKey)
	if err != nil {
		return err
	}
	if taken {
		return errs.Validation(errs.FieldError{Field: "name", Message: "There is already a role called " + name + ". Choose another name."})
	}
	return nil
}

// uniqueKey returns base, or base with the smallest numeric suffix that no
// role of the tenant has.
func uniqueKey(st store, base string) (string, error) {
	key := base
	for n := 2; ; n++ {
		taken, err := st.keyTaken(key)
		if err != nil {
			return "", err
		}
		if !taken {
			return key, nil
		}
		suffix := "_" + strconv.Itoa(n)
		key = trimKey(base, maxRoleKey-len(suffix)) + suffix
	}
}

// editableRole returns the role key for a change, refusing template roles.
func (s *Service) editableRole(ctx context.Context, tx *gorm.DB, t tenants.Tenant, key string) (Role, error) {
	r, err := s.role(ctx, tx, t, key)
	if err != nil {
		return Role{}, err
	}
	if !r.Editable {
		return Role{}, errs.E(errs.Conflict, "Template roles cannot be changed. Copy the role to make one you can change.")
	}
	return r, nil
}

// SetRolePermissions replaces the permissions of an editable role. A role
// keeps at least one permission, and no one may grant a permission they do
// not hold. Audited as role.permissions_change with before and after.
func (s *Service) SetRolePermissions(ctx context.Context, key string, perms []policy.Permission) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("roles"); err != nil {
			return err
		}
		r, err := s.editableRole(ctx, tx, t, key)
		if err != nil {
			return err
		}
		var fe []errs.FieldError
		for _, p := range perms {
			if !policy.KnownPermission(p) {
				return errs.Validation(errs.FieldError{Field: "permissions", Message: "Select permissions from the list"})
			}
		}
		if len(perms) == 0 {
			fe = append(fe, errs.FieldError{Field: "permissions", Message: "Select at least one permission. To remove the role, delete it instead."})
		}
		var added, removed []policy.Permission
		for _, p := range perms {
			if !r.Has(p) && !slices.Contains(added, p) {
				added = append(added, p)
			}
		}
		for _, p := range r.Permissions {
			if !slices.Contains(perms, p) {
				removed = append(removed, p)
			}
		}
		held, ok, err := actorPermissions(ctx, tx, t)
		if err != nil {
			return err
		}
		if ok {
			var over []string
			for _, p := range added {
				if !held[p] {
					over = append(over, p.String())
				}
			}
			if len(over) > 0 {
				fe = append(fe, errs.FieldError{Field: "permissions", Message: "You cannot give a role permissions you do not hold yourself: " +
					strings.Join(over, ", ")})
			}
		}
		if len(fe) > 0 {
			return errs.Validation(fe...)
		}
		if len(added) == 0 && len(removed) == 0 {
			return nil
		}
		domain := t.ID.String()
		for _, p := range added {
			if err := policy.Grant(ctx, tx, domain, key, p); err != nil {
				return fmt.Errorf("access: grant: %w", err)
			}
		}
		for _, p := range removed {
			if err := policy.Revoke(ctx, tx, domain, key, p); err != nil {
				return fmt.Errorf("access: revoke: %w", err)
			}
		}
		after, err := policy.PermissionsOf(ctx, tx, domain, key)
		if err != nil {
			return fmt.Errorf("access: permissions after change: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "role.permissions_change", ObjectType: "role", ObjectID: key,
			Detail: map[string]string{"before": strings.Join(permissionStrings(r.Permissions), ","),
				"after": strings.Join(permissionStrings(after), ",")}})
	})
}

// RenameRole gives an editable role a new name; its key stays. Audited as
// role.rename.
func (s *Service) RenameRole(ctx context.Context, key, name string) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("roles"); err != nil {
			return err
		}
		r, err := s.editableRole(ctx, tx, t, key)
		if err != nil {
			return err
		}
		name = normaliseRoleName(name)
		if err := s.checkName(st, name, key); err != nil {
			return err
		}
		if name == r.Name {
			return nil
		}
		if err := st.renameRole(key, name); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "role.rename", ObjectType: "role", ObjectID: key,
			Detail: map[string]string{"before": r.Name, "after": name}})
	})
}

// DeleteRole deletes an editable role that no member holds and no pending
// invitation would give. Audited as role.delete.
func (s *Service) DeleteRole(ctx context.Context, key string) error {
	return s.change(ctx, func(tx *gorm.DB, t tenants.Tenant) error {
		st := newStore(ctx, tx, t.ID)
		if err := st.lock("roles"); err != nil {
			return err
		}
		// Holding the members lock too keeps anyone from being given the
		// role while it is deleted.
		if err := st.lock("members"); err != nil {
			return err
		}
		r, err := s.editableRole(ctx, tx, t, key)
		if err != nil {
			return err
		}
		if r.Holders > 0 {
			return errs.E(errs.Conflict, fmt.Sprintf("%s cannot be deleted while %s it. Change their roles first.",
				r.Name, plural(r.Holders, "1 person has", "%d people have")))
		}
		now := s.clock()
		pending, err := st.pendingForRole(key, now)
		if err != nil {
			return err
		}
		if pending > 0 {
			return errs.E(errs.Conflict, fmt.Sprintf("%s cannot be deleted while %s it. Revoke them first.",
				r.Name, plural(int(pending), "1 pending invitation gives", "%d pending invitations give")))
		}
		if err := st.deleteSpentInvitations(key, now); err != nil {
			return err
		}
		if err := policy.DeleteRole(ctx, tx, t.ID.String(), key); err != nil {
			return fmt.Errorf("access: delete role: %w", err)
		}
		if err := st.deleteRole(key); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "role.delete", ObjectType: "role", ObjectID: key,
			Detail: map[string]string{"name": r.Name, "permissions": strings.Join(permissionStrings(r.Permissions), ",")}})
	})
}

// plural returns one when n is 1 and many with n formatted in otherwise.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf(many, n)
}
