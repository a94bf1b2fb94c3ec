package cluster

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/asynkron/gofun/set"
)

// TestInformersSendStateConcurrently (COHORT): every member of a process
// has its own informer, and their gossip actors send state at the same
// time; under -race nothing they share may be written unsynchronised.
func TestInformersSendStateConcurrently(t *testing.T) {
	none := func() set.Set[string] { return set.New[string]() }
	topology := &ClusterTopology{Members: []*Member{{Id: "a"}, {Id: "b"}, {Id: "c"}}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b"} {
		inf := newInformer(id, none, 3, 3, logger)
		inf.UpdateClusterTopology(topology)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				inf.SendState(func(*MemberStateDelta, *Member) {})
			}
		}()
	}
	wg.Wait()
}
