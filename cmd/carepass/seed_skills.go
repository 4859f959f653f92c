package main

import (
	"context"
	"fmt"

	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// demoCatalogues says which standard catalogue each demo tenant adopts.
var demoCatalogues = map[string]string{
	"wrenford-childrens":  "PCC",
	"meadowbank-care":     "CHS",
	"lanternfield-carers": "PCC",
}

// seedCatalogues adopts and publishes each demo tenant's catalogue once.
func seedCatalogues(ctx context.Context, a *app, t tenants.Tenant) (catalogue.Catalogue, bool, error) {
	code, ok := demoCatalogues[t.Slug]
	if !ok {
		return catalogue.Catalogue{}, false, nil
	}
	tctx := tenants.WithTenant(ctx, t)
	list, err := a.catalogues.List(tctx)
	if err != nil {
		return catalogue.Catalogue{}, false, err
	}
	for _, c := range list {
		if c.StdCode == code && c.Status == catalogue.Published {
			return c, true, nil
		}
	}
	lib, err := a.catalogues.Library(tctx)
	if err != nil {
		return catalogue.Catalogue{}, false, err
	}
	for _, std := range lib {
		if std.Code != code {
			continue
		}
		c, err := a.catalogues.Adopt(tctx, std.ID, catalogue.NewCatalogue{})
		if err != nil {
			return c, false, fmt.Errorf("seed %s: adopt %s: %w", t.Slug, code, err)
		}
		c, err = a.catalogues.Publish(tctx, c.ID)
		return c, true, err
	}
	return catalogue.Catalogue{}, false, errs.E(errs.NotFound, "standard catalogue "+code+" is not in the library")
}
