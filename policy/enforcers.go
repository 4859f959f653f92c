package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of Options.
const (
	DefaultCacheSize = 1024
	DefaultMaxAge    = 5 * time.Second
)

// Listener back-off bounds.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 30 * time.Second
)

// Options configures Enforcers.
type Options struct {
	// CacheSize is how many domains' enforcers are kept; the least recently
	// used beyond it is dropped. Default DefaultCacheSize.
	CacheSize int
	// MaxAge is how long a loaded enforcer is trusted without asking
	// Postgres whether the domain's version changed. It bounds staleness when
	// a notification is missed or Listen is not running. Default
	// DefaultMaxAge.
	MaxAge time.Duration
	// Logger receives the listener's connection problems. Default
	// slog.Default().
	Logger *slog.Logger
}

// Enforcers decides requests with one casbin enforcer per domain, each
// loaded with only that domain's rules and kept in a bounded LRU cache. A
// cached enforcer is dropped when a notification says its domain changed
// (see Listen), when Invalidate is called, or, at the latest, reloaded at
// first use after MaxAge if the domain's version has moved.
//
// It is safe for concurrent use.
type Enforcers struct {
	src    source
	pool   *pgxpool.Pool // for Listen; nil when rules come from elsewhere
	cache  *lru
	maxAge time.Duration
	log    *slog.Logger
	now    func() time.Time

	// onListen, when set, is called each time Listen starts listening.
	onListen func()
}

// New returns Enforcers reading the policy from pool; rules load on first
// use, so the server starts even while the database is down. Start Listen to
// follow changes made on other nodes.
func New(_ context.Context, pool *pgxpool.Pool, opts Options) (*Enforcers, error) {
	if pool == nil {
		return nil, errors.New("policy: New needs a pool")
	}
	e, err := newEnforcers(pgSource{pool: pool}, opts)
	if err != nil {
		return nil, err
	}
	e.pool = pool
	return e, nil
}

