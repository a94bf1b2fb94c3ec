package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// crashTTL is the members' TTL in TestRequestsAfterCrash: how long the
// others count a crashed member before its row expires (long enough that
// a live member's heartbeats, due within TTL/2, are not late on a loaded
// machine under -race).
const crashTTL = 3 * time.Second

// TestRequestsAfterCrash: a member crashes (no graceful shutdown: its row
// is left to expire). Until the others remove it, a request for an
// identity it owned fails, but no later than the request's own timeout;
// once they have removed it, every such request is placed on a live
// member at once and answered from there.
func TestRequestsAfterCrash(t *testing.T) {
	nodes := mustStartMembers(t, mustPool(t), fast(crashTTL), 3)
	dead := nodes[2].c.ActorSystem.Address()
	var owned []string // identities whose grain lives on the node that crashes
	for i := 0; len(owned) < 4; i++ {
		if i == 200 {
			t.Fatalf("%d of 200 identities placed on %s, want 4", len(owned), dead)
		}
		id := fmt.Sprintf("grain-%d", i)
		if mustAsk(t, nodes[0], id, slow) == dead {
			owned = append(owned, id)
		}
	}

	kill(t, nodes[2])
	// Before the others remove it: fails (or is answered), within its
	// timeout, whether the asking node has the grain's PID cached (nodes[0]
	// asked for it) or must place it (nodes[1]).
	const short = 300 * time.Millisecond
	for _, nd := range nodes[:2] {
		for _, id := range owned[:2] {
			start := time.Now()
			at, err := ask(nd, id, short)
			took := time.Since(start)
			if took > short+2*time.Second { // generous: the bug was a 5 s wait
				t.Errorf("request for %s to a crashed member took %v (err %v), past its timeout %v", id, took, err, short)
			}
			t.Logf("before the removal, %s through %s: answered from %q, error %v, after %v", id, nd.c.ActorSystem.Address(), at, err, took)
		}
	}

	for _, nd := range nodes[:2] {
		nd.view.mustSee(t, slow, ids(nodes[:2]...)...)
	}
	// Removed: placed on a live member at once, from either node.
	const timeout = 3 * time.Second
	var slowest time.Duration
	for _, nd := range nodes[:2] {
		for _, id := range owned {
			start := time.Now()
			at, err := ask(nd, id, timeout)
			took := time.Since(start)
			slowest = max(slowest, took)
			switch {
			case err != nil:
				t.Errorf("request for %s through %s after the crashed member was removed: %v after %v", id, nd.c.ActorSystem.Address(), err, took)
			case at == dead:
				t.Errorf("request for %s answered from the crashed member %s", id, dead)
			}
		}
	}
	t.Logf("after the removal: %d requests for the crashed member's identities, the slowest answered in %v", 2*len(owned), slowest)
}

// kill stops n as a killed process stops: its remote drops every
// connection, its actor system stops, its provider stops heartbeating and
// leaves its row to expire, and nothing is said to the other members
// (n.crash shuts the cluster down, which gossips that n left).
func kill(tb testing.TB, n *node) {
	tb.Helper()
	if err := n.provider.Close(); err != nil {
		tb.Error(err)
	}
	n.c.Remote.Shutdown(false)
	n.c.ActorSystem.Shutdown()
}

// ask requests the echo grain id through n with timeout and returns the
// address of the node that answered.
func ask(n *node, id string, timeout time.Duration) (string, error) {
	res, err := n.c.Request(id, "echo", wrapperspb.String(id), cluster.WithTimeout(timeout))
	if err != nil {
		return "", err
	}
	at, ok := res.(*wrapperspb.StringValue)
	if !ok {
		return "", fmt.Errorf("answer %T, want *wrapperspb.StringValue", res)
	}
	return at.GetValue(), nil
}

// mustAsk is ask that fails tb on an error.
func mustAsk(tb testing.TB, n *node, id string, timeout time.Duration) string {
	tb.Helper()
	at, err := ask(n, id, timeout)
	if err != nil {
		tb.Fatalf("request for %s: %v", id, err)
	}
	return at
}
