package disthash

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"
)

// TestGetWithinStopsWhenOwnerLeaves (COHORT): a lookup whose activation
// request the owner never answers returns nil as soon as a topology
// without the owner arrives, so that its caller looks the identity up
// again (on its new owner) instead of waiting for its whole timeout. The
// owner here is a TCP listener that accepts connections and never
// speaks; in Cohort, the request was lost as the member list stopped the
// remote endpoint of a member that had left gracefully, and a command
// waited out its 10 s dispatch timeout.
func TestGetWithinStopsWhenOwnerLeaves(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	defer conns.Wait()
	defer silent.Close()
	conns.Add(1)
	go func() { // holds the connections it accepts, until the listener closes
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	system := actor.NewActorSystem()
	config := cluster.Configure("test-cluster", test.NewTestProvider(test.NewInMemAgent()), New(),
		remote.Configure("127.0.0.1", 0))
	c := cluster.New(system, config)
	c.Remote = remote.NewRemote(system, config.RemoteConfig)
	c.Remote.Start()
	defer c.Remote.Shutdown(false)
	manager := newPartitionManager(c)
	manager.Start()
	defer manager.Stop()

	port := silent.Addr().(*net.TCPAddr).Port
	owner := &cluster.Member{Id: "silent", Host: "127.0.0.1", Port: int32(port), Kinds: []string{"kind"}}
	manager.onClusterTopology(&cluster.ClusterTopology{Members: []*cluster.Member{owner}, TopologyHash: 1})

	const timeout = time.Minute
	got := make(chan *actor.PID, 1)
	go func() { got <- manager.GetWithin(cluster.NewClusterIdentity("id", "kind"), timeout) }()
	select {
	case pid := <-got:
		t.Fatalf("GetWithin returned %v while its owner was a member", pid)
	case <-time.After(200 * time.Millisecond):
	}

	// A topology that still holds the owner changes nothing.
	other := &cluster.Member{Id: "other", Host: "127.0.0.1", Port: 1, Kinds: []string{"other-kind"}}
	manager.onClusterTopology(&cluster.ClusterTopology{Members: []*cluster.Member{owner, other}, TopologyHash: 2})
	select {
	case pid := <-got:
		t.Fatalf("GetWithin returned %v while its owner was still a member", pid)
	case <-time.After(200 * time.Millisecond):
	}

	manager.onClusterTopology(&cluster.ClusterTopology{Members: []*cluster.Member{other}, TopologyHash: 3})
	select {
	case pid := <-got:
		if pid != nil {
			t.Errorf("GetWithin returned %v, want nil", pid)
		}
	case <-time.After(timeout / 6):
		t.Fatalf("GetWithin still waits %v after its owner left (its timeout: %v)", timeout/6, timeout)
	}
}
