package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/carepass/carepass/billing"
	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/badge"
	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/dashboard"
	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/issuer"
	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/notify"
	"github.com/carepass/carepass/modules/operator"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/modules/register"
	"github.com/carepass/carepass/modules/scheme"
	"github.com/carepass/carepass/modules/setting"
	"github.com/carepass/carepass/modules/share"
	"github.com/carepass/carepass/modules/stats"
	"github.com/carepass/carepass/modules/training"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
	"github.com/carepass/carepass/web"
)

// app holds every long-lived component, built once here and nowhere else.
type app struct {
	cfg        config
	log        *slog.Logger
	pool       *pgxpool.Pool
	gdb        *gorm.DB
	db         *tenants.DB
	tenants    *tenants.Store
	audit      *audit.Log
	accounts   *account.Service
	policy     *policy.Enforcers
	access     *access.Service
	operator   *operator.Service
	holders    *holder.Service
	claims     *holder.Claims
	shares     *share.Service
	catalogues *catalogue.Service
	records    *record.Service
	schemes    *scheme.Service
	issuer     *issuer.Service
	passports  *carerpassport.Service
	register   *register.Service
	badges     *badge.Service
	training   *training.Service
	notifier   *notify.Notifier
	jobs       *jobs.Queue
	billing    *billing.Service
	dashboard  *dashboard.Service
	stats      *stats.Service
	careplans  *careplan.Service
	settings   *setting.Service
	carehome   *carehome.Service
}

// newApp connects to the database as the app role and builds the services.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	if err := requireDB(cfg.DatabaseURL, "DATABASE_URL"); err != nil {
		return nil, err
	}
	pool, gdb, err := pg.Open(ctx, cfg.DatabaseURL, pg.Options{MaxConns: cfg.DBMaxConns, Logger: log})
	if err != nil {
		return nil, err
	}
	return assemble(ctx, cfg, log, pool, gdb, time.Now)
}

