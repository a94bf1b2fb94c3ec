package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestHorizonIgnoresUnrelatedTransactions leaves a transaction that wrote
// to another table (so it holds a transaction id) open while an append
// commits: the transaction took no position, so $all must not wait for it.
func TestHorizonIgnoresUnrelatedTransactions(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{StartFrom: eventstore.Origin})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	pool := pgtest.NewPool(t, conn)
	if _, err := pool.Exec(ctx, "CREATE TABLE unrelated (n int)"); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "INSERT INTO unrelated VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	opened := time.Now()

	res, err := s.Append(ctx, "a", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	// The transaction stays open for 10 s unless the event comes first;
	// delivery must take well under that.
	select {
	case b := <-sub.Events():
		if b[0].Position != res.LastPosition {
			t.Fatalf("delivered position %d, want %d", b[0].Position, res.LastPosition)
		}
		if d := time.Since(opened); d > 5*time.Second {
			t.Fatalf("delivered after %v: the subscription waited for an unrelated transaction", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered in 10 s while an unrelated transaction was open")
	}
	if all, err := s.ReadAll(ctx, eventstore.ReadOptions{From: res.LastPosition}); err != nil || len(all) != 1 {
		t.Fatalf("ReadAll returned %d events, %v; want the appended event", len(all), err)
	}
	var open bool
	if err := tx.QueryRow(ctx, "SELECT true").Scan(&open); err != nil {
		t.Fatalf("the unrelated transaction ended early: %v", err)
	}
}
