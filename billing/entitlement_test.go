package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

func TestEveryKindHasADefaultPlanItMayChoose(t *testing.T) {
	want := map[tenants.Kind]string{tenants.KindCarersCharity: "community", tenants.KindGPPractice: "practice",
		tenants.KindCareHome: "care_home", tenants.KindPaediatricTrust: "trust"}
	for k, key := range want {
		p := billing.DefaultPlan(k)
		if p.Key != key || !p.For(k) {
			t.Errorf("%s: default plan %s (open to it: %v); want %s", k, p.Key, p.For(k), key)
		}
	}
	community, _ := billing.PlanByKey("community")
	if !community.Free() || community.For(tenants.KindGPPractice) || community.Limit(billing.LimitHolders) != 250 {
		t.Errorf("community plan: %+v", community)
	}
	care, _ := billing.PlanByKey("care_home")
	if !care.PerSeat || care.Free() || care.Limit(billing.LimitHolders) != billing.Unlimited {
		t.Errorf("care-home plan: %+v", care)
	}
	trust, _ := billing.PlanByKey("trust")
	for _, f := range billing.Features {
		if !trust.Features[f] {
			t.Errorf("trust plan lacks %s", f)
		}
	}
	if _, ok := billing.PlanByKey("gold"); ok {
		t.Error("an unknown plan was found")
	}
}

func TestNewTenantsStartOnTheirKindsPlan(t *testing.T) {
	e := newEnv(t)
	gp := e.Tenant("gp-new", tenants.KindGPPractice)
	charity := e.Tenant("charity-new", tenants.KindCarersCharity)

	st := e.status(gp)
	if st.Plan.Key != "practice" || st.State != billing.StateTrialing || st.ReadOnly || st.TrialEndsAt == nil {
		t.Fatalf("a new GP practice: %+v", st)
	}
	if d := st.TrialEndsAt.Sub(gp.CreatedAt); d != 30*24*time.Hour {
		t.Errorf("trial of %v; want 30 days", d)
	}
	if st := e.status(charity); st.Plan.Key != "community" || st.State != billing.StateActive || st.TrialEndsAt != nil {
		t.Errorf("a new charity: %+v", st)
	}

	// The trial runs out on the fake clock: the practice becomes read-only.
	e.clock.Set(st.TrialEndsAt.Add(-time.Second))
	if st := e.status(gp); st.ReadOnly || st.Effective != billing.StateTrialing {
		t.Fatalf("a second before the trial ends: %+v", st)
	}
	b, err := e.svc.Banner(context.Background(), gp.ID)
	if err != nil || !strings.Contains(b, "free trial of Carepass ends on") {
		t.Errorf("banner near the end of the trial: %q %v", b, err)
	}
	e.clock.Set(*st.TrialEndsAt)
	st = e.status(gp)
	if !st.ReadOnly || st.Effective != billing.StateTrialEnded {
		t.Fatalf("at the trial's end: %+v", st)
	}
	b, _ = e.svc.Banner(context.Background(), gp.ID)
	if !strings.Contains(b, "read-only because its free trial of Carepass has ended") || !strings.Contains(b, "viewed and exported") {
		t.Errorf("banner after the trial: %q", b)
	}
	err = e.Scoped.Tx(ctx(gp, uuid.Nil), func(tx *gorm.DB) error {
		return e.svc.Allow(ctx(gp, uuid.Nil), tx, billing.LimitHolders, 1)
	})
	if !errs.Is(err, errs.ReadOnly) {
		t.Errorf("adding a holder after the trial: %v; want read-only", err)
	}
	if b, _ := e.svc.Banner(context.Background(), charity.ID); b != "" {
		t.Errorf("a charity on the free plan has a banner: %q", b)
	}
}

func TestAllowRefusesBeyondThePlansLimitWithTheNumbers(t *testing.T) {
	e := newEnv(t)
	charity := e.NamedTenant("carers-north", "Carers North", tenants.KindCarersCharity)
	e.holders(charity, 249)

	allow := func(limit string, adding int) error {
		var err error
		e.In(charity, func(tx *gorm.DB) error {
			err = e.svc.Allow(ctx(charity, uuid.Nil), tx, limit, adding)
			return nil
		})
		return err
	}
	if err := allow(billing.LimitHolders, 1); err != nil {
		t.Fatalf("the 250th holder: %v", err)
	}
	err := allow(billing.LimitHolders, 2)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("two more at 249 of 250: %v; want a conflict", err)
	}
	for _, want := range []string{"Community plan allows up to 250 active passport holders", "Carers North has 249",
		"would add 2 more", "Billing page (/t/carers-north/billing)"} {
		if !strings.Contains(errs.MessageOf(err), want) {
			t.Errorf("message %q lacks %q", errs.MessageOf(err), want)
		}
	}
	// Holders who have left do not count.
	e.holders(charity, 1)
	if err := allow(billing.LimitHolders, 1); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a 251st holder: %v", err)
	}
	e.In(charity, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET status = 'left' WHERE tenant_id = ? AND id = (SELECT id FROM holders WHERE tenant_id = ? LIMIT 1)`,
			charity.ID, charity.ID).Error
	})
	if err := allow(billing.LimitHolders, 1); err != nil {
		t.Errorf("after one left: %v", err)
	}
	// Team members: ten on the community plan.
	for i := range 10 {
		e.Staff(charity, "staff"+string(rune('a'+i))+"@north.example", "Staff", "charity_admin")
	}
	if err := allow(billing.LimitStaffSeats, 1); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "up to 10 team members") {
		t.Errorf("an eleventh team member: %v", err)
	}
	// A trust has no limits.
	trust := e.Tenant("trust-big", tenants.KindPaediatricTrust)
	e.In(trust, func(tx *gorm.DB) error {
		if err := e.svc.Allow(ctx(trust, uuid.Nil), tx, billing.LimitHolders, 100000); err != nil {
			t.Errorf("a trust adding many holders: %v", err)
		}
		return nil
	})
}

func TestFeaturesFollowThePlan(t *testing.T) {
	e := newEnv(t)
	charity := e.Tenant("charity-f", tenants.KindCarersCharity)
	gp := e.Tenant("gp-f", tenants.KindGPPractice)
	cases := []struct {
		tn      tenants.Tenant
		feature string
		want    bool
	}{
		{charity, billing.FeatureAPI, false},
		{charity, billing.FeatureCustomCatalogues, true},
		{gp, billing.FeatureAPI, true},
		{gp, billing.FeatureFHIRExport, true},
		{gp, billing.FeatureSSO, false},
	}
	for _, c := range cases {
		got, err := e.svc.Feature(ctx(c.tn, uuid.Nil), c.feature)
		if err != nil || got != c.want {
			t.Errorf("%s %s: %v %v; want %v", c.tn.Slug, c.feature, got, err, c.want)
		}
	}
	if _, err := e.svc.Feature(ctx(gp, uuid.Nil), "teleport"); err == nil {
		t.Error("an unknown feature was answered")
	}
	// Without Stripe, billing is off and refuses nothing.
	off := billing.New(e.Scoped, e.Log, nil, e.cfg)
	if ok, err := off.Feature(ctx(charity, uuid.Nil), billing.FeatureSSO); !ok || err != nil {
		t.Errorf("billing disabled: sso %v %v", ok, err)
	}
}
