package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// TestPanicIsContained: a panic in aggregate code fails only its command;
// the actor restarts and reloads its state, commands queued behind the
// panic still run, and other aggregates (in the same shard) carry on.
func TestPanicIsContained(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		s := spy(store)
		app := startBank(t, s, withConfig(func(c *actors.Config) { c.Shards = 1 }))
		open(t, app, "a1", "a2")
		dispatch(t, app, Deposit{ID: "a1", Amount: 10})
		loads := s.readsOf("account-a1")

		// Commands for a1 queue behind a stalled one, one of them panics.
		release, started := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := app.Dispatch(context.Background(), Stall{ID: "a1", Started: started, Until: release}); err != nil {
				t.Error(err)
			}
		})
		<-started
		errs := make(chan error, 1)
		wg.Go(func() {
			_, err := app.Dispatch(context.Background(), Crash{ID: "a1"})
			errs <- err
		})
		for i := range 5 {
			wg.Go(func() {
				if _, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1}); err != nil {
					t.Errorf("deposit %d queued with a panic: %v", i, err)
				}
			})
		}
		// Meanwhile a2, in the same shard, is unaffected.
		for range 5 {
			dispatch(t, app, Deposit{ID: "a2", Amount: 2})
		}
		time.Sleep(20 * time.Millisecond) // let the queued commands reach the mailbox
		close(release)
		wg.Wait()
		err := <-errs
		var p *actors.PanicError
		if !errors.Is(err, actors.ErrAggregateStopped) || !errors.As(err, &p) {
			t.Fatalf("crash: %v", err)
		}
		if got := state(t, app, "a1"); got.Balance != 15 || got.Deposits != 6 {
			t.Errorf("a1 after the panic = %+v, want balance 15", got)
		}
		if s.readsOf("account-a1") == loads {
			t.Error("the restarted aggregate did not reload its state")
		}
		if got := state(t, app, "a2"); got.Balance != 10 {
			t.Errorf("a2 = %+v", got)
		}
		// It keeps working after repeated panics.
		for range 3 {
			if _, err := app.Dispatch(context.Background(), Crash{ID: "a1"}); !errors.Is(err, actors.ErrAggregateStopped) {
				t.Fatalf("crash: %v", err)
			}
		}
		if r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}); r.Version != 8 {
			t.Errorf("version after panics = %d, want 8", r.Version)
		}
	})
}

// testLifespan keeps an account forever after a deposit, stops it after a
// withdrawal, keeps it 20ms after a command that appends nothing and stops
// it after an error.
type testLifespan struct{}

func (testLifespan) AfterEvent(ev any) time.Duration {
	if _, ok := ev.(Withdrawn); ok {
		return actors.StopNow
	}
	return actors.Forever
}
func (testLifespan) AfterCommand(any) time.Duration { return 20 * time.Millisecond }
func (testLifespan) AfterError(error) time.Duration { return actors.StopNow }

// TestLifespan: after each command the lifespan decides whether the actor
// stays, stops now or stops when idle; a stopped aggregate is out of memory
// and comes back, with its state, on its next command.
func TestLifespan(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		s := spy(store)
		app := startBank(t, s, withAggregate(func(a *actors.AggregateType) { a.Lifespan = testLifespan{} }))
		live := func() int { return actors.LiveAggregates(app) }
		open(t, app, "a1")
		dispatch(t, app, Deposit{ID: "a1", Amount: 10})
		tests := []struct {
			name string
			cmd  any
			stop bool
		}{
			{"event: forever", Deposit{ID: "a1", Amount: 5}, false},
			{"event: stop now", Withdraw{ID: "a1", Amount: 1}, true},
			{"error: stop now", Withdraw{ID: "a1", Amount: 1000}, true},
			{"command: idle timeout", Touch{ID: "a1"}, true},
		}
		balance := 15
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				loads := s.readsOf("account-a1")
				app.Dispatch(context.Background(), tt.cmd)
				if s.readsOf("account-a1") != loads && tt.name == "event: forever" {
					t.Error("reloaded a live aggregate")
				}
				if tt.stop {
					eventually(t, patience, "the aggregate stops", func() bool { return live() == 0 })
				} else {
					time.Sleep(30 * time.Millisecond)
					if live() != 1 {
						t.Fatalf("%d live aggregates, want 1", live())
					}
				}
				if _, ok := tt.cmd.(Withdraw); ok && tt.name == "event: stop now" {
					balance--
				}
				loads = s.readsOf("account-a1")
				if got := state(t, app, "a1"); got.Balance != balance {
					t.Errorf("state = %+v, want balance %d", got, balance)
				}
				if tt.stop && s.readsOf("account-a1") == loads {
					t.Error("a stopped aggregate came back without loading")
				}
			})
		}
	})
}

