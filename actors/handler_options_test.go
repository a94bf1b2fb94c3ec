package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestHandlerTransient: an in-memory read model, built by a transient
// handler, has the whole history again after the application restarts
// (with a persistent handler its checkpoint survived the restart and its
// memory did not: the new model missed every earlier event). A transient
// handler stores no checkpoint.
func TestHandlerTransient(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		run := func(model *recorder) *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "model", Handler: model.handler(),
				Consistency: actors.Strong, Transient: true}))
			return actorstest.Start(t, app)
		}
		var first recorder
		app := run(&first)
		waitFor(t, app, "model", deposits(t, app, "a1", 2)) // 3 events
		must(t, app.Close(context.Background()))

		var second recorder
		app = run(&second)
		last := dispatch(t, app, OpenAccount{ID: "a2"}, actors.WithConsistency(actors.Strong)).Position
		waitFor(t, app, "model", last)
		if n := second.len(); n != 4 {
			t.Errorf("after a restart the model has %d events, want 4", n)
		}
		if _, err := store.Checkpoint(context.Background(), actors.HandlerSubscription("model")); err == nil {
			t.Error("a transient handler stored a checkpoint")
		}
	})
}

// TestHandlerStream: a handler of one stream sees that stream's events
// only, and its progress covers them.
func TestHandlerStream(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		var rec recorder
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "a1", Handler: rec.handler(), Stream: "account-a1"}))
		actorstest.Start(t, app)
		deposits(t, app, "a2", 1)
		last := deposits(t, app, "a1", 2)
		deposits(t, app, "a2", 1)
		waitFor(t, app, "a1", last)
		evs := rec.all()
		if len(evs) != 3 {
			t.Fatalf("saw %d events, want 3: %+v", len(evs), evs)
		}
		for _, ev := range evs {
			if ev.StreamID != "account-a1" {
				t.Errorf("saw %+v", ev)
			}
		}
	})
}

// TestHandlerEventFilter: a handler given Events sees only events of those
// types; the others count as handled.
func TestHandlerEventFilter(t *testing.T) {
	for _, concurrency := range []int{1, 3} {
		t.Run(fmt.Sprintf("concurrency=%d", concurrency), func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				app := newBank(t, store)
				var rec recorder
				must(t, app.RegisterHandler(actors.HandlerConfig{Name: "deposits", Handler: rec.handler(),
					Events: []any{Deposited{}}, Concurrency: concurrency, Consistency: actors.Strong}))
				actorstest.Start(t, app)
				deposits(t, app, "a1", 2)
				deposits(t, app, "a2", 1)
				last := dispatch(t, app, OpenAccount{ID: "a3"}, actors.WithConsistency(actors.Strong)).Position
				waitFor(t, app, "deposits", last)
				evs := rec.all()
				if len(evs) != 3 {
					t.Fatalf("saw %d events, want 3: %+v", len(evs), evs)
				}
				for _, ev := range evs {
					if _, ok := ev.Payload.(Deposited); !ok {
						t.Errorf("saw %+v", ev)
					}
				}
			})
		})
	}
}

// TestHandlerBatchEventFilter: a batch handler's batches hold only the
// events it wants.
func TestHandlerBatchEventFilter(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := newBank(t, store)
		b := &batchRecorder{}
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "deposits", Batch: b, Events: []any{Deposited{}}}))
		actorstest.Start(t, app)
		deposits(t, app, "a1", 3)
		last := dispatch(t, app, OpenAccount{ID: "a2"}).Position
		waitFor(t, app, "deposits", last)
		b.mu.Lock()
		defer b.mu.Unlock()
		n := 0
		for _, batch := range b.batches {
			for _, ev := range batch {
				n++
				if _, ok := ev.Payload.(Deposited); !ok {
					t.Errorf("saw %+v", ev)
				}
			}
		}
		if n != 3 {
			t.Errorf("saw %d events, want 3", n)
		}
	})
}

// TestHandlerOptionErrors: a handler of one stream cannot be strongly
// consistent, and an event type it filters on must be registered.
func TestHandlerOptionErrors(t *testing.T) {
	app := newBank(t, memory.New())
	noop := actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })
	if err := app.RegisterHandler(actors.HandlerConfig{Name: "s", Handler: noop, Stream: "account-a1", Consistency: actors.Strong}); err == nil {
		t.Error("a strongly consistent handler of one stream registered")
	}
	type Unregistered struct{}
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "f", Handler: noop, Events: []any{Unregistered{}}}))
	if err := app.Start(context.Background()); !errors.Is(err, actors.ErrUnregisteredEvent) {
		t.Errorf("Start with a filter on an unregistered event: %v", err)
	}
}

// hooked is a handler with Init and Reset hooks, counting their calls.
type hooked struct {
	recorder
	inits, resets atomic.Int32
	initErr       error
}

func (h *hooked) HandleEvent(_ context.Context, ev actors.Event) error {
	h.add(ev)
	return nil
}

func (h *hooked) Init(context.Context) error {
	h.inits.Add(1)
	return h.initErr
}

func (h *hooked) Reset(context.Context) error {
	h.resets.Add(1)
	h.mu.Lock()
	h.events = nil
	h.mu.Unlock()
	return nil
}

// TestHandlerHooks: Init runs on every start, before the first event, and
// an error fails Start; Reset runs on every start of a transient handler,
// and for a persistent one through ResetHandler, which makes it start
// over.
func TestHandlerHooks(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var persistent, transient hooked
		run := func(reset bool) *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "persistent", Handler: &persistent, Consistency: actors.Strong}))
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "transient", Handler: &transient, Transient: true, Consistency: actors.Strong}))
			if reset {
				must(t, app.ResetHandler(context.Background(), "persistent"))
			}
			return actorstest.Start(t, app)
		}
		app := run(false)
		dispatch(t, app, OpenAccount{ID: "a1"}, actors.WithConsistency(actors.Strong))
		must(t, app.Close(context.Background()))
		if persistent.inits.Load() != 1 || persistent.resets.Load() != 0 || transient.inits.Load() != 1 || transient.resets.Load() != 1 {
			t.Errorf("first start: persistent %d inits, %d resets; transient %d inits, %d resets",
				persistent.inits.Load(), persistent.resets.Load(), transient.inits.Load(), transient.resets.Load())
		}
		app = run(true)
		last := dispatch(t, app, OpenAccount{ID: "a2"}, actors.WithConsistency(actors.Strong)).Position
		waitFor(t, app, "persistent", last)
		if persistent.inits.Load() != 2 || persistent.resets.Load() != 1 || transient.resets.Load() != 2 {
			t.Errorf("second start: persistent %d inits, %d resets; transient %d resets",
				persistent.inits.Load(), persistent.resets.Load(), transient.resets.Load())
		}
		for name, h := range map[string]*hooked{"persistent": &persistent, "transient": &transient} {
			if n := h.len(); n != 2 {
				t.Errorf("%s: %d events after the reset, want 2", name, n)
			}
		}
		must(t, app.Close(context.Background()))

		persistent.initErr = errors.New("no database")
		app = newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "persistent", Handler: &persistent}))
		if err := app.Start(context.Background()); !errors.Is(err, persistent.initErr) {
			t.Errorf("Start with a failing Init: %v", err)
		}
		if err := app.ResetHandler(context.Background(), "persistent"); err == nil {
			t.Error("ResetHandler after Start")
		}
	})
}
