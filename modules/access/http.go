package access

import (
	"embed"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the members and roles pages on the tenant router (/t/:slug),
// their JSON on the tenant API router (/api/v1/t/:slug) and the invitation
// pages on the public router. Every tenant route requires its permission.
func Routes(tenant, api, public fiber.Router, svc *Service, enf *policy.Enforcers, cookies account.Cookies) {
	h := handler{svc: svc, enf: enf, cookies: cookies}
	membersRead, membersWrite := enf.Require("members", "read"), enf.Require("members", "write")
	rolesRead, rolesWrite := enf.Require("roles", "read"), enf.Require("roles", "write")

	tenant.Get("/members", membersRead, h.members)
	tenant.Post("/members/invitations", membersWrite, h.invite)
	tenant.Post("/members/invitations/:id/revoke", membersWrite, h.revokeInvitation)
	tenant.Get("/members/:account", membersRead, h.member)
	tenant.Post("/members/:account/roles", membersWrite, h.setMemberRoles)
	tenant.Get("/members/:account/remove", membersWrite, h.removeMemberForm)
	tenant.Post("/members/:account/remove", membersWrite, h.removeMember)

	tenant.Get("/roles", rolesRead, h.roles)
	tenant.Get("/roles/:key", rolesRead, h.role)
	tenant.Post("/roles/:key/copy", rolesWrite, h.copyRole)
	tenant.Post("/roles/:key/permissions", rolesWrite, h.setRolePermissions)
	tenant.Post("/roles/:key/rename", rolesWrite, h.renameRole)
	tenant.Get("/roles/:key/delete", rolesWrite, h.deleteRoleForm)
	tenant.Post("/roles/:key/delete", rolesWrite, h.deleteRole)

	api.Get("/members", membersRead, h.apiMembers)
	api.Get("/roles", rolesRead, h.apiRoles)

	public.Get("/join/:slug/:token", h.joinForm)
	public.Post("/join/:slug/:token", h.join)
}

type handler struct {
	svc     *Service
	enf     *policy.Enforcers
	cookies account.Cookies
}

// accountParam parses the :account parameter; anything else is a 404.
func accountParam(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("account"))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, errs.E(errs.NotFound, "No such member")
	}
	return id, nil
}

// formValues returns every value of a repeated form field, copied out of
// fiber's reusable buffers.
func formValues(c *fiber.Ctx, key string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(key) {
		out = append(out, string(v))
	}
	return out
}

// Members pages.

type memberItem struct {
	Member
	RoleNames []string
	Href      string
}

type invitationItem struct {
	Invitation
	RoleName string
}

type membersView struct {
	Members     []memberItem
	Invitations []invitationItem
	Roles       []Role
	CanWrite    bool
}

func roleNames(roles []Role) map[string]string {
	m := make(map[string]string, len(roles))
	for _, r := range roles {
		m[r.Key] = r.Name
	}
	return m
}

func (h handler) membersView(c *fiber.Ctx) (membersView, error) {
	ctx := c.UserContext()
	members, err := h.svc.Members(ctx)
	if err != nil {
		return membersView{}, err
	}
	roles, err := h.svc.Roles(ctx)
	if err != nil {
		return membersView{}, err
	}
	names := roleNames(roles)
	v := membersView{Roles: roles, CanWrite: h.enf.Can(c, "members", "write")}
	for _, m := range members {
		item := memberItem{Member: m, Href: tenants.Path(c, "/members/"+m.AccountID.String())}
		for _, k := range m.Roles {
			item.RoleNames = append(item.RoleNames, names[k])
		}
		v.Members = append(v.Members, item)
	}
	if v.CanWrite {
		invs, err := h.svc.PendingInvitations(ctx)
		if err != nil {
			return membersView{}, err
		}
		for _, inv := range invs {
			v.Invitations = append(v.Invitations, invitationItem{Invitation: inv, RoleName: names[inv.RoleKey]})
		}
	}
	return v, nil
}

func (h handler) members(c *fiber.Ctx) error {
	v, err := h.membersView(c)
	if err != nil {
		return err
	}
	return page.Render(c, "access/members", page.New(c, "Team members", v))
}

type invitedView struct {
	Email     string
	RoleName  string
	Link      string
	ExpiresAt time.Time
}