// TestIdleLifespan: IdleLifespan stops an aggregate after it was idle.
func TestIdleLifespan(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store, withAggregate(func(a *actors.AggregateType) { a.Lifespan = actors.IdleLifespan(30 * time.Millisecond) }))
		if n := actors.LiveAggregates(app); n != 0 {
			t.Fatalf("%d live aggregates before any command", n)
		}
		open(t, app, "a1", "a2", "a3")
		if n := actors.LiveAggregates(app); n == 0 {
			t.Fatal("no live aggregates right after commands")
		}
		eventually(t, patience, "idle aggregates stop", func() bool { return actors.LiveAggregates(app) == 0 })
	})
}

// TestPassivationLosesNoCommand hammers aggregates that stop after every
// command: commands that arrive while one is stopping are buffered and run
// by its successor, none is lost or run twice.
func TestPassivationLosesNoCommand(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		s := spy(store)
		app := startBank(t, s, withConfig(func(c *actors.Config) { c.Shards = 2 }),
			withAggregate(func(a *actors.AggregateType) { a.Lifespan = actors.IdleLifespan(actors.StopNow) }))
		ids := []string{"a1", "a2", "a3"}
		open(t, app, ids...)
		const workers, each = 6, 20
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					id := ids[(w+i)%len(ids)]
					if _, err := app.Dispatch(context.Background(), Deposit{ID: id, Amount: 1}); err != nil {
						t.Errorf("deposit to %s: %v", id, err)
						return
					}
				}
			})
		}
		wg.Wait()
		total, loads := 0, 0
		for _, id := range ids {
			acc := state(t, app, id)
			total += acc.Balance
			if acc.Deposits != acc.Balance {
				t.Errorf("%s: %+v", id, acc)
			}
			loads += s.readsOf("account-" + id)
		}
		if total != workers*each {
			t.Errorf("total balance %d, want %d", total, workers*each)
		}
		if loads < 10 {
			t.Errorf("only %d loads: the aggregates were hardly passivated", loads)
		}
		eventually(t, patience, "all aggregates stop", func() bool { return actors.LiveAggregates(app) == 0 })
	})
}

// TestMaxLiveAggregates: beyond the bound, the least recently used
// aggregates are passivated, whatever the number of shards.
func TestMaxLiveAggregates(t *testing.T) {
	for _, shards := range []int{1, 16} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				s := spy(store)
				app := startBank(t, s, withConfig(func(c *actors.Config) { c.Shards, c.MaxLiveAggregates = shards, 3 }))
				for i := range 20 {
					open(t, app, fmt.Sprintf("a%d", i))
				}
				eventually(t, patience, "at most 3 live aggregates", func() bool { return actors.LiveAggregates(app) <= 3 })
				if shards > 1 {
					return // which ones stay depends on the shards' hashing
				}
				// The most recent stay in memory; the others reload.
				loads := s.loadsOf("account-a19")
				state(t, app, "a19")
				if s.loadsOf("account-a19") != loads {
					t.Error("the most recently used aggregate was passivated")
				}
				loads = s.readsOf("account-a0")
				if got := state(t, app, "a0"); !got.Open {
					t.Errorf("a0 = %+v", got)
				}
				if s.readsOf("account-a0") == loads {
					t.Error("the least recently used aggregate was not passivated")
				}
			})
		})
	}
}

