package main

import (
	"context"
	"fmt"
	"time"

	"github.com/carepass/carepass/modules/register"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// demoCarer is one fictional entry of a demo carer register. Days are
// counted from the day the seed runs; NHS numbers are from the 999 range,
// which is never issued to patients.
type demoCarer struct {
	given, family, born, nhs, concept string
	recorded, review                  int // days from today; review 0: none
	consent                           bool
	caredFor, relationship, known     string
	closed                            int    // days from today the entry was closed; 0: open
	reason                            string // why it was closed
}

// demoRegisters are the fictional carer registers: the GP practice's, and
// a smaller one for any other demo tenant.
var demoRegisters = map[tenants.Kind][]demoCarer{
	tenants.KindGPPractice: {
		{given: "Margaret", family: "Ellery", born: "1951-03-08", nhs: "9990000018", concept: "824401000000105",
			recorded: -400, review: 10, consent: true, caredFor: "Alan Ellery", relationship: "Wife", known: "yes"},
		{given: "Tom", family: "Haldane", born: "1962-09-30", nhs: "9990000026", concept: "302767002",
			recorded: -200, review: 165, caredFor: "Jean Haldane", relationship: "Son", known: "no"},
		{given: "Sam", family: "Whitlow", born: "2009-07-14", concept: "224484003",
			recorded: -90, review: -5, consent: true, caredFor: "Lena Whitlow", relationship: "Brother"},
		{given: "Priya", family: "Sandhu", born: "1995-01-21", nhs: "9990000034", concept: "248611000000108",
			recorded: -300, consent: true, caredFor: "Dev Sandhu", relationship: "Daughter", known: "yes",
			closed: -20, reason: "cared_for_died"},
		{given: "Declan", family: "Foley", born: "1979-11-17", concept: "224486001", recorded: -30, review: 335},
	},
	"": {
		{given: "Helen", family: "Ashdown", born: "1968-12-01", nhs: "9990000042", concept: "407543004",
			recorded: -150, review: 20, consent: true, caredFor: "Robert Ashdown", relationship: "Wife"},
		{given: "Sam", family: "Whitlow", born: "2009-07-14", concept: "224484003", recorded: -60, review: 300},
		{given: "Joan", family: "Pike", born: "1949-05-02", nhs: "9990000050", concept: "276040005",
			recorded: -500, closed: -100, reason: "no_longer_caring"},
		{given: "Ravi", family: "Menon", born: "1984-08-19", concept: "407542009", recorded: -10, review: 355,
			consent: true, caredFor: "Anita Menon", relationship: "Father", known: "yes"},
	},
}

// seedRegister gives demo tenant t a few fictional entries on its carer
// register, added (and one closed) by the tenant's administrator. A
// register that already has entries is left as it is.
func seedRegister(ctx context.Context, a *app, t tenants.Tenant) error {
	short := ""
	for _, d := range demoTenants {
		if d.slug == t.Slug {
			short = d.short
		}
	}
	if short == "" {
		return fmt.Errorf("seed register: %s is not a demo tenant", t.Slug)
	}
	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(t.Kind), short), "", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	adminCtx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)
	existing, err := a.register.List(adminCtx, register.Filter{Limit: 1})
	if err != nil {
		return fmt.Errorf("seed register %s: %w", t.Slug, err)
	}
	if len(existing) > 0 {
		return nil
	}
	carers, ok := demoRegisters[t.Kind]
	if !ok {
		carers = demoRegisters[""]
	}
	today := a.register.Now()
	day := func(n int) register.Date {
		return register.DateFromISO(today.AddDate(0, 0, n).Format(time.DateOnly))
	}
	for _, c := range carers {
		in := register.Input{GivenName: c.given, FamilyName: c.family, DateOfBirth: register.DateFromISO(c.born),
			NHSNumber: c.nhs, SNOMEDCode: c.concept, RecordedOn: day(c.recorded), ConsentToShare: c.consent,
			CaredForName: c.caredFor, CaredForRelationship: c.relationship, CaredForKnown: c.known}
		if c.review != 0 {
			in.ReviewDue = day(c.review)
		}
		e, err := a.register.Add(adminCtx, in)
		if err != nil {
			return fmt.Errorf("seed register %s: %s %s: %w", t.Slug, c.given, c.family, err)
		}
		if c.closed != 0 {
			if _, err := a.register.Close(adminCtx, e.ID, register.Closure{On: day(c.closed), Reason: c.reason}); err != nil {
				return fmt.Errorf("seed register %s: close %s %s: %w", t.Slug, c.given, c.family, err)
			}
		}
	}
	return nil
}
