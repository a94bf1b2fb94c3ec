package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestProcessManagerFlow: an event starts an instance, which dispatches a
// command (with ids derived from the event, the event's correlation id and
// metadata); the command's events continue it and finally stop it, which
// deletes its state.
func TestProcessManagerFlow(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := actorstest.Start(t, newTransfers(t, store, actors.ProcessManagerConfig{Consistency: actors.Strong}))
		open(t, app, "a1", "a2")
		dispatch(t, app, Deposit{ID: "a1", Amount: 100})
		corr := uuid.New()
		r := requestTransfer(t, app, "t1", "a1", "a2", 30, actors.WithCorrelationID(corr), actors.WithReturning(actors.ReturnEvents),
			actors.WithConsistency(actors.Strong))
		requested := r.Events[0]
		// Strong: the process has handled the request, so a1 is debited.
		if got := state(t, app, "a1"); got.Balance != 70 {
			t.Errorf("a1 = %+v", got)
		}
		eventually(t, patience, "a2 credited", func() bool { return state(t, app, "a2").Balance == 30 })

		var withdrawn, deposited *eventstore.RecordedEvent
		evs := allEvents(t, store)
		for i, ev := range evs {
			switch {
			case ev.Type == "bank.Withdrawn":
				withdrawn = &evs[i]
			case ev.Type == "bank.Deposited" && ev.StreamID == "account-a2":
				deposited = &evs[i]
			}
		}
		if withdrawn == nil || deposited == nil {
			t.Fatalf("events: %+v", evs)
		}
		for _, ev := range []*eventstore.RecordedEvent{withdrawn, deposited} {
			if ev.CorrelationID != corr {
				t.Errorf("%s: correlation %s, want %s", ev.Type, ev.CorrelationID, corr)
			}
			dec, _ := actors.DecodeEvent(app.Registry(), *ev)
			if dec.Metadata["transfer"] != "t1" {
				t.Errorf("%s: metadata %v", ev.Type, dec.Metadata)
			}
		}
		// The withdrawal's command was caused by the request.
		if withdrawn.CausationID == uuid.Nil || withdrawn.CausationID == requested.ID {
			t.Errorf("withdrawn caused by %s", withdrawn.CausationID)
		}
		if want := uuid.NewSHA1(requested.ID, []byte("process/transfers/t1/0")); withdrawn.CausationID != want {
			t.Errorf("withdraw command id %s, want one derived from the event: %s", withdrawn.CausationID, want)
		}
		// Stopped: the state is deleted.
		eventually(t, patience, "the process state is deleted", func() bool {
			return !processState(t, store, "transfers", "t1", &Transfer{})
		})
	})
}

// TestProcessManagerState: an instance's state is persisted and reloaded
// by the next process; a stopped instance's state is deleted, and a later
// event starts it afresh.
func TestProcessManagerState(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		cfg := actors.ProcessManagerConfig{Name: "tally", Consistency: actors.Strong,
			New: func() actors.ProcessManager { return &Tally{} }, Interested: tallyInterest}
		strong := actors.WithConsistency(actors.Strong)
		app := actorstest.Start(t, newTransfers(t, store, cfg))
		open(t, app, "a1", "a2")
		for range 3 {
			dispatch(t, app, Deposit{ID: "a1", Amount: 1}, strong)
		}
		dispatch(t, app, Deposit{ID: "a2", Amount: 1}, strong)
		var tally Tally
		if !processState(t, store, "tally", "a1", &tally) || tally.Count != 3 {
			t.Errorf("persisted tally of a1 = %+v", tally)
		}
		must(t, app.Close(context.Background()))

		app = actorstest.Start(t, newTransfers(t, store, cfg))
		dispatch(t, app, Deposit{ID: "a1", Amount: 1}, strong)
		if processState(t, store, "tally", "a1", &tally); tally.Count != 4 {
			t.Errorf("tally of a1 after a restart = %+v, want 4", tally)
		}
		dispatch(t, app, Withdraw{ID: "a1", Amount: 1}, strong)
		if processState(t, store, "tally", "a1", &Tally{}) {
			t.Error("a stopped instance kept its state")
		}
		dispatch(t, app, Deposit{ID: "a1", Amount: 1}, strong)
		if processState(t, store, "tally", "a1", &tally); tally.Count != 1 {
			t.Errorf("tally of a1 after a stop = %+v, want a new one", tally)
		}
		if processState(t, store, "tally", "a2", &tally); tally.Count != 1 {
			t.Errorf("tally of a2 = %+v", tally)
		}
	})
}

