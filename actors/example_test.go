package actors_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A library: members borrow books.

type (
	BorrowBook struct{ BookID, Member string }
	ReturnBook struct{ BookID string }

	BookBorrowed struct{ BookID, Member string }
	BookReturned struct{ BookID string }
)

var errOnLoan = errors.New("book is on loan")

type Book struct{ Borrower string }

func (b *Book) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case BorrowBook:
		if b.Borrower != "" {
			return nil, errOnLoan
		}
		return []any{BookBorrowed(c)}, nil
	case ReturnBook:
		return []any{BookReturned(c)}, nil
	}
	return nil, fmt.Errorf("unknown command %T", cmd)
}

func (b *Book) Apply(ev any) {
	switch e := ev.(type) {
	case BookBorrowed:
		b.Borrower = e.Member
	case BookReturned:
		b.Borrower = ""
	}
}

// Register events, an aggregate type whose Execute decides every command
// routed to it, routes and a strongly consistent handler; start; dispatch.
// ExampleDefine binds each command to a function of its own instead.
func Example() {
	ctx := context.Background()
	app, err := actors.New(actors.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	// A read model in memory, updated by a handler. It is empty whenever
	// the process starts, so its handler is transient: it sees the whole
	// history on every start instead of resuming after a stored checkpoint.
	loans := map[string]string{}
	err = errors.Join(
		app.Registry().Events(BookBorrowed{}, BookReturned{}), // named actors_test.BookBorrowed, ...
		app.RegisterAggregate(actors.AggregateType{Name: "book", New: func() actors.Aggregate { return &Book{} }}),
		actors.Route(app, "book", func(c BorrowBook) string { return c.BookID }),
		actors.Route(app, "book", func(c ReturnBook) string { return c.BookID }),
		app.RegisterHandler(actors.HandlerConfig{Name: "loans", Consistency: actors.Strong, Transient: true,
			Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
				switch e := ev.Payload.(type) {
				case BookBorrowed:
					loans[e.BookID] = e.Member
				case BookReturned:
					delete(loans, e.BookID)
				}
				return nil
			})}),
	)
	if err != nil {
		panic(err)
	}
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Close(ctx)

	res, err := app.Dispatch(ctx, BorrowBook{BookID: "dune", Member: "ann"}, actors.WithConsistency(actors.Strong))
	fmt.Println(res.StreamID, res.Version, err, loans)

	_, err = app.Dispatch(ctx, BorrowBook{BookID: "dune", Member: "bob"})
	fmt.Println(errors.Is(err, errOnLoan), errors.Is(err, actors.ErrValidation))

	res, _ = app.Dispatch(ctx, ReturnBook{BookID: "dune"}, actors.WithReturning(actors.ReturnEvents))
	fmt.Printf("%s %+v\n", res.Events[0].Type, res.Events[0].Payload)
	// Output:
	// book-dune 1 <nil> map[dune:ann]
	// true true
	// actors_test.BookReturned {BookID:dune}
}

// A command id makes a dispatch idempotent.
func ExampleWithCommandID() {
	ctx := context.Background()
	app, _ := actors.New(actors.Config{Store: memory.New()})
	actors.MustRegisterEvent[BookBorrowed](app.Registry(), "library.BookBorrowed")
	app.RegisterAggregate(actors.AggregateType{Name: "book", New: func() actors.Aggregate { return &Book{} }})
	actors.Route(app, "book", func(c BorrowBook) string { return c.BookID })
	app.Start(ctx)
	defer app.Close(ctx)

	id := uuid.New()
	for range 2 {
		res, err := app.Dispatch(ctx, BorrowBook{BookID: "dune", Member: "ann"}, actors.WithCommandID(id))
		fmt.Println(res.Version, res.Duplicate, err)
	}
	// Output:
	// 1 false <nil>
	// 1 true <nil>
}

// Read your writes: wait until a handler has processed a dispatch's events.
func ExampleApp_WaitFor() {
	ctx := context.Background()
	app, _ := actors.New(actors.Config{Store: memory.New()})
	actors.MustRegisterEvent[BookBorrowed](app.Registry(), "library.BookBorrowed")
	app.RegisterAggregate(actors.AggregateType{Name: "book", New: func() actors.Aggregate { return &Book{} }})
	actors.Route(app, "book", func(c BorrowBook) string { return c.BookID })
	borrowed := make(chan string, 1)
	app.RegisterHandler(actors.HandlerConfig{Name: "notify",
		Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			borrowed <- ev.Payload.(BookBorrowed).Member
			return nil
		})})
	app.Start(ctx)
	defer app.Close(ctx)

	res, _ := app.Dispatch(ctx, BorrowBook{BookID: "dune", Member: "ann"})
	fmt.Println(app.WaitFor(ctx, "notify", res.Position), <-borrowed)
	// Output:
	// <nil> ann
}
