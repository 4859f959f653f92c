package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/moduletest"
)

func TestPeriodicJobsAreEnqueuedWhileWorking(t *testing.T) {
	env := moduletest.New(t, time.Now)
	notes := &noteWorker{runs: map[string]int{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, notes)
	// Run at start, then hourly: the test sees the first run only. A
	// constructor returning nil inserts nothing.
	tick := river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return noteArgs{Note: "tick"}, nil },
		&river.PeriodicJobOpts{ID: "tick", RunOnStart: true})
	never := river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return nil, nil },
		&river.PeriodicJobOpts{ID: "never", RunOnStart: true})
	q, err := jobs.New(env.DB.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)), workers,
		jobs.Options{PollInterval: 200 * time.Millisecond, StopTimeout: time.Second, Periodic: []*river.PeriodicJob{tick, never}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(recentOf(t, q, "")); n != 0 {
		t.Fatalf("%d jobs before the queue started", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := q.Stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for notes.ran("tick") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the periodic job never ran; jobs: %+v", recentOf(t, q, ""))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if all := recentOf(t, q, ""); len(all) != 1 || all[0].Kind != "test_note" {
		t.Errorf("jobs %+v; want the one tick", all)
	}
}

// A queue that only enqueues ignores periodic jobs rather than failing.
func TestPeriodicJobsNeedWorkers(t *testing.T) {
	env := moduletest.New(t, time.Now)
	tick := river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return noteArgs{Note: "tick"}, nil }, nil)
	if _, err := jobs.New(env.DB.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)), nil,
		jobs.Options{Periodic: []*river.PeriodicJob{tick}}); err != nil {
		t.Fatalf("enqueue-only queue with periodic jobs: %v", err)
	}
}

func recentOf(t *testing.T, q *jobs.Queue, state string) []jobs.Job {
	t.Helper()
	list, err := q.Recent(context.Background(), state, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
