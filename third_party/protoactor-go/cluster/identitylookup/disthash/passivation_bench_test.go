package disthash

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"
)

// BenchmarkMassPassivation (COHORT) activates n grains on a one-member
// cluster, stops them all at once and waits until the placement actor
// has forgotten every one; it reports the time per passivated grain,
// which stays flat as n grows unless the placement actor's bookkeeping
// of a terminated grain depends on how many grains it tracks.
func BenchmarkMassPassivation(b *testing.B) {
	for _, n := range []int{1000, 4000, 16000} {
		b.Run(fmt.Sprintf("grains=%d", n), func(b *testing.B) {
			c := mustStartAlone(b)
			b.ResetTimer()
			var spent time.Duration
			for i := 0; i < b.N; i++ {
				pids := make([]*actor.PID, 0, n)
				for g := range n {
					pid := c.Get(fmt.Sprintf("grain-%d-%d", i, g), "grain")
					if pid == nil {
						b.Fatal("no activation")
					}
					pids = append(pids, pid)
				}
				start := time.Now()
				for _, pid := range pids {
					c.ActorSystem.Root.Stop(pid)
				}
				for c.VirtualActorCount() > 0 {
					time.Sleep(time.Millisecond)
				}
				spent += time.Since(start)
			}
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N*n), "ns/passivation")
		})
	}
}

// mustStartAlone starts a one-member cluster (in-memory provider) with
// the kind grain, and shuts it down at the end of tb.
func mustStartAlone(tb testing.TB) *cluster.Cluster {
	tb.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	kind := cluster.NewKind("grain", actor.PropsFromFunc(func(actor.Context) {}))
	c := cluster.New(system, cluster.Configure("bench", test.NewTestProvider(test.NewInMemAgent()), New(),
		remote.Configure("127.0.0.1", 0), cluster.WithKinds(kind)))
	c.StartMember()
	tb.Cleanup(func() { c.Shutdown(true) })
	return c
}