// invite creates an invitation and shows its link on the response itself,
// not after a redirect, so the token is never stored anywhere, not even in
// a flash cookie.
func (h handler) invite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	email, role := strings.TrimSpace(c.FormValue("email")), c.FormValue("role")
	inv, token, err := h.svc.InviteMember(ctx, email, role)
	if err != nil {
		v, verr := h.membersView(c)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "access/members", page.New(c, "Team members", v), err,
			map[string]string{"email": email, "role": role})
	}
	r, err := h.svc.Role(ctx, inv.RoleKey)
	if err != nil {
		return err
	}
	t, _ := tenants.FromContext(ctx)
	base := h.svc.publicURL
	if base == "" {
		base = c.BaseURL()
	}
	v := invitedView{Email: inv.Email, RoleName: r.Name, ExpiresAt: inv.ExpiresAt,
		Link: base + "/join/" + url.PathEscape(t.Slug) + "/" + token}
	c.Set("Referrer-Policy", "no-referrer")
	return page.Render(c, "access/invited", page.New(c, "Invitation created", v))
}

func (h handler) revokeInvitation(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return errs.E(errs.NotFound, "No such invitation")
	}
	if err := h.svc.RevokeInvitation(c.UserContext(), id); err != nil {
		return err
	}
	page.SetFlash(c, "The invitation has been revoked. Its link no longer works.")
	return c.Redirect(tenants.Path(c, "/members"), fiber.StatusSeeOther)
}

type roleOption struct {
	Key         string
	Name        string
	Description string
	Checked     bool
}

type memberView struct {
	Member   Member
	Roles    []roleOption
	CanWrite bool
	Self     bool
}

func (h handler) memberView(c *fiber.Ctx, id uuid.UUID, checked []string) (memberView, error) {
	ctx := c.UserContext()
	m, err := h.svc.Member(ctx, id)
	if err != nil {
		return memberView{}, err
	}
	roles, err := h.svc.Roles(ctx)
	if err != nil {
		return memberView{}, err
	}
	if checked == nil {
		checked = m.Roles
	}
	actor, _ := tenants.ActorFrom(ctx)
	v := memberView{Member: m, CanWrite: h.enf.Can(c, "members", "write"), Self: actor == m.AccountID}
	for _, r := range roles {
		v.Roles = append(v.Roles, roleOption{Key: r.Key, Name: r.Name, Description: r.Description, Checked: slices.Contains(checked, r.Key)})
	}
	return v, nil
}

func (h handler) member(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	v, err := h.memberView(c, id, nil)
	if err != nil {
		return err
	}
	return page.Render(c, "access/member", page.New(c, v.Member.DisplayName(), v))
}

