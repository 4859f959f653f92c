package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Defaults of Config.
const (
	DefaultTrialDays = 30
	DefaultGraceDays = 14
)

// Counter counts what a tenant uses of one limit, inside tx (a transaction
// scoped to the tenant).
type Counter func(ctx context.Context, tx *gorm.DB, tenantID uuid.UUID) (int, error)

// Config is billing's share of the configuration.
type Config struct {
	// PublicURL is the address people reach Carepass at (https://…, no
	// trailing slash): Stripe sends them back to pages under it.
	PublicURL string
	// Prices maps each paid plan's key to its Stripe price id.
	Prices map[string]string
	// TrialDays is the length of a new tenant's trial (DefaultTrialDays
	// when 0); GraceDays how long a payment may be overdue before the
	// tenant becomes read-only (DefaultGraceDays when 0).
	TrialDays int
	GraceDays int
	// WebhookSecret verifies the Stripe-Signature of webhook deliveries;
	// WebhookSecretPrevious, when set, is accepted too, while a secret is
	// being rolled.
	WebhookSecret         string
	WebhookSecretPrevious string
	// Exempt are paths under a tenant's address (such as "/billing" or
	// "/carers/check") where Guard lets changes through even when the
	// tenant is read-only. Billing's own pages are always exempt.
	Exempt []string
	// Counters count usage of limits beyond the built-in holders and
	// staff_seats (homes, say). A limit without a counter counts 0.
	Counters map[string]Counter
	// Subscriptions is where subscriptions are fetched from; nil: the
	// Stripe API. Tests may give their own source of fetched state.
	Subscriptions Subscriptions
	// Members says whether an account belongs to a tenant (domain: the
	// tenant id); Guard and RequireFeature tell only members about the
	// tenant's billing and leave everyone else to the routes' own answer
	// (a 404 for non-members). policy.Enforcers is one. Nil: everyone is
	// told.
	Members Members
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives what happens to webhooks and reconciliation.
	Logger *slog.Logger
}

// Members reports whether subject holds any role in domain.
type Members interface {
	HasAnyRole(ctx context.Context, domain, subject string) (bool, error)
}

// Service is billing: entitlements, state, checkout, the portal, webhooks
// and reconciliation. With no Stripe client it is disabled: every tenant may
// do everything, and the billing pages say billing is not set up.
type Service struct {
	db     *tenants.DB
	audit  *audit.Log
	api    *client.API
	subs   Subscriptions
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	prices map[string]string // price id → plan key
}

// New returns the billing service over db, auditing in log, talking to
// Stripe through api (nil: billing disabled).
func New(db *tenants.DB, log *audit.Log, api *client.API, cfg Config) *Service {
	if cfg.TrialDays <= 0 {
		cfg.TrialDays = DefaultTrialDays
	}
	if cfg.GraceDays <= 0 {
		cfg.GraceDays = DefaultGraceDays
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{db: db, audit: log, api: api, cfg: cfg, now: cfg.Now, log: cfg.Logger, prices: map[string]string{}}
	for plan, price := range cfg.Prices {
		if price != "" {
			s.prices[price] = plan
		}
	}
	s.subs = cfg.Subscriptions
	if s.subs == nil && api != nil {
		s.subs = StripeSubscriptions{API: api, Prices: func(id string) bool { _, ok := s.prices[id]; return ok }}
	}
	return s
}

// Enabled reports whether billing talks to Stripe. When it does not,
// nothing is refused for billing's sake.
func (s *Service) Enabled() bool { return s.api != nil }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) grace() time.Duration { return time.Duration(s.cfg.GraceDays) * 24 * time.Hour }

func (s *Service) rules() rules {
	return rules{now: s.clock(), planForPrice: s.planForPrice}
}

func (s *Service) planForPrice(priceID string) (Plan, bool) {
	if priceID == "" {
		return Plan{}, false
	}
	key, ok := s.prices[priceID]
	if !ok {
		return Plan{}, false
	}
	return PlanByKey(key)
}

// priceOf returns the Stripe price of a paid plan.
func (s *Service) priceOf(p Plan) (string, bool) {
	price := s.cfg.Prices[p.Key]
	return price, price != ""
}

