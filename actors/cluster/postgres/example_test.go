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
// shuts down when it is expelled or when ctx ends. A node of another
// protocol than the live members' is refused at the start.
func Example() {
	// startMember starts c as a member; the cluster's StartMember panics
	// when the provider refuses to join.
	startMember := func(c *cluster.Cluster) (err error) {
		defer func() {
			if r := recover(); r != nil {
				e, ok := r.(error)
				if !ok {
					panic(r)
				}
				err = e
			}
		}()
		c.StartMember() // joins: inserts this node's row and starts heartbeating
		return nil
	}
	run := func(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
		if err := clusterpg.Migrate(ctx, pool, ""); err != nil {
			return err
		}
		provider, err := clusterpg.New(ctx, pool, clusterpg.Config{Protocol: "orders/1", Logger: log})
		if err != nil {
			return err
		}
		system := actor.NewActorSystem()
		c := cluster.New(system, cluster.Configure("orders", provider, disthash.New(),
			remote.Configure("0.0.0.0", 8090, remote.WithAdvertisedHost("10.0.0.7:8090"))))
		if err := startMember(c); err != nil {
			c.Shutdown(false)
			return err // an *IncompatibleMemberError when live members speak another protocol
		}
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
