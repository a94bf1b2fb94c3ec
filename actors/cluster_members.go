package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// memberWatch follows the cluster's topology so that a dispatch waiting
// for a member learns at once that the member is gone: a request sent to
// a member that died is otherwise lost without a word, and its caller
// waits out its deadline.
type memberWatch struct {
	mu    sync.Mutex
	known bool            // a topology has arrived
	live  map[string]bool // member addresses of the last topology
	gone  map[string]chan struct{}
}

// watchMembers subscribes a new memberWatch to the system's topology
// events; the subscription ends with the actor system.
func watchMembers(system *actor.ActorSystem) *memberWatch {
	w := &memberWatch{live: make(map[string]bool), gone: make(map[string]chan struct{})}
	system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ClusterTopology); ok {
			w.update(t.Members)
		}
	})
	return w
}

// update records the members of a topology and closes the channels of
// the addresses no longer among them.
func (w *memberWatch) update(members []*cluster.Member) {
	live := make(map[string]bool, len(members))
	for _, m := range members {
		live[m.Address()] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.known, w.live = true, live
	for addr, ch := range w.gone {
		if !live[addr] {
			close(ch)
			delete(w.gone, addr)
		}
	}
}

// closed is a channel that is always closed.
var closed = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// goneCh returns a channel that is closed once the member at addr is not
// in the cluster's topology (at once if it is known to be gone already).
func (w *memberWatch) goneCh(addr string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.known && !w.live[addr] {
		return closed
	}
	ch, ok := w.gone[addr]
	if !ok {
		ch = make(chan struct{})
		w.gone[addr] = ch
	}
	return ch
}
