package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/operator"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// setup reads the configuration and builds the app for a subcommand.
func setup(ctx context.Context, e *env) (*app, error) {
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return nil, err
	}
	return newApp(ctx, cfg, newLogger(e.stderr, cfg.LogLevel))
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "serve", "serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, newLogger(e.stdout, cfg.LogLevel))
	if err != nil {
		return err
	}
	return a.serve(ctx)
}

func cmdDev(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "dev", "dev   (migrate up, seed demo, serve)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if cfg.production() {
		return errors.New("dev refuses to run with CAREPASS_ENV=production; use serve")
	}
	if err := migrateUp(ctx, cfg); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, newLogger(e.stdout, cfg.LogLevel))
	if err != nil {
		return err
	}
	signins, err := seedDemo(ctx, a)
	if err != nil {
		return err
	}
	printSignins(e, "http://"+cfg.Addr, signins, cfg.DemoPassword)
	return a.serve(ctx)
}

func migrateUp(ctx context.Context, cfg config) error {
	if err := requireDB(cfg.MigrationURL, "MIGRATION_DATABASE_URL"); err != nil {
		return err
	}
	db, err := openSQL(cfg.MigrationURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrations.Up(ctx, db)
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "migrate", "migrate up|down|status   (runs as MIGRATION_DATABASE_URL, the owner role)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Migrations need only the owner's URL, not the server's secrets.
	migrationURL := e.getenv("MIGRATION_DATABASE_URL")
	if err := requireDB(migrationURL, "MIGRATION_DATABASE_URL"); err != nil {
		return err
	}
	db, err := openSQL(migrationURL)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := migrations.Provider(db)
	if err != nil {
		return err
	}
	var results []*goose.MigrationResult
	switch fs.Arg(0) {
	case "up":
		if results, err = p.Up(ctx); err == nil {
			err = migrations.LoadLibrary(ctx, db)
		}
	case "down":
		var r *goose.MigrationResult
		if r, err = p.Down(ctx); r != nil {
			results = append(results, r)
		}
	case "status":
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range st {
			applied := "pending"
			if s.State == goose.StateApplied {
				applied = "applied " + s.AppliedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(e.stdout, "%05d  %-40s %s\n", s.Source.Version, s.Source.Path, applied)
		}
		return nil
	default:
		fs.Usage()
		return errors.New("migrate needs up, down or status")
	}
	for _, r := range results {
		fmt.Fprintf(e.stdout, "%s %05d %s (%s)\n", r.Direction, r.Source.Version, r.Source.Path, r.Duration.Round(time.Millisecond))
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", fs.Arg(0), err)
	}
	if len(results) == 0 {
		fmt.Fprintln(e.stdout, "nothing to do")
	}
	return nil
}

func cmdSeed(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "scale" {
		return cmdSeedScale(ctx, e, args[1:])
	}
	fs := flags(e, "seed", "seed demo | seed scale [flags]   (demo: idempotent; refused in production)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Arg(0) != "demo" {
		fs.Usage()
		return errors.New("seed needs: demo or scale")
	}
	a, err := setup(ctx, e)
	if err != nil {
		return err
	}
	if a.cfg.production() {
		return errors.New("demo data is not allowed with CAREPASS_ENV=production")
	}
	signins, err := seedDemo(ctx, a)
	if err != nil {
		return err
	}
	printSignins(e, "", signins, a.cfg.DemoPassword)
	return nil
}

func cmdTenant(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "suspend" && args[0] != "resume" && args[0] != "rotate-key") {
		fmt.Fprintln(e.stderr, "Usage: carepass tenant create|suspend|resume|rotate-key [flags]   (--help after the verb for its flags)")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("tenant needs create, suspend, resume or rotate-key")
	}
	verb := args[0]
	fs := flags(e, "tenant "+verb, "tenant "+verb+" [flags]")
	kind := fs.String("kind", "", "paediatric_trust, care_home, gp_practice or carers_charity")
	name := fs.String("name", "", "display name")
	slug := fs.String("slug", "", "web address part: /t/<slug>")
	ods := fs.String("ods", "", "NHS ODS code (optional)")
	region := fs.String("region", "", "region (optional)")
	admin := fs.String("admin-email", "", "email of the first tenant administrator (gets an invitation link)")
	base := fs.String("base-url", "http://127.0.0.1:8080", "the site's address, to print a full invitation link")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := setup(ctx, e)
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		p, err := a.operator.Provision(ctx, operator.NewTenant{Kind: tenants.Kind(*kind), Name: *name, Slug: *slug,
			ODSCode: *ods, Region: *region, AdminEmail: *admin})
		if err != nil {
			return cliErr(err)
		}
		fmt.Fprintf(e.stdout, "Created %s (%s) at /t/%s\nInvitation for %s (hand it over; valid 14 days, shown once):\n  %s%s\n",
			p.Tenant.Name, p.Tenant.Kind, p.Tenant.Slug, *admin, *base, p.InvitePath)
	case "rotate-key":
		if *slug == "" && fs.NArg() > 0 {
			*slug = fs.Arg(0)
		}
		pub, err := rotateKey(ctx, a, *slug)
		if err != nil {
			return cliErr(err)
		}
		fmt.Fprintf(e.stdout, "%s now signs with key %s; its earlier keys stay published, so what they signed keeps verifying\n", *slug, pub.KID)
	default:
		if *slug == "" && fs.NArg() > 0 {
			*slug = fs.Arg(0)
		}
		st := tenants.StatusSuspended
		if verb == "resume" {
			st = tenants.StatusActive
		}
		t, err := a.operator.SetStatus(ctx, *slug, st)
		if err != nil {
			return cliErr(err)
		}
		fmt.Fprintf(e.stdout, "%s is now %s\n", t.Name, t.Status)
	}
	return nil
}

