package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/cluster"
)

// TestMemberWatch: a dispatch waiting on a member learns when the member
// leaves the topology, and not before; an address never seen in a known
// topology counts as gone at once, one seen before the first topology
// does not.
func TestMemberWatch(t *testing.T) {
	isClosed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	member := func(host string, port int32) *cluster.Member {
		return &cluster.Member{Id: host, Host: host, Port: port}
	}
	w := &memberWatch{live: make(map[string]bool), gone: make(map[string]chan struct{})}
	early := w.goneCh("10.0.0.1:7000")
	if isClosed(early) {
		t.Fatal("gone before any topology arrived")
	}
	w.update([]*cluster.Member{member("10.0.0.1", 7000), member("10.0.0.2", 7000)})
	b := w.goneCh("10.0.0.2:7000")
	if isClosed(early) || isClosed(b) {
		t.Fatal("a member of the topology counts as gone")
	}
	if !isClosed(w.goneCh("10.0.0.3:7000")) {
		t.Error("an address outside a known topology does not count as gone")
	}
	w.update([]*cluster.Member{member("10.0.0.2", 7000)})
	if !isClosed(early) {
		t.Error("the member that left: its waiters were not told")
	}
	if isClosed(b) {
		t.Error("the member that stayed counts as gone")
	}
}
