// Package jobs runs durable background jobs in PostgreSQL with river
// (github.com/riverqueue/river): side effects outside the database, such as
// email, are enqueued in the same transaction as the change that causes
// them, so a job exists if and only if that change committed, and workers
// run it afterwards, retrying with back-off until it succeeds.
//
// A job is a river.JobArgs value (its Kind names it; its JSON is stored)
// worked by a river.Worker registered in the river.Workers given to New.
// Arguments carry identifiers (a tenant id, a holder id), never personal
// data or secrets: the job tables are platform-wide, without row-level
// security, and an operator may list them. A worker that touches
// tenant-owned rows does so through tenants.DB.Tx with the tenant from its
// arguments, exactly as a request would.
//
// Periodic jobs: Options.Periodic lists jobs the queue enqueues on a
// schedule while it works jobs, such as a sweep that looks for reminders
// due. Their workers are registered like any other.
//
// Retries: a job whose worker returns an error runs again after river's
// default back-off, attempt⁴ seconds with 10% jitter (1 s, 16 s, 81 s,
// 4 min, 10 min, 22 min, 40 min, 68 min, 1.8 h), until it has been attempted
// Options.MaxAttempts times (default 10, about 4.3 hours in all); then it is
// discarded and stays listed, with its errors, for seven days. A worker
// returns river.JobCancel(err) for an error that retrying cannot fix.
//
// Unique jobs: a job whose InsertOpts (from its args' InsertOpts method or
// the opts given to Enqueue) set UniqueOpts{ByArgs: true} is inserted only
// if no job of its kind with the same arguments (or with the same values of
// the fields tagged `river:"unique"`) is pending, scheduled, available,
// running, retryable or completed; a duplicate Enqueue succeeds and inserts
// nothing. Completed jobs, and so their unique keys, are deleted after
// Options.CompletedRetention (default 24 hours): work that must happen at
// most once ever (a reminder per holder, competency and offset) also
// records that it was enqueued in a table of its own, with a unique key, in
// the same transaction. See the example of Queue.Enqueue.
package jobs

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepass/carepass/modules/errs"
)

// Defaults of Options.
const (
	DefaultMaxAttempts = 10
	DefaultWorkers     = 10               // of the default queue
	DefaultStopTimeout = 10 * time.Second // running jobs' grace at stop
)

// Options tune the queue; the zero value is sensible for production.
type Options struct {
	// Queues maps each queue name to the number of jobs of it that run at
	// once in this process. Nil: river's default queue with DefaultWorkers.
	Queues map[string]int
	// MaxAttempts is how many times a failing job runs before it is
	// discarded, unless its InsertOpts say otherwise. Zero: DefaultMaxAttempts.
	MaxAttempts int
	// RetryPolicy decides when a failed job runs again. Nil: river's
	// default exponential back-off (see the package documentation).
	RetryPolicy river.ClientRetryPolicy
	// JobTimeout bounds one attempt of a job. Zero: river's default, one minute.
	JobTimeout time.Duration
	// StopTimeout is how long running jobs may go on finishing once the
	// queue is told to stop, before their contexts are cancelled. Zero:
	// DefaultStopTimeout.
	StopTimeout time.Duration
	// CompletedRetention is how long completed jobs (and the unique keys
	// they hold) are kept. Zero: river's default, 24 hours.
	CompletedRetention time.Duration
	// PollInterval is how often workers look for jobs that no notification
	// announced (retries, scheduled jobs). Zero: river's default, one second.
	PollInterval time.Duration
	// Periodic are jobs enqueued on a schedule (river.NewPeriodicJob), for
	// example a sweep every 15 minutes. Only the elected leader among the
	// processes working jobs enqueues them, and its schedule lives in
	// memory: after a restart or a change of leader the intervals start
	// again, so a periodic job's worker must be safe to run twice in a row
	// (and may set RunOnStart to run once at start-up). Ignored without
	// workers.
	Periodic []*river.PeriodicJob
}

// States a job passes through, as river names them.
const (
	StateAvailable = string(rivertype.JobStateAvailable) // waiting for a worker
	StateScheduled = string(rivertype.JobStateScheduled) // waiting for its time
	StateRunning   = string(rivertype.JobStateRunning)
	StateRetryable = string(rivertype.JobStateRetryable) // failed; runs again later
	StateCompleted = string(rivertype.JobStateCompleted)
	StateDiscarded = string(rivertype.JobStateDiscarded) // failed MaxAttempts times
	StateCancelled = string(rivertype.JobStateCancelled)
	StatePending   = string(rivertype.JobStatePending)
)

// Job is one job as the operator sees it: what it is and how it went, not
// its arguments.
type Job struct {
	ID          int64
	Kind        string
	Queue       string
	State       string
	Attempt     int // attempts so far
	MaxAttempts int
	Errors      []AttemptError // oldest first
	CreatedAt   time.Time
	ScheduledAt time.Time // when it is (or was) due to run
	AttemptedAt time.Time // latest attempt; zero if never attempted
	FinalizedAt time.Time // completed, discarded or cancelled; zero until then
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	At      time.Time
	Attempt int
	Message string
}

// maxErrorRunes bounds the error shown in the operator's list.
const maxErrorRunes = 300

// LastError returns the message of the job's latest error, shortened for a
// list, or "" if it has none.
func (j Job) LastError() string {
	if len(j.Errors) == 0 {
		return ""
	}
	msg := j.Errors[len(j.Errors)-1].Message
	if utf8.RuneCountInString(msg) <= maxErrorRunes {
		return msg
	}
	r := []rune(msg)
	return string(r[:maxErrorRunes-1]) + "…"
}

func jobOf(row *rivertype.JobRow) Job {
	j := Job{ID: row.ID, Kind: row.Kind, Queue: row.Queue, State: string(row.State), Attempt: row.Attempt,
		MaxAttempts: row.MaxAttempts, CreatedAt: row.CreatedAt.UTC(), ScheduledAt: row.ScheduledAt.UTC()}
	if row.AttemptedAt != nil {
		j.AttemptedAt = row.AttemptedAt.UTC()
	}
	if row.FinalizedAt != nil {
		j.FinalizedAt = row.FinalizedAt.UTC()
	}
	for _, e := range row.Errors {
		j.Errors = append(j.Errors, AttemptError{At: e.At.UTC(), Attempt: e.Attempt, Message: e.Error})
	}
	return j
}

// parseState checks a state filter: "" (every state) or one of river's states.
func parseState(state string) ([]rivertype.JobState, error) {
	if state == "" {
		return rivertype.JobStates(), nil
	}
	if !slices.Contains(rivertype.JobStates(), rivertype.JobState(state)) {
		return nil, errs.Validation(errs.FieldError{Field: "state", Message: "Choose a state from the list"})
	}
	return []rivertype.JobState{rivertype.JobState(state)}, nil
}
