package main

import (
	"context"

	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/operator"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// demoTenant is one fictional organisation of the demo data set.
type demoTenant struct {
	kind    tenants.Kind
	name    string
	slug    string
	ods     string
	region  string
	short   string // used in demo email addresses
	holders []holder.NewHolder
}

func dob(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

// The organisations and people are invented; any likeness is accidental.
var demoTenants = []demoTenant{
	{kind: tenants.KindPaediatricTrust, name: "Wrenford Children's Hospital NHS Foundation Trust", slug: "wrenford-childrens",
		ods: "ZZW01", region: "North West", short: "trust", holders: []holder.NewHolder{
			{GivenName: "Amira", FamilyName: "Okafor", RoleInCare: "parent", DateOfBirth: dob("1988-04-12"), Email: "amira.okafor@example.org"},
			{GivenName: "Tom", FamilyName: "Haldane", RoleInCare: "unpaid_carer", DateOfBirth: dob("1962-09-30")},
			{GivenName: "Priya", FamilyName: "Sandhu", RoleInCare: "paid_carer", DateOfBirth: dob("1995-01-21")},
		}},
	{kind: tenants.KindCareHome, name: "Meadowbank Care Homes", slug: "meadowbank-care", region: "Merseyside", short: "carehome",
		holders: []holder.NewHolder{
			{GivenName: "Grace", FamilyName: "Mwangi", RoleInCare: "staff", DateOfBirth: dob("1990-06-02")},
			{GivenName: "Declan", FamilyName: "Foley", RoleInCare: "staff", DateOfBirth: dob("1979-11-17")},
		}},
	{kind: tenants.KindGPPractice, name: "Kestrel Lane Surgery", slug: "kestrel-lane-surgery", ods: "ZZK01", region: "Merseyside", short: "gp",
		holders: []holder.NewHolder{
			{GivenName: "Margaret", FamilyName: "Ellery", RoleInCare: "unpaid_carer", DateOfBirth: dob("1951-03-08")},
		}},
	{kind: tenants.KindCarersCharity, name: "Lanternfield Carers' Centre", slug: "lanternfield-carers", region: "Cheshire", short: "charity",
		holders: []holder.NewHolder{
			{GivenName: "Sam", FamilyName: "Whitlow", RoleInCare: "unpaid_carer", DateOfBirth: dob("2009-07-14")},
			{GivenName: "Helen", FamilyName: "Ashdown", RoleInCare: "unpaid_carer", DateOfBirth: dob("1968-12-01")},
		}},
}

// signin is one demo sign-in for the printed list.
type signin struct {
	Email, Tenant, Role string
}

const operatorEmail = "operator@demo.carepass.example"

func demoEmail(role, short string) string {
	return strings.ReplaceAll(role, "_", "-") + "." + short + "@demo.carepass.example"
}

// seedDemo creates the demo tenants, one account for every role of each, a
// platform operator and a few holders. Running it again changes nothing.
func seedDemo(ctx context.Context, a *app) ([]signin, error) {
	pw := a.cfg.DemoPassword
	var out []signin
	opID, err := a.ensureAccount(ctx, operatorEmail, "Olu Operator", pw)
	if err != nil {
		return nil, err
	}
	err = a.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := policy.ApplyPlatform(ctx, tx); err != nil {
			return err
		}
		return policy.AssignRole(ctx, tx, policy.PlatformDomain, opID.String(), policy.OperatorRole)
	})
	if err != nil {
		return nil, fmt.Errorf("seed operator: %w", err)
	}
	a.policy.Invalidate(policy.PlatformDomain)
	out = append(out, signin{operatorEmail, "platform", "operator"})

	opCtx := tenants.WithActor(ctx, opID)
	for _, d := range demoTenants {
		t, err := a.tenants.BySlug(ctx, d.slug)
		fresh := errs.Is(err, errs.NotFound)
		var enrolled []holder.Holder
		if fresh {
			p, err := a.operator.Provision(opCtx, operator.NewTenant{Kind: d.kind, Name: d.name, Slug: d.slug,
				ODSCode: d.ods, Region: d.region, AdminEmail: demoEmail(policy.AdminRole(d.kind), d.short)})
			if err != nil {
				return nil, fmt.Errorf("seed %s: %w", d.slug, err)
			}
			t = p.Tenant
		} else if err != nil {
			return nil, err
		}
		for _, rt := range policy.Templates(d.kind) {
			email := demoEmail(rt.Key, d.short)
			id, err := a.ensureAccount(ctx, email, demoName(rt.Name, d.short), pw)
			if err != nil {
				return nil, err
			}
			if err := a.access.AddMember(tenants.WithTenant(opCtx, t), id, rt.Key); err != nil {
				return nil, fmt.Errorf("seed %s member %s: %w", d.slug, rt.Key, err)
			}
			out = append(out, signin{email, d.slug, rt.Name})
		}
		if fresh {
			tctx := tenants.WithTenant(opCtx, t)
			err := a.db.Tx(tctx, func(tx *gorm.DB) error {
				for _, h := range d.holders {
					created, err := a.holders.Create(tctx, tx, h)
					if err != nil {
						return err
					}
					enrolled = append(enrolled, created)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("seed %s holders: %w", d.slug, err)
			}
			list, err := a.holders.List(tctx, "", 1)
			if err != nil {
				return nil, err
			}
			if len(list) > 0 {
				if _, err := a.claims.Invite(tctx, list[0].ID); err != nil {
					return nil, fmt.Errorf("seed %s claim link: %w", d.slug, err)
				}
			}
		}
		cat, ok, err := seedCatalogues(opCtx, a, t)
		if err != nil {
			return nil, err
		}
		if fresh && ok {
			if err := seedRecords(ctx, a, t, d, cat, enrolled); err != nil {
				return nil, fmt.Errorf("seed %s records: %w", d.slug, err)
			}
		}
		if fresh {
			if err := seedPassports(ctx, a, t, d, enrolled); err != nil {
				return nil, err
			}
			if d.kind == tenants.KindGPPractice || d.kind == tenants.KindCarersCharity {
				if err := seedRegister(ctx, a, t); err != nil {
					return nil, fmt.Errorf("seed %s carer register: %w", d.slug, err)
				}
			}
		}
		if d.slug == demoTenants[0].slug && fresh && len(enrolled) > 0 {
			if err := seedHolderAccount(ctx, a, t, enrolled[0]); err != nil {
				return nil, fmt.Errorf("seed holder account: %w", err)
			}
		}
		a.policy.Invalidate(t.ID.String())
	}
	if err := a.db.Platform(ctx, func(tx *gorm.DB) error {
		_, err := a.accounts.ByEmail(ctx, tx, holderEmail)
		return err
	}); err == nil {
		out = append(out, signin{holderEmail, "holder", "Passport holder: Your passport at /me/passport"})
	}
	// One person in two organisations, to show the tenant switcher.
	trust, charity := demoTenants[0], demoTenants[3]
	multi := demoEmail(policy.AdminRole(trust.kind), trust.short)
	id, err := a.ensureAccount(ctx, multi, "", pw)
	if err != nil {
		return nil, err
	}
	ct, err := a.tenants.BySlug(ctx, charity.slug)
	if err != nil {
		return nil, err
	}
	if err := a.access.AddMember(tenants.WithTenant(opCtx, ct), id, "trainer"); err != nil {
		return nil, fmt.Errorf("seed second membership: %w", err)
	}
	a.policy.Invalidate(ct.ID.String())
	if err := seedBadges(ctx, a); err != nil {
		return nil, fmt.Errorf("seed badges: %w", err)
	}
	if err := seedTraining(ctx, a); err != nil {
		return nil, fmt.Errorf("seed training: %w", err)
	}
	if err := seedCareplan(ctx, a); err != nil {
		return nil, fmt.Errorf("seed care plans: %w", err)
	}
	if err := seedCareHome(ctx, a); err != nil {
		return nil, err
	}
	return out, nil
}

func demoName(role, short string) string {
	return "Demo " + role + " (" + short + ")"
}

// ensureAccount returns the id of the account with email, creating it with
// the demo password when it does not exist.
func (a *app) ensureAccount(ctx context.Context, email, name, pw string) (id uuid.UUID, err error) {
	err = a.db.Platform(ctx, func(tx *gorm.DB) error {
		acct, err := a.accounts.ByEmail(ctx, tx, email)
		if err == nil {
			id = acct.ID
			// Keep demo accounts on the configured demo password.
			ok, err := a.accounts.PasswordMatches(ctx, tx, acct.ID, pw)
			if err != nil || ok {
				return err
			}
			return a.accounts.SetPassword(ctx, tx, acct.ID, pw)
		}
		if !errs.Is(err, errs.NotFound) {
			return err
		}
		acct, err = a.accounts.Create(ctx, tx, email, name, pw)
		id = acct.ID
		return err
	})
	if err != nil {
		return id, fmt.Errorf("seed account %s: %w", email, err)
	}
	return id, nil
}

func printSignins(e *env, url string, signins []signin, pw string) {
	w := e.stdout
	if url != "" {
		fmt.Fprintf(w, "\nCarepass is running at %s\n", url)
	}
	fmt.Fprintf(w, "\nDemo sign-ins (password for all: %s)\n", pw)
	last := ""
	for _, s := range signins {
		if s.Tenant != last {
			fmt.Fprintf(w, "  %s\n", s.Tenant)
			last = s.Tenant
		}
		fmt.Fprintf(w, "    %-52s %s\n", s.Email, s.Role)
	}
	fmt.Fprintln(w)
}
