package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
)

// These tests run whole protoactor cluster members (gRPC remote on a free
// port of 127.0.0.1, gossip, disthash) in this process. They run under
// -race since third_party/protoactor-go fixed the races the pinned
// protoactor-go had there (see third_party/protoactor-go/COHORT.md).

// mustStartMember starts a full cluster member on a free port of
// 127.0.0.1: the cluster's StartMember starts its remote and gossip, and
// then the provider.
func mustStartMember(tb testing.TB, pool *pgxpool.Pool, cfg clusterpg.Config) *node {
	tb.Helper()
	n := newNode(tb, pool, cfg, 0)
	n.c.StartMember() // panics if the provider fails; sleeps 1 s
	n.started = true
	return n
}

// mustStartMembers starts n full members (see mustStartMember) and waits
// until each sees all of them.
func mustStartMembers(tb testing.TB, pool *pgxpool.Pool, cfg clusterpg.Config, n int) []*node {
	tb.Helper()
	var nodes []*node
	for range n {
		nodes = append(nodes, mustStartMember(tb, pool, cfg))
	}
	for _, nd := range nodes {
		nd.view.mustSee(tb, slow, ids(nodes...)...)
	}
	return nodes
}

// TestClusterMembersSeeEachOther: three full members join, each sees all
// three with their addresses and kinds, and once one shuts down gracefully
// the other two see two, long before its TTL.
func TestClusterMembersSeeEachOther(t *testing.T) {
	pool := mustPool(t)
	nodes := mustStartMembers(t, pool, fast(longTTL), 3)
	mustSeeAddresses(t, nodes)
	nodes[0].view.mu.Lock()
	members := nodes[0].view.members
	nodes[0].view.mu.Unlock()
	for _, m := range members {
		if !m.HasKind("echo") {
			t.Errorf("member %s has kinds %v, want echo among them", m.Id, m.Kinds)
		}
	}
	nodes[2].c.Shutdown(true) // sleeps 2 s after the provider's Shutdown
	nodes[0].view.mustSee(t, slow, ids(nodes[:2]...)...)
	nodes[1].view.mustSee(t, slow, ids(nodes[:2]...)...)
	if s := status(t, pool, nodes[2].id()); s != "left" {
		t.Errorf("status %q after a graceful shutdown, want left", s)
	}
}
