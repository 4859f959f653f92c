package stats

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/throttle"
	"github.com/carepass/carepass/tenants"
)

// Config tunes the statistics service.
type Config struct {
	// TTL is how long computed figures are served before they are computed
	// again (default 5 minutes).
	TTL time.Duration
	// PerMinute is how many public requests one client may make a minute
	// (default 30); PerSecond how many everyone together may make a second
	// (default 20), per server process.
	PerMinute, PerSecond int
}

// Service computes, caches and publishes the national statistics.
type Service struct {
	db       *tenants.DB
	audit    *audit.Log
	now      func() time.Time
	ttl      time.Duration
	throttle *throttle.Limiter

	mu     sync.Mutex // held while computing, so concurrent requests wait for one computation
	cached *Snapshot
}

// NewService returns a Service reading the time from now.
func NewService(db *tenants.DB, log *audit.Log, now func() time.Time, cfg Config) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 30
	}
	if cfg.PerSecond <= 0 {
		cfg.PerSecond = 20
	}
	return &Service{db: db, audit: log, now: now, ttl: cfg.TTL, throttle: throttle.New(cfg.PerMinute, cfg.PerSecond, now)}
}

// Allow takes one public request from client's allowance.
func (s *Service) Allow(client string) bool { return s.throttle.Allow(client) }

// Snapshot returns the figures, computing them when the cached ones are
// older than the TTL.
func (s *Service) Snapshot(ctx context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cached != nil && now.Sub(s.cached.ComputedAt) < s.ttl && !now.Before(s.cached.ComputedAt) {
		return *s.cached, nil
	}
	snap, err := s.compute(ctx, now)
	if err != nil {
		return Snapshot{}, err
	}
	s.cached = &snap
	return snap, nil
}

// compute asks the database for the suppressed figures: the functions run
// tenant by tenant in each tenant's own scope and return nothing else.
func (s *Service) compute(ctx context.Context, now time.Time) (Snapshot, error) {
	snap := Snapshot{ComputedAt: now.UTC().Truncate(time.Second)}
	from, to := window(now)
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		var rows []struct {
			Kind, Region                                                                    *string
			Tenants, PassportsActive, PassportsIssued, CompetenciesSignedOff, Verifications string
		}
		if err := tx.Raw(`SELECT kind, region, tenants, passports_active, passports_issued, competencies_signed_off, verifications
			FROM platform_statistics(?)`, now).Scan(&rows).Error; err != nil {
			return fmt.Errorf("stats: figures: %w", err)
		}
		for _, r := range rows {
			row := Row{Region: r.Region, Organisations: Figure(r.Tenants), PassportsActive: Figure(r.PassportsActive),
				PassportsIssued: Figure(r.PassportsIssued), SignedOff: Figure(r.CompetenciesSignedOff), Verifications: Figure(r.Verifications)}
			if r.Kind != nil {
				row.Kind = tenants.Kind(*r.Kind)
			}
			snap.Rows = append(snap.Rows, row)
		}
		var months []struct {
			Month                                                 time.Time
			PassportsIssued, CompetenciesSignedOff, Verifications string
		}
		if err := tx.Raw(`SELECT month, passports_issued, competencies_signed_off, verifications
			FROM platform_statistics_monthly(?, ?)`, from, to).Scan(&months).Error; err != nil {
			return fmt.Errorf("stats: months: %w", err)
		}
		for _, m := range months {
			y, mo, _ := m.Month.Date()
			snap.Months = append(snap.Months, Month{Month: time.Date(y, mo, 1, 0, 0, 0, 0, london),
				PassportsIssued: Figure(m.PassportsIssued), SignedOff: Figure(m.CompetenciesSignedOff), Verifications: Figure(m.Verifications)})
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, err
	}
	return snap, nil
}

// Published reports whether the operator has enabled the public page.
func (s *Service) Published(ctx context.Context) (bool, error) {
	var on bool
	if err := s.db.PlatformRead(ctx).Raw(`SELECT enabled FROM public_statistics WHERE singleton`).Row().Scan(&on); err != nil {
		return false, fmt.Errorf("stats: public setting: %w", err)
	}
	return on, nil
}

// SetPublished enables or disables the public page, audited in the
// platform's trail.
func (s *Service) SetPublished(ctx context.Context, on bool) error {
	var by *uuid.UUID
	if actor, ok := tenants.ActorFrom(ctx); ok && actor != uuid.Nil {
		by = &actor
	}
	return s.db.Platform(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE public_statistics SET enabled = ?, changed_at = ?, changed_by = ? WHERE singleton`,
			on, s.now().UTC(), by)
		if res.Error != nil {
			return fmt.Errorf("stats: set public: %w", res.Error)
		}
		action := "statistics.public.disable"
		if on {
			action = "statistics.public.enable"
		}
		return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: action, ObjectType: "platform_setting", ObjectID: "public_statistics"})
	})
}
