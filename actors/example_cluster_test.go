package actors_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// Two Apps on one store form a cluster: each shelf lives on one of them,
// and a command dispatched on either reaches it, its answer (the state, a
// registered error) coming back as if it had run where it was sent. Here
// the members find each other through protoactor's in-process test
// provider; across machines, pass actors/cluster/postgres's Provider (or
// another of protoactor's) and each member's address.
func ExampleClusterConfig() {
	ctx := context.Background()
	agent := test.NewInMemAgent() // what the members' providers share
	store := memory.New()
	member := func(s actors.EventStore) *actors.App {
		shelves := actors.Define[*Shelf](actors.AggregateType{Name: "shelf"}, Shelved{}, Unshelved{})
		actors.Handle(shelves, func(c Shelve) string { return c.Shelf }, (*Shelf).shelve, actors.Creating())
		actors.Handle(shelves, func(c Unshelve) string { return c.Shelf }, (*Shelf).unshelve)
		app, err := actors.New(actors.Config{Store: s, Cluster: &actors.ClusterConfig{
			Name:     "library",
			Provider: test.NewTestProvider(agent),
			Port:     0, // a free port of 127.0.0.1
		}})
		if err != nil {
			panic(err)
		}
		if err := errors.Join(app.Register(shelves), app.Registry().RegisterError("library.NotShelved", errNotShelved)); err != nil {
			panic(err)
		}
		if err := app.Start(ctx); err != nil {
			panic(err)
		}
		return app
	}
	a, b := member(store), member(store.Connect())
	defer a.Close(ctx)
	defer b.Close(ctx)

	a.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "dune"})
	res, err := b.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "solaris"}, actors.WithReturning(actors.ReturnState))
	shelf, _ := actors.StateAs[*Shelf](res)
	fmt.Println(res.Version, shelf.Books, err)
	_, err = a.Dispatch(ctx, Unshelve{Shelf: "sf", BookID: "ubik"})
	fmt.Println(errors.Is(err, errNotShelved), errors.Is(err, actors.ErrValidation))
	// Output:
	// 2 [dune solaris] <nil>
	// true true
}

// Cataloguer files a shelved book in the catalog: one process instance
// per book.
type Cataloguer struct{ Filed bool }

func (c *Cataloguer) Handle(ev actors.Event) ([]any, error) {
	return []any{Shelve{Shelf: "catalog", BookID: ev.Payload.(Shelved).BookID}}, nil
}

func (c *Cataloguer) Apply(any) { c.Filed = true }

// In a cluster, a process manager's coordinator (its subscription) runs on
// one member, and its instances are cluster identities spread over the
// members: each handles its events, and dispatches its commands, where the
// cluster placed it. Here the cataloguer files every book shelved through
// either member; a strongly consistent dispatch returns once it has.
func ExampleClusterConfig_processManager() {
	ctx := context.Background()
	agent := test.NewInMemAgent()
	store := memory.New()
	member := func(s actors.EventStore) *actors.App {
		shelves := actors.Define[*Shelf](actors.AggregateType{Name: "shelf"}, Shelved{}, Unshelved{})
		actors.Handle(shelves, func(c Shelve) string { return c.Shelf }, (*Shelf).shelve, actors.Creating())
		app, err := actors.New(actors.Config{Store: s, Cluster: &actors.ClusterConfig{
			Name: "library", Provider: test.NewTestProvider(agent)}})
		if err != nil {
			panic(err)
		}
		err = errors.Join(app.Register(shelves), app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name:        "cataloguer",
			Consistency: actors.Strong,
			New:         func() actors.ProcessManager { return &Cataloguer{} },
			Interested: func(ev actors.Event) []actors.Interest {
				if e, ok := ev.Payload.(Shelved); ok && e.Shelf != "catalog" {
					return []actors.Interest{actors.StartProcess(e.BookID)}
				}
				return nil
			},
		}))
		if err != nil {
			panic(err)
		}
		if err := app.Start(ctx); err != nil {
			panic(err)
		}
		return app
	}
	a, b := member(store), member(store.Connect())
	defer a.Close(ctx)
	defer b.Close(ctx)

	for i, book := range []string{"dune", "solaris", "ubik"} {
		through := []*actors.App{a, b}[i%2]
		if _, err := through.Dispatch(ctx, Shelve{Shelf: "sf", BookID: book}, actors.WithConsistency(actors.Strong)); err != nil {
			panic(err)
		}
	}
	res, _ := b.Dispatch(ctx, Shelve{Shelf: "catalog", BookID: "index"}, actors.WithReturning(actors.ReturnState))
	catalog, _ := actors.StateAs[*Shelf](res)
	fmt.Println(catalog.Books)
	// Output:
	// [dune solaris ubik index]
}