func (h handler) setMemberRoles(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	keys := formValues(c, "roles")
	if err := h.svc.SetMemberRoles(c.UserContext(), id, keys); err != nil {
		if keys == nil {
			keys = []string{}
		}
		v, verr := h.memberView(c, id, keys)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "access/member", page.New(c, v.Member.DisplayName(), v), err, nil)
	}
	page.SetFlash(c, "Roles changed.")
	return c.Redirect(tenants.Path(c, "/members/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) removeMemberForm(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	v, err := h.memberView(c, id, nil)
	if err != nil {
		return err
	}
	return page.Render(c, "access/member_remove", page.New(c, "Remove "+v.Member.DisplayName(), v))
}

func (h handler) removeMember(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	m, err := h.svc.Member(ctx, id)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveMember(ctx, id); err != nil {
		v, verr := h.memberView(c, id, nil)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "access/member_remove", page.New(c, "Remove "+v.Member.DisplayName(), v), err, nil)
	}
	if actor, _ := tenants.ActorFrom(ctx); actor == id {
		page.SetFlash(c, "You have left the organisation.")
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	page.SetFlash(c, m.DisplayName()+" has been removed and can no longer use this organisation's Carepass.")
	return c.Redirect(tenants.Path(c, "/members"), fiber.StatusSeeOther)
}

// Roles pages.

type rolesView struct {
	Roles    []Role
	CanWrite bool
}

func (h handler) roles(c *fiber.Ctx) error {
	roles, err := h.svc.Roles(c.UserContext())
	if err != nil {
		return err
	}
	return page.Render(c, "access/roles", page.New(c, "Roles", rolesView{Roles: roles, CanWrite: h.enf.Can(c, "roles", "write")}))
}

type permissionItem struct {
	Value       string // "object:action"
	Action      string
	Description string
	Checked     bool
}

type permissionGroup struct {
	Name  string
	Items []permissionItem
}

type roleView struct {
	Role     Role
	Groups   []permissionGroup // every permission when the form shows; otherwise only the role's
	Editable bool              // the role can be changed and the viewer may change it
	CanWrite bool
}

// groups returns the catalogue grouped by object, each item checked when
// in checked; with onlyChecked it leaves out the rest.
func groups(checked []policy.Permission, onlyChecked bool) []permissionGroup {
	var out []permissionGroup
	for _, info := range policy.Catalogue() {
		on := slices.Contains(checked, info.Permission)
		if onlyChecked && !on {
			continue
		}
		item := permissionItem{Value: info.Permission.String(), Action: info.Permission.Action,
			Description: info.Description, Checked: on}
		if n := len(out); n > 0 && out[n-1].Name == info.Group {
			out[n-1].Items = append(out[n-1].Items, item)
			continue
		}
		out = append(out, permissionGroup{Name: info.Group, Items: []permissionItem{item}})
	}
	return out
}

func (h handler) roleView(c *fiber.Ctx, checked []policy.Permission) (roleView, error) {
	r, err := h.svc.Role(c.UserContext(), c.Params("key"))
	if err != nil {
		return roleView{}, err
	}
	canWrite := h.enf.Can(c, "roles", "write")
	v := roleView{Role: r, CanWrite: canWrite, Editable: canWrite && r.Editable}
	if checked == nil {
		checked = r.Permissions
	}
	v.Groups = groups(checked, !v.Editable)
	return v, nil
}

func (h handler) role(c *fiber.Ctx) error {
	v, err := h.roleView(c, nil)
	if err != nil {
		return err
	}
	return page.Render(c, "access/role", page.New(c, v.Role.Name, v))
}

func (h handler) roleInvalid(c *fiber.Ctx, err error, checked []policy.Permission, form map[string]string) error {
	v, verr := h.roleView(c, checked)
	if verr != nil {
		return verr
	}
	return page.Invalid(c, "access/role", page.New(c, v.Role.Name, v), err, form)
}

func (h handler) copyRole(c *fiber.Ctx) error {
	name := c.FormValue("name")
	r, err := h.svc.CopyRole(c.UserContext(), c.Params("key"), name)
	if err != nil {
		return h.roleInvalid(c, err, nil, map[string]string{"name": name})
	}
	page.SetFlash(c, r.Name+" has been created. You can now change what it allows.")
	return c.Redirect(tenants.Path(c, "/roles/"+r.Key), fiber.StatusSeeOther)
}

func (h handler) setRolePermissions(c *fiber.Ctx) error {
	key := c.Params("key")
	values := formValues(c, "permissions")
	perms, err := ParsePermissions("permissions", values)
	if err == nil {
		err = h.svc.SetRolePermissions(c.UserContext(), key, perms)
	}
	if err != nil {
		if perms == nil {
			perms = []policy.Permission{}
		}
		return h.roleInvalid(c, err, perms, nil)
	}
	page.SetFlash(c, "Permissions changed. They apply from the next page each member opens.")
	return c.Redirect(tenants.Path(c, "/roles/"+key), fiber.StatusSeeOther)
}

func (h handler) renameRole(c *fiber.Ctx) error {
	key, name := c.Params("key"), c.FormValue("name")
	if err := h.svc.RenameRole(c.UserContext(), key, name); err != nil {
		if errs.FieldsOf(err) != nil {
			// The rename form's field is "rename", apart from the copy form's "name".
			fe := errs.FieldsOf(err)
			for i := range fe {
				if fe[i].Field == "name" {
					fe[i].Field = "rename"
				}
			}
			err = errs.Validation(fe...)
		}
		return h.roleInvalid(c, err, nil, map[string]string{"rename": name})
	}
	page.SetFlash(c, "The role has been renamed.")
	return c.Redirect(tenants.Path(c, "/roles/"+key), fiber.StatusSeeOther)
}

func (h handler) deleteRoleForm(c *fiber.Ctx) error {
	v, err := h.roleView(c, nil)
	if err != nil {
		return err
	}
	if !v.Role.Editable {
		return errs.E(errs.NotFound, "No such role")
	}
	return page.Render(c, "access/role_delete", page.New(c, "Delete "+v.Role.Name, v))
}

func (h handler) deleteRole(c *fiber.Ctx) error {
	ctx := c.UserContext()
	key := c.Params("key")
	r, err := h.svc.Role(ctx, key)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteRole(ctx, key); err != nil {
		v, verr := h.roleView(c, nil)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "access/role_delete", page.New(c, "Delete "+v.Role.Name, v), err, nil)
	}
	page.SetFlash(c, r.Name+" has been deleted.")
	return c.Redirect(tenants.Path(c, "/roles"), fiber.StatusSeeOther)
}

