package cluster_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
)

// TestMemberListReadWhileUpdated (COHORT): the gossip actor, the placement
// actor and pub-sub read the member list on their own goroutines while
// the cluster provider updates it; under -race the reads must be
// synchronised with the update.
func TestMemberListReadWhileUpdated(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	c := cluster.New(system, cluster.Configure("members", test.NewTestProvider(test.NewInMemAgent()), disthash.New(),
		remote.Configure("127.0.0.1", 0)))
	c.Remote = remote.NewRemote(system, c.Config.RemoteConfig) // for its block list; not started
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 { // a stays, b-i replaces b-(i-1)
			c.MemberList.UpdateClusterTopology(cluster.Members{
				{Id: "a", Host: "127.0.0.1", Port: 1},
				{Id: fmt.Sprintf("b-%d", i), Host: "127.0.0.1", Port: int32(2 + i)},
			})
		}
	}()
	for range 100 {
		_ = c.MemberList.Members().Len()
		_ = c.MemberList.Length()
		_ = c.MemberList.ContainsMemberID("a")
		c.MemberList.BroadcastEvent(&cluster.ActivationTerminated{}, false)
	}
	wg.Wait()
	if !c.MemberList.ContainsMemberID("a") || !c.MemberList.ContainsMemberID("b-99") || c.MemberList.Length() != 2 {
		t.Fatalf("members %v after the updates, want a and b-99", c.MemberList.Members().Members())
	}
}
