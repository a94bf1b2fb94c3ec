package actors_test

import (
	"context"
	"errors"
	"fmt"
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

// deposits dispatches n deposits of 1 to account id (opening it first) and
// returns the position of the last event.
func deposits(t testing.TB, app *actors.App, id string, n int) int64 {
	t.Helper()
	r := dispatch(t, app, OpenAccount{ID: id})
	for range n {
		r = dispatch(t, app, Deposit{ID: id, Amount: 1})
	}
	return r.Position
}

// TestHandlerStartFrom: a new handler starts at the origin or after the
// events already stored; either way it then sees every new event, once.
func TestHandlerStartFrom(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		before := startBank(t, store)
		deposits(t, before, "a1", 2) // 3 events
		must(t, before.Close(context.Background()))

		app := newBank(t, store)
		var origin, current recorder
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "origin", Handler: origin.handler()}))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "current", Handler: current.handler(), StartFrom: eventstore.Current}))
		actorstest.Start(t, app)
		last := deposits(t, app, "a2", 1) // 2 events
		waitFor(t, app, "origin", last)
		waitFor(t, app, "current", last)
		if n := origin.len(); n != 5 {
			t.Errorf("origin handler saw %d events, want 5", n)
		}
		got := current.all()
		if len(got) != 2 || got[0].StreamID != "account-a2" {
			t.Errorf("current handler saw %d events: %+v", len(got), got)
		}
		for _, ev := range origin.all() {
			if ev.Payload == nil || ev.Type == "" || ev.Position == 0 || ev.ID.String() == "" {
				t.Errorf("event = %+v", ev)
			}
		}
	})
}

// TestHandlerCheckpoint: a handler resumes after its checkpoint: across a
// graceful restart, no event is handled twice or missed, even when Close
// comes while events wait in the handler's mailbox.
func TestHandlerCheckpoint(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", concurrency), func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				var rec recorder
				slow := actors.HandlerFunc(func(ctx context.Context, ev actors.Event) error {
					time.Sleep(2 * time.Millisecond)
					rec.add(ev)
					return nil
				})
				run := func() *actors.App {
					app := newBank(t, store)
					must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: slow, Concurrency: concurrency}))
					return actorstest.Start(t, app)
				}
				for round := range 3 {
					app := run()
					// Some events are still on their way when Close comes.
					for i := range 10 {
						dispatch(t, app, OpenAccount{ID: fmt.Sprintf("r%d-a%d", round, i)})
					}
					must(t, app.Close(context.Background()))
				}
				app := run()
				// A new event shows the progress made before the restart (see
				// TestWaitForAfterIdleRestart).
				last := dispatch(t, app, OpenAccount{ID: "final"}).Position
				waitFor(t, app, "h", last)
				for pos, n := range rec.positions() {
					if n != 1 {
						t.Errorf("position %d handled %d times", pos, n)
					}
				}
				if n := rec.len(); n != 31 {
					t.Errorf("%d events handled, want 31", n)
				}
			})
		})
	}
}

