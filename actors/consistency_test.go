package actors_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestStrongConsistencyAcrossProcesses: two applications on one database,
// each registering the same strongly consistent handler; one holds the
// handler's subscription. A strong dispatch in the other returns once the
// holder has processed the command's events, seen through the checkpoint
// the holder stores.
func TestStrongConsistencyAcrossProcesses(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		recs := make([]*recorder, 2)
		apps := make([]*actors.App, 2)
		for i, s := range stores {
			recs[i] = &recorder{}
			apps[i] = newBank(t, s)
			must(t, apps[i].RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: recs[i].handler(), Consistency: actors.Strong}))
			actorstest.Start(t, apps[i])
		}
		// Find the holder: the app whose handler receives the first event.
		r := dispatch(t, apps[0], OpenAccount{ID: "first"}, actors.WithConsistency(actors.Eventual))
		eventually(t, patience, "a holder handles the first event", func() bool {
			return recs[0].positions()[r.Position] == 1 || recs[1].positions()[r.Position] == 1
		})
		other := 1
		if recs[1].positions()[r.Position] == 1 {
			other = 0
		}
		holder := 1 - other
		for i := range 5 {
			start := time.Now()
			r := dispatch(t, apps[other], OpenAccount{ID: fmt.Sprintf("x%d", i)}, actors.WithConsistency(actors.Strong))
			if recs[holder].positions()[r.Position] != 1 {
				t.Fatalf("strong dispatch in the other process returned before the holder processed position %d", r.Position)
			}
			if recs[other].len() != 0 {
				t.Fatal("both processes handled events: the subscription is not exclusive")
			}
			t.Logf("strong dispatch from the process not holding the handler: %v", time.Since(start).Round(time.Millisecond))
		}
	})
}

// TestProcessManagerDispatchConsistency: a process manager dispatching with
// strong consistency counts an event as handled only once the strongly
// consistent handlers have processed what its commands caused.
func TestProcessManagerDispatchConsistency(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var proj recorder
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection", Consistency: actors.Strong,
			Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
				time.Sleep(5 * time.Millisecond)
				proj.add(ev)
				return nil
			})}))
		must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name:                "welcome",
			New:                 func() actors.ProcessManager { return &welcome{} },
			Interested:          welcomeRoutes,
			Consistency:         actors.Strong,
			DispatchConsistency: actors.Strong,
		}))
		actorstest.Start(t, app)
		for i := range 3 {
			id := fmt.Sprintf("w%d", i)
			// Strong: waits for the projection and for the process manager,
			// whose own progress waited for the projection of its deposit.
			dispatch(t, app, OpenAccount{ID: id}, actors.WithConsistency(actors.Strong))
			var deposits int
			for _, ev := range proj.all() {
				if d, ok := ev.Payload.(Deposited); ok && d.ID == id {
					deposits++
				}
			}
			if deposits != 1 {
				t.Fatalf("after a strong dispatch, the projection has %d welcome deposits for %s, want 1", deposits, id)
			}
		}
	})
}

// welcome deposits 10 in every account opened.
type welcome struct{ Done bool }

func welcomeRoutes(ev actors.Event) []actors.Interest {
	if e, ok := ev.Payload.(AccountOpened); ok {
		return []actors.Interest{actors.StartProcess(e.ID)}
	}
	return nil
}

func (w *welcome) Handle(ev actors.Event) ([]any, error) {
	e := ev.Payload.(AccountOpened)
	return []any{Deposit{ID: e.ID, Amount: 10}}, nil
}

func (w *welcome) Apply(any) { w.Done = true }

// TestHandlerSubscriptionReset: deleting a handler's subscription, named by
// HandlerSubscription, makes it start over from the origin.
func TestHandlerSubscriptionReset(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		run := func(rec *recorder) *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "replayed", Handler: rec.handler(), Consistency: actors.Strong}))
			return actorstest.Start(t, app)
		}
		var first recorder
		app := run(&first)
		for i := range 3 {
			dispatch(t, app, OpenAccount{ID: fmt.Sprintf("r%d", i)}, actors.WithConsistency(actors.Strong))
		}
		must(t, app.Close(context.Background()))
		must(t, store.DeleteSubscription(context.Background(), actors.HandlerSubscription("replayed")))
		var second recorder
		run(&second)
		eventually(t, patience, "the handler replays from the origin", func() bool { return second.len() == 3 })
	})
}

// TestStrongDispatchInsideOpenTransaction: a strongly consistent dispatch
// made while the caller holds a transaction open on the same database,
// one that wrote and so holds a transaction id, returns: the store's
// horizon waits only for transactions that took positions, and the
// store appends on its own connections, never in the caller's
// transaction.
func TestStrongDispatchInsideOpenTransaction(t *testing.T) {
	ctx := t.Context()
	conn := actorstest.PostgresDatabase(t)
	app := newBank(t, actorstest.PostgresStore(t, conn))
	var rec recorder
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: rec.handler(), Consistency: actors.Strong}))
	actorstest.Start(t, app)

	pool := pgtest.NewPool(t, conn)
	_, err := pool.Exec(ctx, "CREATE TABLE caller (n int)")
	must(t, err)
	tx, err := pool.Begin(ctx)
	must(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx))
	_, err = tx.Exec(ctx, "INSERT INTO caller VALUES (1)")
	must(t, err)

	// Far below the dispatch timeout, far above a loaded machine's delay.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := app.Dispatch(dctx, OpenAccount{ID: "in-tx"}, actors.WithConsistency(actors.Strong))
	if err != nil {
		t.Fatalf("strong dispatch inside an open transaction: %v", err)
	}
	if rec.positions()[r.Position] != 1 {
		t.Fatalf("strong dispatch returned before the handler processed position %d", r.Position)
	}
	_, err = tx.Exec(ctx, "INSERT INTO caller VALUES (2)")
	must(t, err) // the transaction was open throughout
}

// unstoredCheckpoints is a memory store whose subscriptions never store a
// checkpoint: their acknowledgements are dropped.
type unstoredCheckpoints struct{ *memory.Store }

type ackless struct{ eventstore.Subscription }

func (ackless) Ack(eventstore.RecordedEvent) error { return nil }

func (s unstoredCheckpoints) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	sub, err := s.Store.Subscribe(ctx, opts)
	if err != nil {
		return nil, err
	}
	return ackless{sub}, nil
}

// TestStrongConsistencyInProcess: a strong dispatch waits for a handler of
// its own process through the handler's progress in memory, released as
// the handler finishes the event, not through the checkpoint the
// subscription stores (every CheckpointInterval): here that checkpoint
// never moves, and the dispatch still returns.
func TestStrongConsistencyInProcess(t *testing.T) {
	store := unstoredCheckpoints{memory.New()}
	var rec recorder
	app := newBank(t, store)
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: rec.handler(), Consistency: actors.Strong}))
	actorstest.Start(t, app)
	for i := range 3 {
		r := dispatch(t, app, OpenAccount{ID: fmt.Sprintf("a%d", i)}, actors.WithConsistency(actors.Strong))
		if rec.positions()[r.Position] != 1 {
			t.Fatalf("strong dispatch returned before the handler processed position %d", r.Position)
		}
	}
	cp, err := store.Checkpoint(context.Background(), actors.HandlerSubscription("projection"))
	if err != nil && !errors.Is(err, eventstore.ErrSubscriptionNotFound) {
		t.Fatal(err)
	}
	if cp != 0 {
		t.Fatalf("stored checkpoint %d: the test's store should store none", cp)
	}
}