func tenantOf(ctx context.Context) (tenants.Tenant, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok || t.ID == uuid.Nil {
		return tenants.Tenant{}, errs.Wrap(errs.Internal, "", errors.New("billing: no tenant in context"))
	}
	return t, nil
}

// Status returns the billing of tenant id as it stands now.
func (s *Service) Status(ctx context.Context, id uuid.UUID) (Status, error) {
	a, err := readAccount(ctx, s.db.PlatformRead(ctx), id, s.cfg.TrialDays, s.clock(), false)
	if err != nil {
		return Status{}, err
	}
	return a.status(s.clock(), s.grace()), nil
}

// Overview returns every tenant's billing, by tenant name, for the
// platform operator.
func (s *Service) Overview(ctx context.Context) ([]Status, error) {
	list, err := listAccounts(ctx, s.db.PlatformRead(ctx), s.cfg.TrialDays)
	if err != nil {
		return nil, err
	}
	now, grace := s.clock(), s.grace()
	out := make([]Status, len(list))
	for i, a := range list {
		out[i] = a.status(now, grace)
	}
	return out, nil
}

// count returns the tenant's usage of limit, inside tx.
func (s *Service) count(ctx context.Context, tx *gorm.DB, tenantID uuid.UUID, limit string) (int, error) {
	if c, ok := s.cfg.Counters[limit]; ok {
		return c(ctx, tx, tenantID)
	}
	var q string
	switch limit {
	case LimitHolders:
		q = `SELECT count(*) FROM holders WHERE tenant_id = ? AND status = 'active'`
	case LimitStaffSeats:
		q = `SELECT count(*) FROM memberships WHERE tenant_id = ? AND status = 'active'`
	default:
		return 0, nil
	}
	var n int64
	if err := tx.WithContext(ctx).Raw(q, tenantID).Scan(&n).Error; err != nil {
		return 0, storeErr("count "+limit, err)
	}
	return int(n), nil
}

// usage counts every limit of plan p for the tenant, inside tx.
func (s *Service) usage(ctx context.Context, tx *gorm.DB, tenantID uuid.UUID, p Plan) ([]Usage, error) {
	out := make([]Usage, 0, len(Limits))
	for _, l := range Limits {
		n, err := s.count(ctx, tx, tenantID, l)
		if err != nil {
			return nil, err
		}
		out = append(out, Usage{Limit: l, Label: limitLabel(l), Used: n, Max: p.Limit(l)})
	}
	return out, nil
}

// Usage returns what the tenant in ctx uses against each limit of its plan.
func (s *Service) Usage(ctx context.Context) ([]Usage, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.Status(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	var out []Usage
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		out, err = s.usage(ctx, tx, t.ID, st.Plan)
		return err
	})
	return out, err
}