func cmdAccount(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "set-password") {
		fmt.Fprintln(e.stderr, "Usage: carepass account create|set-password --email EMAIL [--name NAME] [--operator]   (password on standard input)")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("account needs create or set-password")
	}
	verb := args[0]
	fs := flags(e, "account "+verb, "account "+verb+" --email EMAIL   (reads the password from standard input)")
	email := fs.String("email", "", "account email")
	name := fs.String("name", "", "display name (create)")
	op := fs.Bool("operator", true, "make the account a platform operator (create)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := setup(ctx, e)
	if err != nil {
		return err
	}
	pw, err := readSecret(e, "Password: ")
	if err != nil {
		return err
	}
	// Recorded in the platform audit chain as done from the command line.
	ev := audit.Event{ActorLabel: "command line", ObjectType: "account"}
	err = a.db.Platform(ctx, func(tx *gorm.DB) error {
		if verb == "set-password" {
			acct, err := a.accounts.ByEmail(ctx, tx, *email)
			if err != nil {
				return err
			}
			if err := a.accounts.SetPassword(ctx, tx, acct.ID, pw); err != nil {
				return err
			}
			ev.Action, ev.ObjectID = "account.set_password", acct.ID.String()
			return a.audit.RecordPlatform(ctx, tx, ev)
		}
		acct, err := a.accounts.Create(ctx, tx, *email, *name, pw)
		if err != nil {
			return err
		}
		ev.Action, ev.ObjectID = "account.create", acct.ID.String()
		ev.Detail = map[string]string{"operator": fmt.Sprint(*op)}
		if *op {
			if err := policy.ApplyPlatform(ctx, tx); err != nil {
				return err
			}
			if err := policy.AssignRole(ctx, tx, policy.PlatformDomain, acct.ID.String(), policy.OperatorRole); err != nil {
				return err
			}
		}
		return a.audit.RecordPlatform(ctx, tx, ev)
	})
	if err != nil {
		return cliErr(err)
	}
	a.policy.Invalidate(policy.PlatformDomain)
	fmt.Fprintf(e.stdout, "account %s: done\n", *email)
	return nil
}

func cmdAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(e.stderr, "Usage: carepass audit verify --tenant SLUG | --platform")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("audit needs verify")
	}
	fs := flags(e, "audit verify", "audit verify --tenant SLUG | --platform")
	slug := fs.String("tenant", "", "tenant slug whose chain to verify")
	platform := fs.Bool("platform", false, "verify the platform chain instead")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if (*slug == "") == !*platform {
		fs.Usage()
		return errors.New("give exactly one of --tenant or --platform")
	}
	a, err := setup(ctx, e)
	if err != nil {
		return err
	}
	vctx := ctx
	label := "platform"
	run := a.db.Platform
	if *slug != "" {
		t, err := a.tenants.BySlug(ctx, *slug)
		if err != nil {
			return fmt.Errorf("no tenant %q", *slug)
		}
		vctx, label, run = tenants.WithTenant(ctx, t), t.Slug, a.db.Tx
	}
	var res auditResult
	err = run(vctx, func(tx *gorm.DB) error {
		r, err := a.audit.Verify(vctx, tx, *platform)
		res = auditResult{r.Events, r.BrokenAt, r.Reason}
		return err
	})
	if err != nil {
		return err
	}
	if res.brokenAt != 0 {
		fmt.Fprintf(e.stdout, "audit chain %s: BROKEN at event %d of %d checked: %s\n", label, res.brokenAt, res.events, res.reason)
		return errors.New("audit chain broken")
	}
	fmt.Fprintf(e.stdout, "audit chain %s: intact (%d events)\n", label, res.events)
	return nil
}

type auditResult struct {
	events, brokenAt int64
	reason           string
}

// cliErr shows validation problems line by line.
func cliErr(err error) error {
	if f := errs.FieldsOf(err); len(f) > 0 {
		msg := "invalid input:"
		for _, fe := range f {
			msg += fmt.Sprintf("\n  --%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Message)
		}
		return errors.New(msg)
	}
	if k := errs.KindOf(err); k != errs.Internal {
		return errors.New(errs.MessageOf(err))
	}
	return err
}
