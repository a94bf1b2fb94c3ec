package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestRegistrationErrors: invalid or conflicting registrations fail.
func TestRegistrationErrors(t *testing.T) {
	store := memory.New()
	for _, cfg := range []actors.Config{
		{},
		{Store: store, DispatchTimeout: -1},
		{Store: store, Shards: 5000},
		{Store: store, MaxLiveAggregates: -1},
	} {
		if _, err := actors.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	app := newBank(t, store)
	noop := actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })
	pm := func() actors.ProcessManager { return &Tally{} }
	for name, err := range map[string]error{
		"aggregate without a name":   app.RegisterAggregate(actors.AggregateType{New: newAccount}),
		"aggregate without New":      app.RegisterAggregate(actors.AggregateType{Name: "x"}),
		"aggregate negative setting": app.RegisterAggregate(actors.AggregateType{Name: "x", New: newAccount, SnapshotEvery: -1}),
		"aggregate twice":            app.RegisterAggregate(actors.AggregateType{Name: "account", New: newAccount}),
		"route to nothing":           actors.Route(app, "nope", func(c NoRoute) string { return c.ID }),
		"route twice":                actors.Route(app, "account", func(c Deposit) string { return c.ID }),
		"handler without a name":     app.RegisterHandler(actors.HandlerConfig{Handler: noop}),
		"handler without handler":    app.RegisterHandler(actors.HandlerConfig{Name: "h"}),
		"handler with both":          app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: noop, Batch: &batchRecorder{}}),
		"handler negative setting":   app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: noop, Concurrency: -1}),
		"process without New":        app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "p", Interested: tallyInterest}),
		"process without Interested": app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "p", New: pm}),
		"process negative setting": app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "p", New: pm, Interested: tallyInterest,
			IdleTimeout: -time.Second}),
	} {
		if err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "same", Handler: noop}))
	if err := app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "same", New: pm, Interested: tallyInterest}); err == nil {
		t.Error("a process manager took a handler's name")
	}
	must(t, app.Start(context.Background()))
	defer app.Close(context.Background())
	if err := app.Start(context.Background()); err == nil {
		t.Error("Start twice succeeded")
	}
	if err := app.RegisterHandler(actors.HandlerConfig{Name: "late", Handler: noop}); err == nil {
		t.Error("a handler registered after Start")
	}
}
