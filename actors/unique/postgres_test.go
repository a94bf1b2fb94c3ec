package unique_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) {
	pgtest.RegisterTemplate("eventstore", func(ctx context.Context, connString string) error {
		pool, err := pgxpool.New(ctx, connString)
		if err != nil {
			return err
		}
		defer pool.Close()
		return postgres.Migrate(ctx, pool, "")
	})
	pgtest.Main(m)
}

// TestClaimsAcrossProcesses: two stores with their own pools on one
// database stand for two processes; of concurrent claims on one value
// through both, exactly one wins.
func TestClaimsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDatabase(t, pgtest.FromTemplate("eventstore"))
	var claims []*unique.Claims
	for range 2 {
		store, err := postgres.New(ctx, pgtest.NewPool(t, db), postgres.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		claims = append(claims, unique.New(store, mustStreams(t, testKey)))
	}
	for round := range 20 {
		value := fmt.Sprint("value", round)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = claims[i%2].Claim(ctx, "username", value, fmt.Sprint("owner", i)) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, unique.ErrTaken):
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d claims won, want 1", round, won)
		}
	}
}
