package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
)

// TestDisthashLookupIsBounded: the identity lookup this module builds
// (the patched disthash of third_party/protoactor-go) bounds its wait for
// an activation by the dispatch's deadline; without the patch a dispatch
// to a dead member's shard waits 5 s whatever its timeout.
func TestDisthashLookupIsBounded(t *testing.T) {
	var l any = disthash.New()
	if _, ok := l.(boundedLookup); !ok {
		t.Fatalf("%T has no GetWithin: the lookup of a dead member's shard ignores the dispatch's deadline", l)
	}
}
