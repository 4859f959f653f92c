package access_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

var client = account.Client{IP: "192.0.2.10", UserAgent: "test"}

func TestSetUpRolesIsIdempotent(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	ctx := tenants.WithTenant(context.Background(), tn)
	if err := f.Scoped.Tx(ctx, func(tx *gorm.DB) error { return f.svc.SetUpRoles(ctx, tx, tn.Kind) }); err != nil {
		t.Fatal(err)
	}
	roles, err := f.svc.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	templates := policy.Templates(tn.Kind)
	if len(roles) != len(templates) {
		t.Fatalf("%d roles after setting up twice, want %d", len(roles), len(templates))
	}
	for i := range roles {
		if roles[i].Key != templates[i].Key {
			t.Errorf("role %d is %s, want the templates' order (%s)", i, roles[i].Key, templates[i].Key)
		}
	}
	for _, tpl := range templates {
		i := slices.IndexFunc(roles, func(r access.Role) bool { return r.Key == tpl.Key })
		if i < 0 {
			t.Fatalf("template role %s missing", tpl.Key)
		}
		r := roles[i]
		if r.Editable || r.TemplateKey != tpl.Key || r.Name != tpl.Name || len(r.Permissions) != len(tpl.Permissions) {
			t.Errorf("role %s = %+v, want the read-only template with %d permissions", tpl.Key, r, len(tpl.Permissions))
		}
	}
}

