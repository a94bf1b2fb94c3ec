package actors_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A reader's card: its email is personal data, about the reader whose id
// the event holds.

type (
	IssueCard struct{ Reader, Email string }

	CardIssued struct {
		Reader string `json:"reader" cohort:"subject"`
		Email  string `json:"email" cohort:"personal"`
	}
)

// Card is the aggregate's state; with no subject field, its subject is
// the aggregate's id (the reader).
type Card struct {
	Email string `cohort:"personal"`
}

func (c *Card) Apply(ev any) {
	if e, ok := ev.(CardIssued); ok {
		c.Email = e.Email
	}
}

func (c *Card) issue(cmd IssueCard) ([]any, error) {
	return []any{CardIssued{Reader: cmd.Reader, Email: cmd.Email}}, nil
}

// Fields tagged cohort:"personal" are stored encrypted with their
// subject's key; Forget deletes the key, and from then on they read as
// the placeholder, wherever the events are decoded.
func ExampleApp_Forget() {
	cards := actors.Define[*Card](actors.AggregateType{Name: "card"}, CardIssued{})
	actors.Handle(cards, func(c IssueCard) string { return c.Reader }, (*Card).issue)

	ctx := context.Background()
	store := memory.New()
	masterKey := make([]byte, actors.MasterKeySize) // from the configuration, in a real program
	rand.Read(masterKey)
	app, err := actors.New(actors.Config{Store: store, Personal: actors.Personal{MasterKey: masterKey}})
	if err != nil {
		panic(err)
	}
	if err := app.Register(cards); err != nil {
		panic(err)
	}
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Close(ctx)

	app.Dispatch(ctx, IssueCard{Reader: "r1", Email: "ada@example.com"})
	stored, _ := store.ReadStream(ctx, "card-r1", eventstore.ReadOptions{})
	fmt.Println("stored in the clear:", bytes.Contains(stored[0].Data, []byte("ada@example.com")))
	ev, _ := actors.DecodeEvent(app.Registry(), stored[0])
	fmt.Println("decoded:", ev.Payload.(CardIssued).Email)

	if err := app.Forget(ctx, "r1"); err != nil {
		panic(err)
	}
	ev, _ = actors.DecodeEvent(app.Registry(), stored[0])
	fmt.Println("after Forget:", ev.Payload.(CardIssued).Email)

	// Output:
	// stored in the clear: false
	// decoded: ada@example.com
	// after Forget: [forgotten]
}