// TestProcessManagerStrict: the strict forms fail, through the error
// policy, when the instance exists (start) or is missing (continue).
func TestProcessManagerStrict(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var mu sync.Mutex
		var failures []actors.Failure
		app := actorstest.Start(t, newTransfers(t, store, actors.ProcessManagerConfig{
			Interested: transferInterest(true), Consistency: actors.Strong,
			OnError: func(f actors.Failure) actors.Decision {
				mu.Lock()
				failures = append(failures, f)
				mu.Unlock()
				return actors.SkipEvent
			}}))
		open(t, app, "a1", "a2")
		dispatch(t, app, Deposit{ID: "a1", Amount: 100})
		strong := actors.WithConsistency(actors.Strong)
		requestTransfer(t, app, "t1", "a1", "a2", 10, strong)
		requestTransfer(t, app, "t1", "a1", "a2", 10, strong) // exists
		// A withdrawal for a transfer that does not exist.
		dispatch(t, app, Withdraw{ID: "a1", Amount: 1}, strong, actors.WithMetadata(actors.Metadata{"transfer": "t9"}))
		mu.Lock()
		defer mu.Unlock()
		if len(failures) != 2 || !errors.Is(failures[0].Err, actors.ErrProcessExists) || !errors.Is(failures[1].Err, actors.ErrProcessNotFound) {
			t.Fatalf("failures = %+v", failures)
		}
		if failures[0].Event.Payload.(TransferRequested).TransferID != "t1" || failures[0].Attempts != 1 {
			t.Errorf("failure = %+v", failures[0])
		}
		if got := state(t, app, "a1"); got.Balance != 89 {
			t.Errorf("a1 = %+v: the duplicate start was handled", got)
		}
	})
}

// TestProcessManagerErrorPolicy: a command that fails is retried, skipped,
// compensated, or stops the process manager.
func TestProcessManagerErrorPolicy(t *testing.T) {
	tests := []struct {
		name     string
		decide   func(f actors.Failure) actors.Decision
		balance  int  // of a1 at the end
		failed   bool // the transfer was compensated
		stopped  bool
		attempts int
	}{
		{"retry", func(f actors.Failure) actors.Decision { return actors.Retry(5 * time.Millisecond) }, 0, false, false, 3},
		{"skip", func(actors.Failure) actors.Decision { return actors.SkipEvent }, 50, false, false, 1},
		{"compensate", func(f actors.Failure) actors.Decision {
			return actors.Compensate(FailTransfer{TransferID: "t1", Reason: f.Err.Error()})
		}, 50, true, false, 1},
		{"stop", func(actors.Failure) actors.Decision { return actors.StopHandler }, 50, false, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				var mu sync.Mutex
				var failures []actors.Failure
				app := actorstest.Start(t, newTransfers(t, store, actors.ProcessManagerConfig{
					Consistency: actors.Strong,
					OnError: func(f actors.Failure) actors.Decision {
						mu.Lock()
						failures = append(failures, f)
						mu.Unlock()
						return tt.decide(f)
					}}))
				open(t, app, "a1", "a2")
				dispatch(t, app, Deposit{ID: "a1", Amount: 50})
				// a1 cannot pay 100 until it gets 50 more, after 2 failures.
				var paid atomic.Bool
				go func() {
					eventually(t, patience, "two failures", func() bool {
						mu.Lock()
						defer mu.Unlock()
						return len(failures) >= 2 || (tt.attempts == 1 && len(failures) == 1)
					})
					if tt.attempts > 1 {
						dispatch(t, app, Deposit{ID: "a1", Amount: 50})
						paid.Store(true)
					}
				}()
				_, err := app.Dispatch(context.Background(), RequestTransfer{TransferID: "t1", From: "a1", To: "a2", Amount: 100},
					actors.WithMetadata(actors.Metadata{"transfer": "t1"}), actors.WithConsistency(actors.Strong))
				var stopped *actors.HandlerStoppedError
				if tt.stopped != errors.As(err, &stopped) {
					t.Fatalf("dispatch: %v", err)
				}
				if tt.name == "retry" {
					eventually(t, patience, "a2 credited", func() bool { return state(t, app, "a2").Balance == 100 })
				}
				if got := state(t, app, "a1"); got.Balance != tt.balance {
					t.Errorf("a1 = %+v, want balance %d", got, tt.balance)
				}
				if res := dispatch(t, app, InspectTransfer{TransferID: "t1"}, actors.WithReturning(actors.ReturnState)); res.State.(*TransferRecord).Failed != tt.failed {
					t.Errorf("transfer = %+v", res.State)
				}
				mu.Lock()
				defer mu.Unlock()
				// A retry may fail once more before the deposit lands.
				if n := len(failures); n != tt.attempts && !(tt.name == "retry" && n == tt.attempts-1) {
					t.Errorf("%d failures, want %d", n, tt.attempts)
				}
				for i, f := range failures {
					if f.Attempts != i+1 || f.Command != (Withdraw{ID: "a1", Amount: 100}) || !errors.Is(f.Err, errInsufficientFunds) ||
						f.Name != "transfers" || f.Event.Type != "bank.TransferRequested" {
						t.Errorf("failure %d = %+v", i, f)
					}
				}
			})
		})
	}
}

