package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/tenants"
)

// noteArgs is a test job: its worker counts the runs of each note and
// fails the first FailTimes of them.
type noteArgs struct {
	Note      string `json:"note"`
	FailTimes int    `json:"fail_times"`
}

func (noteArgs) Kind() string { return "test_note" }

type noteWorker struct {
	river.WorkerDefaults[noteArgs]
	mu   sync.Mutex
	runs map[string]int
}

func (w *noteWorker) Work(_ context.Context, job *river.Job[noteArgs]) error {
	w.mu.Lock()
	w.runs[job.Args.Note]++
	n := w.runs[job.Args.Note]
	w.mu.Unlock()
	if n <= job.Args.FailTimes {
		return fmt.Errorf("run %d of %s fails on purpose", n, job.Args.Note)
	}
	return nil
}

// ran returns how many times note has run.
func (w *noteWorker) ran(note string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runs[note]
}

// reminderArgs is unique by holder, competency and offset, as the mail
// reminders need, but not by the note that rides along.
type reminderArgs struct {
	HolderID     uuid.UUID `json:"holder_id" river:"unique"`
	CompetencyID uuid.UUID `json:"competency_id" river:"unique"`
	OffsetDays   int       `json:"offset_days" river:"unique"`
	Note         string    `json:"note"`
}

func (reminderArgs) Kind() string { return "test_reminder" }

func (reminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type reminderWorker struct {
	river.WorkerDefaults[reminderArgs]
}

func (reminderWorker) Work(context.Context, *river.Job[reminderArgs]) error { return nil }

// quickRetry retries a failed job almost at once.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(20 * time.Millisecond)
}

// fixture is a migrated database with one tenant and a queue over it whose
// workers count their runs.
type fixture struct {
	*moduletest.Env
	q      *jobs.Queue
	notes  *noteWorker
	tenant tenants.Tenant
	t      *testing.T
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{Env: moduletest.New(t, time.Now), notes: &noteWorker{runs: map[string]int{}}, t: t}
	f.tenant = f.Tenant("wren", tenants.KindPaediatricTrust)
	workers := river.NewWorkers()
	river.AddWorker(workers, f.notes)
	river.AddWorker(workers, reminderWorker{})
	q, err := jobs.New(f.DB.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)), workers,
		jobs.Options{RetryPolicy: quickRetry{}, PollInterval: 200 * time.Millisecond, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.q = q
	return f
}

// start runs the workers until the test ends.
func (f *fixture) start() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.q.Start(ctx); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := f.q.Stop(stopCtx); err != nil {
			f.t.Errorf("stop: %v", err)
		}
		cancel()
	})
}

// inTenant enqueues args in a transaction of the tenant (tenants.DB) and
// commits it unless fail is set.
func (f *fixture) inTenant(args river.JobArgs, fail error) error {
	return f.Scoped.Tx(moduletest.As(f.tenant, uuid.Nil), func(tx *gorm.DB) error {
		if err := f.q.Enqueue(context.Background(), tx, args, nil); err != nil {
			return err
		}
		return fail
	})
}

// inGorm enqueues args in a transaction gorm begins itself and commits it
// unless fail is set.
func (f *fixture) inGorm(args river.JobArgs, fail error) error {
	return f.DB.Gorm.WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
		if err := f.q.Enqueue(context.Background(), tx, args, nil); err != nil {
			return err
		}
		return fail
	})
}

