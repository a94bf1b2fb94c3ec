package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
// (a range of positions), alone or in a batch, on the connections of the
// pool it traces.
type allReads struct{ n atomic.Int64 }

func (r *allReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "WHERE e.position >= $1 AND e.position <= $2") {
		r.n.Add(1)
	}
	return ctx
}

func (r *allReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *allReads) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (r *allReads) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	r.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: data.SQL})
}

func (r *allReads) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

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
	tail, offered, fallback := postgres.FanoutReads(s)
	t.Logf("%d reads of $all for %d appends and %d subscriptions (shared reader %d, with the horizon's observations %d, subscriptions' own %d)",
		got, appends, subs, tail, offered, fallback)
	// One read per subscription and append would be appends*subs; the
	// shared reader needs about one per horizon advance. Under load a
	// wake-up may find nothing new or a subscription may read once itself,
	// so the bound leaves room for that, and still fails when every
	// subscription reads for itself.
	if limit := appends * subs / 2; got > int64(limit) {
		t.Errorf("%d reads of $all for %d appends and %d subscriptions, want at most %d (one per horizon advance, and some)", got, appends, subs, limit)
	}
}

// TestFanoutSlowSubscriber: a subscription that does not keep up holds
// back neither the others nor the appends; once the window has moved past
// it, it reads the tables itself, delivers every event once in order, and
// rejoins the shared window.
func TestFanoutSlowSubscriber(t *testing.T) {
	const window, total = 10, 120
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{FanoutWindow: window})
	fast := subscribeAll(t, s, 1, eventstore.SubscribeOptions{})[0]
	slow := subscribeAll(t, s, 1, eventstore.SubscribeOptions{BatchSize: 7, MaxInFlight: 7})[0]
	for i := range total / 4 {
		if _, err := s.Append(t.Context(), fmt.Sprintf("s-%d", i%5), eventstore.Any, events(4)); err != nil {
			t.Fatal(err)
		}
	}
	want := receiveAll(t, fast, total)
	_, _, fellBack := postgres.FanoutReads(s)
	got := receiveAll(t, slow, total)
	if len(got) != total {
		t.Fatalf("slow subscription: %d events, want %d", len(got), total)
	}
	for i := range want {
		if got[i].Position != want[i].Position || got[i].ID != want[i].ID {
			t.Fatalf("slow subscription: event %d at position %d, want %d", i, got[i].Position, want[i].Position)
		}
	}
	_, _, caughtUp := postgres.FanoutReads(s)
	if caughtUp == fellBack {
		t.Errorf("the slow subscription never read the tables itself (%d reads)", caughtUp)
	}
	// Caught up, it is served by the window again.
	for i := range 5 {
		if _, err := s.Append(t.Context(), "late", eventstore.Any, events(1)); err != nil {
			t.Fatal(err)
		}
		receiveAll(t, fast, 1)
		if e := receiveAll(t, slow, 1); e[0].StreamID != "late" || e[0].StreamVersion != int64(i+1) {
			t.Fatalf("after catching up: %s@%d", e[0].StreamID, e[0].StreamVersion)
		}
	}
	if _, _, after := postgres.FanoutReads(s); after != caughtUp {
		t.Errorf("%d reads of its own after it caught up, want none", after-caughtUp)
	}
}

// TestFanoutAcrossStores: stores of two processes, each with several $all
// subscriptions, append concurrently; every subscription in either store
// delivers every event once, in the global order, and reads nothing
// itself: each store's one reader brings the other's events.
func TestFanoutAcrossStores(t *testing.T) {
	const perStore, writers, appends = 3, 4, 25
	conn := newDatabase(t)
	stores := []*postgres.Store{mustOpen(t, conn, postgres.Config{}), mustOpen(t, conn, postgres.Config{})}
	var subs []eventstore.Subscription
	for _, s := range stores {
		subs = append(subs, subscribeAll(t, s, perStore, eventstore.SubscribeOptions{})...)
	}
	var wg sync.WaitGroup
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range appends {
				if _, err := s.Append(t.Context(), fmt.Sprintf("w-%d", w), eventstore.Exact(int64(i)), events(1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	want, err := stores[0].ReadAll(t.Context(), eventstore.ReadOptions{Count: writers * appends})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != writers*appends {
		t.Fatalf("ReadAll: %d events, want %d", len(want), writers*appends)
	}
	for i, sub := range subs {
		got := receiveAll(t, sub, len(want))
		for j := range want {
			if got[j].Position != want[j].Position || got[j].ID != want[j].ID {
				t.Fatalf("subscription %d: event %d at position %d, want %d", i, j, got[j].Position, want[j].Position)
			}
		}
	}
	for i, s := range stores {
		if tail, _, fallback := postgres.FanoutReads(s); fallback != 0 {
			t.Errorf("store %d: its subscriptions read the tables %d times (the shared reader %d)", i, fallback, tail)
		}
	}
}

// TestFanoutForgetsHardDeleted: a stream hard-deleted after its events
// reached the window is not delivered to a subscription that starts
// later, as when it reads the tables.
func TestFanoutForgetsHardDeleted(t *testing.T) {
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	live := subscribeAll(t, s, 1, eventstore.SubscribeOptions{})[0]
	for _, stream := range []string{"gone", "kept"} {
		if _, err := s.Append(t.Context(), stream, eventstore.NoStream, events(2)); err != nil {
			t.Fatal(err)
		}
	}
	receiveAll(t, live, 4) // in the window
	if err := s.DeleteStream(t.Context(), "gone", eventstore.Any, eventstore.HardDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), "kept", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	later := subscribeAll(t, s, 1, eventstore.SubscribeOptions{})[0]
	for _, e := range receiveAll(t, later, 3) {
		if e.StreamID != "kept" {
			t.Errorf("delivered %s@%d after its stream was hard-deleted", e.StreamID, e.StreamVersion)
		}
	}
	if tail, _, fallback := postgres.FanoutReads(s); fallback != 0 {
		t.Logf("served from the tables (%d reads; the shared reader %d): the test did not reach the window", fallback, tail)
	}
}