// TestHandlerErrorPolicy: the error policy sees the error, the event and
// the failure count, and retries, skips or stops.
func TestHandlerErrorPolicy(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		decide   func(f actors.Failure) actors.Decision
		panics   bool
		handled  []string // accounts whose event the handler completed, in order
		failures int
		stopped  bool
	}{
		{name: "retry", decide: func(f actors.Failure) actors.Decision {
			return actors.Retry(time.Millisecond)
		}, handled: []string{"a1", "bad", "a2"}, failures: 3},
		{name: "retry policy gives up", decide: actors.RetryPolicy(2, time.Millisecond, time.Millisecond),
			handled: []string{"a1"}, failures: 2, stopped: true},
		{name: "skip", decide: func(actors.Failure) actors.Decision { return actors.SkipEvent },
			handled: []string{"a1", "a2"}, failures: 1},
		{name: "stop", decide: func(actors.Failure) actors.Decision { return actors.StopHandler },
			handled: []string{"a1"}, failures: 1, stopped: true},
		{name: "panic is an error", panics: true, decide: func(actors.Failure) actors.Decision { return actors.SkipEvent },
			handled: []string{"a1", "a2"}, failures: 1},
		{name: "a policy that panics stops", decide: func(actors.Failure) actors.Decision { panic("policy panic") },
			handled: []string{"a1"}, failures: 1, stopped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				var mu sync.Mutex
				var handled []string
				var failures []actors.Failure
				calls := map[string]int{}
				h := actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
					opened := ev.Payload.(AccountOpened)
					mu.Lock()
					defer mu.Unlock()
					calls[opened.ID]++
					// "bad" fails three times.
					if opened.ID == "bad" && calls["bad"] <= 3 {
						if tt.panics {
							panic("handler panic")
						}
						return fmt.Errorf("handling %s: %w", opened.ID, boom)
					}
					handled = append(handled, opened.ID)
					return nil
				})
				app := newBank(t, store)
				must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: h, Consistency: actors.Strong,
					OnError: func(f actors.Failure) actors.Decision {
						mu.Lock()
						failures = append(failures, f)
						mu.Unlock()
						return tt.decide(f)
					}}))
				actorstest.Start(t, app)
				open(t, app, "a1")
				_, badErr := app.Dispatch(context.Background(), OpenAccount{ID: "bad"}, actors.WithConsistency(actors.Strong), actors.WithTimeout(patience))
				_, a2Err := app.Dispatch(context.Background(), OpenAccount{ID: "a2"}, actors.WithConsistency(actors.Strong), actors.WithTimeout(patience))
				if tt.stopped {
					var stopped *actors.HandlerStoppedError
					if !errors.As(badErr, &stopped) || stopped.Name != "h" {
						t.Errorf("strong dispatch to a stopped handler: %v", badErr)
					}
					if !errors.As(a2Err, &stopped) {
						t.Errorf("strong dispatch after the handler stopped: %v", a2Err)
					}
				} else if badErr != nil || a2Err != nil {
					t.Fatalf("dispatch: %v, %v", badErr, a2Err)
				}
				mu.Lock()
				defer mu.Unlock()
				if !slices.Equal(handled, tt.handled) {
					t.Errorf("handled %v, want %v", handled, tt.handled)
				}
				if len(failures) != tt.failures {
					t.Fatalf("%d failures, want %d", len(failures), tt.failures)
				}
				for i, f := range failures {
					if f.Name != "h" || f.Attempts != i+1 || f.Event.Payload != (AccountOpened{ID: "bad"}) ||
						(!tt.panics && !errors.Is(f.Err, boom)) {
						t.Errorf("failure %d = %+v", i, f)
					}
					var p *actors.PanicError
					if tt.panics && !errors.As(f.Err, &p) {
						t.Errorf("failure %d: %v is not a PanicError", i, f.Err)
					}
				}
			})
		})
	}
}

// TestHandlerStoppedResumes: a handler stopped by its policy resumes from
// the failed event when the application next starts.
func TestHandlerStoppedResumes(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var failing atomic.Bool
		failing.Store(true)
		var rec recorder
		h := actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			if ev.Payload.(AccountOpened).ID == "bad" && failing.Load() {
				return errors.New("not yet")
			}
			rec.add(ev)
			return nil
		})
		run := func() *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: h,
				OnError: func(actors.Failure) actors.Decision { return actors.StopHandler }}))
			return actorstest.Start(t, app)
		}
		app := run()
		open(t, app, "a1", "bad", "a2")
		eventually(t, patience, "a1 handled", func() bool { return rec.len() == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := app.WaitFor(ctx, "h", 3); err == nil {
			t.Fatal("a stopped handler went on")
		}
		must(t, app.Close(context.Background()))
		failing.Store(false)
		app = run()
		waitFor(t, app, "h", 3)
		var ids []string
		for _, ev := range rec.all() {
			ids = append(ids, ev.Payload.(AccountOpened).ID)
		}
		if !slices.Equal(ids, []string{"a1", "bad", "a2"}) {
			t.Errorf("handled %v", ids)
		}
	})
}

// batchRecorder is a BatchHandler recording its batches.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]actors.Event
	fail    int // fail this many calls first
}

func (b *batchRecorder) HandleEvents(_ context.Context, evs []actors.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail > 0 {
		b.fail--
		return errors.New("batch failed")
	}
	b.batches = append(b.batches, evs)
	return nil
}

