package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// SeatsEvery is how often the seats of per-seat subscriptions are brought
// in step with each tenant's active holders.
const SeatsEvery = 15 * time.Minute

// SyncAllSeats runs SyncSeats for every tenant with a Stripe customer and
// returns how many quantities it changed. One tenant's failure is logged
// and does not stop the others; the error reports that some failed.
func (s *Service) SyncAllSeats(ctx context.Context) (int, error) {
	if !s.Enabled() {
		return 0, nil
	}
	list, err := listAccounts(ctx, s.db.PlatformRead(ctx), s.cfg.TrialDays)
	if err != nil {
		return 0, err
	}
	changed, failed := 0, 0
	for _, a := range list {
		if a.customer == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		_, synced, err := s.syncSeats(ctx, a.tenantID)
		if err != nil {
			s.log.Warn("billing: sync seats", "tenant", a.tenantSlug, "err", err)
			failed++
			continue
		}
		if synced {
			changed++
		}
	}
	if failed > 0 {
		return changed, fmt.Errorf("billing: seats of %d tenants could not be synced", failed)
	}
	return changed, nil
}

// seatsArgs is the periodic job that syncs every per-seat subscription.
type seatsArgs struct{}

// Kind names the job in the queue.
func (seatsArgs) Kind() string { return "billing_sync_seats" }

type seatsWorker struct {
	river.WorkerDefaults[seatsArgs]
	s *Service
}

func (w *seatsWorker) Work(ctx context.Context, _ *river.Job[seatsArgs]) error {
	_, err := w.s.SyncAllSeats(ctx)
	return err
}

// Workers registers billing's job workers.
func (s *Service) Workers(w *river.Workers) { river.AddWorker(w, &seatsWorker{s: s}) }

// Periodic lists billing's scheduled jobs: the seats sync, so that holders
// added or leaving reach the bill within SeatsEvery.
func (s *Service) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(SeatsEvery),
			func() (river.JobArgs, *river.InsertOpts) { return seatsArgs{}, nil },
			&river.PeriodicJobOpts{ID: "billing_sync_seats", RunOnStart: true}),
	}
}
