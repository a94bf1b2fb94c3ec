package actors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A counter defined with the typed API: its state only applies events,
// and each command has a function of its own.

type (
	tAdd struct {
		ID string
		N  int
	}
	tReset struct{ ID string }
	tBoom  struct{ ID string }
	tAdded struct {
		ID string
		N  int
	}
	tResets struct{ ID string }
	tStray  struct{ ID string } // returned, never declared
)

var errNegative = errors.New("negative")

type tCounter struct{ N int }

func (c *tCounter) Apply(ev any) {
	switch e := ev.(type) {
	case tAdded:
		c.N += e.N
	case tResets:
		c.N = 0
	}
}

func (c *tCounter) add(cmd tAdd) ([]any, error) {
	if cmd.N < 0 {
		return nil, errNegative
	}
	return []any{tAdded(cmd)}, nil
}

func (c *tCounter) reset(cmd tReset) ([]any, error) { return []any{tResets(cmd)}, nil }
func (c *tCounter) boom(cmd tBoom) ([]any, error)   { return []any{tStray(cmd)}, nil }

func counters() *actors.Definition[*tCounter] {
	d := actors.Define[*tCounter](actors.AggregateType{Name: "counter"}, tAdded{}, tResets{})
	actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add, actors.Creating())
	actors.Handle(d, func(c tReset) string { return c.ID }, (*tCounter).reset,
		actors.Defaults(actors.WithConsistency(actors.Strong)))
	actors.Handle(d, func(c tBoom) string { return c.ID }, (*tCounter).boom)
	return d
}

func newTypedApp(t *testing.T) *actors.App {
	t.Helper()
	app, err := actors.New(actors.Config{Store: memory.New()})
	must(t, err)
	return app
}

// TestTypedDispatch: a defined aggregate decides through its handlers,
// returns its own state type, refuses as any aggregate does, and a route's
// defaults apply to each of its dispatches.
func TestTypedDispatch(t *testing.T) {
	app := newTypedApp(t)
	var seen []string
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "strong", Consistency: actors.Strong,
		Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			time.Sleep(10 * time.Millisecond)
			seen = append(seen, ev.Type)
			return nil
		})}))
	must(t, app.Register(counters()))
	ctx := context.Background()
	must(t, app.Start(ctx))
	defer app.Close(ctx)

	res, err := app.Dispatch(ctx, tAdd{ID: "a", N: 2}, actors.WithReturning(actors.ReturnState))
	must(t, err)
	if s, ok := actors.StateAs[*tCounter](res); !ok || s.N != 2 {
		t.Fatalf("state %#v, want *tCounter{N: 2}", res.State)
	}
	if _, err := app.Dispatch(ctx, tAdd{ID: "a", N: -1}); !errors.Is(err, errNegative) || !errors.Is(err, actors.ErrValidation) {
		t.Fatalf("refusal: %v", err)
	}
	// tReset's route is strongly consistent: the handler has seen it when
	// the dispatch returns.
	_, err = app.Dispatch(ctx, tReset{ID: "a"})
	must(t, err)
	if len(seen) == 0 || seen[len(seen)-1] != "actors_test.tResets" {
		t.Fatalf("strong route: handler saw %v", seen)
	}
	// An event the aggregate returns without declaring it (and nobody
	// registered) fails the dispatch with a typed error.
	var unreg *actors.UnregisteredEventError
	if _, err := app.Dispatch(ctx, tBoom{ID: "a"}); !errors.As(err, &unreg) || !errors.Is(err, actors.ErrUnregisteredEvent) {
		t.Fatalf("undeclared event: %v", err)
	}
}

// TestTypedRegistrationFails: wiring mistakes panic when made in one
// definition (as http.ServeMux does), and are one error from Register
// when definitions or registrations collide.
func TestTypedRegistrationFails(t *testing.T) {
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		f()
	}
	mustPanic("a command handled twice", func() {
		d := counters()
		actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add)
	})
	mustPanic("a nil identity", func() {
		actors.Handle(counters(), nil, func(*tCounter, NoRoute) ([]any, error) { return nil, nil })
	})
	mustPanic("a nil decide", func() {
		actors.Handle[*tCounter, NoRoute](counters(), func(c NoRoute) string { return c.ID }, nil)
	})

	for name, register := range map[string]func(app *actors.App) error{
		"defined twice": func(app *actors.App) error { return app.Register(counters(), counters()) },
		"a name taken": func(app *actors.App) error {
			must(t, app.RegisterAggregate(actors.AggregateType{Name: "counter", New: newAccount}))
			return app.Register(counters())
		},
		"a command routed elsewhere": func(app *actors.App) error {
			must(t, app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}))
			must(t, actors.Route(app, "account", func(c tAdd) string { return c.ID }))
			return app.Register(counters())
		},
		"an event name taken": func(app *actors.App) error {
			must(t, actors.RegisterEvent[Deposited](app.Registry(), "actors_test.tAdded"))
			return app.Register(counters())
		},
		"no name": func(app *actors.App) error {
			return app.Register(actors.Define[*tCounter](actors.AggregateType{}))
		},
		"a state that is not a pointer": func(app *actors.App) error {
			return app.Register(actors.Define[valueState](actors.AggregateType{Name: "v"}))
		},
		"after Start": func(app *actors.App) error {
			must(t, app.Start(context.Background()))
			t.Cleanup(func() { app.Close(context.Background()) })
			return app.Register(counters())
		},
	} {
		if err := register(newTypedApp(t)); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
}

