// Package audit writes the hash-chained audit trail: one chain per tenant and
// one for the platform. Events are written in the caller's transaction, so an
// action and its audit record commit or roll back together; the app role may
// only insert and read them.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/tenants"
)

// Outcome is how an audited action ended.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
)

// Event is one audited action. Actor and tenant come from the context.
type Event struct {
	Action     string // e.g. "member.invite", "holder.read"
	ObjectType string
	ObjectID   string
	Outcome    Outcome
	ActorLabel string            // optional: who, when there is no account (e.g. an email at sign-in)
	Detail     map[string]string // small, non-sensitive facts; never passwords or health details
}

// Stored is an event as read back from a chain.
type Stored struct {
	Seq        int64
	ID         uuid.UUID
	OccurredAt time.Time
	ActorID    *uuid.UUID
	ActorLabel string
	Action     string
	ObjectType string
	ObjectID   string
	ClientIP   string
	Outcome    Outcome
	Detail     map[string]string
	PrevHash   []byte
	Hash       []byte
}

type ctxKey struct{}

// WithClient records the client's address in ctx for the events of this request.
func WithClient(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ctxKey{}, ip)
}

func clientFrom(ctx context.Context) string {
	ip, _ := ctx.Value(ctxKey{}).(string)
	return ip
}

// Log writes and verifies audit chains.
type Log struct {
	now func() time.Time
}

// New returns a Log using clock for event times.
func New(clock func() time.Time) *Log { return &Log{now: clock} }

// chain names the table and lock of one chain.
type chain struct {
	table    string
	tenantID *uuid.UUID // nil for the platform chain
}

func (c chain) lockKey() string {
	if c.tenantID == nil {
		return "audit:platform"
	}
	return "audit:" + c.tenantID.String()
}

// Record appends e to the tenant chain of the tenant in ctx, inside tx.
func (l *Log) Record(ctx context.Context, tx *gorm.DB, e Event) error {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return errors.New("audit: record without a tenant")
	}
	return l.append(ctx, tx, chain{table: "audit_events", tenantID: &t.ID}, e)
}

// RecordPlatform appends e to the platform chain, inside tx.
func (l *Log) RecordPlatform(ctx context.Context, tx *gorm.DB, e Event) error {
	return l.append(ctx, tx, chain{table: "platform_audit_events"}, e)
}

func (l *Log) append(ctx context.Context, tx *gorm.DB, c chain, e Event) error {
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if e.Detail == nil {
		e.Detail = map[string]string{}
	}
	// Serialise appends to one chain for the rest of the transaction.
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, c.lockKey()).Error; err != nil {
		return fmt.Errorf("audit: lock chain: %w", err)
	}
	var last struct {
		Seq  int64
		Hash []byte
	}
	q := tx.Table(c.table).Select("seq, hash").Order("seq DESC").Limit(1)
	if c.tenantID != nil {
		q = q.Where("tenant_id = ?", *c.tenantID)
	}
	if err := q.Scan(&last).Error; err != nil {
		return fmt.Errorf("audit: chain head: %w", err)
	}
	if last.Hash == nil {
		last.Hash = genesis(c)
	}
	s := Stored{
		Seq: last.Seq + 1, ID: uuid.Must(uuid.NewV7()), OccurredAt: l.now().UTC().Truncate(time.Microsecond),
		ActorLabel: e.ActorLabel, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		ClientIP: clientFrom(ctx), Outcome: e.Outcome, Detail: e.Detail, PrevHash: last.Hash,
	}
	if actor, ok := tenants.ActorFrom(ctx); ok {
		s.ActorID = &actor
	}
	s.Hash = digest(c, s)
	detail, err := json.Marshal(s.Detail)
	if err != nil {
		return fmt.Errorf("audit: detail: %w", err)
	}
	cols := map[string]any{
		"id": s.ID, "seq": s.Seq, "occurred_at": s.OccurredAt, "actor_id": s.ActorID, "actor_label": s.ActorLabel,
		"action": s.Action, "object_type": s.ObjectType, "object_id": s.ObjectID, "client_ip": s.ClientIP,
		"outcome": string(s.Outcome), "detail": string(detail), "prev_hash": s.PrevHash, "hash": s.Hash,
	}
	if c.tenantID != nil {
		cols["tenant_id"] = *c.tenantID
	}
	if err := tx.Table(c.table).Create(cols).Error; err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