// TestBatchHandler: a batch handler gets the events in order in batches of
// at most BatchSize, a failed batch is retried whole, and each batch is
// acknowledged once.
func TestBatchHandler(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		before := startBank(t, store)
		last := deposits(t, before, "a1", 24) // 25 events, there before the handler starts
		must(t, before.Close(context.Background()))

		s := spy(store)
		b := &batchRecorder{fail: 2}
		var failures []actors.Failure
		app := newBank(t, s)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "batch", Batch: b, BatchSize: 10,
			OnError: func(f actors.Failure) actors.Decision {
				failures = append(failures, f)
				return actors.Retry(time.Millisecond)
			}}))
		if err := app.RegisterHandler(actors.HandlerConfig{Name: "bad", Batch: b, Concurrency: 2}); err == nil {
			t.Error("a concurrent batch handler was accepted")
		}
		actorstest.Start(t, app)
		waitFor(t, app, "batch", last)
		b.mu.Lock()
		defer b.mu.Unlock()
		var positions []int64
		for _, batch := range b.batches {
			if len(batch) > 10 {
				t.Errorf("batch of %d events", len(batch))
			}
			for _, ev := range batch {
				positions = append(positions, ev.Position)
			}
		}
		if len(positions) != 25 || !slices.IsSorted(positions) || positions[24] != last {
			t.Errorf("positions handled: %v", positions)
		}
		if len(failures) != 2 || failures[1].Attempts != 2 || len(failures[0].Batch) == 0 || failures[0].Event.Position != failures[0].Batch[0].Position {
			t.Errorf("failures = %+v", failures)
		}
		if acks := s.acksOf("handler:batch"); acks != len(b.batches) {
			t.Errorf("%d acknowledgements for %d batches", acks, len(b.batches))
		}
	})
}

// gatedBatches is a batch handler whose first call waits for open.
type gatedBatches struct {
	batchRecorder
	entered, open chan struct{}
	once          sync.Once
}

func (g *gatedBatches) HandleEvents(ctx context.Context, evs []actors.Event) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.open
	})
	return g.batchRecorder.HandleEvents(ctx, evs)
}

// splitDeliveries is a memory store whose subscription named sub delivers
// each event as a batch of its own, counting those taken.
type splitDeliveries struct {
	*memory.Store
	sub   string
	taken atomic.Int64
}

type splitSub struct {
	eventstore.Subscription
	events chan []eventstore.RecordedEvent
}

func (s *splitSub) Events() <-chan []eventstore.RecordedEvent { return s.events }

func (s *splitDeliveries) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	sub, err := s.Store.Subscribe(ctx, opts)
	if err != nil || opts.Name != s.sub {
		return sub, err
	}
	split := &splitSub{Subscription: sub, events: make(chan []eventstore.RecordedEvent)}
	go func() {
		defer close(split.events)
		for batch := range sub.Events() {
			for _, ev := range batch {
				split.events <- []eventstore.RecordedEvent{ev}
				s.taken.Add(1)
			}
		}
	}()
	return split, nil
}

// TestBatchHandlerTakesWhatWaits: the deliveries that arrive while a batch
// handler is busy are handled in one call once it returns (one
// transaction and one checkpoint for a projector), not in one call each.
func TestBatchHandlerTakesWhatWaits(t *testing.T) {
	store := &splitDeliveries{Store: memory.New(), sub: actors.HandlerSubscription("gated")}
	app := newBank(t, store)
	g := &gatedBatches{entered: make(chan struct{}), open: make(chan struct{})}
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "gated", Batch: g}))
	actorstest.Start(t, app)
	dispatch(t, app, OpenAccount{ID: "a1"})
	<-g.entered
	var last int64
	for range 5 {
		last = dispatch(t, app, Deposit{ID: "a1", Amount: 1}).Position
	}
	// Taken by the runtime: the first four at least are in the handler's
	// mailbox (the fifth is on its way).
	eventually(t, patience, "the deliveries taken", func() bool { return store.taken.Load() == 6 })
	close(g.open)
	waitFor(t, app, "gated", last)
	g.mu.Lock()
	defer g.mu.Unlock()
	sizes, total := make([]int, len(g.batches)), 0
	for i, b := range g.batches {
		sizes[i] = len(b)
		total += len(b)
	}
	if total != 6 || len(sizes) > 3 || sizes[1] < 4 {
		t.Errorf("batches of %v events, want the first, then one call for the five deposits (or two, the fifth late)", sizes)
	}
}