// TestSnapshots: an aggregate is snapshotted every N events; a new process
// loads the snapshot and the events after it; a snapshot of another schema
// version or aggregate type is ignored and the state rebuilt from events.
func TestSnapshots(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		snapEvery3 := func(version int) bankOption {
			return withAggregate(func(a *actors.AggregateType) { a.SnapshotEvery, a.SnapshotVersion = 3, version })
		}
		app := startBank(t, store, snapEvery3(1))
		open(t, app, "a1")
		for range 6 {
			dispatch(t, app, Deposit{ID: "a1", Amount: 1})
		}
		var snap eventstore.Snapshot
		eventually(t, patience, "a snapshot at version 6", func() bool {
			var err error
			snap, err = store.ReadSnapshot(ctx, "account-a1")
			return err == nil && snap.SourceVersion == 6
		})
		var acc Account
		must(t, json.Unmarshal(snap.Data, &acc))
		if snap.SchemaVersion != 1 || snap.SourceType != "account" || acc.Balance != 5 || acc.Deposits != 5 {
			t.Errorf("snapshot = %+v, state %+v", snap, acc)
		}
		must(t, app.Close(ctx))

		// Doctor the snapshot: a process that uses it shows the doctored
		// balance, plus the event after it.
		doctored := snap
		doctored.Data, _ = json.Marshal(Account{ID: "a1", Open: true, Balance: 1000, Deposits: 5})
		must(t, store.RecordSnapshot(ctx, doctored))
		tests := []struct {
			name    string
			opt     bankOption
			balance int
		}{
			{"same schema version", snapEvery3(1), 1001},
			{"another aggregate type", withAggregate(func(a *actors.AggregateType) {
				a.Name, a.StreamPrefix, a.SnapshotEvery, a.SnapshotVersion = "account2", "account-", 3, 1
			}), 6},
			{"snapshots off", withAggregate(func(a *actors.AggregateType) {}), 6},
			{"another schema version", snapEvery3(2), 6},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var app *actors.App
				if tt.name == "another aggregate type" {
					app = newAccount2(t, store, tt.opt)
				} else {
					app = newBank(t, store, tt.opt)
				}
				actorstest.Start(t, app)
				if tt.name != "another aggregate type" {
					dispatch(t, app, Deposit{ID: "a1", Amount: 0}) // version 8, 9, ...
				}
				got := state(t, app, "a1")
				if got.Balance != tt.balance {
					t.Errorf("balance %d, want %d", got.Balance, tt.balance)
				}
				must(t, app.Close(ctx))
			})
		}
		// The process with schema version 2 rebuilt the state and, closing,
		// wrote a snapshot of its own.
		snap, err := store.ReadSnapshot(ctx, "account-a1")
		must(t, err)
		if snap.SchemaVersion != 2 {
			t.Errorf("snapshot schema version %d after a rebuild with version 2 (version %d)", snap.SchemaVersion, snap.SourceVersion)
		}
	})
}

// TestHardDeleteThenRecreate: an aggregate's stream hard-deleted after a
// snapshot (one that remembers a command id) is created again by the next
// dispatch, from nothing: the deleted stream's snapshot neither gives its
// state nor shadows the new stream's versions, and its command ids are
// forgotten with it.
func TestHardDeleteThenRecreate(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		snapEvery1 := withAggregate(func(a *actors.AggregateType) { a.SnapshotEvery = 1 })
		app := startBank(t, store, snapEvery1)
		open(t, app, "a1")
		id := uuid.New()
		dispatch(t, app, Deposit{ID: "a1", Amount: 5}, actors.WithCommandID(id))
		dispatch(t, app, Deposit{ID: "a1", Amount: 5})
		must(t, app.Close(ctx))
		snap, err := store.ReadSnapshot(ctx, "account-a1")
		must(t, err)
		if snap.SourceVersion != 3 {
			t.Fatalf("snapshot at version %d, want 3", snap.SourceVersion)
		}
		admin, ok := store.(eventstore.StreamAdmin)
		if !ok {
			t.Fatalf("%T deletes no streams", store)
		}
		must(t, admin.DeleteStream(ctx, "account-a1", eventstore.Exact(3), eventstore.HardDelete))

		app = startBank(t, store, snapEvery1)
		if r := dispatch(t, app, OpenAccount{ID: "a1", Owner: "new owner"}); r.Version != 1 {
			t.Errorf("re-created stream at version %d, want 1", r.Version)
		}
		r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnState))
		if r.Duplicate || r.Version != 2 {
			t.Errorf("a command id of the deleted stream: %+v", r)
		}
		if acc, _ := actors.StateAs[*Account](r); acc == nil || acc.Owner != "new owner" || acc.Balance != 1 {
			t.Errorf("re-created state %+v", r.State)
		}
		if n := streamLen(t, store, "account-a1"); n != 2 {
			t.Errorf("re-created stream has %d events, want 2", n)
		}
	})
}