// recent lists the jobs in state, failing the test on an error.
func (f *fixture) recent(state string) []jobs.Job {
	f.t.Helper()
	list, err := f.q.Recent(context.Background(), state, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// waitFor polls the jobs until n of them are in state, or fails the test.
func (f *fixture) waitFor(state string, n int) []jobs.Job {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list := f.recent(state)
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waited for %d %s jobs; have %d, and these in all: %+v", n, state, len(list), f.recent(""))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var errRefused = errors.New("the change is refused")

func TestJobFollowsTheTransactionThatEnqueuedIt(t *testing.T) {
	f := newFixture(t)
	// Rolled back: in the tenant's transaction, and in gorm's own.
	if err := f.inTenant(noteArgs{Note: "rolled back, tenant"}, errRefused); !errors.Is(err, errRefused) {
		t.Fatalf("rolled-back tenant transaction: %v", err)
	}
	if err := f.inGorm(noteArgs{Note: "rolled back, gorm"}, errRefused); !errors.Is(err, errRefused) {
		t.Fatalf("rolled-back gorm transaction: %v", err)
	}
	// Committed, in the tenant's transaction together with a change of its
	// own, and in gorm's own transaction.
	holder := uuid.Must(uuid.NewV7())
	err := f.Scoped.Tx(moduletest.As(f.tenant, uuid.Nil), func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO persons (id) VALUES (?)`, holder).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, role_in_care)
			VALUES (?, ?, ?, 'Ada', 'Lovelace', 'parent')`, f.tenant.ID, holder, holder).Error; err != nil {
			return err
		}
		return f.q.Enqueue(context.Background(), tx, noteArgs{Note: "committed, tenant"}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.inGorm(noteArgs{Note: "committed, gorm"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Rows(f.tenant, "holders", "id = ?", holder); n != 1 {
		t.Fatalf("the change committed with the job is missing (%d rows)", n)
	}

	// Before the workers start, only the committed jobs exist.
	waiting := f.recent(jobs.StateAvailable)
	if len(waiting) != 2 || len(f.recent("")) != 2 {
		t.Fatalf("before start: %d available jobs, %d in all; want 2 and 2", len(waiting), len(f.recent("")))
	}

	f.start()
	done := f.waitFor(jobs.StateCompleted, 2)
	for _, j := range done {
		if j.Kind != "test_note" || j.Attempt != 1 || j.FinalizedAt.IsZero() || len(j.Errors) != 0 {
			t.Errorf("completed job %+v: want kind test_note, 1 attempt, a finish time, no errors", j)
		}
	}
	// Other jobs, enqueued later, run after them: by the time they have,
	// the first ones have had every chance to run twice.
	for i := range 3 {
		if err := f.inTenant(noteArgs{Note: fmt.Sprintf("later %d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.waitFor(jobs.StateCompleted, 5)
	for note, want := range map[string]int{"committed, tenant": 1, "committed, gorm": 1, "rolled back, tenant": 0, "rolled back, gorm": 0} {
		if got := f.notes.ran(note); got != want {
			t.Errorf("%q ran %d times; want %d", note, got, want)
		}
	}
	if all := f.recent(""); len(all) != 5 {
		t.Errorf("%d jobs in all; want the 5 committed ones", len(all))
	}
}

func TestEnqueueOutsideATransactionIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.q.Enqueue(ctx, f.DB.Gorm, noteArgs{Note: "no transaction"}, nil); err == nil {
		t.Error("enqueue on the pool, outside any transaction, succeeded")
	}
	// A pinned connection that has not begun a transaction is not one.
	err := f.DB.Gorm.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		return f.q.Enqueue(ctx, conn, noteArgs{Note: "idle connection"}, nil)
	})
	if err == nil {
		t.Error("enqueue on an idle connection succeeded")
	}
	if err := f.q.Enqueue(ctx, nil, noteArgs{Note: "nil"}, nil); err == nil {
		t.Error("enqueue without a handle succeeded")
	}
	// A kind no worker knows is refused at once, not discarded later.
	if err := f.inTenant(unknownArgs{}, nil); err == nil {
		t.Error("a job no worker can run was enqueued")
	}
	if n := len(f.recent("")); n != 0 {
		t.Errorf("%d jobs were inserted; want none", n)
	}
}

type unknownArgs struct{}

func (unknownArgs) Kind() string { return "test_unknown" }

func TestFailingJobIsRetriedUntilItSucceeds(t *testing.T) {
	f := newFixture(t)
	if err := f.inTenant(noteArgs{Note: "flaky", FailTimes: 2}, nil); err != nil {
		t.Fatal(err)
	}
	// Allowed two attempts, a job that fails three times is discarded.
	err := f.Scoped.Tx(moduletest.As(f.tenant, uuid.Nil), func(tx *gorm.DB) error {
		return f.q.Enqueue(context.Background(), tx, noteArgs{Note: "hopeless", FailTimes: 3}, &river.InsertOpts{MaxAttempts: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.start()

	done := f.waitFor(jobs.StateCompleted, 1)[0]
	if done.Attempt != 3 || done.MaxAttempts != jobs.DefaultMaxAttempts || len(done.Errors) != 2 {
		t.Errorf("flaky job: attempt %d of %d with %d errors; want attempt 3 of %d with 2 errors",
			done.Attempt, done.MaxAttempts, len(done.Errors), jobs.DefaultMaxAttempts)
	}
	if got := f.notes.ran("flaky"); got != 3 {
		t.Errorf("flaky job ran %d times; want 3", got)
	}
	if len(done.Errors) == 2 && (done.Errors[0].Attempt != 1 || done.Errors[1].Attempt != 2 ||
		!strings.Contains(done.Errors[1].Message, "run 2 of flaky fails on purpose")) {
		t.Errorf("errors of the flaky job: %+v", done.Errors)
	}
	if !strings.Contains(done.LastError(), "run 2 of flaky") {
		t.Errorf("last error %q", done.LastError())
	}

	gone := f.waitFor(jobs.StateDiscarded, 1)[0]
	if gone.Attempt != 2 || gone.MaxAttempts != 2 || len(gone.Errors) != 2 || gone.FinalizedAt.IsZero() {
		t.Errorf("hopeless job %+v: want discarded after 2 attempts, 2 errors and a finish time", gone)
	}
	if got := f.notes.ran("hopeless"); got != 2 {
		t.Errorf("hopeless job ran %d times; want 2", got)
	}
}

func TestUniqueJobIsInsertedOnce(t *testing.T) {
	f := newFixture(t)
	holder, comp := uuid.New(), uuid.New()
	remind := func(offset int, note string) reminderArgs {
		return reminderArgs{HolderID: holder, CompetencyID: comp, OffsetDays: offset, Note: note}
	}
	for i, enqueue := range []func() error{
		func() error { return f.inTenant(remind(30, "first"), nil) },
		func() error { return f.inTenant(remind(30, "again, other note"), nil) },
		func() error { return f.inGorm(remind(30, "again, through gorm"), nil) },
		func() error { // twice in one transaction
			return f.Scoped.Tx(moduletest.As(f.tenant, uuid.Nil), func(tx *gorm.DB) error {
				if err := f.q.Enqueue(context.Background(), tx, remind(7, "seven"), nil); err != nil {
					return err
				}
				return f.q.Enqueue(context.Background(), tx, remind(7, "seven again"), nil)
			})
		},
	} {
		if err := enqueue(); err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	if n := len(f.recent(jobs.StateAvailable)); n != 2 {
		t.Fatalf("%d reminders waiting; want 2 (one per offset)", n)
	}

	// Completed, it still keeps its duplicate out (for as long as completed
	// jobs are kept).
	f.start()
	f.waitFor(jobs.StateCompleted, 2)
	if err := f.inTenant(remind(30, "after it ran"), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.recent("")); n != 2 {
		t.Errorf("%d reminders in all after a duplicate of a completed one; want 2", n)
	}
	// A different holder is a different reminder.
	if err := f.inTenant(reminderArgs{HolderID: uuid.New(), CompetencyID: comp, OffsetDays: 30}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.recent("")); n != 3 {
		t.Errorf("%d reminders in all; want 3", n)
	}
}

func TestRecentListsNewestFirstWithAStateFilter(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		if err := f.inTenant(noteArgs{Note: fmt.Sprintf("n%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := f.recent("")
	if len(all) != 4 {
		t.Fatalf("%d jobs; want 4", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID <= all[i].ID {
			t.Errorf("not newest first: job %d listed before job %d", all[i-1].ID, all[i].ID)
		}
	}
	j := all[0]
	if j.Kind != "test_note" || j.Queue != river.QueueDefault || j.State != jobs.StateAvailable || j.Attempt != 0 ||
		j.MaxAttempts != jobs.DefaultMaxAttempts || j.CreatedAt.IsZero() || j.ScheduledAt.IsZero() ||
		!j.AttemptedAt.IsZero() || !j.FinalizedAt.IsZero() || j.LastError() != "" {
		t.Errorf("waiting job %+v", j)
	}
	if two, err := f.q.Recent(context.Background(), "", 2); err != nil || len(two) != 2 || two[0].ID != all[0].ID {
		t.Errorf("limit 2: %d jobs, %v", len(two), err)
	}
	if n := len(f.recent(jobs.StateCompleted)); n != 0 {
		t.Errorf("%d completed jobs before any ran", n)
	}
	_, err := f.q.Recent(context.Background(), "exploded", 10)
	if !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)) != 1 || errs.FieldsOf(err)[0].Field != "state" {
		t.Errorf("unknown state: %v; want a validation error on state", err)
	}
}

func TestLastErrorIsShortened(t *testing.T) {
	long := strings.Repeat("é", 400)
	j := jobs.Job{Errors: []jobs.AttemptError{{Message: "first"}, {Message: long}}}
	got := j.LastError()
	if n := len([]rune(got)); n != 300 || !strings.HasSuffix(got, "…") {
		t.Errorf("shortened to %d runes: %q", n, got)
	}
	if (jobs.Job{Errors: []jobs.AttemptError{{Message: "short"}}}).LastError() != "short" {
		t.Error("a short error is changed")
	}
}
