package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// Migrate a database's event store schema, open a store on a pool, append
// and read back. Data comes back as PostgreSQL's jsonb prints it.
func Example() {
	ctx := context.Background()
	databaseURL, drop := exampleDatabase() // in an application: your DATABASE_URL
	defer drop()

	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		panic(err)
	}
	defer pool.Close() // after the store: the caller owns the pool
	if err := postgres.Migrate(ctx, pool, ""); err != nil {
		panic(err)
	}
	store, err := postgres.New(ctx, pool, postgres.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	res, err := store.Append(ctx, "account-alice", eventstore.NoStream, []eventstore.EventData{
		{Type: "bank.AccountOpened", Data: json.RawMessage(`{"owner":"Alice"}`)},
		{Type: "bank.MoneyDeposited", Data: json.RawMessage(`{"amount":100}`)},
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
	// 1 bank.AccountOpened {"owner": "Alice"}
	// 2 bank.MoneyDeposited {"amount": 100}
}

// exampleDatabase creates an empty database on the test binary's server
// (see TestMain) and returns its connection string and a function that
// drops it.
func exampleDatabase() (connString string, drop func()) {
	tb := &exampleTB{}
	return pgtest.NewDatabase(tb), tb.cleanup
}

// exampleTB is the part of testing.TB that pgtest.NewDatabase uses, for an
// example, which has no *testing.T; a failure panics.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (*exampleTB) Helper()                      {}
func (*exampleTB) Name() string                 { return "Example" }
func (*exampleTB) Context() context.Context     { return context.Background() }
func (*exampleTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (*exampleTB) Errorf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (t *exampleTB) Cleanup(f func())           { t.cleanups = append(t.cleanups, f) }

func (t *exampleTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