// TestProcessManagerParallel: instances run in parallel; the process
// manager's progress (and checkpoint) never passes an event an instance
// has not finished.
func TestProcessManagerParallel(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		block := make(chan struct{})
		var fastDone atomic.Int32
		cfg := actors.ProcessManagerConfig{Name: "tally",
			New: func() actors.ProcessManager { return &gatedTally{block: block, done: &fastDone} }, Interested: tallyInterest}
		app := actorstest.Start(t, newTransfers(t, store, cfg))
		open(t, app, "slow", "fast")
		slow := dispatch(t, app, Deposit{ID: "slow", Amount: 1}).Position
		var last int64
		for range 3 {
			last = dispatch(t, app, Deposit{ID: "fast", Amount: 1}).Position
		}
		eventually(t, patience, "the fast instance goes on", func() bool { return fastDone.Load() == 3 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := app.WaitFor(ctx, "tally", slow); err == nil {
			t.Fatal("progress passed the unfinished event")
		}
		close(block)
		waitFor(t, app, "tally", last)
	})
}

// gatedTally blocks on the "slow" account's deposits until block closes.
type gatedTally struct {
	Tally
	block chan struct{}
	done  *atomic.Int32
}

func (p *gatedTally) Handle(ev actors.Event) ([]any, error) {
	if ev.StreamID == "account-slow" {
		<-p.block
	} else {
		p.done.Add(1)
	}
	return nil, nil
}

