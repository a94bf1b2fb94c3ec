package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// Append to a new stream, append again expecting the version read, and read
// the stream back.
func Example() {
	ctx := context.Background()
	store := memory.New() // or postgres.New on a PostgreSQL pool
	defer store.Close()

	res, err := store.Append(ctx, "account-alice", eventstore.NoStream, []eventstore.EventData{
		{Type: "bank.AccountOpened", Data: json.RawMessage(`{"owner":"Alice"}`)},
		{Type: "bank.MoneyDeposited", Data: json.RawMessage(`{"amount":100}`)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("version", res.Version)

	res, err = store.Append(ctx, "account-alice", eventstore.Exact(res.Version), []eventstore.EventData{
		{Type: "bank.MoneyWithdrawn", Data: json.RawMessage(`{"amount":30}`)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("version", res.Version)

	evs, err := store.ReadStream(ctx, "account-alice", eventstore.ReadOptions{})
	if err != nil {
		panic(err)
	}
	for _, ev := range evs {
		fmt.Println(ev.StreamVersion, ev.Type, string(ev.Data))
	}
	// Output:
	// version 2
	// version 3
	// 1 bank.AccountOpened {"owner":"Alice"}
	// 2 bank.MoneyDeposited {"amount":100}
	// 3 bank.MoneyWithdrawn {"amount":30}
}

// Two writers read version 1; the second append fails with a
// *VersionConflictError, which errors.As extracts and errors.Is matches as
// ErrVersionConflict.
func ExampleVersionConflictError() {
	ctx := context.Background()
	store := memory.New()
	defer store.Close()
	opened := []eventstore.EventData{{Type: "bank.AccountOpened", Data: json.RawMessage(`{}`)}}
	deposit := []eventstore.EventData{{Type: "bank.MoneyDeposited", Data: json.RawMessage(`{"amount":5}`)}}
	if _, err := store.Append(ctx, "account-bob", eventstore.NoStream, opened); err != nil {
		panic(err)
	}

	_, err := store.Append(ctx, "account-bob", eventstore.Exact(1), deposit)
	fmt.Println("first writer:", err)

	_, err = store.Append(ctx, "account-bob", eventstore.Exact(1), deposit)
	var conflict *eventstore.VersionConflictError
	if errors.As(err, &conflict) {
		fmt.Println("second writer: expected", conflict.Expected, "actual", conflict.Actual)
	}
	fmt.Println(errors.Is(err, eventstore.ErrVersionConflict))
	// Output:
	// first writer: <nil>
	// second writer: expected 1 actual 2
	// true
}

// A stream that must not exist yet: NoStream refuses to append to it twice.
func ExampleExpectedVersion() {
	ctx := context.Background()
	store := memory.New()
	defer store.Close()
	opened := []eventstore.EventData{{Type: "bank.AccountOpened", Data: json.RawMessage(`{}`)}}

	_, err := store.Append(ctx, "account-carol", eventstore.NoStream, opened)
	fmt.Println(err)
	_, err = store.Append(ctx, "account-carol", eventstore.NoStream, opened)
	fmt.Println(errors.Is(err, eventstore.ErrVersionConflict))
	_, err = store.Append(ctx, "account-carol", eventstore.Any, opened)
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// <nil>
}
