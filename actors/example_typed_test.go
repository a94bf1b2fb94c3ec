package actors_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A shelf holds books: defined with Define and Handle, its state only
// applies events and each command has a method of its own.

type (
	Shelve   struct{ Shelf, BookID string }
	Unshelve struct{ Shelf, BookID string }

	Shelved   struct{ Shelf, BookID string }
	Unshelved struct{ Shelf, BookID string }
)

var errNotShelved = errors.New("not on the shelf")

type Shelf struct{ Books []string }

func (s *Shelf) Apply(ev any) {
	switch e := ev.(type) {
	case Shelved:
		s.Books = append(s.Books, e.BookID)
	case Unshelved:
		for i, b := range s.Books {
			if b == e.BookID {
				s.Books = append(s.Books[:i], s.Books[i+1:]...)
				break
			}
		}
	}
}

func (s *Shelf) shelve(c Shelve) ([]any, error) { return []any{Shelved(c)}, nil }

func (s *Shelf) unshelve(c Unshelve) ([]any, error) {
	for _, b := range s.Books {
		if b == c.BookID {
			return []any{Unshelved(c)}, nil
		}
	}
	return nil, errNotShelved
}

// Each command type is bound to the shelf at compile time, with its
// route's options; Register registers the events, the aggregate type and
// its routes, or says everything that is wrong.
func ExampleDefine() {
	shelves := actors.Define[*Shelf](actors.AggregateType{Name: "shelf"}, Shelved{}, Unshelved{})
	actors.Handle(shelves, func(c Shelve) string { return c.Shelf }, (*Shelf).shelve, actors.Creating())
	actors.Handle(shelves, func(c Unshelve) string { return c.Shelf }, (*Shelf).unshelve,
		actors.Defaults(actors.WithTimeout(2*time.Second)))

	ctx := context.Background()
	app, err := actors.New(actors.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	if err := app.Register(shelves); err != nil {
		panic(err)
	}
	// A second registration of the same aggregate is refused, whole.
	fmt.Println(app.Register(shelves))
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Close(ctx)

	app.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "dune"})
	res, err := app.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "solaris"}, actors.WithReturning(actors.ReturnState))
	shelf, _ := actors.StateAs[*Shelf](res)
	fmt.Println(res.StreamID, shelf.Books, err)

	_, err = app.Dispatch(ctx, Unshelve{Shelf: "sf", BookID: "emma"})
	fmt.Println(errors.Is(err, errNotShelved), errors.Is(err, actors.ErrValidation))

	// The definition decides without an application, as a test does.
	events, err := shelves.Execute(&Shelf{Books: []string{"dune"}}, Unshelve{Shelf: "sf", BookID: "dune"})
	fmt.Println(events, err)

	// Output:
	// actors: aggregate shelf already registered
	// actors: command actors_test.Shelve already routed to shelf
	// actors: command actors_test.Unshelve already routed to shelf
	// shelf-sf [dune solaris] <nil>
	// true true
	// [{sf dune}] <nil>
}

// Per-route options, as Commanded's router takes them: every dispatch of
// a route gets the route's timeout and consistency (Defaults), which the
// dispatch's own options override, and the route's lifespan decides how
// long the aggregate stays in memory after the route's commands
// (RouteLifespan). Defaults that belong to one dispatch, such as a
// command id, are refused when the route is registered.
func ExampleDefaults() {
	shelves := actors.Define[*Shelf](actors.AggregateType{Name: "shelf", Lifespan: actors.IdleLifespan(time.Minute)},
		Shelved{}, Unshelved{})
	// Shelving returns once the catalogue shows the book, within 2 s.
	actors.Handle(shelves, func(c Shelve) string { return c.Shelf }, (*Shelf).shelve, actors.Creating(),
		actors.Defaults(actors.WithTimeout(2*time.Second), actors.WithConsistency(actors.Strong, "catalogue")))
	// A shelf a book was taken from leaves memory at once.
	actors.Handle(shelves, func(c Unshelve) string { return c.Shelf }, (*Shelf).unshelve,
		actors.RouteLifespan(actors.IdleLifespan(actors.StopNow)))

	ctx := context.Background()
	app, err := actors.New(actors.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	if err := app.Register(shelves); err != nil {
		panic(err)
	}
	var catalogue []string
	err = app.RegisterHandler(actors.HandlerConfig{Name: "catalogue",
		Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			if e, ok := ev.Payload.(Shelved); ok {
				catalogue = append(catalogue, e.BookID)
			}
			return nil
		})})
	if err != nil {
		panic(err)
	}
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Close(ctx)

	_, err = app.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "dune"})
	fmt.Println(catalogue, err)
	// The dispatch's own options override the route's.
	_, err = app.Dispatch(ctx, Shelve{Shelf: "sf", BookID: "solaris"}, actors.WithConsistency(actors.Eventual))
	fmt.Println(err)
	_, err = app.Dispatch(ctx, Unshelve{Shelf: "sf", BookID: "dune"})
	fmt.Println(err)

	// Output:
	// [dune] <nil>
	// <nil>
	// <nil>
}
