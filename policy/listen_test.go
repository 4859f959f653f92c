package policy

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/tenants"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// node is one server's Enforcers with its own pool and a running listener.
type node struct {
	e        *Enforcers
	mu       sync.Mutex
	listens  int
	listened chan struct{} // receives each time the listener (re)starts
}

func startNode(t testing.TB, db *testdb.DB) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.New(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	// MaxAge is long so that only notifications can refresh this node.
	e, err := New(ctx, pool, Options{MaxAge: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{e: e, listened: make(chan struct{}, 8)}
	e.onListen = func() {
		n.mu.Lock()
		n.listens++
		n.mu.Unlock()
		n.listened <- struct{}{}
	}
	done := make(chan error, 1)
	go func() { done <- e.Listen(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen returned %v", err)
		}
		pool.Close()
	})
	n.waitListening(t)
	return n
}

func (n *node) waitListening(t testing.TB) {
	t.Helper()
	select {
	case <-n.listened:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not start")
	}
}

func TestListenerInvalidatesOtherNodes(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindPaediatricTrust)
	other := provision(t, db, tenants.KindPaediatricTrust)
	s := uuid.NewString()
	n2 := startNode(t, db)

	if mustAllowed(t, n2.e, d, s, signoff) {
		t.Fatal("allowed before any role was assigned")
	}
	mustAllowed(t, n2.e, other, s, signoff)

	// Node 1 is the test's own pool: it assigns the role and commits.
	inTx(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "assessor") })
	eventually(t, 5*time.Second, "node 2 seeing the new role", func() bool {
		return mustAllowed(t, n2.e, d, s, signoff)
	})

	inTx(t, db, func(tx *gorm.DB) error { return UnassignRole(ctx, tx, d, s, "assessor") })
	eventually(t, 5*time.Second, "node 2 seeing the role removed", func() bool {
		return !mustAllowed(t, n2.e, d, s, signoff)
	})

	// A change that rolls back notifies no one: the other domain's cached
	// enforcer stays.
	_ = txErr(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, other, s, "assessor") })
	time.Sleep(100 * time.Millisecond)
	n2.e.cache.mu.Lock()
	_, cached := n2.e.cache.m[other]
	n2.e.cache.mu.Unlock()
	if !cached {
		t.Error("a rolled-back change evicted the domain")
	}
}

func TestListenerReconnectsAfterItsConnectionDies(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindCareHome)
	s := uuid.NewString()
	n2 := startNode(t, db)
	mustAllowed(t, n2.e, d, s, signoff)

	var killed int
	err := db.Pool.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+NotifyChannel+`'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listener connections (err %v), want 1", killed, err)
	}
	n2.waitListening(t)

	inTx(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "assessor") })
	eventually(t, 5*time.Second, "node 2 seeing the new role after reconnecting", func() bool {
		return mustAllowed(t, n2.e, d, s, signoff)
	})
}

func TestRemovedRoleDeniesRightAfterInvalidate(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindCarersCharity)
	s := uuid.NewString()
	inTx(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "passport_officer") })
	// No listener and a long MaxAge: only Invalidate can make this node see it.
	e := newDBEnforcers(t, db, Options{MaxAge: time.Hour})
	issue := Permission{"passport", "issue"}
	if !mustAllowed(t, e, d, s, issue) {
		t.Fatal("passport officer may not issue")
	}

	inTx(t, db, func(tx *gorm.DB) error { return UnassignRole(ctx, tx, d, s, "passport_officer") })
	e.Invalidate(d)
	if mustAllowed(t, e, d, s, issue) {
		t.Error("a removed role still allows right after Invalidate")
	}
}

func TestMaxAgeCatchesAMissedNotification(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	d := provision(t, db, tenants.KindGPPractice)
	s := uuid.NewString()
	clock := &fakeClock{t: time.Now()}
	e := newDBEnforcers(t, db, Options{MaxAge: 5 * time.Second})
	e.now = clock.now
	check := Permission{"verification", "check"}
	if mustAllowed(t, e, d, s, check) {
		t.Fatal("allowed before any role")
	}
	inTx(t, db, func(tx *gorm.DB) error { return AssignRole(ctx, tx, d, s, "reception") })
	if mustAllowed(t, e, d, s, check) {
		t.Fatal("re-checked before MaxAge")
	}
	clock.advance(6 * time.Second)
	if !mustAllowed(t, e, d, s, check) {
		t.Error("the new role is not seen after MaxAge")
	}
}
