package cluster

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/asynkron/gofun/set"
	"google.golang.org/protobuf/proto"
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

// TestStateDeltaIsNotChangedBySetState (COHORT): a delta is serialised by
// the remote's endpoint writer after the gossip actor has moved on and may
// set the same keys again; it must not share the entries SetState writes.
func TestStateDeltaIsNotChangedBySetState(t *testing.T) {
	none := func() set.Set[string] { return set.New[string]() }
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	inf := newInformer("a", none, 3, 3, logger)
	inf.UpdateClusterTopology(&ClusterTopology{Members: []*Member{{Id: "a"}, {Id: "b"}}})
	inf.SetState(HeartbeatKey, &MemberHeartbeat{ActorStatistics: &ActorStatistics{}})
	delta := inf.GetMemberStateDelta("b")
	sent := delta.State.Members["a"].Values[HeartbeatKey].SequenceNumber
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if _, err := proto.Marshal(delta.State); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 100 {
		inf.SetState(HeartbeatKey, &MemberHeartbeat{ActorStatistics: &ActorStatistics{}})
	}
	<-done
	if got := delta.State.Members["a"].Values[HeartbeatKey].SequenceNumber; got != sent {
		t.Fatalf("the delta's heartbeat has sequence number %d after later SetState calls, want %d as sent", got, sent)
	}
}