// TestProcessManagerRedelivery: events delivered again (here: the whole
// history, after the subscription was deleted) are recognised: running
// instances skip what they handled; restarted ones dispatch commands with
// the same ids, which aggregates recognise, so nothing happens twice.
func TestProcessManagerRedelivery(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		tally := actors.ProcessManagerConfig{Name: "tally", New: func() actors.ProcessManager { return &Tally{} }, Interested: tallyInterest}
		run := func() *actors.App {
			app := newTransfers(t, store, actors.ProcessManagerConfig{})
			must(t, app.RegisterProcessManager(tally))
			return actorstest.Start(t, app)
		}
		app := run()
		open(t, app, "a1", "a2")
		dispatch(t, app, Deposit{ID: "a1", Amount: 100})
		requestTransfer(t, app, "t1", "a1", "a2", 10)
		requestTransfer(t, app, "t2", "a1", "a2", 20)
		eventually(t, patience, "transfers done", func() bool { return state(t, app, "a2").Balance == 30 })
		last := dispatch(t, app, Deposit{ID: "a2", Amount: 1}).Position
		waitFor(t, app, "transfers", last)
		waitFor(t, app, "tally", last)
		var before Tally
		processState(t, store, "tally", "a2", &before)
		must(t, app.Close(context.Background()))
		n := len(allEvents(t, store))

		for _, name := range []string{"process:transfers", "process:tally"} {
			must(t, store.DeleteSubscription(context.Background(), name))
		}
		app = run()
		waitFor(t, app, "transfers", last)
		waitFor(t, app, "tally", last)
		if got := len(allEvents(t, store)); got != n {
			t.Errorf("%d events after the redelivery, %d before", got, n)
		}
		if a1, a2 := state(t, app, "a1"), state(t, app, "a2"); a1.Balance != 70 || a2.Balance != 31 {
			t.Errorf("balances %d and %d after the redelivery", a1.Balance, a2.Balance)
		}
		var after Tally
		processState(t, store, "tally", "a2", &after)
		if after.Count != before.Count || after.Count != 3 {
			t.Errorf("tally of a2: %d before the redelivery, %d after, want 3", before.Count, after.Count)
		}
	})
}

// TestProcessManagerPassivation: instances passivated (idle, or beyond
// MaxLiveInstances) come back with their state; events for an instance
// being passivated are neither lost nor applied to stale state.
func TestProcessManagerPassivation(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  actors.ProcessManagerConfig
	}{
		{"idle", actors.ProcessManagerConfig{IdleTimeout: time.Millisecond}},
		{"max live instances", actors.ProcessManagerConfig{MaxLiveInstances: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				cfg := tt.cfg
				cfg.Name, cfg.Interested = "tally", tallyInterest
				cfg.New = func() actors.ProcessManager { return &Tally{} }
				app := actorstest.Start(t, newTransfers(t, store, cfg))
				ids := []string{"a1", "a2", "a3"}
				open(t, app, ids...)
				var wg sync.WaitGroup
				var last atomic.Int64
				for _, id := range ids {
					wg.Go(func() {
						for i := range 15 { // increasing amounts, to see the order applied
							p := dispatch(t, app, Deposit{ID: id, Amount: i + 1}).Position
							for l := last.Load(); p > l && !last.CompareAndSwap(l, p); l = last.Load() {
							}
						}
					})
				}
				wg.Wait()
				waitFor(t, app, "tally", last.Load())
				must(t, app.Close(context.Background()))
				for _, id := range ids {
					var tally Tally
					processState(t, store, "tally", id, &tally)
					if tally.Count != 15 || !slices.IsSorted(tally.Amounts) {
						t.Errorf("tally of %s: %d deposits, want 15 in order (%v)", id, tally.Count, tally.Amounts)
					}
				}
			})
		})
	}
}

// TestProcessManagerRetryBeyondMaxLive: an instance waiting to retry an
// event is not lost when MaxLiveInstances passivates it.
func TestProcessManagerRetryBeyondMaxLive(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var fail atomic.Bool
		fail.Store(true)
		cfg := actors.ProcessManagerConfig{Name: "tally", MaxLiveInstances: 1, Interested: tallyInterest,
			New:     func() actors.ProcessManager { return &failingTally{fail: &fail} },
			OnError: func(actors.Failure) actors.Decision { return actors.Retry(20 * time.Millisecond) }}
		app := actorstest.Start(t, newTransfers(t, store, cfg))
		open(t, app, "bad", "a1")
		dispatch(t, app, Deposit{ID: "bad", Amount: 1})
		var last int64
		for range 3 {
			last = dispatch(t, app, Deposit{ID: "a1", Amount: 1}).Position
		}
		time.Sleep(50 * time.Millisecond)
		fail.Store(false)
		waitFor(t, app, "tally", last)
	})
}

// failingTally fails on the "bad" account while fail is set.
type failingTally struct {
	Tally
	fail *atomic.Bool
}

