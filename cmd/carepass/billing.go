package main

import (
	"context"
	"errors"
	"fmt"
)

// cmdBilling runs billing's maintenance: reconcile brings every tenant's
// billing state in line with Stripe, for after an outage longer than
// Stripe's retries of webhooks.
func cmdBilling(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "reconcile" {
		fmt.Fprintln(e.stderr, "Usage: carepass billing reconcile")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("billing needs reconcile")
	}
	fs := flags(e, "billing reconcile", "billing reconcile")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := setup(ctx, e)
	if err != nil {
		return err
	}
	defer a.pool.Close()
	if !a.billing.Enabled() {
		return errors.New("billing is not set up: STRIPE_SECRET_KEY is not set")
	}
	r, err := a.billing.Reconcile(ctx)
	if err != nil {
		return err
	}
	for _, c := range r.Changed {
		fmt.Fprintf(e.stdout, "changed %s\n", c)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(e.stdout, "FAILED %s\n", f)
	}
	fmt.Fprintf(e.stdout, "billing reconcile: %d tenants checked, %d changed, %d seat counts corrected, %d failed\n",
		r.Checked, len(r.Changed), r.Seats, len(r.Failures))
	if len(r.Failures) > 0 {
		return fmt.Errorf("%d tenants could not be reconciled", len(r.Failures))
	}
	return nil
}
