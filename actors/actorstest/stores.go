package actorstest

import (
	"context"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// Stores runs test twice, as the subtests "memory" and "postgres": on a new
// in-memory store, and on a PostgreSQL store over a new, migrated database
// (dropped at cleanup). Stores are closed at the subtest's cleanup, after
// the cleanups that test registers (so an application started with Start
// closes first).
//
// The package's TestMain must run the tests through pgtest.Main (package
// github.com/cohort-dev/cohort/eventstore/postgres/pgtest), which starts
// one throwaway PostgreSQL cluster per test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Stores(t *testing.T, test func(t *testing.T, store actors.EventStore)) {
	t.Helper()
	SharedStores(t, 1, func(t *testing.T, stores []actors.EventStore) { test(t, stores[0]) })
}

// SharedStores is Stores with n stores on one storage, as n processes
// connected to one database see it: n handles on one in-memory storage
// (memory.Store.Connect), or n PostgreSQL stores, each with its own pool,
// on one database. Each store's persistent subscriptions, locks and
// background work are its own; closing one store (a process dying) releases
// what it held to the others.
func SharedStores(t *testing.T, n int, test func(t *testing.T, stores []actors.EventStore)) {
	t.Helper()
	if n < 1 {
		t.Fatalf("actorstest: SharedStores with %d stores", n)
	}
	t.Run("memory", func(t *testing.T) {
		first := memory.New()
		stores := []actors.EventStore{first}
		for len(stores) < n {
			stores = append(stores, first.Connect())
		}
		for _, s := range stores {
			t.Cleanup(func() { _ = s.(*memory.Store).Close() })
		}
		test(t, stores)
	})
	t.Run("postgres", func(t *testing.T) {
		conn := PostgresDatabase(t)
		stores := make([]actors.EventStore, n)
		for i := range stores {
			stores[i] = PostgresStore(t, conn)
		}
		test(t, stores)
	})
}

// PostgresDatabase creates a migrated database for tb, dropped at cleanup,
// and returns its connection string. It needs pgtest.Main (see Stores).
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb)
}

// PostgresStore opens a store, with its own pool, on the database of
// connString; both are closed at cleanup.
func PostgresStore(tb testing.TB, connString string) *postgres.Store {
	tb.Helper()
	pool := pgtest.NewPool(tb, connString)
	store, err := postgres.New(tb.Context(), pool, postgres.Config{})
	if err != nil {
		tb.Fatalf("actorstest: open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("actorstest: close store: %v", err)
		}
	})
	return store
}

// CloseTimeout bounds closing an application started by Start.
const CloseTimeout = 30 * time.Second

// Start starts app and closes it at cleanup, failing the test if either
// fails. It returns app.
func Start(tb testing.TB, app *actors.App) *actors.App {
	tb.Helper()
	if err := app.Start(tb.Context()); err != nil {
		tb.Fatalf("actorstest: start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			tb.Errorf("actorstest: close: %v", err)
		}
	})
	return app
}

// Dispatch dispatches cmd and fails the test if the dispatch fails.
func Dispatch(tb testing.TB, app *actors.App, cmd any, opts ...actors.DispatchOption) actors.Result {
	tb.Helper()
	res, err := app.Dispatch(context.Background(), cmd, opts...)
	if err != nil {
		tb.Fatalf("actorstest: dispatch %T: %v", cmd, err)
	}
	return res
}
