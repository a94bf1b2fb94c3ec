package postgres_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
)

// withProtocol is cfg speaking protocol p.
func withProtocol(cfg clusterpg.Config, p string) clusterpg.Config {
	cfg.Protocol = p
	return cfg
}

// rows returns how many rows the members table holds.
func rows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM cohort_cluster.members`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIncompatibleMemberRefused: a node whose protocol differs from a live
// member's refuses to join, with an *IncompatibleMemberError naming both
// protocols, and writes no row; a member that left, died, or is being
// replaced at its own address does not hold the cluster to its protocol.
func TestIncompatibleMemberRefused(t *testing.T) {
	tests := []struct {
		name     string
		protocol string             // the joining node's; the member's is "v1"
		before   func(*node) func() // done to the member before the join; returns what to do at the end
		sameAddr bool               // the joining node advertises the member's address
		refused  bool
	}{
		{name: "live member", protocol: "v2", refused: true},
		{name: "live member, empty protocol", protocol: "", refused: true},
		{name: "same protocol", protocol: "v1"},
		{name: "member left", protocol: "v2", before: func(n *node) func() {
			_ = n.provider.Shutdown(true)
			return func() {}
		}},
		{name: "member died", protocol: "v2", before: func(n *node) func() {
			_ = n.provider.Close() // its session ends; its row stays alive
			return func() {}
		}},
		{name: "member restarted at its address", protocol: "v2", sameAddr: true, before: func(n *node) func() {
			return clusterpg.Freeze(n.provider) // its session stays open
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := mustPool(t)
			old := mustJoin(t, pool, withProtocol(fast(longTTL), "v1"), 0)
			if tt.before != nil {
				t.Cleanup(tt.before(old)) // before the node's cleanup
			}
			port := fakePort()
			if tt.sameAddr {
				port = old.port(t)
			}
			nd := newNode(t, pool, withProtocol(fast(longTTL), tt.protocol), port)
			err := nd.join(port)
			if !tt.refused {
				if err != nil {
					t.Fatalf("join: %v", err)
				}
				return
			}
			var inc *clusterpg.IncompatibleMemberError
			if !errors.As(err, &inc) || !errors.Is(err, clusterpg.ErrIncompatibleMember) {
				t.Fatalf("join: %v, want an *IncompatibleMemberError", err)
			}
			want := clusterpg.IncompatibleMemberError{Cluster: clusterName, Protocol: tt.protocol, MemberID: old.id(), MemberProtocol: "v1"}
			if *inc != want {
				t.Errorf("error %+v, want %+v", *inc, want)
			}
			for _, s := range []string{`"v1"`, `"` + tt.protocol + `"`, old.id(), clusterName} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not name %s", err, s)
				}
			}
			if n := rows(t, pool); n != 1 {
				t.Errorf("%d rows after a refused join, want the member's alone", n)
			}
		})
	}
}

// TestConcurrentJoinsAgreeOnProtocol: nodes of two protocols joining an
// empty cluster at once: those of one protocol join, the others are
// refused.
func TestConcurrentJoinsAgreeOnProtocol(t *testing.T) {
	pool := mustPool(t)
	var nodes []*node
	var ports []int
	for i := range 6 {
		ports = append(ports, fakePort())
		nodes = append(nodes, newNode(t, pool, withProtocol(fast(longTTL), []string{"a", "b"}[i%2]), ports[i]))
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Go(func() { errs[i] = nd.join(ports[i]) })
	}
	wg.Wait()
	joined := map[string]int{}
	for i, err := range errs {
		var inc *clusterpg.IncompatibleMemberError
		switch {
		case err == nil:
			joined[[]string{"a", "b"}[i%2]]++
		case !errors.As(err, &inc):
			t.Errorf("join %d: %v, want nil or an *IncompatibleMemberError", i, err)
		}
	}
	if len(joined) != 1 || rows(t, pool) != 3 {
		t.Errorf("joined by protocol %v with %d rows, want three nodes of one protocol", joined, rows(t, pool))
	}
}
