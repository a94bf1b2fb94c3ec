package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
)

// TestRouteDefaultsRefused: a route's defaults apply to every dispatch of
// its command type, so those that belong to one dispatch (a command id,
// which would make every later dispatch a duplicate of the first; a
// causation or correlation id; an expected version) and a timeout that is
// not positive are wiring mistakes: Route returns an error, Handle panics.
// The options a route may have pass.
func TestRouteDefaultsRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  actors.DispatchOption
		ok   bool
	}{
		{"command id", actors.WithCommandID(uuid.New()), false},
		{"causation id", actors.WithCausationID(uuid.New()), false},
		{"correlation id", actors.WithCorrelationID(uuid.New()), false},
		{"expected version", actors.WithExpectedVersion(0), false},
		{"zero timeout", actors.WithTimeout(0), false},
		{"negative timeout", actors.WithTimeout(-time.Second), false},
		{"timeout", actors.WithTimeout(time.Second), true},
		{"consistency", actors.WithConsistency(actors.Strong), true},
		{"returning", actors.WithReturning(actors.ReturnState), true},
		{"metadata", actors.WithMetadata(actors.Metadata{"tenant": "a"}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := newTypedApp(t)
			must(t, app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}))
			err := actors.Route(app, "account", func(c OpenAccount) string { return c.ID }, actors.Defaults(tt.opt))
			if (err == nil) != tt.ok {
				t.Errorf("Route: %v, want ok %v", err, tt.ok)
			}
			panicked := func() (p any) {
				defer func() { p = recover() }()
				d := actors.Define[*tCounter](actors.AggregateType{Name: "counter"}, tAdded{})
				actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add, actors.Defaults(tt.opt))
				return nil
			}()
			if (panicked == nil) != tt.ok {
				t.Errorf("Handle panicked with %v, want ok %v", panicked, tt.ok)
			}
		})
	}
}

// TestRouteDefaultsUnknownHandler: a route whose default consistency
// waits for a handler nobody registered fails Start, as any other wiring
// mistake, instead of every dispatch of the route.
func TestRouteDefaultsUnknownHandler(t *testing.T) {
	for _, define := range []bool{false, true} {
		t.Run(fmt.Sprintf("define=%v", define), func(t *testing.T) {
			app := newTypedApp(t)
			strong := actors.Defaults(actors.WithConsistency(actors.Strong, "projection", "no-such-handler"))
			if define {
				d := actors.Define[*tCounter](actors.AggregateType{Name: "counter"}, tAdded{})
				actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add, strong)
				must(t, app.Register(d))
			} else {
				must(t, app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}))
				must(t, actors.Route(app, "account", func(c OpenAccount) string { return c.ID }, strong))
			}
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection",
				Handler: actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })}))
			err := app.Start(t.Context())
			if err == nil {
				app.Close(context.Background())
			}
			if !errors.Is(err, actors.ErrHandlerNotFound) {
				t.Fatalf("Start: %v, want ErrHandlerNotFound", err)
			}
		})
	}
}

// TestRouteTimeoutAndConsistency: Route's defaults give each dispatch of
// the route its timeout and consistency; a dispatch's own options
// override them.
func TestRouteTimeoutAndConsistency(t *testing.T) {
	app := newTypedApp(t)
	registerBankEvents(t, app.Registry())
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}))
	must(t, actors.Route(app, "account", func(c OpenAccount) string { return c.ID },
		actors.Defaults(actors.WithConsistency(actors.Strong), actors.WithTimeout(50*time.Millisecond))))
	must(t, actors.Route(app, "account", func(c Deposit) string { return c.ID }))
	release := make(chan struct{})
	var handled atomic.Int64
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "slow", Consistency: actors.Strong,
		Handler: actors.HandlerFunc(func(ctx context.Context, ev actors.Event) error {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			handled.Add(1)
			return nil
		})}))
	ctx := context.Background()
	must(t, app.Start(ctx))
	defer app.Close(ctx)

	// The route's strong consistency waits for the handler, which waits
	// for release: the route's timeout ends the dispatch.
	if _, err := app.Dispatch(ctx, OpenAccount{ID: "a"}); !errors.Is(err, actors.ErrTimeout) {
		t.Fatalf("dispatch within the route's timeout: %v, want ErrTimeout", err)
	}
	// The dispatch's own timeout overrides the route's: it returns once
	// the handler, released later than the route's timeout, has handled
	// both events.
	var once sync.Once
	time.AfterFunc(200*time.Millisecond, func() { once.Do(func() { close(release) }) })
	if _, err := app.Dispatch(ctx, OpenAccount{ID: "b"}, actors.WithTimeout(patience)); err != nil {
		t.Fatalf("dispatch with its own timeout: %v", err)
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("the strongly consistent route returned with %d events handled, want 2", n)
	}
	// Its own consistency overrides the route's too.
	if _, err := app.Dispatch(ctx, Deposit{ID: "b", Amount: 1}, actors.WithConsistency(actors.Eventual)); err != nil {
		t.Fatal(err)
	}
}

// TestDefinitionRegisteredIsSnapshot: App.Register takes the definition
// as it is: routes handled, and route lifespans given, on the definition
// afterwards (for another application) do not reach the application that
// runs it, and never race with its aggregates. Run with -race.
func TestDefinitionRegisteredIsSnapshot(t *testing.T) {
	d := actors.Define[*tCounter](actors.AggregateType{Name: "counter"}, tAdded{}, tResets{})
	actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add,
		actors.RouteLifespan(actors.IdleLifespan(actors.Forever)))
	app := newTypedApp(t)
	must(t, app.Register(d))
	ctx := context.Background()
	must(t, app.Start(ctx))
	defer app.Close(ctx)

	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		for i := 0; !stop.Load(); i++ {
			if _, err := app.Dispatch(ctx, tAdd{ID: fmt.Sprint(i % 4), N: 1}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	time.Sleep(20 * time.Millisecond)
	actors.Handle(d, func(c tReset) string { return c.ID }, (*tCounter).reset,
		actors.RouteLifespan(actors.IdleLifespan(actors.StopNow)))
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	must(t, <-done)
	var unrouted *actors.UnregisteredCommandError
	if _, err := app.Dispatch(ctx, tReset{ID: "0"}); !errors.As(err, &unrouted) {
		t.Fatalf("a route handled after Register reached the application: %v", err)
	}
}