// Allow reports, inside tx (the caller's transaction, scoped to the tenant
// in ctx), whether the tenant may add adding more of limit: nil when its
// plan allows it, an error of kind Conflict naming the limit, the numbers
// and how to upgrade when it does not, and one of kind ReadOnly when the
// tenant's billing makes it read-only. It holds a lock on the tenant's
// usage of limit until tx ends, so two additions at once cannot both take
// the last place. With billing disabled it allows everything.
func (s *Service) Allow(ctx context.Context, tx *gorm.DB, limit string, adding int) error {
	if !s.Enabled() || adding <= 0 {
		return nil
	}
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	a, err := readAccount(ctx, tx, t.ID, s.cfg.TrialDays, s.clock(), false)
	if err != nil {
		return err
	}
	st := a.status(s.clock(), s.grace())
	if st.ReadOnly {
		return errs.E(errs.ReadOnly, readOnlyMessage(st))
	}
	max := st.Plan.Limit(limit)
	if max == Unlimited {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`,
		"billing:"+limit+":"+t.ID.String()).Error; err != nil {
		return storeErr("lock usage", err)
	}
	used, err := s.count(ctx, tx, t.ID, limit)
	if err != nil {
		return err
	}
	if used+adding <= max {
		return nil
	}
	return errs.E(errs.Conflict, limitMessage(st, limit, used, adding, max))
}

// limitMessage explains a refusal by a limit.
func limitMessage(st Status, limit string, used, adding, max int) string {
	what := limitLabel(limit)
	adds := ""
	if adding > 1 {
		adds = fmt.Sprintf(" and this would add %s more", num(adding))
	}
	return fmt.Sprintf("The %s plan allows up to %s %s. %s has %s%s. To add more, an administrator can choose a larger plan on the Billing page (%s), or you can make room first.",
		st.Plan.Name, num(max), what, st.TenantName, num(used), adds, "/t/"+st.TenantSlug+"/billing")
}

// num writes n with thousands separators: 3,000.
func num(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Feature reports whether the plan of the tenant in ctx includes feature
// name (one of Features). With billing disabled every feature is included.
func (s *Service) Feature(ctx context.Context, name string) (bool, error) {
	known := false
	for _, f := range Features {
		known = known || f == name
	}
	if !known {
		return false, fmt.Errorf("billing: no such feature %q", name)
	}
	if !s.Enabled() {
		return true, nil
	}
	t, err := tenantOf(ctx)
	if err != nil {
		return false, err
	}
	st, err := s.Status(ctx, t.ID)
	if err != nil {
		return false, err
	}
	return st.Plan.Features[name], nil
}

// readOnlyMessage says why the tenant is read-only and what to do.
func readOnlyMessage(st Status) string {
	why := "its Carepass subscription has ended"
	switch st.Effective {
	case StateTrialEnded:
		why = "its free trial of Carepass has ended"
	case StateUnpaid:
		why = "payment for Carepass is overdue"
	}
	return fmt.Sprintf("%s is read-only because %s. Records can still be viewed and exported, but nothing can be added or changed until an administrator chooses a plan or updates the payment details on the Billing page.",
		st.TenantName, why)
}

// Banner returns what the layout should tell everyone in tenant id about
// its billing: the end of a trial coming up, an overdue payment, or that
// the tenant is read-only. It is empty when there is nothing to say.
func (s *Service) Banner(ctx context.Context, tenantID uuid.UUID) (string, error) {
	if !s.Enabled() {
		return "", nil
	}
	st, err := s.Status(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return banner(st, s.clock()), nil
}

// bannerNotice is how long before a trial ends the banner warns of it.
const bannerNotice = 7 * 24 * time.Hour

func banner(st Status, now time.Time) string {
	switch {
	case st.ReadOnly:
		return readOnlyMessage(st)
	case st.Effective == StatePastDue:
		msg := "Payment for Carepass is overdue. An administrator can update the payment details on the Billing page"
		if st.GraceEndsAt != nil {
			msg += fmt.Sprintf("; after %s, %s becomes read-only until it is paid", londonDate(*st.GraceEndsAt), st.TenantName)
		}
		return msg + "."
	case st.Effective == StateTrialing && st.TrialEndsAt != nil && st.TrialEndsAt.Sub(now) <= bannerNotice:
		if st.SubscriptionID != "" {
			return fmt.Sprintf("The free trial of Carepass ends on %s, when the subscription starts.", londonDate(*st.TrialEndsAt))
		}
		return fmt.Sprintf("The free trial of Carepass ends on %s. An administrator can choose a plan on the Billing page so that %s can keep adding records.",
			londonDate(*st.TrialEndsAt), st.TenantName)
	case st.Effective == StateActive && st.CancelAtPeriodEnd && st.CurrentPeriodEnd != nil:
		return fmt.Sprintf("The Carepass subscription ends on %s.", londonDate(*st.CurrentPeriodEnd))
	}
	return ""
}

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()

func londonDate(t time.Time) string { return t.In(london).Format("2 January 2006") }

// stripeMeta is the metadata every object billing creates in Stripe
// carries, so Stripe's records lead back to the tenant.
func stripeMeta(t tenants.Tenant, plan string) map[string]string {
	m := map[string]string{"tenant_id": t.ID.String(), "tenant_slug": t.Slug}
	if plan != "" {
		m["plan"] = plan
	}
	return m
}

// Limit returns Allow for one limit, in the shape the services that create
// limited things take (holder.WithLimit, access.WithSeats).
func (s *Service) Limit(limit string) func(ctx context.Context, tx *gorm.DB, adding int) error {
	return func(ctx context.Context, tx *gorm.DB, adding int) error { return s.Allow(ctx, tx, limit, adding) }
}
