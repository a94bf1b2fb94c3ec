package actors_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// BenchmarkClusterDispatch: one dispatcher, one event per command, on the
// in-memory store (so that the runtime's own costs show): an App alone,
// then a member of a two-member cluster dispatching to an aggregate whose
// shard is on itself (no encoding) and on the other member (JSON in
// protobuf over gRPC, both ways).
func BenchmarkClusterDispatch(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, app *actors.App, id string) {
		actorstest.Dispatch(b, app, Increment{ID: id})
		for b.Loop() {
			if _, err := app.Dispatch(ctx, Increment{ID: id}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("alone", func(b *testing.B) {
		run(b, actorstest.Start(b, counterApp(b, memory.New(), actors.AggregateType{}, nil)), "x")
	})
	agent := test.NewInMemAgent()
	store := memory.New()
	member := func(s actors.EventStore) *actors.App {
		return actorstest.Start(b, counterApp(b, s, actors.AggregateType{}, func(c *actors.Config) {
			c.Cluster = &actors.ClusterConfig{Name: "bench", Provider: test.NewTestProvider(agent)}
		}))
	}
	a, other := member(store), member(store.Connect())
	_ = other
	// An aggregate whose shard is on a, and one whose shard is on other.
	var local, remote string
	for i := 0; local == "" || remote == ""; i++ {
		id := fmt.Sprintf("c%d", i)
		before := actors.LiveAggregates(a)
		actorstest.Dispatch(b, a, Increment{ID: id})
		if actors.LiveAggregates(a) > before {
			local = id
		} else {
			remote = id
		}
	}
	b.Run("cluster-local", func(b *testing.B) { run(b, a, local) })
	b.Run("cluster-remote", func(b *testing.B) { run(b, a, remote) })
}

// startBenchCluster starts n members of the benchmarks' cluster on the
// database of conn, each with its own store (its own pool and group
// commits, as separate processes have), and waits until each sees all n.
func startBenchCluster(b *testing.B, conn string, n int) []*actors.App {
	b.Helper()
	pool := pgtest.NewPool(b, conn)
	must(b, clusterpg.Migrate(b.Context(), pool, ""))
	var apps []*actors.App
	for range n {
		app, provider := benchClusterMember(b, pool, actorstest.PostgresStore(b, conn))
		b.Cleanup(func() { _ = provider.Close() })
		apps = append(apps, actorstest.Start(b, app))
	}
	waitClusterMembers(b, n, apps...)
	return apps
}

// waitClusterMembers waits until each of apps sees want members.
func waitClusterMembers(tb testing.TB, want int, apps ...*actors.App) {
	tb.Helper()
	eventually(tb, 30*time.Second, fmt.Sprintf("every member sees %d members", want), func() bool {
		for _, a := range apps {
			if actors.ClusterMembers(a) != want {
				return false
			}
		}
		return true
	})
}

// liveSum returns the aggregate actors live on apps together.
func liveSum(apps ...*actors.App) int {
	n := 0
	for _, a := range apps {
		n += actors.LiveAggregates(a)
	}
	return n
}

// placedIDs dispatches one command through via to counters "<prefix><i>"
// for i = 0, 1, ... until it has found n whose aggregate went live on one
// of on (so whose shard is there), and returns them; every counter it
// touched stays warm.
func placedIDs(tb testing.TB, via *actors.App, on []*actors.App, prefix string, n int) []string {
	tb.Helper()
	var ids []string
	for i := 0; len(ids) < n; i++ {
		if i > 100*n {
			tb.Fatalf("no %d of %d counters live on the members asked for", n, i)
		}
		id := prefix + strconv.Itoa(i)
		before := liveSum(on...)
		actorstest.Dispatch(tb, via, Increment{ID: id})
		if liveSum(on...) > before {
			ids = append(ids, id)
		}
	}
	return ids
}

// BenchmarkClusterThroughput: 10 concurrent dispatchers on PostgreSQL,
// one event per command, 300 warm counters, rounds of 1,000 commands: an
// App alone; then the same App as a member of a three-member cluster (in
// this process, gRPC over 127.0.0.1, membership in PostgreSQL) with
// counters whose shards are on itself (local: no encoding), on the two
// other members (remote: a gRPC round trip each), and as they come (a
// third local). Reports commands/s and the latencies' p50 and p99.
func BenchmarkClusterThroughput(b *testing.B) {
	const workers, counters, round = 10, 300, 1000
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	run := func(b *testing.B, app *actors.App, ids []string) {
		lat := make([][]time.Duration, workers)
		rounds := 0
		for b.Loop() {
			runWorkers(b, workers, len(ids), round, func(w, i int) error {
				start := time.Now()
				_, err := app.Dispatch(ctx, Increment{ID: ids[i]})
				lat[w] = append(lat[w], time.Since(start))
				return err
			})
			rounds++
		}
		b.ReportMetric(float64(rounds*round)/b.Elapsed().Seconds(), "commands/s")
		reportLatency(b, slices.Concat(lat...))
	}
	b.Run("alone", func(b *testing.B) {
		app := actorstest.Start(b, counterApp(b, actorstest.PostgresStore(b, conn), actors.AggregateType{StreamPrefix: "alone-"}, nil))
		ids := make([]string, counters)
		for i := range ids {
			ids[i] = strconv.Itoa(i)
			actorstest.Dispatch(b, app, Increment{ID: ids[i]})
		}
		run(b, app, ids)
	})
	apps := startBenchCluster(b, conn, 3)
	a := apps[0]
	local := placedIDs(b, a, apps[:1], "local-", counters)
	remote := placedIDs(b, a, apps[1:], "remote-", counters)
	b.Run("cluster-local", func(b *testing.B) { run(b, a, local) })
	b.Run("cluster-remote", func(b *testing.B) { run(b, a, remote) })
	b.Run("cluster-any", func(b *testing.B) { run(b, a, placedIDs(b, a, apps, "any-", counters)) })
}

// BenchmarkClusterActivationMemory: the heap a live counter costs, alone
// and in a three-member cluster (all in this process, so the heap holds
// each activation wherever its shard is): 5,000 new counters per
// iteration, one command each through one App by 10 dispatchers, the
// live heap measured after a collection before and after.
func BenchmarkClusterActivationMemory(b *testing.B) {
	const workers, n = 10, 5000
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	measure := func(b *testing.B, via *actors.App, apps []*actors.App) {
		var grown uint64
		var activated int
		for i := 0; b.Loop(); i++ {
			live, before := liveSum(apps...), heap()
			runWorkers(b, workers, n, n, func(_, c int) error {
				_, err := via.Dispatch(ctx, Increment{ID: fmt.Sprintf("m%d-%d", i, c)})
				return err
			})
			grown += heap() - before
			activated += liveSum(apps...) - live
		}
		if activated == 0 {
			b.Fatal("no counter stayed live")
		}
		b.ReportMetric(float64(grown)/float64(activated), "heap-B/aggregate")
		b.ReportMetric(float64(activated)/float64(b.N), "live/iteration")
	}
	b.Run("alone", func(b *testing.B) {
		app := actorstest.Start(b, counterApp(b, actorstest.PostgresStore(b, conn), actors.AggregateType{StreamPrefix: "alone-"}, nil))
		measure(b, app, []*actors.App{app})
	})
	b.Run("cluster", func(b *testing.B) {
		apps := startBenchCluster(b, conn, 3)
		measure(b, apps[0], apps)
	})
}

// BenchmarkClusterFailover: each iteration starts a third member in a
// helper process beside two in this process, activates 10 counters whose
// shards are on it, kills it (SIGKILL), and at once dispatches to each of
// them through a member in this process, again after each failure, until
// every one has succeeded. An attempt is bounded by the runtime's default
// DispatchTimeout (5 s), or by 1 s or 250 ms, as a client that gives up
// sooner and tries again would: an attempt sent before the membership
// dropped the member waits for its deadline (its outcome is unknown), and
// one sent later is served where the shard moved. Reports, over every
// counter of every iteration, the time from the kill to its first success
// (p50 and max) and the failed attempts per counter. Run it with
// -benchtime Nx.
func BenchmarkClusterFailover(b *testing.B) {
	const counters = 10
	conn := actorstest.PostgresDatabase(b)
	apps := startBenchCluster(b, conn, 2)
	a := apps[0]
	for _, attempt := range []time.Duration{5 * time.Second, time.Second, 250 * time.Millisecond} {
		b.Run(fmt.Sprintf("attempt-%v", attempt), func(b *testing.B) {
			var took []time.Duration
			var failed atomic.Int64
			for i := 0; b.Loop(); i++ {
				c, _ := startHelper(b, benchMemberEnv, conn)
				waitClusterMembers(b, 3, apps...)
				var ids []string
				for j := 0; len(ids) < counters; j++ {
					if j > 100*counters {
						b.Fatal("no counter placed on the helper member")
					}
					id := fmt.Sprintf("f%v-%d-%d", attempt, i, j)
					before := liveSum(apps...)
					actorstest.Dispatch(b, a, Increment{ID: id})
					if liveSum(apps...) == before {
						ids = append(ids, id)
					}
				}
				must(b, c.Kill())
				killed := time.Now()
				var mu sync.Mutex
				var wg sync.WaitGroup
				for _, id := range ids {
					wg.Go(func() {
						for time.Since(killed) < time.Minute {
							ctx, cancel := context.WithTimeout(context.Background(), attempt)
							_, err := a.Dispatch(ctx, Increment{ID: id})
							cancel()
							if err == nil {
								mu.Lock()
								took = append(took, time.Since(killed))
								mu.Unlock()
								return
							}
							failed.Add(1)
							time.Sleep(10 * time.Millisecond)
						}
						b.Errorf("counter %s not served within a minute of the kill", id)
					})
				}
				wg.Wait()
				waitClusterMembers(b, 2, apps...)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "failover-p50-ms")
			b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "failover-max-ms")
			b.ReportMetric(float64(failed.Load())/float64(len(took)), "failures/counter")
		})
	}
}
