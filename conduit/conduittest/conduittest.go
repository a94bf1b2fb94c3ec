package conduittest

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

const template = "conduit"

// FastPasswords are Argon2id parameters that keep registrations quick in
// tests; never use them in production.
var FastPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

// ClaimsKey is the key tests name claim streams with (conduit.Config's
// ClaimsKey); never use it in production.
var ClaimsKey = []byte("conduittest claims key, public!!")

// MasterKey is the master key of Conduits in tests (conduit.Config's);
// never use it in production.
var MasterKey = bytes.Repeat([]byte("test-master-key."), 2)

// RegisterTemplate registers the template database, migrated for Conduit:
// the event store's tables in postgres.DefaultSchema, the read model's in
// projectors.DefaultSchema.
func RegisterTemplate() {
	pgtest.RegisterTemplate(template, func(ctx context.Context, connString string) error {
		pool, err := pgxpool.New(ctx, connString)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := postgres.Migrate(ctx, pool, ""); err != nil {
			return err
		}
		return conduit.Migrate(ctx, pool, "")
	})
}

// NewDatabase returns a pool on a fresh migrated database, closed and
// dropped at tb's cleanup.
func NewDatabase(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return pgtest.NewPool(tb, NewConnString(tb))
}

// NewConnString returns the URL of a fresh migrated database, dropped at
// tb's cleanup.
func NewConnString(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb, pgtest.FromTemplate(template))
}

// NewStore opens the event store on db, a database migrated as
// NewDatabase's are; it is closed at tb's cleanup, after the cleanups
// registered later (an application's Close).
func NewStore(tb testing.TB, db *pgxpool.Pool) *postgres.Store {
	tb.Helper()
	store, err := postgres.New(context.Background(), db, postgres.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("close the event store: %v", err)
		}
	})
	return store
}

// Start starts Conduit on db (an event store opened by NewStore) with
// FastPasswords and MasterKey and closes it at tb's cleanup. prepare, if not nil, runs
// between conduit.New and Start (to rebuild projections, say).
func Start(tb testing.TB, db *pgxpool.Pool, prepare func(*conduit.App) error) *conduit.App {
	tb.Helper()
	return StartWith(tb, Config(tb, db), prepare)
}

// Config is the configuration Start gives Conduit on db: an event store
// opened by NewStore, ClaimsKey, MasterKey and FastPasswords.
func Config(tb testing.TB, db *pgxpool.Pool) conduit.Config {
	tb.Helper()
	return conduit.Config{Store: NewStore(tb, db), DB: db, ClaimsKey: ClaimsKey, MasterKey: MasterKey, Password: FastPasswords}
}

// StartWith starts Conduit configured as cfg (see Config) and closes it
// at tb's cleanup; prepare is as for Start.
func StartWith(tb testing.TB, cfg conduit.Config, prepare func(*conduit.App) error) *conduit.App {
	tb.Helper()
	ctx := context.Background()
	app, err := conduit.New(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if prepare != nil {
		if err := prepare(app); err != nil {
			tb.Fatal(err)
		}
	}
	if err := app.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := app.Close(context.Background()); err != nil {
			tb.Errorf("close conduit: %v", err)
		}
	})
	return app
}