// TestHandlerPartitions: a concurrent handler handles partitions in
// parallel, the events of a partition in order, each event once, and
// acknowledges only what every partition has finished.
func TestHandlerPartitions(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var mu sync.Mutex
		lastVersion := map[string]int64{}
		var running, peak atomic.Int32
		var rec recorder
		block := make(chan struct{})
		h := actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if ev.StreamID == "account-slow" && ev.StreamVersion == 2 {
				<-block
			}
			time.Sleep(time.Millisecond)
			mu.Lock()
			if v := lastVersion[ev.StreamID]; ev.StreamVersion != v+1 {
				t.Errorf("%s: version %d after %d", ev.StreamID, ev.StreamVersion, v)
			}
			lastVersion[ev.StreamID] = ev.StreamVersion
			mu.Unlock()
			rec.add(ev)
			return nil
		})
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "p", Handler: h, Concurrency: 4, BatchSize: 7}))
		actorstest.Start(t, app)
		slowPos := deposits(t, app, "slow", 3)
		var wg sync.WaitGroup
		var last atomic.Int64
		for i := range 6 {
			wg.Go(func() {
				p := deposits(t, app, fmt.Sprintf("a%d", i), 10)
				for l := last.Load(); p > l && !last.CompareAndSwap(l, p); l = last.Load() {
				}
			})
		}
		wg.Wait()
		// Other partitions went on while "slow" waited, but the handler's
		// progress stops before the blocked event.
		eventually(t, patience, "other partitions progress", func() bool { return rec.len() >= 30 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := app.WaitFor(ctx, "p", slowPos-2); err == nil {
			t.Error("progress passed an unfinished event")
		}
		close(block)
		waitFor(t, app, "p", max(last.Load(), slowPos))
		if n := rec.len(); n != 4+6*11 {
			t.Errorf("%d events handled, want %d", n, 4+6*11)
		}
		if peak.Load() < 2 {
			t.Errorf("partitions never ran in parallel (peak %d)", peak.Load())
		}
	})
}

// TestStrongConsistency: a strongly consistent dispatch returns once every
// strongly consistent handler (or those named) has processed its events;
// an eventually consistent one does not wait; WaitFor waits for any
// handler and position.
func TestStrongConsistency(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var strong, eventual recorder
		gate := make(chan struct{})
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "strong", Consistency: actors.Strong,
			Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
				time.Sleep(10 * time.Millisecond)
				strong.add(ev)
				return nil
			})}))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "gated",
			Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
				<-gate
				eventual.add(ev)
				return nil
			})}))
		actorstest.Start(t, app)
		for i := range 3 {
			r := dispatch(t, app, OpenAccount{ID: fmt.Sprintf("a%d", i)}, actors.WithConsistency(actors.Strong))
			if got := strong.positions()[r.Position]; got != 1 {
				t.Fatalf("strong dispatch returned before the strong handler processed position %d", r.Position)
			}
		}
		// Eventual: returns while the gated handler is blocked.
		r := dispatch(t, app, OpenAccount{ID: "b"})
		if eventual.len() != 0 {
			t.Fatal("the gated handler ran")
		}
		// Strong, naming the gated handler: waits for it.
		_, err := app.Dispatch(context.Background(), OpenAccount{ID: "c"}, actors.WithConsistency(actors.Strong, "gated"), actors.WithTimeout(100*time.Millisecond))
		if !errors.Is(err, actors.ErrTimeout) {
			t.Fatalf("strong dispatch waiting for a blocked handler: %v", err)
		}
		close(gate)
		r = dispatch(t, app, OpenAccount{ID: "d"}, actors.WithConsistency(actors.Strong, "gated"))
		if eventual.positions()[r.Position] != 1 {
			t.Error("strong dispatch naming a handler returned before it processed")
		}
		// WaitFor: read your writes from any handler.
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		must(t, app.WaitFor(ctx, "gated", r.Position))
		must(t, app.WaitFor(ctx, "strong", r.Position))
		if err := app.WaitFor(ctx, "nope", 1); !errors.Is(err, actors.ErrHandlerNotFound) {
			t.Errorf("WaitFor an unknown handler: %v", err)
		}
		if _, err := app.Dispatch(ctx, OpenAccount{ID: "e"}, actors.WithConsistency(actors.Strong, "nope")); !errors.Is(err, actors.ErrHandlerNotFound) {
			t.Errorf("strong dispatch naming an unknown handler: %v", err)
		}
	})
}

// TestWaitForAfterRestart: after a restart, WaitFor returns for positions
// the handler processed before the restart.
func TestWaitForAfterRestart(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var rec recorder
		run := func() *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler(), Consistency: actors.Strong}))
			return actorstest.Start(t, app)
		}
		app := run()
		r := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithConsistency(actors.Strong))
		must(t, app.Close(context.Background()))
		app = run()
		// A new event: the handler's first delivery shows that everything
		// before it was processed.
		r2 := dispatch(t, app, OpenAccount{ID: "a2"})
		waitFor(t, app, "h", r2.Position)
		waitFor(t, app, "h", r.Position)
		if rec.len() != 2 {
			t.Errorf("%d events handled, want 2", rec.len())
		}
	})
}

