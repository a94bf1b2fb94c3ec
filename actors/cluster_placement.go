package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// followTopology returns the placement of a clustered App without one of
// its own: rendezvous hashing over the cluster's members, fed by every
// topology the cluster publishes, so the handlers spread over the members
// and move when one joins or leaves. Until the first topology arrives the
// node owns nothing. The subscription ends with the actor system.
func followTopology(system *actor.ActorSystem) *RendezvousPlacement {
	self := system.ID
	p := NewRendezvousPlacement(self)
	system.EventStream.Subscribe(func(evt any) {
		t, ok := evt.(*cluster.ClusterTopology)
		if !ok {
			return
		}
		ids := make([]string, 0, len(t.Members))
		for _, m := range t.Members {
			ids = append(ids, m.Id)
		}
		p.SetMembers(self, ids)
	})
	return p
}
