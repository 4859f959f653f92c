package main

import (
	"context"
	"fmt"
	"time"

	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// seedPassports gives a fresh demo tenant its schemes and issues carer
// passports to its first holders under the first scheme, as the tenant's
// administrator would: the first holder's is active; at the charity a
// second is suspended, to show the states.
func seedPassports(ctx context.Context, a *app, t tenants.Tenant, d demoTenant, enrolled []holder.Holder) error {
	schemes, err := seedSchemes(ctx, a, t)
	if err != nil || len(schemes) == 0 || len(enrolled) == 0 {
		return err
	}
	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(d.kind), d.short), "", a.cfg.DemoPassword)
	if err != nil {
		return err
	}
	actx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)
	sch := schemes[0]
	consentDay := time.Now().UTC().AddDate(0, 0, -3)
	for i, h := range enrolled[:min(2, len(enrolled))] {
		in := carerpassport.IssueInput{HolderID: h.ID, SchemeID: sch.ID, CaredForName: caredForNames[i%len(caredForNames)],
			Relationship: "Parent", ConsentGivenBy: "The person cared for", ConsentMethod: "in_person", ConsentDate: &consentDay,
			StayReference: "Ward 7, admitted " + consentDay.Format("2 January"), Note: "Demo passport"}
		p, err := a.passports.Issue(actx, in)
		if err != nil {
			return fmt.Errorf("seed %s passport: %w", t.Slug, err)
		}
		if i == 1 && t.Kind == tenants.KindCarersCharity {
			if _, err := a.passports.Suspend(actx, p.ID, "Demo: checking that consent still stands"); err != nil {
				return fmt.Errorf("seed %s suspend: %w", t.Slug, err)
			}
		}
	}
	return nil
}

var caredForNames = []string{"Grace Okafor", "Stanley Hughes"}
