package actors_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestCloseWaitsForDispatches: Close lets dispatches in flight finish,
// while new ones fail with ErrStopped.
func TestCloseWaitsForDispatches(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		app := startBank(t, store)
		open(t, app, "a1")
		release, started := make(chan struct{}), make(chan struct{})
		var stallErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, stallErr = app.Dispatch(context.Background(), Stall{ID: "a1", Started: started, Until: release})
		})
		<-started
		closed := make(chan error, 1)
		go func() { closed <- app.Close(context.Background()) }()
		eventually(t, patience, "new dispatches refused", func() bool {
			_, err := app.Dispatch(context.Background(), Deposit{ID: "a2", Amount: 1})
			return errors.Is(err, actors.ErrStopped)
		})
		select {
		case err := <-closed:
			t.Fatalf("Close returned with a dispatch in flight: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		close(release)
		wg.Wait()
		must(t, stallErr)
		must(t, <-closed)
	})
}

// TestCloseIsBounded: Close gives up at its context's deadline, with an
// error, when a handler does not finish.
func TestCloseIsBounded(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		release, started := make(chan struct{}), make(chan struct{})
		var once sync.Once
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "stuck",
			Handler: actors.HandlerFunc(func(context.Context, actors.Event) error {
				once.Do(func() { close(started) })
				<-release
				return nil
			})}))
		must(t, app.Start(t.Context()))
		defer close(release)
		open(t, app, "a1")
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err := app.Close(ctx)
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("Close took %v with a 100ms deadline", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want a deadline error", err)
		}
	})
}

// failingSubscribe fails the subscriptions of one handler.
type failingSubscribe struct {
	actors.EventStore
	name string
}

func (s failingSubscribe) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	if opts.Name == s.name {
		return nil, errors.New("no subscription for you")
	}
	return s.EventStore.Subscribe(ctx, opts)
}

// TestStartFails: when a handler cannot start, Start fails and the handlers
// it started are stopped, releasing their subscriptions.
func TestStartFails(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		noop := actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })
		app := newBank(t, failingSubscribe{store, "handler:second"})
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "first", Handler: noop}))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "second", Handler: noop}))
		if err := app.Start(t.Context()); err == nil {
			t.Fatal("Start succeeded")
		}
		if _, err := app.Dispatch(context.Background(), OpenAccount{ID: "a1"}); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("dispatch after a failed start: %v", err)
		}
		// "first" was released: another application takes it.
		var rec recorder
		app2 := newBank(t, store)
		must(t, app2.RegisterHandler(actors.HandlerConfig{Name: "first", Handler: rec.handler()}))
		actorstest.Start(t, app2)
		waitFor(t, app2, "first", dispatch(t, app2, OpenAccount{ID: "a1"}).Position)
	})
}

// TestHandleTimeout: a handler call runs out of time after HandleTimeout;
// its policy sees the deadline error.
func TestHandleTimeout(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		var mu sync.Mutex
		var errs []error
		app := newBank(t, store)
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "slow", HandleTimeout: 20 * time.Millisecond,
			Handler: actors.HandlerFunc(func(ctx context.Context, ev actors.Event) error {
				<-ctx.Done()
				return ctx.Err()
			}),
			OnError: func(f actors.Failure) actors.Decision {
				mu.Lock()
				errs = append(errs, f.Err)
				mu.Unlock()
				return actors.SkipEvent
			}}))
		actorstest.Start(t, app)
		begin := time.Now()
		waitFor(t, app, "slow", dispatch(t, app, OpenAccount{ID: "a1"}).Position)
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("took %v", took)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
			t.Errorf("errors = %v", errs)
		}
	})
}

// failingSubscriptions fails the second Subscribe; the first subscription
// fails to close.
type failingSubscriptions struct {
	actors.EventStore
	mu    sync.Mutex
	calls int
}

var (
	errSubscribe = errors.New("subscribe refused")
	errSubClose  = errors.New("subscription close failed")
)

func (s *failingSubscriptions) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	if n > 1 {
		return nil, errSubscribe
	}
	sub, err := s.EventStore.Subscribe(ctx, opts)
	if err != nil {
		return nil, err
	}
	return failingClose{sub}, nil
}

type failingClose struct{ eventstore.Subscription }

func (f failingClose) Close() error {
	_ = f.Subscription.Close()
	return errSubClose
}

// TestStartFailureReportsClose: when a handler fails to start, Start
// closes what it started and returns Close's failure with its own.
func TestStartFailureReportsClose(t *testing.T) {
	mem := memory.New()
	t.Cleanup(func() { _ = mem.Close() })
	store := &failingSubscriptions{EventStore: mem}
	app := newBank(t, store)
	for _, name := range []string{"first", "second"} {
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: name,
			Handler: actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })}))
	}
	err := app.Start(context.Background())
	if !errors.Is(err, errSubscribe) || !errors.Is(err, errSubClose) {
		t.Fatalf("Start = %v, want both %v and %v", err, errSubscribe, errSubClose)
	}
}