func TestInviteThenAcceptMakesAMemberWithTheRole(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")

	inv, token, err := f.svc.InviteMember(as(tn, admin), "  New.Carer@Example.org ", "trainer")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "new.carer@example.org" || inv.RoleKey != "trainer" || inv.InvitedBy != admin {
		t.Errorf("invitation = %+v", inv)
	}
	if got, want := inv.ExpiresAt.Sub(inv.CreatedAt), access.InvitationTTL; got != want {
		t.Errorf("invitation lasts %s, want %s", got, want)
	}
	// Only the token's hash is stored.
	var stored int64
	err = f.Scoped.Tx(as(tn, admin), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM invitations WHERE tenant_id = ? AND token_hash = ?`, tn.ID, account.HashToken(token)).Scan(&stored).Error
	})
	if err != nil || stored != 1 {
		t.Fatalf("stored hashes = %d, %v", stored, err)
	}
	if ev := f.LastEvent(tn, "member.invite"); ev.Detail["email"] != "new.carer@example.org" || ev.Detail["role"] != "trainer" {
		t.Errorf("member.invite detail = %v", ev.Detail)
	}
	pending, err := f.svc.PendingInvitations(as(tn, admin))
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %v, %v", pending, err)
	}

	j, err := f.svc.Invitation(as(tn, uuid.Nil), token)
	if err != nil {
		t.Fatal(err)
	}
	if j.Mode != access.JoinNewAccount || j.RoleName != "Trainer" || j.TenantName != tn.Name {
		t.Errorf("join = %+v", j)
	}
	session, err := f.svc.Accept(as(tn, uuid.Nil), token, access.AcceptInput{Name: "Nia Carer", Password: password, Confirm: password}, client)
	if err != nil {
		t.Fatal(err)
	}
	sess, acct, err := f.Accounts.Authenticate(context.Background(), session)
	if err != nil || acct.Email != "new.carer@example.org" || acct.Name != "Nia Carer" {
		t.Fatalf("session after accepting: %+v %+v %v", sess, acct, err)
	}

	m, ok := f.memberByEmail(tn, admin, "new.carer@example.org")
	if !ok {
		t.Fatal("new member not listed")
	}
	if !slices.Equal(m.Roles, []string{"trainer"}) || m.Name != "Nia Carer" || !m.Since.Equal(f.clock.Now()) {
		t.Errorf("member = %+v", m)
	}
	if ev := f.LastEvent(tn, "member.join"); ev.ObjectID != acct.ID.String() || ev.Detail["role"] != "trainer" {
		t.Errorf("member.join = %+v", ev)
	}
	pending, err = f.svc.PendingInvitations(as(tn, admin))
	if err != nil || len(pending) != 0 {
		t.Errorf("pending after accepting = %v, %v", pending, err)
	}
	list, err := f.svc.TenantsOf(context.Background(), acct.ID)
	if err != nil || len(list) != 1 || list[0].ID != tn.ID {
		t.Errorf("TenantsOf new member = %v, %v", list, err)
	}
	if f.inval.count() == 0 {
		t.Error("accepting did not invalidate the tenant's cached policy")
	}
}

func TestAcceptWithAnExistingAccount(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("riverside", tenants.KindCareHome)
	b := f.Tenant("hilltop", tenants.KindGPPractice)
	adminA := f.admin(a, "admin@riverside.example")
	f.admin(b, "admin@hilltop.example")
	nurse := f.Account("nurse@example.org", "Sam Nurse")
	f.Member(b, nurse, "reception")

	t.Run("password of the account is required", func(t *testing.T) {
		token := f.invite(a, adminA, "nurse@example.org", "assessor")
		j, err := f.svc.Invitation(as(a, uuid.Nil), token)
		if err != nil || j.Mode != access.JoinExistingAccount {
			t.Fatalf("mode = %q, %v", j.Mode, err)
		}
		_, err = f.svc.Accept(as(a, uuid.Nil), token, access.AcceptInput{Password: "not the password at all"}, client)
		if !errs.Is(err, errs.Invalid) || errs.FieldsOf(err)[0].Field != "password" {
			t.Fatalf("wrong password: %v", err)
		}
		if _, ok := f.memberByEmail(a, adminA, "nurse@example.org"); ok {
			t.Fatal("joined with a wrong password")
		}
		session, err := f.svc.Accept(as(a, uuid.Nil), token, access.AcceptInput{Password: password}, client)
		if err != nil || session == "" {
			t.Fatalf("accept: %q, %v", session, err)
		}
		m, ok := f.memberByEmail(a, adminA, "nurse@example.org")
		if !ok || m.AccountID != nurse || !slices.Equal(m.Roles, []string{"assessor"}) {
			t.Errorf("member = %+v, %v", m, ok)
		}
	})

	t.Run("signed in as the invited account needs only a click", func(t *testing.T) {
		c := f.Tenant("lakeside", tenants.KindCarersCharity)
		adminC := f.admin(c, "admin@lakeside.example")
		token := f.invite(c, adminC, "nurse@example.org", "trainer")
		j, err := f.svc.Invitation(as(c, nurse), token)
		if err != nil || j.Mode != access.JoinSignedIn {
			t.Fatalf("mode = %q, %v", j.Mode, err)
		}
		session, err := f.svc.Accept(as(c, nurse), token, access.AcceptInput{}, client)
		if err != nil || session != "" {
			t.Fatalf("accept: %q, %v", session, err)
		}
		list, err := f.svc.TenantsOf(context.Background(), nurse)
		if err != nil || len(list) != 3 {
			t.Errorf("TenantsOf = %v, %v", list, err)
		}
	})
}

func TestInviteRefusesBadInputAndStoresNothing(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	other := f.Tenant("hilltop", tenants.KindGPPractice)
	admin := f.admin(tn, "admin@riverside.example")
	f.Member(tn, f.Account("member@example.org", "Mo Member"), "care_staff")

	tests := []struct {
		name, email, role, field, message string
	}{
		{"malformed email", "not-an-email", "trainer", "email", "correct format"},
		{"no role", "x@example.org", "", "role", "Select a role"},
		{"unknown role", "x@example.org", "wizard", "role", "from the list"},
		{"role of another kind", "x@example.org", "reception", "role", "from the list"},
		{"already a member", "Member@Example.org", "trainer", "email", "already a member of " + tn.Name},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, token, err := f.svc.InviteMember(as(tn, admin), tt.email, tt.role)
			if token != "" || !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %q, %v; want a validation error", token, err)
			}
			fields := errs.FieldsOf(err)
			if !slices.ContainsFunc(fields, func(fe errs.FieldError) bool {
				return fe.Field == tt.field && strings.Contains(fe.Message, tt.message)
			}) {
				t.Errorf("fields = %+v, want %s: …%s…", fields, tt.field, tt.message)
			}
		})
	}
	if n := f.Rows(tn, "invitations", ""); n != 0 {
		t.Errorf("%d invitations stored after bad input", n)
	}
	if n := f.Rows(other, "invitations", ""); n != 0 {
		t.Errorf("%d invitations stored in another tenant", n)
	}
	for _, ev := range f.Events(tn) {
		if ev.Action == "member.invite" {
			t.Errorf("bad input audited as an invitation: %+v", ev)
		}
	}
}

func TestInvitingAgainReplacesTheEarlierLink(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	first := f.invite(tn, admin, "x@example.org", "trainer")
	second := f.invite(tn, admin, "x@example.org", "assessor")
	if _, err := f.svc.Invitation(as(tn, uuid.Nil), first); !errs.Is(err, errs.NotFound) {
		t.Errorf("first link after re-inviting: %v", err)
	}
	j, err := f.svc.Invitation(as(tn, uuid.Nil), second)
	if err != nil || j.Invitation.RoleKey != "assessor" {
		t.Errorf("second link: %+v, %v", j, err)
	}
}

func TestUnusableInvitationLinksAreAllTheSameNotFound(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	other := f.Tenant("hilltop", tenants.KindGPPractice)
	admin := f.admin(tn, "admin@riverside.example")
	otherAdmin := f.admin(other, "admin@hilltop.example")
	accept := func(token string) error {
		_, err := f.svc.Accept(as(tn, uuid.Nil), token, access.AcceptInput{Name: "Someone", Password: password, Confirm: password}, client)
		return err
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"unknown", func(*testing.T) string { return account.NewToken() }},
		{"empty", func(*testing.T) string { return "" }},
		{"expired", func(t *testing.T) string {
			token := f.invite(tn, admin, "expired@example.org", "trainer")
			f.clock.Advance(access.InvitationTTL + time.Second)
			t.Cleanup(func() { f.clock.Advance(-access.InvitationTTL - time.Second) })
			return token
		}},
		{"already used", func(t *testing.T) string {
			token := f.invite(tn, admin, "used@example.org", "trainer")
			if err := accept(token); err != nil {
				t.Fatal(err)
			}
			return token
		}},
		{"revoked", func(t *testing.T) string {
			inv, token, err := f.svc.InviteMember(as(tn, admin), "revoked@example.org", "trainer")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.RevokeInvitation(as(tn, admin), inv.ID); err != nil {
				t.Fatal(err)
			}
			return token
		}},
		{"another tenant's", func(*testing.T) string {
			return f.invite(other, otherAdmin, "elsewhere@example.org", "reception")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			_, err := f.svc.Invitation(as(tn, uuid.Nil), token)
			if !errs.Is(err, errs.NotFound) || errs.MessageOf(err) != access.MsgInvalidInvitation {
				t.Errorf("showing: %v", err)
			}
			if err := accept(token); !errs.Is(err, errs.NotFound) || errs.MessageOf(err) != access.MsgInvalidInvitation {
				t.Errorf("accepting: %v", err)
			}
		})
	}
	if ev := f.LastEvent(tn, "member.invite_revoke"); ev.Detail["email"] != "revoked@example.org" {
		t.Errorf("member.invite_revoke = %+v", ev)
	}
}

func TestAcceptValidatesTheFormAndStoresNothing(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	token := f.invite(tn, admin, "new@example.org", "trainer")
	tests := []struct {
		name   string
		in     access.AcceptInput
		fields []string
	}{
		{"nothing", access.AcceptInput{}, []string{"name", "password"}},
		{"passwords differ", access.AcceptInput{Name: "A", Password: password, Confirm: password + "x"}, []string{"confirm"}},
		{"short password", access.AcceptInput{Name: "A", Password: "short", Confirm: "short"}, []string{"password"}},
		{"long name", access.AcceptInput{Name: strings.Repeat("n", 121), Password: password, Confirm: password}, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Accept(as(tn, uuid.Nil), token, tt.in, client)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, fe := range errs.FieldsOf(err) {
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
	if _, ok := f.memberByEmail(tn, admin, "new@example.org"); ok {
		t.Error("a failed form made a member")
	}
	if _, err := f.svc.Invitation(as(tn, uuid.Nil), token); err != nil {
		t.Errorf("the invitation is no longer usable after failed forms: %v", err)
	}
}

func TestSuspendedTenantRefusesInvitationsAndChanges(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	token := f.invite(tn, admin, "new@example.org", "trainer")
	if err := tenants.SetStatus(context.Background(), f.DB.Gorm, tn.ID, tenants.StatusSuspended, time.Now()); err != nil {
		t.Fatal(err)
	}
	tn.Status = tenants.StatusSuspended
	if _, err := f.svc.Invitation(as(tn, uuid.Nil), token); !errs.Is(err, errs.ReadOnly) || !strings.Contains(errs.MessageOf(err), "suspended") {
		t.Errorf("showing: %v", err)
	}
	if _, err := f.svc.Accept(as(tn, uuid.Nil), token, access.AcceptInput{Name: "N", Password: password, Confirm: password}, client); !errs.Is(err, errs.ReadOnly) {
		t.Errorf("accepting: %v", err)
	}
	if _, _, err := f.svc.InviteMember(as(tn, admin), "other@example.org", "trainer"); !errs.Is(err, errs.ReadOnly) {
		t.Errorf("inviting: %v", err)
	}
	if _, err := f.svc.Members(as(tn, admin)); err != nil {
		t.Errorf("reading members of a suspended tenant: %v", err)
	}
}

func TestTheLastAdminCannotBeRemovedOrDemoted(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	adminRole := policy.AdminRole(tn.Kind)
	ctx := as(tn, admin)

	if err := f.svc.RemoveMember(ctx, admin); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "only person") {
		t.Errorf("removing the last admin: %v", err)
	}
	if err := f.svc.SetMemberRoles(ctx, admin, []string{"trainer"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("demoting the last admin: %v", err)
	}
	if m, err := f.svc.Member(ctx, admin); err != nil || !slices.Equal(m.Roles, []string{adminRole}) {
		t.Errorf("last admin after refusals = %+v, %v", m, err)
	}

	second := f.Account("second@example.org", "Second Admin")
	f.Member(tn, second, "trainer")
	if err := f.svc.SetMemberRoles(ctx, second, []string{adminRole, "trainer"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetMemberRoles(ctx, admin, []string{"trainer"}); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if err := f.svc.RemoveMember(as(tn, second), second); !errs.Is(err, errs.Conflict) {
		t.Errorf("the remaining admin removing themselves: %v", err)
	}
}

func TestRemovedMemberLosesAccessAndCanRejoin(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	carer := f.Account("carer@example.org", "Cam Carer")
	f.Member(tn, carer, "trainer", "assessor")

	if err := f.svc.RemoveMember(as(tn, admin), carer); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.memberByEmail(tn, admin, "carer@example.org"); ok {
		t.Error("removed member still listed")
	}
	if _, err := f.svc.Member(as(tn, admin), carer); !errs.Is(err, errs.NotFound) {
		t.Errorf("removed member: %v", err)
	}
	err := f.Scoped.Tx(as(tn, admin), func(tx *gorm.DB) error {
		roles, err := policy.RolesOf(context.Background(), tx, tn.ID.String(), carer.String())
		if len(roles) != 0 {
			t.Errorf("removed member still holds %v", roles)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := f.svc.TenantsOf(context.Background(), carer); len(list) != 0 {
		t.Errorf("removed member still sees %v", list)
	}
	ev := f.LastEvent(tn, "member.remove")
	if ev.ObjectID != carer.String() || ev.Detail["roles"] != "assessor,trainer" {
		t.Errorf("member.remove = %+v", ev)
	}
	if err := f.svc.RemoveMember(as(tn, admin), carer); !errs.Is(err, errs.NotFound) {
		t.Errorf("removing twice: %v", err)
	}

	token := f.invite(tn, admin, "carer@example.org", "care_staff")
	if _, err := f.svc.Accept(as(tn, carer), token, access.AcceptInput{}, client); err != nil {
		t.Fatal(err)
	}
	m, ok := f.memberByEmail(tn, admin, "carer@example.org")
	if !ok || !slices.Equal(m.Roles, []string{"care_staff"}) {
		t.Errorf("rejoined member = %+v, %v", m, ok)
	}
}

func TestRoleChangesAreAuditedWithBeforeAndAfter(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	carer := f.Account("carer@example.org", "Cam Carer")
	f.Member(tn, carer, "care_staff")
	before := f.inval.count()

	if err := f.svc.SetMemberRoles(as(tn, admin), carer, []string{"trainer", "assessor", "trainer"}); err != nil {
		t.Fatal(err)
	}
	ev := f.LastEvent(tn, "member.roles_change")
	if ev.ObjectID != carer.String() || ev.Detail["before"] != "care_staff" || ev.Detail["after"] != "assessor,trainer" {
		t.Errorf("member.roles_change = %+v", ev)
	}
	if f.inval.count() != before+1 {
		t.Error("changing roles did not invalidate the cached policy")
	}
	m, err := f.svc.Member(as(tn, admin), carer)
	if err != nil || !slices.Equal(m.Roles, []string{"assessor", "trainer"}) {
		t.Errorf("roles = %+v, %v", m.Roles, err)
	}

	n := len(f.Events(tn))
	tests := []struct {
		name  string
		roles []string
		kind  errs.Kind
	}{
		{"no roles", nil, errs.Invalid},
		{"unknown role", []string{"wizard"}, errs.Invalid},
		{"unchanged", []string{"trainer", "assessor"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.SetMemberRoles(as(tn, admin), carer, tt.roles)
			if tt.kind < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errs.Is(err, tt.kind) {
				t.Errorf("err = %v, want %s", err, tt.kind)
			}
		})
	}
	if got := len(f.Events(tn)); got != n {
		t.Errorf("%d audit events for refused or empty changes", got-n)
	}
	if err := f.svc.SetMemberRoles(as(tn, admin), uuid.Must(uuid.NewV7()), []string{"trainer"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown member: %v", err)
	}
}

func TestNoOneCanGiveMoreThanTheyHold(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	ctx := as(tn, admin)
	lead, err := f.svc.CopyRole(ctx, "trainer", "Team lead")
	if err != nil {
		t.Fatal(err)
	}
	perms := append(lead.Permissions, policy.Permission{Object: "members", Action: "read"}, policy.Permission{Object: "members", Action: "write"})
	if err := f.svc.SetRolePermissions(ctx, lead.Key, perms); err != nil {
		t.Fatal(err)
	}
	leader := f.Account("lead@example.org", "Lee Lead")
	f.Member(tn, leader, lead.Key)
	other := f.Account("other@example.org", "Oli Other")
	f.Member(tn, other, "care_staff")

	if _, _, err := f.svc.InviteMember(as(tn, leader), "x@example.org", policy.AdminRole(tn.Kind)); !errs.Is(err, errs.Invalid) {
		t.Errorf("inviting as admin without holding its permissions: %v", err)
	}
	if err := f.svc.SetMemberRoles(as(tn, leader), leader, []string{lead.Key, policy.AdminRole(tn.Kind)}); !errs.Is(err, errs.Invalid) {
		t.Errorf("making themselves admin: %v", err)
	}
	if err := f.svc.SetMemberRoles(as(tn, leader), other, []string{"trainer"}); err != nil {
		t.Errorf("giving a role within their own permissions: %v", err)
	}
	more := append(perms, policy.Permission{Object: "billing", Action: "manage"})
	if err := f.svc.SetRolePermissions(as(tn, leader), lead.Key, more); !errs.Is(err, errs.Invalid) {
		t.Errorf("granting a permission they lack: %v", err)
	}
}

func TestCopyEditAndDeleteRoles(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	admin := f.admin(tn, "admin@riverside.example")
	ctx := as(tn, admin)
	trainer, err := f.svc.Role(ctx, "trainer")
	if err != nil {
		t.Fatal(err)
	}

	senior, err := f.svc.CopyRole(ctx, "trainer", "  Senior   trainer ")
	if err != nil {
		t.Fatal(err)
	}
	if senior.Key != "senior_trainer" || senior.Name != "Senior trainer" || !senior.Editable || !slices.Equal(senior.Permissions, trainer.Permissions) {
		t.Errorf("copy = %+v", senior)
	}
	if ev := f.LastEvent(tn, "role.create"); ev.ObjectID != "senior_trainer" || ev.Detail["copied_from"] != "trainer" {
		t.Errorf("role.create = %+v", ev)
	}

	t.Run("names", func(t *testing.T) {
		tests := []struct {
			name, key string
			ok        bool
		}{
			{"senior TRAINER", "", false}, // same name, any case
			{"Trainer", "", false},        // a template role's name
			{"x", "", false},              // too short
			{"Senior-Trainer!", "senior_trainer_2", true},
			{"2nd line", "role_2nd_line", true},
		}
		for _, tt := range tests {
			r, err := f.svc.CopyRole(ctx, "trainer", tt.name)
			if !tt.ok {
				if !errs.Is(err, errs.Invalid) || errs.FieldsOf(err)[0].Field != "name" {
					t.Errorf("copy as %q: %v, want a name error", tt.name, err)
				}
				continue
			}
			if err != nil || r.Key != tt.key {
				t.Errorf("copy as %q: key %q, %v; want %q", tt.name, r.Key, err, tt.key)
			}
		}
	})

	t.Run("template roles are read-only", func(t *testing.T) {
		if err := f.svc.SetRolePermissions(ctx, "trainer", trainer.Permissions[:1]); !errs.Is(err, errs.Conflict) {
			t.Errorf("changing a template: %v", err)
		}
		if err := f.svc.RenameRole(ctx, "trainer", "Coach"); !errs.Is(err, errs.Conflict) {
			t.Errorf("renaming a template: %v", err)
		}
		if err := f.svc.DeleteRole(ctx, "trainer"); !errs.Is(err, errs.Conflict) {
			t.Errorf("deleting a template: %v", err)
		}
	})

	t.Run("permissions", func(t *testing.T) {
		want := []policy.Permission{{Object: "dashboard", Action: "read"}, {Object: "report", Action: "read"}}
		if err := f.svc.SetRolePermissions(ctx, senior.Key, want); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Role(ctx, senior.Key)
		if err != nil || len(got.Permissions) != 2 || !got.Has(want[0]) || !got.Has(want[1]) {
			t.Errorf("permissions = %v, %v", got.Permissions, err)
		}
		ev := f.LastEvent(tn, "role.permissions_change")
		if ev.Detail["after"] != "dashboard:read,report:read" || !strings.Contains(ev.Detail["before"], "session:write") {
			t.Errorf("role.permissions_change = %+v", ev)
		}
		if err := f.svc.SetRolePermissions(ctx, senior.Key, nil); !errs.Is(err, errs.Invalid) {
			t.Errorf("no permissions: %v", err)
		}
		if err := f.svc.SetRolePermissions(ctx, senior.Key, []policy.Permission{{Object: "tenants", Action: "write"}}); !errs.Is(err, errs.Invalid) {
			t.Errorf("a platform permission: %v", err)
		}
		if err := f.svc.SetRolePermissions(ctx, "no_such_role", want); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown role: %v", err)
		}
	})

	t.Run("rename", func(t *testing.T) {
		if err := f.svc.RenameRole(ctx, senior.Key, "Lead trainer"); err != nil {
			t.Fatal(err)
		}
		if r, _ := f.svc.Role(ctx, senior.Key); r.Name != "Lead trainer" || r.Key != senior.Key {
			t.Errorf("renamed = %+v", r)
		}
		if err := f.svc.RenameRole(ctx, senior.Key, "Assessor"); !errs.Is(err, errs.Invalid) {
			t.Errorf("renaming onto another role's name: %v", err)
		}
		if ev := f.LastEvent(tn, "role.rename"); ev.Detail["before"] != "Senior trainer" || ev.Detail["after"] != "Lead trainer" {
			t.Errorf("role.rename = %+v", ev)
		}
	})

	t.Run("delete", func(t *testing.T) {
		holder := f.Account("holder@example.org", "Hol Der")
		f.Member(tn, holder, senior.Key)
		if err := f.svc.DeleteRole(ctx, senior.Key); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "1 person has") {
			t.Errorf("deleting a held role: %v", err)
		}
		if err := f.svc.SetMemberRoles(ctx, holder, []string{"care_staff"}); err != nil {
			t.Fatal(err)
		}
		inv, _, err := f.svc.InviteMember(ctx, "someone@example.org", senior.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRole(ctx, senior.Key); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "invitation") {
			t.Errorf("deleting a role a pending invitation gives: %v", err)
		}
		if err := f.svc.RevokeInvitation(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRole(ctx, senior.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Role(ctx, senior.Key); !errs.Is(err, errs.NotFound) {
			t.Errorf("deleted role: %v", err)
		}
		err = f.Scoped.Tx(ctx, func(tx *gorm.DB) error {
			ps, err := policy.PermissionsOf(ctx, tx, tn.ID.String(), senior.Key)
			if len(ps) != 0 {
				t.Errorf("deleted role keeps permissions %v", ps)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ev := f.LastEvent(tn, "role.delete"); ev.ObjectID != senior.Key {
			t.Errorf("role.delete = %+v", ev)
		}
	})
}

func TestTenantsOfListsOnlyTheAccountsOwnTenants(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("alpha", tenants.KindCareHome)
	b := f.Tenant("bravo", tenants.KindGPPractice)
	c := f.Tenant("charlie", tenants.KindCarersCharity)
	d := f.Tenant("delta", tenants.KindPaediatricTrust)
	adminC := f.admin(c, "admin@charlie.example")
	f.admin(d, "admin@delta.example")
	person := f.Account("person@example.org", "Per Son")
	f.Member(a, person, "care_staff")
	f.Member(b, person, "reception")
	f.Member(c, person, "trainer")
	if err := f.svc.RemoveMember(as(c, adminC), person); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		account uuid.UUID
		want    []string
	}{
		{"member of two, removed from a third", person, []string{"alpha", "bravo"}},
		{"admin of one", adminC, []string{"charlie"}},
		{"no memberships", f.Account("nobody@example.org", "No Body"), nil},
		{"no account", uuid.Nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := f.svc.TenantsOf(context.Background(), tt.account)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tn := range list {
				got = append(got, tn.Slug)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("TenantsOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMembersOfAnotherTenantStayInvisible(t *testing.T) {
	f := newFixture(t)
	a := f.Tenant("alpha", tenants.KindCareHome)
	b := f.Tenant("bravo", tenants.KindGPPractice)
	adminA := f.admin(a, "admin@alpha.example")
	adminB := f.admin(b, "admin@bravo.example")
	// Someone in both tenants acting in A: the own_memberships policy shows
	// them their membership of B too, so only the tenant condition keeps B out.
	both := f.Account("both@example.org", "Bo Th")
	f.Member(a, both, "care_staff")
	f.Member(b, both, "reception")
	onlyB := f.Account("onlyb@example.org", "Only B")
	f.Member(b, onlyB, "reception")

	for _, actor := range []uuid.UUID{adminA, both} {
		ms, err := f.svc.Members(as(a, actor))
		if err != nil {
			t.Fatal(err)
		}
		var emails []string
		for _, m := range ms {
			emails = append(emails, m.Email)
			if m.AccountID == both && !slices.Equal(m.Roles, []string{"care_staff"}) {
				t.Errorf("roles in A include B's: %v", m.Roles)
			}
		}
		if !slices.Equal(emails, []string{"admin@alpha.example", "both@example.org"}) {
			t.Errorf("members of A seen by %s = %v", actor, emails)
		}
	}
	if _, err := f.svc.Member(as(a, both), onlyB); !errs.Is(err, errs.NotFound) {
		t.Errorf("B's member through A: %v", err)
	}
	if _, err := f.svc.Member(as(a, both), adminB); !errs.Is(err, errs.NotFound) {
		t.Errorf("B's admin through A: %v", err)
	}
	if err := f.svc.RemoveMember(as(a, adminA), onlyB); !errs.Is(err, errs.NotFound) {
		t.Errorf("removing B's member through A: %v", err)
	}
	if err := f.svc.SetMemberRoles(as(a, adminA), onlyB, []string{"trainer"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("changing B's member through A: %v", err)
	}
	roles, err := f.svc.Roles(as(a, adminA))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Key == "reception" {
			t.Error("A sees B's roles")
		}
	}

	// Beneath the service, row-level security alone hides B's rows from a
	// transaction scoped to A that does not act as a member of B.
	err = f.Scoped.Tx(as(a, adminA), func(tx *gorm.DB) error {
		for _, table := range []string{"memberships", "roles", "invitations"} {
			var n int64
			if err := tx.Table(table).Where("tenant_id = ?", b.ID).Count(&n).Error; err != nil {
				return err
			}
			if n != 0 {
				t.Errorf("%d rows of B's %s visible in A", n, table)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServiceRefusesWorkWithoutATenant(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Members(context.Background()); err == nil || errs.KindOf(err) != errs.Internal {
		t.Errorf("Members without a tenant: %v", err)
	}
	if _, _, err := f.svc.InviteMember(context.Background(), "x@example.org", "trainer"); err == nil {
		t.Error("InviteMember without a tenant succeeded")
	}
}

func TestProvisioningInvitesTheFirstAdminWithoutBeingAMember(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	operator := f.Account("operator@example.org", "Op Erator")
	ctx := as(tn, operator)
	var token string
	err := f.Scoped.Tx(ctx, func(tx *gorm.DB) (err error) {
		token, err = f.svc.Invite(ctx, tx, "first.admin@example.org", policy.AdminRole(tn.Kind))
		return err
	})
	if err != nil {
		t.Fatalf("invite in the provisioning transaction: %v", err)
	}
	if _, err := f.svc.Accept(as(tn, uuid.Nil), token, access.AcceptInput{Name: "First Admin", Password: password, Confirm: password}, client); err != nil {
		t.Fatal(err)
	}
	m, ok := f.memberByEmail(tn, uuid.Nil, "first.admin@example.org")
	if !ok || !slices.Equal(m.Roles, []string{policy.AdminRole(tn.Kind)}) {
		t.Errorf("first admin = %+v, %v", m, ok)
	}
	// The operator has not become a member by inviting.
	if list, _ := f.svc.TenantsOf(context.Background(), operator); len(list) != 0 {
		t.Errorf("operator is a member of %v", list)
	}
}

func TestAddMemberIsIdempotentAndAudited(t *testing.T) {
	f := newFixture(t)
	tn := f.Tenant("riverside", tenants.KindCareHome)
	person := f.Account("person@example.org", "Per Son")
	ctx := as(tn, uuid.Nil)

	tests := []struct {
		name      string
		role      string
		wantRoles []string
		audited   bool
		kind      errs.Kind
	}{
		{"new member", "trainer", []string{"trainer"}, true, -1},
		{"same again", "trainer", []string{"trainer"}, false, -1},
		{"another role", "assessor", []string{"assessor", "trainer"}, true, -1},
		{"unknown role", "wizard", []string{"assessor", "trainer"}, false, errs.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.Events(tn))
			err := f.svc.AddMember(ctx, person, tt.role)
			if tt.kind >= 0 {
				if !errs.Is(err, tt.kind) {
					t.Fatalf("err = %v, want %s", err, tt.kind)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			m, err := f.svc.Member(ctx, person)
			if err != nil || !slices.Equal(m.Roles, tt.wantRoles) {
				t.Errorf("member = %+v, %v; want roles %v", m, err, tt.wantRoles)
			}
			evs := f.Events(tn)
			if got := len(evs) > before; got != tt.audited {
				t.Errorf("audited = %v, want %v", got, tt.audited)
			}
			if tt.audited && (evs[len(evs)-1].Action != "member.add" || evs[len(evs)-1].Detail["role"] != tt.role) {
				t.Errorf("last event = %+v", evs[len(evs)-1])
			}
		})
	}
	if err := f.svc.AddMember(ctx, uuid.Must(uuid.NewV7()), "trainer"); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown account: %v", err)
	}
}
