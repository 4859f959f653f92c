package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/carepass/carepass/modules/scheme"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// seedSchemes gives a demo tenant the ready-made carer passport schemes of
// its kind, created by the tenant's administrator as they would from the
// schemes page, and returns them. A scheme whose name the tenant already
// has is left as it is (and returned), so running it again changes
// nothing. A tenant that is not one of the demo tenants gets none.
func seedSchemes(ctx context.Context, a *app, t tenants.Tenant) ([]scheme.Scheme, error) {
	var demo *demoTenant
	for i := range demoTenants {
		if demoTenants[i].slug == t.Slug {
			demo = &demoTenants[i]
			break
		}
	}
	if demo == nil {
		return nil, nil
	}
	admin, err := a.ensureAccount(ctx, demoEmail(policy.AdminRole(demo.kind), demo.short), "", a.cfg.DemoPassword)
	if err != nil {
		return nil, err
	}
	adminCtx := tenants.WithActor(tenants.WithTenant(ctx, t), admin)

	existing, err := a.schemes.List(adminCtx, true)
	if err != nil {
		return nil, fmt.Errorf("seed %s schemes: %w", t.Slug, err)
	}
	byName := make(map[string]scheme.Scheme, len(existing))
	for _, s := range existing {
		byName[strings.ToLower(s.Name)] = s
	}
	var out []scheme.Scheme
	for _, p := range a.schemes.Presets(t.Kind) {
		if s, ok := byName[strings.ToLower(p.Name)]; ok {
			out = append(out, s)
			continue
		}
		s, err := a.schemes.CreateFromPreset(adminCtx, p.Key)
		if err != nil {
			return nil, fmt.Errorf("seed %s scheme %s: %w", t.Slug, p.Key, err)
		}
		out = append(out, s)
	}
	return out, nil
}