type valueState struct{}

func (valueState) Apply(any) {}

// TestTypedRegisterAtomic: a Register that fails leaves nothing of its
// definitions registered, so a corrected one can follow.
func TestTypedRegisterAtomic(t *testing.T) {
	app := newTypedApp(t)
	bad := actors.Define[*tCounter](actors.AggregateType{Name: "other"})
	actors.Handle(bad, func(c tAdd) string { return c.ID }, (*tCounter).add)
	if err := app.Register(counters(), bad); err == nil {
		t.Fatal("two definitions routed tAdd")
	}
	must(t, app.Register(counters()))
}

// TestRegistryEvents: events registered by value take their type's name
// (package.Type) unless registered before under another.
func TestRegistryEvents(t *testing.T) {
	r := actors.NewRegistry()
	must(t, r.Events(tAdded{}, tResets{}))
	must(t, r.Events(tAdded{})) // again: the same name
	name, err := r.Name(tAdded{N: 1})
	must(t, err)
	if name != "actors_test.tAdded" {
		t.Fatalf("name %q", name)
	}
	ev, err := r.Decode(name, []byte(`{"ID":"a","N":3}`))
	must(t, err)
	if ev != (tAdded{ID: "a", N: 3}) {
		t.Fatalf("decoded %#v", ev)
	}
	for what, err := range map[string]error{
		"nil":                   r.Events(nil),
		"a pointer":             r.Events(&tAdded{}),
		"two types of one name": r.Events(sameName1(), sameName2()),
	} {
		if err == nil {
			t.Errorf("%s registered", what)
		}
	}
}

// TestRouteLifespan: a route's lifespan decides after the commands of its
// type, the aggregate type's (here forever) after the others.
func TestRouteLifespan(t *testing.T) {
	d := actors.Define[*tCounter](actors.AggregateType{Name: "counter", Lifespan: actors.IdleLifespan(actors.Forever)}, tAdded{}, tResets{})
	actors.Handle(d, func(c tAdd) string { return c.ID }, (*tCounter).add)
	actors.Handle(d, func(c tReset) string { return c.ID }, (*tCounter).reset,
		actors.RouteLifespan(actors.IdleLifespan(actors.StopNow)))
	app := newTypedApp(t)
	must(t, app.Register(d))
	ctx := context.Background()
	must(t, app.Start(ctx))
	defer app.Close(ctx)

	_, err := app.Dispatch(ctx, tAdd{ID: "a", N: 1})
	must(t, err)
	time.Sleep(30 * time.Millisecond)
	if n := actors.LiveAggregates(app); n != 1 {
		t.Fatalf("%d live aggregates after tAdd, want 1", n)
	}
	_, err = app.Dispatch(ctx, tReset{ID: "a"})
	must(t, err)
	eventually(t, patience, "the aggregate stops after tReset", func() bool { return actors.LiveAggregates(app) == 0 })

	// Route takes the option too.
	app = newTypedApp(t)
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}))
	must(t, actors.Route(app, "account", func(c OpenAccount) string { return c.ID }, actors.RouteLifespan(actors.IdleLifespan(actors.StopNow))))
	must(t, actors.Route(app, "account", func(c Deposit) string { return c.ID }))
	registerBankEvents(t, app.Registry())
	must(t, app.Start(ctx))
	defer app.Close(ctx)
	_, err = app.Dispatch(ctx, OpenAccount{ID: "a"})
	must(t, err)
	eventually(t, patience, "the account stops after OpenAccount", func() bool { return actors.LiveAggregates(app) == 0 })
	_, err = app.Dispatch(ctx, Deposit{ID: "a", Amount: 1})
	must(t, err)
	time.Sleep(30 * time.Millisecond)
	if n := actors.LiveAggregates(app); n != 1 {
		t.Fatalf("%d live aggregates after Deposit, want 1", n)
	}
}

// sameName1 and sameName2 return values of two types named alike
// (actors_test.ev).
func sameName1() any {
	type ev struct{ A int }
	return ev{}
}

func sameName2() any {
	type ev struct{ B int }
	return ev{}
}