// assemble wires the services over an open pool; tests call it with their own.
func assemble(ctx context.Context, cfg config, log *slog.Logger, pool *pgxpool.Pool, gdb *gorm.DB, now func() time.Time) (*app, error) {
	enf, err := policy.New(ctx, pool, policy.Options{CacheSize: cfg.PolicyCacheSize, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	a := &app{cfg: cfg, log: log, pool: pool, gdb: gdb, policy: enf}
	a.db = tenants.NewDB(gdb)
	a.tenants = tenants.NewStore(gdb)
	a.audit = audit.New(now)
	a.billing = billing.New(a.db, a.audit, cfg.Billing.Client(nil), billingConfig(cfg, log, enf, now))
	a.accounts = account.NewService(a.db, a.audit, account.Config{
		IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionAbsolute, Now: now})
	a.access = access.NewService(a.db, a.tenants, a.accounts, a.audit, enf, now, access.WithSeats(a.billing.Limit(billing.LimitStaffSeats)))
	a.operator = operator.NewService(a.db, a.tenants, a.access, a.audit, enf, now)
	a.holders = holder.NewService(a.db, a.audit, now, holder.WithShares(share.OwnShareIDs),
		holder.WithLimit(a.billing.Limit(billing.LimitHolders)))
	a.claims = holder.NewClaims(a.db, a.tenants, a.accounts, a.audit, now)
	a.shares = share.NewService(a.db, a.tenants, a.holders, a.audit, now)
	a.catalogues = catalogue.NewService(a.db, a.audit, now)
	if a.issuer, err = issuer.New(a.db, cfg.CredentialKey, now); err != nil {
		return nil, err
	}
	a.badges = badge.NewService(a.db, a.tenants, a.issuer, a.audit, cfg.PublicURL, now)
	a.badges.SetVerifyLimits(cfg.VerifyPerMinute, cfg.VerifyPerSecond)
	a.records = record.NewService(record.Deps{DB: a.db, Specs: a.catalogues, Finder: a.catalogues,
		Accounts: a.accounts, Authz: a.policy, Audit: a.audit, Changed: a.badges.RecordChanged},
		record.Config{Now: now, DueWindowDays: cfg.DueWindowDays})
	a.schemes = scheme.NewService(a.db, a.audit, now)
	a.register = register.NewService(a.db, a.audit, now)
	a.carehome = carehome.NewService(carehome.Deps{DB: a.db, Audit: a.audit, Holders: staffHolders{a.holders},
		Shares: sharedCompetencies{a.shares}, HomesLimit: a.billing.Limit(billing.LimitHomes)},
		carehome.Config{Now: now, DueWindowDays: cfg.DueWindowDays})
	if err := a.assembleJobs(cfg, log, pool, now); err != nil {
		return nil, err
	}
	a.training = training.NewService(a.db, a.audit, a.records, a.notifier, now,
		training.WithEnroller(a.holders), training.WithPublicURL(cfg.PublicURL))
	a.notifier.UseEvents(a.training)
	a.careplans = careplan.NewService(a.db, a.audit, staffBooker{a.training}, now)
	a.settings = setting.NewService(a.db, a.audit, a.careplans, staffBooker{a.training}, now)
	a.passports = carerpassport.NewService(carerpassport.Deps{DB: a.db, Pool: pool, Schemes: schemeTerms{a.schemes},
		Issuer: a.issuer, Audit: a.audit}, carerpassport.Config{Now: now, ClientPerMinute: cfg.VerifyPerMinute,
		GlobalPerSecond: cfg.VerifyPerSecond})
	// Dashboards and platform statistics.
	a.dashboard = dashboard.NewService(a.db, now, dashboard.WithCompliance(complianceHistory{a.carehome}))
	a.stats = stats.NewService(a.db, a.audit, now, stats.Config{})
	return a, nil
}

// assembleJobs builds the mail sender, the notifier and the queue whose
// workers send what it enqueues. The queue needs the notifier's workers and
// the notifier needs the queue, so the queue is handed over once built.
func (a *app) assembleJobs(cfg config, log *slog.Logger, pool *pgxpool.Pool, now func() time.Time) error {
	smtpCfg := cfg.SMTP
	smtpCfg.Now = now
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		smtpCfg.HelloName = u.Hostname()
	}
	sender, err := mail.NewSMTP(smtpCfg)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	// The preferences links' key is derived from the secret key, so it is
	// as stable as the sessions are.
	mac := hmac.New(sha256.New, cfg.SecretKey)
	mac.Write([]byte("carepass mail preferences"))
	a.notifier, err = notify.New(notify.Deps{DB: a.db, Audit: a.audit, Mail: sender, PublicURL: cfg.PublicURL,
		Organizer: cfg.SMTP.From, Key: mac.Sum(nil), Offsets: cfg.ReminderOffsets, Now: now, Log: log})
	if err != nil {
		return err
	}
	workers := river.NewWorkers()
	a.notifier.Workers(workers)
	a.billing.Workers(workers)
	a.carehome.Workers(workers, a.tenants)
	periodic := slices.Concat(a.notifier.Periodic(), a.billing.Periodic(), a.carehome.Periodic())
	if a.jobs, err = jobs.New(pool, log, workers, jobs.Options{Periodic: periodic}); err != nil {
		return err
	}
	a.notifier.UseQueue(a.jobs)
	return nil
}

// server builds the web application and mounts every module's routes.
func (a *app) server() (*web.Server, error) {
	views, err := web.NewViews(
		web.TemplateSet{Namespace: "account", FS: account.Templates},
		web.TemplateSet{Namespace: "access", FS: access.Templates},
		web.TemplateSet{Namespace: "operator", FS: operator.Templates},
		web.TemplateSet{Namespace: "dashboard", FS: dashboard.Templates},
		web.TemplateSet{Namespace: "holder", FS: holder.Templates},
		web.TemplateSet{Namespace: "share", FS: share.Templates},
		web.TemplateSet{Namespace: "audit", FS: audit.Templates},
		web.TemplateSet{Namespace: "catalogue", FS: catalogue.Templates},
		web.TemplateSet{Namespace: "record", FS: record.Templates},
		web.TemplateSet{Namespace: "scheme", FS: scheme.Templates},
		web.TemplateSet{Namespace: "carerpassport", FS: carerpassport.Templates},
		web.TemplateSet{Namespace: "register", FS: register.Templates},
		web.TemplateSet{Namespace: "badge", FS: badge.Templates},
		web.TemplateSet{Namespace: "training", FS: training.Templates},
		web.TemplateSet{Namespace: "notify", FS: notify.Templates},
		web.TemplateSet{Namespace: "jobs", FS: jobs.Templates},
		web.TemplateSet{Namespace: "billing", FS: billing.Templates},
		web.TemplateSet{Namespace: "stats", FS: stats.Templates},
		web.TemplateSet{Namespace: "careplan", FS: careplan.Templates},
		web.TemplateSet{Namespace: "setting", FS: setting.Templates},
		web.TemplateSet{Namespace: "carehome", FS: carehome.Templates},
	)
	if err != nil {
		return nil, err
	}
	srv := web.New(web.Config{SecretKey: a.cfg.SecretKey, SecureCookies: a.cfg.SecureCookies, BodyLimit: a.cfg.BodyLimit,
		Bench: a.cfg.Bench, TrustedProxies: a.cfg.TrustedProxies, Logger: a.log},
		web.Deps{Pool: a.pool, Sessions: a.accounts, Members: a.access, Tenants: a.tenants, Policy: a.policy, Views: views,
			Notices: a.billing})
	srv.Home()
	// Billing's guard comes before every module's routes: a tenant that is
	// read-only for billing refuses changes everywhere but the exemptions.
	srv.Tenant.Use(a.billing.Guard())
	srv.TenantAPI.Use(a.billing.Guard(), a.billing.RequireFeature(billing.FeatureAPI))
	billing.Routes(srv.Tenant, a.billing, a.policy)
	billing.OperatorRoutes(srv.Operator, a.billing, a.policy)
	billing.WebhookRoutes(srv.Public, a.billing)
	srv.Stateless(billing.WebhookPath)
	account.Routes(srv.Public, a.accounts, srv)
	access.Routes(srv.Tenant, srv.TenantAPI, srv.Public, a.access, a.policy, srv)
	dashboard.Routes(srv.Tenant, srv.TenantAPI, a.policy, a.holders, a.dashboard)
	portal := srv.App.Group("/me")
	holder.Routes(srv.Tenant, srv.TenantAPI, a.holders, a.policy)
	holder.ClaimRoutes(srv.Tenant, srv.TenantAPI, srv.Public, a.holders, a.claims, a.policy, srv)
	holder.PortalRoutes(portal, a.holders)
	share.Routes(srv.Tenant, srv.TenantAPI, portal, a.shares, a.policy)
	catalogue.Routes(srv.Tenant, srv.TenantAPI, a.catalogues, a.policy)
	record.Routes(srv.Tenant, srv.TenantAPI, a.records, a.policy)
	scheme.Routes(srv.Tenant, srv.TenantAPI, a.schemes, a.policy)
	carerpassport.Routes(carerpassport.Routers{Tenant: srv.Tenant, TenantAPI: srv.TenantAPI, Portal: portal,
		Public: srv.Public, API: srv.API}, a.passports, a.policy, a.cfg.PublicURL)
	register.Routes(srv.Tenant, srv.TenantAPI, a.register, passportChecker{a.passports}, a.policy,
		a.billing.RequireFeature(billing.FeatureFHIRExport))
	badge.Routes(srv.Public, portal, a.badges)
	srv.Stateless(carerpassport.PublicAPIPath, badge.APIVerifyPath)
	issuer.Routes(srv.Public, a.issuer)
	audit.Routes(srv.Tenant, a.audit, a.db, a.policy)
	training.Routes(srv.Tenant, srv.TenantAPI, a.training, people{a.holders}, a.policy)
	training.PublicRoutes(training.PublicRouters{Tenant: srv.Tenant, Portal: portal}, a.training, a.cfg.PublicURL)
	notify.Routes(srv.Public, portal, a.notifier)
	careplan.Routes(srv.Tenant, srv.TenantAPI, a.careplans, a.policy)
	setting.Routes(srv.Tenant, srv.TenantAPI, a.settings, a.policy)
	srv.Stateless(notify.UnsubscribePath)
	operator.Routes(srv.Operator, a.operator, a.policy)
	jobs.Routes(srv.Operator, a.jobs, a.policy)
	stats.Routes(stats.Routers{Operator: srv.Operator, Public: srv.Public, API: srv.API}, a.stats, a.policy)
	carehome.Routes(srv.Tenant, srv.TenantAPI, a.carehome, a.policy)
	srv.Docs()
	srv.NotFound()
	return srv, nil
}

// serve runs the server until ctx ends, then shuts down gracefully.
func (a *app) serve(ctx context.Context) error {
	srv, err := a.server()
	if err != nil {
		return err
	}
	listenCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := a.policy.Listen(listenCtx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("policy listener stopped", "err", err)
		}
	}()
	go a.sweepBadges(listenCtx, 10*time.Minute)
	if err := a.jobs.Start(listenCtx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.App.Listen(a.cfg.Addr) }()
	a.log.Info("listening", "addr", a.cfg.Addr, "env", a.cfg.Env)
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	if err := srv.App.ShutdownWithTimeout(15 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopCtx, stopJobs := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer stopJobs()
	if err := a.jobs.Stop(stopCtx); err != nil {
		a.log.Warn("jobs did not stop cleanly", "err", err)
	}
	a.pool.Close()
	return nil
}

// sweepBadges withdraws, every interval until ctx ends, the skills
// credentials whose competency has expired since the last sweep, so that
// the status list says what the credential's own end date already does.
func (a *app) sweepBadges(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		list, err := a.tenants.List(ctx)
		if err != nil {
			a.log.Warn("badge sweep: list tenants", "err", err)
			continue
		}
		for _, t := range list {
			if n, err := a.badges.SweepExpired(ctx, t); err != nil {
				a.log.Warn("badge sweep", "tenant", t.Slug, "err", err)
			} else if n > 0 {
				a.log.Info("badge sweep", "tenant", t.Slug, "withdrawn", n)
			}
		}
	}
}

// billingConfig is billing's configuration: the environment's settings
// plus what the rest of the wiring knows.
func billingConfig(cfg config, log *slog.Logger, enf *policy.Enforcers, now func() time.Time) billing.Config {
	bc := cfg.Billing.Config
	bc.PublicURL, bc.Now, bc.Logger, bc.Members = cfg.PublicURL, now, log, enf
	bc.Counters = map[string]billing.Counter{billing.LimitHomes: carehome.CountHomes}
	// Checking a carer's passport, and revoking or suspending one, stay
	// possible while a tenant is read-only: carers must never be harmed
	// by their organisation's billing.
	bc.Exempt = []string{"/check", "/verify", "/carers/check", "/carer-passports/*/revoke", "/carer-passports/*/suspend"}
	return bc
}