func (p *failingTally) Handle(ev actors.Event) ([]any, error) {
	if ev.StreamID == "account-bad" && p.fail.Load() {
		return nil, errors.New("not yet")
	}
	return nil, nil
}

// TestProcessManagerShutdown: a graceful shutdown lets instances finish
// what they were given and persists it: across restarts nothing is
// handled twice or lost.
func TestProcessManagerShutdown(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var handled sync.Map // position -> count
		cfg := actors.ProcessManagerConfig{Name: "tally", Interested: tallyInterest,
			New: func() actors.ProcessManager { return &countingTally{handled: &handled} }}
		for round := range 3 {
			app := actorstest.Start(t, newTransfers(t, store, cfg))
			for i := range 3 {
				id := fmt.Sprintf("r%d-a%d", round, i)
				open(t, app, id)
				for range 4 {
					dispatch(t, app, Deposit{ID: id, Amount: 1})
				}
			}
			must(t, app.Close(context.Background()))
		}
		app := actorstest.Start(t, newTransfers(t, store, cfg))
		// A new event shows the progress made before the restart (see
		// TestWaitForAfterIdleRestart).
		open(t, app, "final")
		last := dispatch(t, app, Deposit{ID: "final", Amount: 1}).Position
		waitFor(t, app, "tally", last)
		n := 0
		handled.Range(func(k, v any) bool {
			n++
			if c := v.(*atomic.Int32).Load(); c != 1 {
				t.Errorf("position %d handled %d times", k, c)
			}
			return true
		})
		if n != 37 {
			t.Errorf("%d deposits handled, want 37", n)
		}
	})
}

// countingTally counts how often each event is handled.
type countingTally struct {
	Tally
	handled *sync.Map
}

func (p *countingTally) Handle(ev actors.Event) ([]any, error) {
	time.Sleep(time.Millisecond)
	c, _ := p.handled.LoadOrStore(ev.Position, new(atomic.Int32))
	c.(*atomic.Int32).Add(1)
	return nil, nil
}

// TestProcessManagerFailover: two processes run the transfers process;
// the one running it loses its store mid-flow. The other takes over, and
// the commands it dispatches again for redelivered events are recognised
// (by aggregates loaded, and out of date, in the survivor): every transfer
// completes exactly once.
func TestProcessManagerFailover(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		var instances [2]atomic.Int32
		apps := make([]*actors.App, 2)
		for i := range apps {
			apps[i] = actorstest.Start(t, newTransfers(t, stores[i], actors.ProcessManagerConfig{
				New: func() actors.ProcessManager {
					instances[i].Add(1)
					return &Transfer{}
				},
				OnError: func(actors.Failure) actors.Decision { return actors.Retry(10 * time.Millisecond) }}))
		}
		open(t, apps[0], "a1", "a2")
		dispatch(t, apps[0], Deposit{ID: "a1", Amount: 1000})
		for _, app := range apps {
			state(t, app, "a1") // loaded in both processes
			state(t, app, "a2")
		}
		requestTransfer(t, apps[0], "t0", "a1", "a2", 1)
		eventually(t, patience, "the first transfer", func() bool { return freshState(t, apps[0], "a2").Balance == 1 })
		holder := 0
		if instances[1].Load() > 0 {
			holder = 1
		}
		other := 1 - holder
		for i := 1; i <= 6; i++ {
			app := apps[i%2]
			if i > 3 {
				app = apps[other]
			}
			requestTransfer(t, app, fmt.Sprintf("t%d", i), "a1", "a2", 1<<i)
			if i == 3 {
				must(t, stores[holder].(interface{ Close() error }).Close())
			}
		}
		want := 1 + 2 + 4 + 8 + 16 + 32 + 64
		eventually(t, patience, "all transfers", func() bool { return freshState(t, apps[other], "a2").Balance >= want })
		a1, a2 := freshState(t, apps[other], "a1"), freshState(t, apps[other], "a2")
		// Distinct powers of two: any transfer done twice or lost shows.
		if a1.Balance != 1000-want || a2.Balance != want {
			t.Errorf("a1 %+v, a2 %+v, want balances %d and %d", a1, a2, 1000-want, want)
		}
	})
}

