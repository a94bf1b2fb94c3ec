package actorstest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A counter that refuses to go above a limit, and a process that resets
// it when it is full.

type (
	Increment struct{ ID string }
	Reset     struct{ ID string }

	Incremented struct{ ID string }
	WasReset    struct{ ID string }
)

var errFull = errors.New("counter full")

type Counter struct{ N int }

func (c *Counter) Execute(cmd any) ([]any, error) {
	switch cmd := cmd.(type) {
	case Increment:
		if c.N == 2 {
			return nil, errFull
		}
		return []any{Incremented(cmd)}, nil
	case Reset:
		return []any{WasReset(cmd)}, nil
	}
	return nil, fmt.Errorf("unknown command %T", cmd)
}

func (c *Counter) Apply(ev any) {
	switch ev.(type) {
	case Incremented:
		c.N++
	case WasReset:
		c.N = 0
	}
}

type Resetter struct{ Seen int }

func (r *Resetter) Handle(ev actors.Event) ([]any, error) {
	if e, ok := ev.Payload.(Incremented); ok && r.Seen == 1 {
		return []any{Reset{ID: e.ID}}, nil
	}
	return nil, nil
}

// Interested routes the counter's events to the counter's instance
// (actors.ProcessRouter).
func (*Resetter) Interested(ev actors.Event) []actors.Interest {
	switch e := ev.Payload.(type) {
	case Incremented:
		return []actors.Interest{actors.ContinueProcess(e.ID)}
	case WasReset:
		return []actors.Interest{actors.ContinueProcess(e.ID)}
	}
	return nil
}

func (r *Resetter) Apply(ev any) {
	switch ev.(type) {
	case Incremented:
		r.Seen++
	case WasReset:
		r.Seen = 0
	}
}

// exampleT stands for the *testing.T of a test: it prints failures.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (*exampleT) Helper()                      {}
func (*exampleT) Fatal(args ...any)            { fmt.Println(append([]any{"FAIL:"}, args...)...) }
func (*exampleT) Fatalf(f string, args ...any) { fmt.Printf("FAIL: "+f+"\n", args...) }
func (*exampleT) Errorf(f string, args ...any) { fmt.Printf("FAIL: "+f+"\n", args...) }
func (*exampleT) Context() context.Context     { return context.Background() }
func (t *exampleT) Cleanup(f func())           { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// Given past events, when a command, then these events or that error.
func ExampleAggregate() {
	t := &exampleT{} // in a test: the *testing.T
	newCounter := func() *Counter { return &Counter{} }

	actorstest.Aggregate(t, newCounter).
		Given(Incremented{ID: "c1"}).
		When(Increment{ID: "c1"}).
		Then(Incremented{ID: "c1"}).
		When(Increment{ID: "c1"}).
		ThenError(errFull)

	c := actorstest.Aggregate(t, newCounter).When(Increment{ID: "c1"})
	fmt.Println(c.State().N)
	// Output:
	// 1
}

// Routes, and given past events, when an event, then these commands; when
// one of them fails, then the error policy's decision.
func ExampleProcess() {
	t := &exampleT{} // in a test: the *testing.T
	newResetter := func() *Resetter { return &Resetter{} }

	actorstest.Process(t, newResetter).
		Routes(Incremented{ID: "c1"}, actors.ContinueProcess("c1")).
		When(Incremented{ID: "c1"}).
		Then().
		When(Incremented{ID: "c1"}).
		Then(Reset{ID: "c1"})

	actorstest.Process(t, newResetter).
		Given(Incremented{ID: "c1"}, WasReset{ID: "c1"}).
		When(Incremented{ID: "c1"}).
		Then()

	// The default policy skips a refused command at once.
	actorstest.Process(t, newResetter).
		Given(Incremented{ID: "c1"}).
		When(Incremented{ID: "c1"}).
		Then(Reset{ID: "c1"}).
		CommandFails(Reset{ID: "c1"}, actorstest.Refusal(errFull)).
		ThenDecision(actors.SkipEvent)
	fmt.Println("ok")
	// Output:
	// ok
}

// Run an application (Start closes it at the test's cleanup), dispatch,
// and wait for an event that a process manager causes.
func ExampleStart() {
	t := &exampleT{} // in a test: the *testing.T
	defer t.done()
	store := memory.New() // in a test: actorstest.Stores gives the memory and Postgres stores
	app, _ := actors.New(actors.Config{Store: store})
	actors.MustRegisterEvent[Incremented](app.Registry(), "counter.Incremented")
	actors.MustRegisterEvent[WasReset](app.Registry(), "counter.WasReset")
	app.RegisterAggregate(actors.AggregateType{Name: "counter", New: func() actors.Aggregate { return &Counter{} }})
	actors.Route(app, "counter", func(c Increment) string { return c.ID })
	actors.Route(app, "counter", func(c Reset) string { return c.ID })
	app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "resetter",
		New: func() actors.ProcessManager { return &Resetter{} }})
	actorstest.Start(t, app)

	actorstest.Dispatch(t, app, Increment{ID: "c1"})
	res := actorstest.Dispatch(t, app, Increment{ID: "c1"})
	ev := actorstest.WaitForEvent(t, store, app.Registry(), res.Position, actorstest.Is[WasReset](), 5*time.Second)
	fmt.Printf("%s %+v\n", ev.StreamID, ev.Payload)
	// Output:
	// counter-c1 {ID:c1}
}