// newEnforcers returns Enforcers over any source of rules.
func newEnforcers(src source, opts Options) (*Enforcers, error) {
	if _, err := model.NewModelFromString(modelConf); err != nil {
		return nil, fmt.Errorf("policy: parse model: %w", err)
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Enforcers{
		src:    src,
		cache:  newLRU(opts.CacheSize),
		maxAge: opts.MaxAge,
		log:    opts.Logger,
		now:    time.Now,
	}, nil
}

// Allowed reports whether subject (an account ID) holds permission p in
// domain through any of its roles there.
func (e *Enforcers) Allowed(ctx context.Context, domain, subject string, p Permission) (bool, error) {
	if domain == "" {
		return false, errors.New("policy: Allowed needs a domain")
	}
	if subject == "" {
		return false, nil
	}
	snap, err := e.snapshot(ctx, domain)
	if err != nil {
		return false, err
	}
	if _, member := snap.members[subject]; !member {
		return false, nil // no role in the domain: nothing to evaluate
	}
	key := memoKey{subject: subject, p: p}
	if allowed, ok := snap.decisions.get(key); ok {
		return allowed, nil
	}
	ok, err := snap.enf.Enforce(subject, domain, p.Object, p.Action)
	if err != nil {
		return false, fmt.Errorf("policy: enforce %s for %s in %s: %w", p, subject, domain, err)
	}
	snap.decisions.put(key, ok)
	return ok, nil
}

// HasAnyRole reports whether subject holds at least one role in domain,
// that is, whether the account is a member of the tenant at all.
func (e *Enforcers) HasAnyRole(ctx context.Context, domain, subject string) (bool, error) {
	if domain == "" {
		return false, errors.New("policy: HasAnyRole needs a domain")
	}
	snap, err := e.snapshot(ctx, domain)
	if err != nil {
		return false, err
	}
	_, ok := snap.members[subject]
	return ok, nil
}

// Invalidate drops the cached enforcer of domain, so the next decision in
// this process loads the domain afresh. Call it after committing a change.
func (e *Enforcers) Invalidate(domain string) {
	e.cache.remove(domain, nil)
}

// InvalidateAll drops every cached enforcer.
func (e *Enforcers) InvalidateAll() {
	e.cache.clear()
}

// errLoadAborted marks a load that ended without returning, by a panic.
var errLoadAborted = errors.New("policy: load aborted")

// snapshot returns the current policy of domain, loading it if it is not
// cached and re-checking its version if it is older than MaxAge.
func (e *Enforcers) snapshot(ctx context.Context, domain string) (*snapshot, error) {
	for {
		ent, created := e.cache.getOrAdd(domain)
		if created {
			return e.fill(ctx, ent)
		}
		snap := ent.snap.Load()
		if snap == nil {
			select {
			case <-ent.ready:
			case <-ctx.Done():
				return nil, fmt.Errorf("policy: wait for %s to load: %w", domain, ctx.Err())
			}
			if ent.err != nil {
				// The entry is already gone from the cache. If it failed only
				// because the request that was loading it went away, load again.
				if ctx.Err() == nil && (errors.Is(ent.err, context.Canceled) || errors.Is(ent.err, context.DeadlineExceeded)) {
					continue
				}
				return nil, ent.err
			}
			snap = ent.snap.Load()
		}
		if e.now().Sub(snap.checked) < e.maxAge {
			return snap, nil
		}
		return e.revalidate(ctx, ent)
	}
}

// fill makes the first load of a new entry and wakes its waiters. A failed
// entry leaves the cache so that the next request tries again.
func (e *Enforcers) fill(ctx context.Context, ent *entry) (snap *snapshot, err error) {
	err = errLoadAborted
	defer func() {
		if err != nil {
			ent.err = err
			e.cache.remove(ent.domain, ent)
		}
		close(ent.ready)
	}()
	snap, err = e.load(ctx, ent.domain)
	if err != nil {
		return nil, err
	}
	ent.snap.Store(snap)
	return snap, nil
}

// revalidate asks the source for domain's version once MaxAge has passed and
// reloads if it moved. One request re-checks while the others wait for it.
func (e *Enforcers) revalidate(ctx context.Context, ent *entry) (*snapshot, error) {
	ent.refresh.Lock()
	defer ent.refresh.Unlock()
	snap := ent.snap.Load()
	now := e.now()
	if now.Sub(snap.checked) < e.maxAge {
		return snap, nil // re-checked while this request waited
	}
	v, err := e.src.version(ctx, ent.domain)
	if err != nil {
		return nil, err
	}
	if v == snap.version {
		fresh := *snap // same rules: the memo stays valid and is shared
		fresh.checked = now
		ent.snap.Store(&fresh)
		return &fresh, nil
	}
	fresh, err := e.load(ctx, ent.domain)
	if err != nil {
		return nil, err
	}
	ent.snap.Store(fresh)
	return fresh, nil
}

// load builds a new enforcer holding only domain's rules.
func (e *Enforcers) load(ctx context.Context, domain string) (*snapshot, error) {
	start := e.now()
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("policy: parse model: %w", err)
	}
	enf, err := casbin.NewEnforcer(m, adapter{src: e.src})
	if err != nil {
		return nil, fmt.Errorf("policy: new enforcer for %s: %w", domain, err)
	}
	enf.EnableAutoSave(false)
	f := &domainFilter{Domain: domain}
	if err := enf.LoadFilteredPolicyCtx(ctx, f); err != nil {
		return nil, fmt.Errorf("policy: load %s: %w", domain, err)
	}
	members := map[string]struct{}{}
	if g, ok := enf.GetModel()["g"]["g"]; ok {
		for _, rule := range g.Policy {
			members[rule[0]] = struct{}{}
		}
	}
	return &snapshot{enf: enf, members: members, version: f.Version, checked: start, decisions: newMemo()}, nil
}

// Listen follows policy changes made by every node: it holds one connection
// of the pool, LISTENs on NotifyChannel and drops the cached enforcer of each
// domain announced. When the connection fails it reconnects with back-off,
// dropping every cached enforcer since notifications may have been missed.
// It returns nil when ctx is done. Run it in its own goroutine.
func (e *Enforcers) Listen(ctx context.Context) error {
	if e.pool == nil {
		return errors.New("policy: Listen needs Enforcers made by New")
	}
	backoff := listenBackoffMin
	for {
		listened, err := e.listenOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = listenBackoffMin
		}
		e.log.WarnContext(ctx, "policy listener lost its connection; reconnecting",
			slog.Any("err", err), slog.Duration("in", backoff))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce listens on one connection until it fails or ctx is done. It
// reports whether it got as far as listening.
func (e *Enforcers) listenOnce(ctx context.Context) (listened bool, err error) {
	pc, err := e.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("policy: acquire listener connection: %w", err)
	}
	// The connection leaves the pool for good: one that has LISTENed must
	// not serve queries afterwards.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false, fmt.Errorf("policy: listen: %w", err)
	}
	e.InvalidateAll()
	if e.onListen != nil {
		e.onListen()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("policy: wait for notification: %w", err)
		}
		e.Invalidate(n.Payload)
	}
}