// blockingSaves is a store whose SaveSnapshots blocks until its context
// ends; released receives when it does.
type blockingSaves struct {
	actors.EventStore
	released chan struct{}
}

func (s *blockingSaves) SaveSnapshots(ctx context.Context, _ []eventstore.Snapshot, _ []string) error {
	<-ctx.Done()
	select {
	case s.released <- struct{}{}:
	default:
	}
	return ctx.Err()
}

// TestProcessStateSaveBoundedByClose: a save of process states that hangs
// is given up by Close's deadline, not left running (it was bounded by a
// fixed 30 s, whatever Close's deadline).
func TestProcessStateSaveBoundedByClose(t *testing.T) {
	mem := memory.New()
	t.Cleanup(func() { _ = mem.Close() })
	store := &blockingSaves{EventStore: mem, released: make(chan struct{}, 1)}
	app := newBank(t, store)
	must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "tally",
		New: func() actors.ProcessManager { return &Tally{} }, Interested: tallyInterest,
		HandleTimeout: time.Hour}))
	must(t, app.Start(context.Background()))
	open(t, app, "a1")
	dispatch(t, app, Deposit{ID: "a1", Amount: 1}) // the instance's state is saved: the save hangs
	time.Sleep(100 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = app.Close(ctx)
	select {
	case <-store.released:
	case <-time.After(15 * time.Second):
		t.Fatal("a hanging save of process states was still running 15 s after Close's deadline of 1 s")
	}
}

// Unencodable is a tally whose state cannot be encoded: JSON has no
// functions.
type Unencodable struct {
	Tally
	Hook func()
}

// stateFailures runs a tally process manager, registered with cfg, whose
// error policy records failures and stops it, on a store holding stored
// (if any) as instance a1's state. It deposits to a1 and returns the
// deposit's position, the failures once the process manager has passed
// or stopped at it, and WaitFor's answer.
func stateFailures(t *testing.T, store actors.EventStore, cfg actors.ProcessManagerConfig, stored *eventstore.Snapshot) ([]actors.Failure, error) {
	t.Helper()
	if stored != nil {
		must(t, store.RecordSnapshot(context.Background(), *stored))
	}
	var mu sync.Mutex
	var failures []actors.Failure
	cfg.Name, cfg.Interested = "tally", tallyInterest
	if cfg.New == nil {
		cfg.New = func() actors.ProcessManager { return &Tally{} }
	}
	cfg.OnError = func(f actors.Failure) actors.Decision {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, f)
		return actors.StopHandler
	}
	app := actorstest.Start(t, newTransfers(t, store, cfg))
	open(t, app, "a1")
	r := dispatch(t, app, Deposit{ID: "a1", Amount: 1})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	err := app.WaitFor(ctx, "tally", r.Position)
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(failures), err
}

// TestProcessStateUnusable: a stored instance state that cannot be
// decoded, and a state that cannot be encoded, go to the error policy
// (here: stop); the process manager neither starts the instance afresh nor
// passes the event, and the stored state stays as it was.
//
// Before, an undecodable state was dropped (the instance restarted from
// nothing and its new state overwrote the stored one) and an unencodable
// one was logged and the event acknowledged.
func TestProcessStateUnusable(t *testing.T) {
	corrupt := eventstore.Snapshot{SourceID: "$process-tally-a1", SourceVersion: 1, SourceType: "tally",
		Data: []byte(`{"last":1,"state":"not a tally"}`)}
	for _, c := range []struct {
		name   string
		cfg    actors.ProcessManagerConfig
		stored *eventstore.Snapshot
	}{
		{"undecodable", actors.ProcessManagerConfig{}, &corrupt},
		{"unencodable", actors.ProcessManagerConfig{New: func() actors.ProcessManager { return &Unencodable{} }}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				failures, err := stateFailures(t, store, c.cfg, c.stored)
				var stopped *actors.HandlerStoppedError
				if !errors.As(err, &stopped) {
					t.Errorf("WaitFor = %v, want the process manager stopped", err)
				}
				if len(failures) != 1 || !errors.Is(failures[0].Err, actors.ErrProcessState) {
					t.Errorf("failures = %+v, want one that is ErrProcessState", failures)
				}
				snap, err := store.ReadSnapshot(context.Background(), "$process-tally-a1")
				switch {
				case c.stored == nil && !errors.Is(err, eventstore.ErrSnapshotNotFound):
					t.Errorf("state stored: %+v, %v", snap, err)
				case c.stored != nil && (err != nil || !sameJSON(t, snap.Data, c.stored.Data)):
					t.Errorf("stored state = %s, %v, want it unchanged", snap.Data, err)
				}
			})
		})
	}
}