// newAccount2 is a bank whose aggregate type is named "account2" but
// shares the account streams.
func newAccount2(t testing.TB, store actors.EventStore, opt bankOption) *actors.App {
	t.Helper()
	b := bank{agg: actors.AggregateType{New: newAccount}}
	opt(&b)
	app, err := actors.New(actors.Config{Store: store})
	must(t, err)
	registerBankEvents(t, app.Registry())
	must(t, app.RegisterAggregate(b.agg))
	must(t, actors.Route(app, b.agg.Name, func(c Touch) string { return c.ID }))
	return app
}

// TestIdempotentCommands: a command id makes a dispatch idempotent: a
// repeat, concurrent or after a restart (with or without a snapshot),
// returns the first outcome and appends nothing.
func TestIdempotentCommands(t *testing.T) {
	for _, snapshots := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshots=%v", snapshots), func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				ctx := context.Background()
				opt := withAggregate(func(a *actors.AggregateType) {
					if snapshots {
						a.SnapshotEvery = 1
					}
				})
				app := startBank(t, store, opt)
				open(t, app, "a1")
				id := uuid.New()
				first := dispatch(t, app, Deposit{ID: "a1", Amount: 5}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnEvents))
				if first.Duplicate || first.Version != 2 {
					t.Fatalf("first = %+v", first)
				}
				// A repeat, even with another payload, returns the first outcome.
				again := dispatch(t, app, Deposit{ID: "a1", Amount: 50}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnEvents))
				if !again.Duplicate || again.Version != 2 || again.Position != first.Position ||
					len(again.Events) != 1 || again.Events[0].ID != first.Events[0].ID {
					t.Errorf("repeat = %+v", again)
				}
				// Concurrent repeats of a new id: one executes.
				id2 := uuid.New()
				var mu sync.Mutex
				executed := 0
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						r, err := app.Dispatch(ctx, Deposit{ID: "a1", Amount: 1}, actors.WithCommandID(id2))
						if err != nil {
							t.Error(err)
							return
						}
						if !r.Duplicate {
							mu.Lock()
							executed++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if executed != 1 {
					t.Errorf("%d of 8 concurrent repeats executed", executed)
				}
				// A refused command is not remembered: once valid, it runs.
				id3 := uuid.New()
				if _, err := app.Dispatch(ctx, Withdraw{ID: "a1", Amount: 100}, actors.WithCommandID(id3)); !errors.Is(err, errInsufficientFunds) {
					t.Fatalf("withdraw: %v", err)
				}
				dispatch(t, app, Deposit{ID: "a1", Amount: 100})
				if r := dispatch(t, app, Withdraw{ID: "a1", Amount: 100}, actors.WithCommandID(id3)); r.Duplicate {
					t.Error("a refused command was remembered")
				}
				must(t, app.Close(ctx))

				// A new process recognises both ids.
				app2 := startBank(t, store, opt)
				r := dispatch(t, app2, Deposit{ID: "a1", Amount: 5}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnState))
				if !r.Duplicate || r.Version != 2 || r.Position != first.Position {
					t.Errorf("repeat after restart = %+v", r)
				}
				if acc, _ := actors.StateAs[*Account](r); acc == nil || acc.Balance != 6 {
					t.Errorf("state returned with a duplicate = %+v", r.State)
				}
				if r := dispatch(t, app2, Deposit{ID: "a1", Amount: 1}, actors.WithCommandID(id2)); !r.Duplicate {
					t.Errorf("second id after restart = %+v", r)
				}
				if n := streamLen(t, store, "account-a1"); n != 5 {
					t.Errorf("stream has %d events, want 5", n)
				}
			})
		})
	}
}

// TestIdempotentAcrossProcesses: a command id handled by one process is
// recognised by another whose aggregate is loaded and out of date.
func TestIdempotentAcrossProcesses(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		app1, app2 := startBank(t, stores[0]), startBank(t, stores[1])
		open(t, app1, "a1")
		state(t, app2, "a1") // loaded in app2
		id := uuid.New()
		first := dispatch(t, app1, Deposit{ID: "a1", Amount: 5}, actors.WithCommandID(id))
		r, err := app2.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 5}, actors.WithCommandID(id))
		if err != nil {
			t.Fatalf("repeat in another process: %v", err)
		}
		if !r.Duplicate || r.Version != first.Version || r.Position != first.Position {
			t.Errorf("repeat in another process = %+v, first %+v", r, first)
		}
		if got := state(t, app2, "a1"); got.Balance != 5 {
			t.Errorf("state = %+v", got)
		}
	})
}

