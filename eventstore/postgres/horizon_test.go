package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// TestHorizonCoalescesCommits: under a stream of commits from concurrent
// writers, the horizon lets the commits that come during an observation
// gather before it observes again (it pauses after each observation for
// as long as it took, up to HorizonGapCap) instead of observing back to
// back, and the subscription still gets every event once, in order.
func TestHorizonCoalescesCommits(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, newDatabase(t), postgres.Config{})
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{StartFrom: eventstore.Origin})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	var spans []span
	postgres.OnHorizonObservation(s, func(start, end time.Time) {
		mu.Lock()
		defer mu.Unlock()
		spans = append(spans, span{start, end})
	})

	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for range each {
				if _, err := s.Append(ctx, fmt.Sprintf("w-%d", w), eventstore.Any, events(1)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var last int64
	for n := 0; n < writers*each; {
		select {
		case b, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d events: %v", n, sub.Close())
			}
			for _, ev := range b {
				if ev.Position <= last {
					t.Fatalf("position %d delivered after %d", ev.Position, last)
				}
				last = ev.Position
				n++
			}
			if err := sub.Ack(b[len(b)-1]); err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d events delivered in 30 s", n, writers*each)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(spans) < 2 {
		t.Fatalf("%d observations", len(spans))
	}
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		gap := min(prev.end.Sub(prev.start), postgres.HorizonGapCap)
		if pause := cur.start.Sub(prev.end); pause < gap {
			t.Fatalf("observation %d of %d started %v after one that took %v, want a pause of at least %v",
				i, len(spans), pause, prev.end.Sub(prev.start), gap)
		}
	}
	t.Logf("%d observations for %d commits", len(spans), writers*each)
}