// TestWaitForAfterIdleRestart: after a restart, WaitFor (and a strongly
// consistent repeat of an idempotent command) knows what a handler that has
// nothing left to process did before, from its stored checkpoint.
func TestWaitForAfterIdleRestart(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		run := func() *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: (&recorder{}).handler(), Consistency: actors.Strong}))
			return actorstest.Start(t, app)
		}
		app := run()
		id := uuid.New()
		r := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithCommandID(id), actors.WithConsistency(actors.Strong))
		must(t, app.Close(context.Background()))
		app = run()
		waitFor(t, app, "h", r.Position)
		r2 := dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithCommandID(id), actors.WithConsistency(actors.Strong),
			actors.WithTimeout(patience))
		if !r2.Duplicate {
			t.Errorf("repeat = %+v", r2)
		}
	})
}

// TestHandlerUnregisteredEvent: an event of a type the application does
// not know reaches handlers with its type name and no payload.
func TestHandlerUnregisteredEvent(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		_, err := store.Append(context.Background(), "other-1", eventstore.Any,
			[]eventstore.EventData{{Type: "other.Thing", Data: []byte(`{"x":1}`)}})
		must(t, err)
		var rec recorder
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler()}))
		actorstest.Start(t, app)
		waitFor(t, app, "h", 1)
		if evs := rec.all(); len(evs) != 1 || evs[0].Payload != nil || evs[0].Type != "other.Thing" {
			t.Errorf("events = %+v", evs)
		}
	})
}

// TestHandlerFailover: of two processes running a handler, one handles the
// events; when it closes or dies, the other takes over from its checkpoint.
func TestHandlerFailover(t *testing.T) {
	for _, how := range []string{"close", "kill"} {
		t.Run(how, func(t *testing.T) {
			actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
				recs := []*recorder{{}, {}}
				apps := make([]*actors.App, 2)
				for i := range apps {
					apps[i] = newBank(t, stores[i])
					must(t, apps[i].RegisterHandler(actors.HandlerConfig{Name: "h", Handler: recs[i].handler()}))
					actorstest.Start(t, apps[i])
				}
				var last int64
				for i := range 5 {
					last = dispatch(t, apps[i%2], OpenAccount{ID: fmt.Sprintf("a%d", i)}).Position
				}
				eventually(t, patience, "the events are handled", func() bool {
					return recs[0].positions()[last]+recs[1].positions()[last] > 0
				})
				holder := 0
				if recs[1].len() > 0 {
					holder = 1
				}
				other := 1 - holder
				if recs[other].len() != 0 {
					t.Fatalf("both processes handled events: %d and %d", recs[0].len(), recs[1].len())
				}
				switch how {
				case "close":
					must(t, apps[holder].Close(context.Background()))
				case "kill":
					// The process loses its store, as when it dies.
					must(t, stores[holder].(interface{ Close() error }).Close())
				}
				for i := range 5 {
					last = dispatch(t, apps[other], OpenAccount{ID: fmt.Sprintf("b%d", i)}).Position
				}
				waitFor(t, apps[other], "h", last)
				seen := recs[holder].positions()
				for pos, n := range recs[other].positions() {
					seen[pos] += n
					if how == "close" && seen[pos] > 1 {
						t.Errorf("position %d handled again after a graceful close", pos)
					}
				}
				if len(seen) != 10 {
					t.Errorf("%d positions handled, want 10", len(seen))
				}
			})
		})
	}
}

// TestHandlerPartitionByPanics: a panic in PartitionBy is a failure of
// that event, for the error policy; the handler loses no other event.
func TestHandlerPartitionByPanics(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var rec recorder
		var mu sync.Mutex
		var failures []actors.Failure
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler(), Concurrency: 2,
			PartitionBy: func(ev actors.Event) string {
				if ev.StreamID == "account-bad" {
					panic("no key")
				}
				return ev.StreamID
			},
			OnError: func(f actors.Failure) actors.Decision {
				mu.Lock()
				failures = append(failures, f)
				mu.Unlock()
				return actors.SkipEvent
			}}))
		actorstest.Start(t, app)
		open(t, app, "a1", "bad", "a2")
		last := deposits(t, app, "a3", 2)
		waitFor(t, app, "h", last)
		if n := rec.len(); n != 5 {
			t.Errorf("%d events handled, want 5", n)
		}
		mu.Lock()
		defer mu.Unlock()
		var p *actors.PanicError
		if len(failures) != 1 || !errors.As(failures[0].Err, &p) || failures[0].Event.StreamID != "account-bad" {
			t.Errorf("failures = %+v", failures)
		}
	})
}
