package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gorm.io/gorm"
)

// maxRecent bounds Recent.
const maxRecent = 500

// Queue enqueues jobs in the caller's transaction and runs workers.
type Queue struct {
	log *slog.Logger
	// client works jobs over the shared pool, lists them, and inserts on a
	// transaction tenants.DB began on a pinned connection.
	client *river.Client[pgx.Tx]
	// sqlTx only inserts, on a transaction gorm began with database/sql.
	sqlTx       *river.Client[*sql.Tx]
	stopTimeout time.Duration
}

// New returns a queue over pool (the process's one pool, connected as the
// app role) that works jobs with workers once started. With nil workers
// the queue only enqueues and lists (a command-line tool, say), and Start
// fails.
func New(pool *pgxpool.Pool, log *slog.Logger, workers *river.Workers, opts Options) (*Queue, error) {
	if pool == nil || log == nil {
		return nil, errors.New("jobs: New needs a pool and a logger")
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	cfg := &river.Config{
		Logger:                      log.With("component", "jobs"),
		MaxAttempts:                 opts.MaxAttempts,
		RetryPolicy:                 opts.RetryPolicy,
		JobTimeout:                  opts.JobTimeout,
		SoftStopTimeout:             opts.StopTimeout,
		CompletedJobRetentionPeriod: opts.CompletedRetention,
		FetchPollInterval:           opts.PollInterval,
		// REINDEX needs the tables' owner; the app role owns none of them,
		// so reindexing river's tables is left to the owner's maintenance.
		ReindexerIndexNames: []string{},
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: DefaultWorkers}}
		if opts.Queues != nil {
			cfg.Queues = make(map[string]river.QueueConfig, len(opts.Queues))
			for name, n := range opts.Queues {
				cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
			}
		}
		cfg.PeriodicJobs = opts.Periodic
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	// The inserting client needs no pool: it only ever uses the caller's
	// transaction. It shares the workers so an unknown kind is refused.
	insertCfg := &river.Config{Logger: cfg.Logger, MaxAttempts: opts.MaxAttempts, Workers: workers}
	sqlTx, err := river.NewClient(riverdatabasesql.New(nil), insertCfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{log: log, client: client, sqlTx: sqlTx, stopTimeout: opts.StopTimeout}, nil
}

// errNoTransaction is returned by Enqueue outside a transaction: a job
// enqueued on its own could run for a change that then rolls back, or be
// lost when the change commits and the enqueue fails.
var errNoTransaction = errors.New("jobs: enqueue needs the caller's open transaction")

// Enqueue inserts a job inside the caller's transaction tx, the same
// transaction as the change that causes it: the job becomes visible to
// workers when tx commits and vanishes if it rolls back. tx is a handle
// inside tenants.DB.Tx or Platform (or inside gorm's own Transaction).
// opts, when not nil, override the args' own InsertOpts; a duplicate of a
// unique job inserts nothing and is not an error.
func (q *Queue) Enqueue(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) error {
	if tx == nil || tx.Statement == nil {
		return errNoTransaction
	}
	var err error
	switch c := tx.Statement.ConnPool.(type) {
	case *sql.Tx: // gorm's Transaction
		_, err = q.sqlTx.InsertTx(ctx, c, args, opts)
	case *sql.Conn: // tenants.DB: BEGIN sent on a pinned connection
		err = c.Raw(func(driverConn any) error {
			sc, ok := driverConn.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("jobs: connection of driver %T, not pgx", driverConn)
			}
			conn := sc.Conn()
			if conn.PgConn().TxStatus() != 'T' {
				return errNoTransaction
			}
			_, err := q.client.InsertTx(ctx, callerTx{conn}, args, opts)
			return err
		})
	default:
		return errNoTransaction
	}
	if err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Start starts working jobs in the background and returns. Workers run
// until Stop is called or ctx ends; either way, running jobs get
// Options.StopTimeout to finish before their contexts are cancelled.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.log.Info("jobs: workers started")
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish (they are
// cancelled after Options.StopTimeout). If ctx ends first, running jobs
// are cancelled at once and Stop waits a moment more for them to return.
// Call it before closing the pool.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := q.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// Recent lists up to limit jobs, newest first, in state ("" for every
// state). An unknown state is a validation error on the field "state".
func (q *Queue) Recent(ctx context.Context, state string, limit int) ([]Job, error) {
	states, err := parseState(state)
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), maxRecent)
	params := river.NewJobListParams().States(states...).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, row := range res.Jobs {
		out = append(out, jobOf(row))
	}
	return out, nil
}

// callerTx is a transaction river may use but not end: the connection's
// transaction was begun by tenants.DB and is committed or rolled back by
// it. river's insert runs statements on it and nothing else.
type callerTx struct{ conn *pgx.Conn }

var errCallerOwned = errors.New("jobs: the caller's transaction is ended by the caller")

func (t callerTx) Begin(context.Context) (pgx.Tx, error) { return nil, errCallerOwned }
func (t callerTx) Commit(context.Context) error          { return errCallerOwned }
func (t callerTx) Rollback(context.Context) error        { return errCallerOwned }
func (t callerTx) LargeObjects() pgx.LargeObjects        { return pgx.LargeObjects{} }
func (t callerTx) Conn() *pgx.Conn                       { return t.conn }

func (t callerTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t callerTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

func (t callerTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t callerTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t callerTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t callerTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}
