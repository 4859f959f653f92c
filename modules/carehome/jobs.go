package carehome

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepass/carepass/tenants"
)

// TenantLister lists every tenant; *tenants.Store is one.
type TenantLister interface {
	List(ctx context.Context) ([]tenants.Tenant, error)
}

// SnapshotEvery is how often the compliance history is taken.
const SnapshotEvery = 24 * time.Hour

type snapshotArgs struct{}

// Kind names the job for the queue.
func (snapshotArgs) Kind() string { return "carehome_snapshot" }

type snapshotWorker struct {
	river.WorkerDefaults[snapshotArgs]
	s    *Service
	list TenantLister
}

func (w *snapshotWorker) Work(ctx context.Context, _ *river.Job[snapshotArgs]) error {
	_, err := w.s.SnapshotAll(ctx, w.list)
	return err
}

// Workers registers the snapshot job's worker, which snapshots every
// care-home tenant of list.
func (s *Service) Workers(w *river.Workers, list TenantLister) {
	river.AddWorker(w, &snapshotWorker{s: s, list: list})
}

// Periodic is the daily snapshot job, also run at start-up (a second
// snapshot on one day replaces the first), for the queue's Periodic option.
func (s *Service) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(SnapshotEvery),
		func() (river.JobArgs, *river.InsertOpts) { return snapshotArgs{}, nil },
		&river.PeriodicJobOpts{ID: "carehome_snapshot", RunOnStart: true})}
}

// SnapshotAll takes today's snapshot of every active care-home tenant of
// list and returns how many it took.
func (s *Service) SnapshotAll(ctx context.Context, list TenantLister) (int, error) {
	all, err := list.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range all {
		if t.Kind != tenants.KindCareHome || t.Status != tenants.StatusActive {
			continue
		}
		if _, err := s.Snapshot(tenants.WithTenant(ctx, t)); err != nil {
			return n, fmt.Errorf("carehome: snapshot %s: %w", t.Slug, err)
		}
		n++
	}
	return n, nil
}