// sameJSON reports whether a and b are the same JSON value (PostgreSQL
// stores JSON in its own layout).
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	must(t, json.Unmarshal(a, &va))
	must(t, json.Unmarshal(b, &vb))
	return reflect.DeepEqual(va, vb)
}

// TestProcessStateVersion: an instance state stored with another schema
// version than the process manager declares is upgraded by UpgradeState,
// or without it is an error for the policy, like an undecodable one.
func TestProcessStateVersion(t *testing.T) {
	v1 := eventstore.Snapshot{SourceID: "$process-tally-a1", SourceVersion: 1, SourceType: "tally", SchemaVersion: 1,
		Data: []byte(`{"last":1,"state":{"Total":7}}`)}
	t.Run("no upgrade", func(t *testing.T) {
		actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
			failures, err := stateFailures(t, store, actors.ProcessManagerConfig{StateVersion: 2}, &v1)
			var stopped *actors.HandlerStoppedError
			var stateErr *actors.ProcessStateError
			if !errors.As(err, &stopped) || len(failures) != 1 || !errors.As(failures[0].Err, &stateErr) ||
				stateErr.Version != 1 || stateErr.ID != "a1" {
				t.Errorf("WaitFor = %v, failures %+v: want one *ProcessStateError of version 1 that stops it", err, failures)
			}
		})
	})
	t.Run("upgrade", func(t *testing.T) {
		actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
			var upgraded []int
			cfg := actors.ProcessManagerConfig{StateVersion: 2, UpgradeState: func(version int, state json.RawMessage) (json.RawMessage, error) {
				upgraded = append(upgraded, version)
				var old struct{ Total int } // version 1 called it Total
				if err := json.Unmarshal(state, &old); err != nil {
					return nil, err
				}
				return json.Marshal(Tally{Count: old.Total})
			}}
			failures, err := stateFailures(t, store, cfg, &v1)
			if err != nil || len(failures) != 0 {
				t.Fatalf("WaitFor = %v, failures %+v", err, failures)
			}
			if !slices.Equal(upgraded, []int{1}) {
				t.Errorf("upgraded versions %v, want [1]", upgraded)
			}
			var tally Tally
			if !processState(t, store, "tally", "a1", &tally) || tally.Count != 8 {
				t.Errorf("tally = %+v, want 8 (7 upgraded, and the deposit)", tally)
			}
			if snap, err := store.ReadSnapshot(context.Background(), "$process-tally-a1"); err != nil || snap.SchemaVersion != 2 {
				t.Errorf("stored state = %+v, %v: want schema version 2", snap, err)
			}
		})
	})
}

// TestApplyShape: aggregates (defined or not) and process managers evolve
// by one Apply of the same shape, which takes the event's payload, as
// Commanded's apply(state, event) does for both.
func TestApplyShape(t *testing.T) {
	want, _ := reflect.TypeFor[actors.Aggregate]().MethodByName("Apply")
	for _, typ := range []reflect.Type{reflect.TypeFor[actors.ProcessManager](), reflect.TypeFor[actors.Applier]()} {
		got, ok := typ.MethodByName("Apply")
		if !ok || got.Type != want.Type {
			t.Errorf("%v.Apply is %v, want %v as actors.Aggregate's", typ, got.Type, want.Type)
		}
	}
}
