package postgres_test

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
)

// A node joins a protoactor cluster whose membership is in PostgreSQL, and
// shuts down when it is expelled or when ctx ends.
func Example() {
	run := func(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
		if err := clusterpg.Migrate(ctx, pool, ""); err != nil {
			return err
		}
		provider, err := clusterpg.New(ctx, pool, clusterpg.Config{Logger: log})
		if err != nil {
			return err
		}
		system := actor.NewActorSystem()
		c := cluster.New(system, cluster.Configure("orders", provider, disthash.New(),
			remote.Configure("0.0.0.0", 8090, remote.WithAdvertisedHost("10.0.0.7:8090"))))
		c.StartMember() // joins: inserts this node's row and starts heartbeating
		select {
		case <-ctx.Done():
			c.Shutdown(true) // marks the row left: the others drop it at once
			return nil
		case <-provider.Expelled():
			c.Shutdown(false)
			return provider.Err() // an *ExpelledError: restart the process to join anew
		}
	}
	_ = run
}