// TestNoAnswerFromAStaleState: a refusal or a no-op that an actor decides
// on the state it kept from an earlier command is decided again on the
// stored state when another process wrote since: the expected-version
// check of an append does not guard them, so the refusal would be wrong
// and the no-op a lost write (a favorite withdrawn through one Conduit
// process after another added it).
func TestNoAnswerFromAStaleState(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		app1, app2 := startBank(t, stores[0]), startBank(t, stores[1])
		open(t, app1, "a1")
		state(t, app2, "a1") // kept by app2 at balance 0
		dispatch(t, app1, Deposit{ID: "a1", Amount: 5})
		if _, err := app2.Dispatch(context.Background(), Withdraw{ID: "a1", Amount: 5}); err != nil {
			t.Fatalf("withdraw what another process deposited: %v, want it done", err)
		}
		dispatch(t, app1, Deposit{ID: "a1", Amount: 3})
		if got := state(t, app2, "a1"); got.Balance != 3 {
			t.Fatalf("state answered by a no-op: balance %d, want the stored 3", got.Balance)
		}
	})
}

// TestCreatingRoute: a command routed with Creating to an aggregate not in
// memory skips the load when the stream is new, and otherwise is decided
// on the stored state, as if the aggregate had loaded: an append that
// finds the stream, a refusal and a no-op on the new state all load.
func TestCreatingRoute(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		s1 := spy(stores[0])
		app1, app2 := startBank(t, s1, creatingRoutes), startBank(t, stores[1])

		// New: nothing read.
		if r := dispatch(t, app1, OpenAccount{ID: "new"}); r.Version != 1 {
			t.Errorf("new account: version %d, want 1", r.Version)
		}
		dispatch(t, app1, Deposit{ID: "new", Amount: 1})
		if n := s1.readCount("account-new"); n != 0 {
			t.Errorf("new account: %d reads of its stream, want none", n)
		}

		// Stored by another process: the append finds the stream; the
		// command is a no-op on the stored state.
		open(t, app2, "old")
		dispatch(t, app2, Deposit{ID: "old", Amount: 5})
		if r := dispatch(t, app1, OpenAccount{ID: "old"}); r.Version != 2 || r.Position != 0 {
			t.Errorf("open a stored account: %+v, want version 2 and nothing appended", r)
		}
		dispatch(t, app1, Withdraw{ID: "old", Amount: 5}) // the state is the stored one
		if n := streamLen(t, stores[0], "account-old"); n != 3 {
			t.Errorf("stored account: %d events, want 3", n)
		}

		// Refused on the new state, accepted on the stored one.
		open(t, app2, "refused")
		if r := dispatch(t, app1, Deposit{ID: "refused", Amount: 2}); r.Version != 2 {
			t.Errorf("deposit to a stored account: version %d, want 2", r.Version)
		}
		if got := state(t, app1, "refused"); got.Balance != 2 || !got.Open {
			t.Errorf("state = %+v", got)
		}

		// Idempotency holds: the repeat finds the stream and the command.
		id := uuid.New()
		first := dispatch(t, app2, OpenAccount{ID: "repeat"}, actors.WithCommandID(id))
		r := dispatch(t, app1, OpenAccount{ID: "repeat"}, actors.WithCommandID(id))
		if !r.Duplicate || r.Version != first.Version || r.Position != first.Position {
			t.Errorf("repeat = %+v, first %+v", r, first)
		}

		// A deleted stream is no new stream.
		open(t, app2, "deleted")
		admin, ok := stores[1].(eventstore.StreamAdmin)
		if !ok {
			t.Fatalf("%T deletes no streams", stores[1])
		}
		must(t, admin.DeleteStream(context.Background(), "account-deleted", eventstore.Any, eventstore.SoftDelete))
		if _, err := app1.Dispatch(context.Background(), OpenAccount{ID: "deleted"}); !errors.Is(err, eventstore.ErrStreamDeleted) {
			t.Errorf("open a deleted account: %v, want ErrStreamDeleted", err)
		}
	})
}