// genesis is the prev_hash of a chain's first event: bound to the chain so an
// event cannot be moved from one tenant's chain to another's.
func genesis(c chain) []byte {
	h := sha256.Sum256([]byte("carepass-audit-genesis:" + c.lockKey()))
	return h[:]
}

// digest is SHA-256 over the previous hash and a canonical encoding of the event.
func digest(c chain, s Stored) []byte {
	actor := ""
	if s.ActorID != nil {
		actor = s.ActorID.String()
	}
	canon, _ := json.Marshal([]any{ // arrays keep field order fixed; map keys are sorted by encoding/json
		c.lockKey(), s.Seq, s.ID.String(), s.OccurredAt.UTC().Format(time.RFC3339Nano), actor, s.ActorLabel,
		s.Action, s.ObjectType, s.ObjectID, s.ClientIP, string(s.Outcome), s.Detail,
	})
	h := sha256.New()
	h.Write(s.PrevHash)
	h.Write(canon)
	return h.Sum(nil)
}

// Result is the outcome of verifying a chain.
type Result struct {
	Events   int64  // events checked
	BrokenAt int64  // seq of the first broken link, 0 when intact
	Reason   string // why that link is broken
}

// OK reports whether the chain is intact.
func (r Result) OK() bool { return r.BrokenAt == 0 }

// Verify walks the chain of the tenant in ctx (or the platform chain when
// platform is true) and reports the first broken link.
func (l *Log) Verify(ctx context.Context, tx *gorm.DB, platform bool) (Result, error) {
	c := chain{table: "platform_audit_events"}
	if !platform {
		t, ok := tenants.FromContext(ctx)
		if !ok {
			return Result{}, errors.New("audit: verify without a tenant")
		}
		c = chain{table: "audit_events", tenantID: &t.ID}
	}
	q := tx.Table(c.table).Order("seq")
	if c.tenantID != nil {
		q = q.Where("tenant_id = ?", *c.tenantID)
	}
	rows, err := q.Select("seq, id, occurred_at, actor_id, actor_label, action, object_type, object_id, client_ip, outcome, detail, prev_hash, hash").Rows()
	if err != nil {
		return Result{}, fmt.Errorf("audit: read chain: %w", err)
	}
	defer rows.Close()
	var res Result
	prev := genesis(c)
	for rows.Next() {
		var s Stored
		var detail []byte
		var outcome string
		if err := rows.Scan(&s.Seq, &s.ID, &s.OccurredAt, &s.ActorID, &s.ActorLabel, &s.Action, &s.ObjectType,
			&s.ObjectID, &s.ClientIP, &outcome, &detail, &s.PrevHash, &s.Hash); err != nil {
			return Result{}, fmt.Errorf("audit: scan: %w", err)
		}
		s.Outcome = Outcome(outcome)
		res.Events++
		switch {
		case s.Seq != res.Events:
			res.BrokenAt, res.Reason = s.Seq, fmt.Sprintf("sequence gap: expected %d", res.Events)
		case !bytes.Equal(s.PrevHash, prev):
			res.BrokenAt, res.Reason = s.Seq, "previous-hash link does not match the event before it"
		case json.Unmarshal(detail, &s.Detail) != nil:
			res.BrokenAt, res.Reason = s.Seq, "detail is not a flat string map"
		case !bytes.Equal(digest(c, s), s.Hash):
			res.BrokenAt, res.Reason = s.Seq, "event content does not match its hash"
		}
		if res.BrokenAt != 0 {
			return res, nil
		}
		prev = s.Hash
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("audit: read chain: %w", err)
	}
	return res, nil
}
