package actors_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// Waitlist lends a returned book to the member waiting for it.
type Waitlist struct{ Lent bool }

func (w *Waitlist) Handle(ev actors.Event) ([]any, error) {
	return []any{BorrowBook{BookID: ev.Payload.(BookReturned).BookID, Member: "bob"}}, nil
}

func (w *Waitlist) Apply(any) { w.Lent = true }

// Wait for a workflow to finish: a returned book goes, through a process
// manager's command, to the member waiting for it, and the causal wait
// returns once the loans read model shows the new loan, not merely the
// return.
func ExampleApp_WaitForCausal() {
	ctx := context.Background()
	app, _ := actors.New(actors.Config{Store: memory.New()})
	actors.MustRegisterEvent[BookBorrowed](app.Registry(), "library.BookBorrowed")
	actors.MustRegisterEvent[BookReturned](app.Registry(), "library.BookReturned")
	app.RegisterAggregate(actors.AggregateType{Name: "book", New: func() actors.Aggregate { return &Book{} }})
	actors.Route(app, "book", func(c BorrowBook) string { return c.BookID })
	actors.Route(app, "book", func(c ReturnBook) string { return c.BookID })
	loans := map[string]string{}
	app.RegisterHandler(actors.HandlerConfig{Name: "loans",
		Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			switch e := ev.Payload.(type) {
			case BookBorrowed:
				loans[e.BookID] = e.Member
			case BookReturned:
				delete(loans, e.BookID)
			}
			return nil
		})})
	app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "waitlist",
		New: func() actors.ProcessManager { return &Waitlist{} },
		Interested: func(ev actors.Event) []actors.Interest {
			if e, ok := ev.Payload.(BookReturned); ok {
				return []actors.Interest{actors.StartProcess(e.BookID)}
			}
			return nil
		}})
	app.Start(ctx)
	defer app.Close(ctx)

	res, _ := app.Dispatch(ctx, BorrowBook{BookID: "dune", Member: "ann"})
	app.WaitFor(ctx, "loans", res.Position)
	fmt.Println(loans)

	workflow := uuid.New()
	res, _ = app.Dispatch(ctx, ReturnBook{BookID: "dune"}, actors.WithCorrelationID(workflow))
	fmt.Println(app.WaitForCausal(ctx, workflow, res.Position, "loans"), loans)
	// Output:
	// map[dune:ann]
	// <nil> map[dune:bob]
}