// TestConflictRetry: two processes write one aggregate. A process whose
// aggregate is out of date catches up and retries, with or without an
// expected version, and concurrent writers lose no update.
func TestConflictRetry(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		s1 := spy(stores[0])
		conflictRetries := withAggregate(func(a *actors.AggregateType) { a.ConflictRetries = 100 })
		app1, app2 := startBank(t, s1, conflictRetries), startBank(t, stores[1], conflictRetries)
		open(t, app1, "a1")
		dispatch(t, app1, Deposit{ID: "a1", Amount: 1})
		dispatch(t, app2, Deposit{ID: "a1", Amount: 2}) // app1 is now behind
		r := dispatch(t, app1, Deposit{ID: "a1", Amount: 4})
		if r.Version != 4 || s1.conflictCount() != 1 {
			t.Errorf("after a conflict: version %d, %d conflicts", r.Version, s1.conflictCount())
		}
		if got := state(t, app1, "a1"); got.Balance != 7 {
			t.Errorf("state = %+v", got)
		}

		// Expected versions are checked against the stored stream.
		dispatch(t, app2, Deposit{ID: "a1", Amount: 8}) // version 5; app1 is behind
		if r, err := app1.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 16}, actors.WithExpectedVersion(5)); err != nil || r.Version != 6 {
			t.Errorf("right expected version, stale aggregate: %+v, %v", r, err)
		}
		dispatch(t, app2, Deposit{ID: "a1", Amount: 32}) // version 7
		if _, err := app1.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 64}, actors.WithExpectedVersion(6)); !errors.Is(err, actors.ErrVersionConflict) {
			t.Errorf("wrong expected version, stale aggregate: %v", err)
		}
		if got := freshState(t, app1, "a1"); got.Balance != 63 {
			t.Errorf("state = %+v, want balance 63", got)
		}

		// Hammer: both processes, several goroutines each.
		const workers, each = 3, 12
		var wg sync.WaitGroup
		for _, app := range []*actors.App{app1, app2} {
			for range workers {
				wg.Go(func() {
					for range each {
						if _, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		want := 63 + 2*workers*each
		for i, app := range []*actors.App{app1, app2} {
			if got := freshState(t, app, "a1"); got.Balance != want {
				t.Errorf("app%d: balance %d, want %d", i+1, got.Balance, want)
			}
		}
		if n := streamLen(t, stores[0], "account-a1"); n != 10+2*workers*each {
			t.Errorf("stream has %d events, want %d", n, 10+2*workers*each)
		}
		t.Logf("%d conflicts retried by app1", s1.conflictCount())
	})
}

// TestConflictRetriesExhausted: conflicts that outlast ConflictRetries
// fail the command with a version conflict.
func TestConflictRetriesExhausted(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		s := spy(store)
		app := startBank(t, s, withAggregate(func(a *actors.AggregateType) { a.ConflictRetries = 3 }))
		open(t, app, "a1")
		var attempts int
		s.failAppend = func(string) error {
			attempts++
			return &eventstore.VersionConflictError{Stream: "account-a1", Expected: 1, Actual: 1}
		}
		_, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1})
		if !errors.Is(err, actors.ErrVersionConflict) {
			t.Fatalf("dispatch: %v", err)
		}
		if attempts != 4 {
			t.Errorf("%d attempts, want 1 + 3 retries", attempts)
		}
		s.failAppend = nil
		if r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}); r.Version != 2 {
			t.Errorf("after the conflicts: %+v", r)
		}
	})
}

// TestAppendFailureReloads: an append that fails for another reason than a
// conflict fails the command; the aggregate reloads before the next one.
func TestAppendFailureReloads(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		s := spy(store)
		app := startBank(t, s)
		open(t, app, "a1")
		boom := errors.New("connection lost")
		s.mu.Lock()
		s.failAppend = func(string) error { return boom }
		s.mu.Unlock()
		if _, err := app.Dispatch(context.Background(), Deposit{ID: "a1", Amount: 1}); !errors.Is(err, boom) {
			t.Fatalf("dispatch: %v", err)
		}
		s.mu.Lock()
		s.failAppend = nil
		s.mu.Unlock()
		loads := s.readsOf("account-a1")
		if got := state(t, app, "a1"); got.Balance != 0 || s.readsOf("account-a1") == loads {
			t.Errorf("state %+v; reloaded: %v", got, s.readsOf("account-a1") != loads)
		}
	})
}

// TestCommandIDNotInherited: a command that copies the metadata of an
// event caused by an idempotent command (as handlers do) is not taken for
// that command: repeating the first one still returns its own outcome.
func TestCommandIDNotInherited(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store)
		open(t, app, "a1")
		id := uuid.New()
		first := dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnEvents))
		dispatch(t, app, Deposit{ID: "a1", Amount: 2}, actors.WithMetadata(first.Events[0].Metadata))
		must(t, app.Close(context.Background()))
		app = startBank(t, store) // reloads from events
		r := dispatch(t, app, Deposit{ID: "a1", Amount: 1}, actors.WithCommandID(id))
		if !r.Duplicate || r.Version != first.Version || r.Position != first.Position {
			t.Errorf("repeat = %+v, first %+v", r, first)
		}
	})
}

