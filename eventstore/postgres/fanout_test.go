package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/storetest"
)

// allReads counts the statements that read $all forward from the tables
// (a range of positions), on the connections of the pool it traces.
type allReads struct{ n atomic.Int64 }

func (r *allReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "WHERE e.position >= $1 AND e.position <= $2") {
		r.n.Add(1)
	}
	return ctx
}

func (r *allReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// mustOpenTraced is mustOpen with a pool whose $all reads are counted.
func mustOpenTraced(tb testing.TB, conn string, cfg postgres.Config) (*postgres.Store, *allReads) {
	tb.Helper()
	pcfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		tb.Fatal(err)
	}
	reads := &allReads{}
	pcfg.ConnConfig.Tracer = reads
	pool, err := pgxpool.NewWithConfig(tb.Context(), pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	s, err := postgres.New(tb.Context(), pool, cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s, reads
}

// subscribeAll opens n $all subscriptions from the start, acknowledging
// everything they receive, closed at cleanup.
func subscribeAll(tb testing.TB, s eventstore.Store, n int, opts eventstore.SubscribeOptions) []eventstore.Subscription {
	tb.Helper()
	subs := make([]eventstore.Subscription, n)
	for i := range subs {
		sub, err := s.Subscribe(tb.Context(), opts)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { sub.Close() })
		subs[i] = sub
	}
	return subs
}

// receiveAll receives from sub until it has n events, acknowledging each
// batch, and checks that their positions increase.
func receiveAll(tb testing.TB, sub eventstore.Subscription, n int) []eventstore.RecordedEvent {
	tb.Helper()
	got := storetest.Collect(tb, sub, n, 30*time.Second)
	for i := 1; i < len(got); i++ {
		if got[i].Position <= got[i-1].Position {
			tb.Fatalf("position %d after %d", got[i].Position, got[i-1].Position)
		}
	}
	return got
}

// TestFanoutOneReader: five $all subscriptions in one store are served by
// one read of the tables per batch of new events, not one each.
func TestFanoutOneReader(t *testing.T) {
	const subs, appends = 5, 40
	conn := newDatabase(t)
	s, reads := mustOpenTraced(t, conn, postgres.Config{})
	all := subscribeAll(t, s, subs, eventstore.SubscribeOptions{})
	before := reads.n.Load()
	for i := range appends {
		if _, err := s.Append(t.Context(), fmt.Sprintf("s-%d", i%3), eventstore.Any, events(1)); err != nil {
			t.Fatal(err)
		}
		// Every subscription has it before the next append: each append
		// is one new batch for all of them.
		for _, sub := range all {
			receiveAll(t, sub, 1)
		}
	}
	got := reads.n.Load() - before
	t.Logf("%d reads of $all for %d appends and %d subscriptions", got, appends, subs)
	if got > appends+subs {
		t.Errorf("%d reads of $all for %d appends, want at most %d (one per horizon advance, and a few)", got, appends, appends+subs)
	}
}
