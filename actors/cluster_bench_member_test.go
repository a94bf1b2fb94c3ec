package actors_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
)

// The cluster benchmarks' members: counter Apps of cluster "bench",
// membership in the database's members table with the provider's
// defaults (a heartbeat a second, as Conduit's -cluster uses), in this
// process or in a helper process (runBenchMember) that a benchmark kills.

// benchMemberEnv, set to a database's connection string, makes the test
// binary run as a member of the benchmarks' cluster (runBenchMember).
const benchMemberEnv = "COHORT_ACTORS_BENCH_MEMBER_DB"

// benchClusterPrefix is the stream prefix of the cluster members'
// counters: every member registers the same aggregate type.
const benchClusterPrefix = "cl-"

// benchClusterMember returns a counter App (not started) that joins the
// benchmarks' cluster on pool's database when it starts, and its
// membership provider, which the App shuts down when it leaves.
func benchClusterMember(tb testing.TB, pool *pgxpool.Pool, store actors.EventStore) (*actors.App, *clusterpg.Provider) {
	tb.Helper()
	provider, err := clusterpg.New(context.Background(), pool, clusterpg.Config{Protocol: actors.ClusterProtocol})
	must(tb, err)
	app := counterApp(tb, store, actors.AggregateType{StreamPrefix: benchClusterPrefix}, func(c *actors.Config) {
		c.Cluster = &actors.ClusterConfig{Name: "bench", Provider: provider}
	})
	return app, provider
}

// runBenchMember runs a member of the benchmarks' cluster on the database
// of conn, prints "ready" once it has joined, and runs until killed.
func runBenchMember(conn string) {
	tb := exitTB{}
	ctx := context.Background()
	store := helperStore(tb, conn)
	pool, err := pgxpool.New(ctx, conn)
	must(tb, err)
	app, _ := benchClusterMember(tb, pool, store)
	must(tb, app.Start(ctx))
	fmt.Println("ready")
	select {}
}