// TestIdempotentPastRememberedWindow: a command repeated after the
// aggregate has forgotten its id (more commands since than it remembers)
// is still answered as a duplicate, in the process that handled it and in
// a new one: whether the repeat would append again (the store refuses its
// events, whose ids derive from the command id), be refused or be a no-op
// on today's state.
//
// Before, the first repeat failed with the store's duplicate-event error,
// and the others were refused or answered as new.
func TestIdempotentPastRememberedWindow(t *testing.T) {
	const later = 1_001 // more than the aggregate remembers
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		ctx := context.Background()
		app := startBank(t, store)
		openID, depositID, withdrawID := uuid.New(), uuid.New(), uuid.New()
		opened := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithCommandID(openID))
		deposited := dispatch(t, app, Deposit{ID: "a1", Amount: 10}, actors.WithCommandID(depositID), actors.WithReturning(actors.ReturnEvents))
		withdrawn := dispatch(t, app, Withdraw{ID: "a1", Amount: 10}, actors.WithCommandID(withdrawID))
		for range later {
			dispatch(t, app, Deposit{ID: "a1", Amount: 0}, actors.WithCommandID(uuid.New()))
		}
		want := 3 + later

		repeat := func(t *testing.T, app *actors.App) {
			t.Helper()
			for _, c := range []struct {
				what  string
				cmd   any
				id    uuid.UUID
				first actors.Result
			}{
				{"deposit (appends again)", Deposit{ID: "a1", Amount: 10}, depositID, deposited},
				{"withdrawal (refused today)", Withdraw{ID: "a1", Amount: 10}, withdrawID, withdrawn},
				{"opening (a no-op today)", OpenAccount{ID: "a1"}, openID, opened},
			} {
				r, err := app.Dispatch(ctx, c.cmd, actors.WithCommandID(c.id), actors.WithReturning(actors.ReturnEvents))
				if err != nil {
					t.Errorf("repeated %s: %v", c.what, err)
					continue
				}
				if !r.Duplicate || r.Version != c.first.Version || r.Position != c.first.Position || len(r.Events) != 1 {
					t.Errorf("repeated %s = %+v, want a duplicate of %+v", c.what, r, c.first)
				}
			}
			if r := dispatch(t, app, Deposit{ID: "a1", Amount: 10}, actors.WithCommandID(depositID), actors.WithReturning(actors.ReturnEvents)); !r.Duplicate ||
				len(r.Events) != 1 || r.Events[0].ID != deposited.Events[0].ID {
				t.Errorf("deposit repeated twice = %+v, want the first deposit's event %v", r, deposited.Events[0].ID)
			}
			if n := streamLen(t, store, "account-a1"); n != want {
				t.Errorf("stream has %d events, want %d", n, want)
			}
		}
		repeat(t, app)
		must(t, app.Close(ctx))
		t.Run("new process", func(t *testing.T) { repeat(t, startBank(t, store)) })
	})
}

// Vault is an account whose state cannot be copied: JSON has no functions.
type Vault struct {
	Account
	Seal func()
}

// TestReturnStateThatCannotBeCopied: a dispatch with ReturnState fails
// when the state cannot be copied, rather than returning no state and no
// error; the command's outcome still comes with the error.
func TestReturnStateThatCannotBeCopied(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store, withAggregate(func(a *actors.AggregateType) {
			a.New = func() actors.Aggregate { return &Vault{} }
		}))
		id := uuid.New()
		for _, what := range []string{"first", "repeat"} {
			r, err := app.Dispatch(context.Background(), OpenAccount{ID: "v1"}, actors.WithCommandID(id), actors.WithReturning(actors.ReturnState))
			if err == nil {
				t.Fatalf("%s: state that cannot be copied: no error, result %+v", what, r)
			}
			if r.Version != 1 || r.State != nil {
				t.Errorf("%s: result %+v, want version 1 and no state", what, r)
			}
		}
		if n := streamLen(t, store, "account-v1"); n != 1 {
			t.Errorf("stream has %d events, want 1", n)
		}
	})
}