// JSON API.

type memberJSON struct {
	AccountID uuid.UUID `json:"account_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	Since     time.Time `json:"since"`
}

func memberToJSON(m Member) memberJSON {
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return memberJSON{AccountID: m.AccountID, Name: m.Name, Email: m.Email, Roles: roles, Since: m.Since.UTC()}
}

type roleJSON struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Template    bool     `json:"template"`
	Permissions []string `json:"permissions"`
}

func roleToJSON(r Role) roleJSON {
	return roleJSON{Key: r.Key, Name: r.Name, Template: r.Template(), Permissions: permissionStrings(r.Permissions)}
}

func (h handler) apiMembers(c *fiber.Ctx) error {
	members, err := h.svc.Members(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]memberJSON, len(members))
	for i, m := range members {
		out[i] = memberToJSON(m)
	}
	return c.JSON(fiber.Map{"members": out})
}

func (h handler) apiRoles(c *fiber.Ctx) error {
	roles, err := h.svc.Roles(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]roleJSON, len(roles))
	for i, r := range roles {
		out[i] = roleToJSON(r)
	}
	return c.JSON(fiber.Map{"roles": out})
}

// Invitation pages (public).

type joinView struct {
	Join       Join
	Action     string
	SignedInAs string // the signed-in account's email, when it is not the invited one
}

// invalidLink is the one page for every invitation link that cannot be used.
func invalidLink(c *fiber.Ctx) error {
	c.Status(fiber.StatusNotFound)
	return page.Render(c, "access/join_invalid", page.New(c, "Invitation not valid", nil))
}

func (h handler) joinView(c *fiber.Ctx, j Join) joinView {
	v := joinView{Join: j, Action: c.Path()}
	if b := page.BaseOf(c); b.Viewer != nil && j.Mode != JoinSignedIn {
		v.SignedInAs = b.Viewer.Email
	}
	return v
}

func (h handler) joinForm(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	ok, err := tenants.ResolveLink(c, h.svc.tenants)
	if err != nil {
		return err
	}
	if !ok {
		return invalidLink(c)
	}
	j, err := h.svc.Invitation(c.UserContext(), strings.Clone(c.Params("token")))
	if errs.Is(err, errs.NotFound) {
		return invalidLink(c)
	}
	if err != nil {
		return err
	}
	return page.Render(c, "access/join", page.New(c, "Join "+j.TenantName, h.joinView(c, j)))
}

func (h handler) join(c *fiber.Ctx) error {
	c.Set("Referrer-Policy", "no-referrer")
	ok, err := tenants.ResolveLink(c, h.svc.tenants)
	if err != nil {
		return err
	}
	if !ok {
		return invalidLink(c)
	}
	ctx := c.UserContext()
	token := strings.Clone(c.Params("token"))
	in := AcceptInput{Name: c.FormValue("name"), Password: c.FormValue("password"), Confirm: c.FormValue("confirm")}
	session, err := h.svc.Accept(ctx, token, in, account.Client{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)})
	switch {
	case errs.Is(err, errs.NotFound):
		return invalidLink(c)
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		j, jerr := h.svc.Invitation(ctx, token)
		if errs.Is(jerr, errs.NotFound) {
			return invalidLink(c)
		}
		if jerr != nil {
			return jerr
		}
		return page.Invalid(c, "access/join", page.New(c, "Join "+j.TenantName, h.joinView(c, j)), err,
			map[string]string{"name": in.Name})
	case err != nil:
		return err
	}
	if session != "" {
		h.cookies.SetSession(c, session)
	}
	t, _ := tenants.FromContext(ctx)
	page.SetFlash(c, "You have joined "+t.Name+".")
	return c.Redirect("/t/"+t.Slug, fiber.StatusSeeOther)
}
