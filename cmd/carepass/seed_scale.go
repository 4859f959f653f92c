package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/synth"
	"github.com/carepass/carepass/tenants"
)

// cmdSeedScale loads a synthetic population for load tests. It runs as the
// schema owner (MIGRATION_DATABASE_URL), one tenant-scoped transaction per
// tenant, so row-level security checks every row it writes.
func cmdSeedScale(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "seed scale", "seed scale [--tenants N] [--holders N] [--records N] [--seed S]   (synthetic population for load tests; runs as MIGRATION_DATABASE_URL)")
	n := fs.Int("tenants", 100, "tenants to make (the first is the reference care home)")
	holders := fs.Int("holders", 20_000, "holders in all, shared out by tenant kind")
	records := fs.Int("records", 500_000, "competency records in all")
	seed := fs.Int64("seed", 1, "selects the population: the same seed makes the same one")
	asOf := fs.String("as-of", "", "the day dates are relative to, YYYY-MM-DD (default today)")
	ref := fs.Int("ref-holders", 250, "holders of the reference tenant, whatever the population's size")
	workers := fs.Int("workers", 2, "tenants loaded at once")
	force := fs.Bool("force", false, "run even with CAREPASS_ENV=production (synthetic administrators then cannot sign in)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("seed scale takes flags only, not %q", strings.Join(fs.Args(), " "))
	}
	production := strings.EqualFold(e.getenv("CAREPASS_ENV"), envProduction)
	if production && !*force {
		return errors.New("seed scale refuses to run with CAREPASS_ENV=production: it adds a synthetic population of tenants, people and records; add --force if this is really a load-test deployment")
	}
	spec := synth.Spec{Tenants: *n, Holders: *holders, Records: *records, Seed: *seed, RefHolders: *ref, Workers: *workers}
	if *asOf != "" {
		d, err := time.Parse(time.DateOnly, *asOf)
		if err != nil {
			return errors.New("--as-of must be a date such as 2026-03-31")
		}
		spec.AsOf = d
	}
	if _, err := synth.Plan(spec); err != nil {
		return err
	}
	url := e.getenv("MIGRATION_DATABASE_URL")
	if err := requireDB(url, "MIGRATION_DATABASE_URL"); err != nil {
		return err
	}
	// Synthetic administrators sign in with the demo password, except in
	// production, where they get no password at all.
	if !production {
		h, err := account.HashPassword(or(e.getenv("CAREPASS_DEMO_PASSWORD"), defaultDemoPassword))
		if err != nil {
			return err
		}
		spec.PasswordHash = h
	}
	pool, _, err := pg.Open(ctx, url, pg.Options{MaxConns: int32(max(2, *workers+1))})
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintf(e.stdout, "Loading a synthetic population (seed %d): %d tenants, %d holders, %d records...\n", *seed, *n, *holders, *records)
	step := max(1, *n/20)
	rep, err := synth.Load(ctx, pool, spec, func(done, total int) {
		if done%step == 0 || done == total {
			fmt.Fprintf(e.stderr, "  %d of %d tenants\n", done, total)
		}
	})
	if err != nil {
		if rep.Tenants > 0 {
			fmt.Fprintf(e.stderr, "%d tenants were loaded before the failure; running the same command again completes the population\n", rep.Tenants)
		}
		return err
	}
	printScaleReport(e, rep, *seed)
	return nil
}

func printScaleReport(e *env, rep synth.Report, seed int64) {
	w := e.stdout
	if rep.Tenants == 0 {
		fmt.Fprintf(w, "Nothing to do: all %d synthetic tenants of seed %d are already loaded (%s).\n", rep.Skipped, seed, rep.Elapsed.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "Made %d synthetic tenants (slugs %s%d-NNNNN)", rep.Tenants, synth.SlugPrefix, seed)
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "; %d were already loaded", rep.Skipped)
	}
	fmt.Fprintln(w, ":")
	for _, k := range tenants.Kinds {
		if rep.ByKind[k] > 0 {
			fmt.Fprintf(w, "  %-28s %10d\n", k.Label(), rep.ByKind[k])
		}
	}
	for _, row := range []struct {
		label string
		n     int64
	}{
		{"holders (and people)", rep.Holders}, {"competency records", rep.Records}, {"record history entries", rep.Events},
		{"training courses", rep.Courses}, {"training sessions", rep.Sessions}, {"bookings", rep.Bookings},
		{"carer passports", rep.Passports}, {"carer register entries", rep.Register},
		{"care-home compliance rows", rep.Care}, {"administrator accounts", rep.Accounts}, {"authorization rules", rep.Rules},
	} {
		fmt.Fprintf(w, "  %-28s %10d\n", row.label, row.n)
	}
	fmt.Fprintf(w, "in %s (statistics refreshed in %s). Administrators sign in as admin@<slug>.%s.\n",
		rep.Elapsed.Round(time.Millisecond), rep.AnalyzeTaken.Round(time.Millisecond), synth.EmailDomain)
}
