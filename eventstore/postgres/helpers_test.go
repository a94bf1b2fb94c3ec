package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func pgxpoolNew(ctx context.Context, conn string) (*pgxpool.Pool, error) {
	return pgxpool.New(ctx, conn)
}

// newDatabase returns a fresh migrated database.
func newDatabase(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb, pgtest.FromTemplate(template))
}

// mustOpen opens a store with its own pool, like another process, closed at
// cleanup.
func mustOpen(tb testing.TB, conn string, cfg postgres.Config) *postgres.Store {
	tb.Helper()
	pool := pgtest.NewPool(tb, conn)
	s, err := postgres.New(tb.Context(), pool, cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}
