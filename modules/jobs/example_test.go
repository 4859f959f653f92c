package jobs_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/tenants"
)

// ReminderArgs asks for one reminder email: one per holder, competency and
// offset (days before expiry). Only the fields tagged river:"unique" make
// two jobs the same; the arguments are ids, never names or addresses.
type ReminderArgs struct {
	TenantID     uuid.UUID `json:"tenant_id" river:"unique"`
	HolderID     uuid.UUID `json:"holder_id" river:"unique"`
	CompetencyID uuid.UUID `json:"competency_id" river:"unique"`
	OffsetDays   int       `json:"offset_days" river:"unique"`
}

// Kind names the job in the queue and on the operator's page.
func (ReminderArgs) Kind() string { return "competency_reminder" }

// InsertOpts makes every reminder unique by its tagged arguments.
func (ReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// A worker sends the reminder, working in the tenant named by its arguments.
type reminderSender struct {
	river.WorkerDefaults[ReminderArgs]
	db *tenants.DB
}

func (w *reminderSender) Work(ctx context.Context, job *river.Job[ReminderArgs]) error {
	// Look the holder up through w.db.Tx in the tenant job.Args.TenantID,
	// send the email; an error here makes river retry with back-off.
	return nil
}

// Enqueue the reminder in the same transaction as the change that makes it
// due. River skips a duplicate while the first job is waiting, running or
// kept as completed (CompletedRetention); for "at most once, ever", the
// transaction also claims a row of the caller's own (a table with a unique
// key on tenant, holder, competency and offset) and enqueues only if the
// claim is new.
func ExampleQueue_Enqueue() {
	var (
		ctx   context.Context
		db    *tenants.DB
		queue *jobs.Queue
		args  ReminderArgs
	)
	workers := river.NewWorkers()
	river.AddWorker(workers, &reminderSender{db: db})

	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO reminders_sent (tenant_id, holder_id, competency_id, offset_days)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, args.TenantID, args.HolderID, args.CompetencyID, args.OffsetDays)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // already sent (or an error)
		}
		return queue.Enqueue(ctx, tx, args, nil)
	})
	fmt.Println(err)
}
