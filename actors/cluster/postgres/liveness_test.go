package postgres_test

import (
	"slices"
	"syscall"
	"testing"
	"time"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// mustJoinWithProcess starts two members in this process and one in a
// member process, all with ttl, and waits until both of this process's see
// all three.
func mustJoinWithProcess(t *testing.T, ttl time.Duration) ([]*node, *memberProcess) {
	t.Helper()
	conn := pgtest.NewDatabase(t, pgtest.FromTemplate(template))
	nodes := mustJoinNodes(t, pgtest.NewPool(t, conn), fast(ttl), 2)
	proc := startMemberProcess(t, conn, ttl)
	for _, nd := range nodes {
		nd.view.mustSee(t, slow, append(ids(nodes...), proc.id)...)
	}
	return nodes, proc
}

// TestKilledMemberLeavesAtOnce: a member process killed with SIGKILL is
// dropped by the others within a few heartbeats, though its TTL (30 s) is
// far from over: its database session ended with it.
func TestKilledMemberLeavesAtOnce(t *testing.T) {
	const ttl = 30 * time.Second
	nodes, proc := mustJoinWithProcess(t, ttl)
	killed := proc.signal(t, syscall.SIGKILL)
	for _, nd := range nodes {
		nd.view.mustSee(t, slow, ids(nodes...)...) // slow is half the TTL
	}
	t.Logf("killed member removed %v after SIGKILL (TTL %v, heartbeat interval %v)",
		time.Since(killed).Round(time.Millisecond), ttl, fast(ttl).HeartbeatInterval)
}

// TestStoppedMemberWaitsForTTL: a member process frozen with SIGSTOP keeps
// its database session, and the others drop it only once its TTL has
// passed; when it resumes, it finds itself expelled for missed heartbeats.
func TestStoppedMemberWaitsForTTL(t *testing.T) {
	const ttl = 6 * time.Second
	nodes, proc := mustJoinWithProcess(t, ttl)
	stopped := proc.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { _ = proc.cmd.Process.Signal(syscall.SIGCONT) })
	// A killed member is dropped within a few heartbeat intervals; this
	// one is still there many intervals later. (Its last heartbeat was
	// about one interval before the stop, and its row expires about a TTL
	// after that: the wait leaves room for heartbeats late under load.)
	time.Sleep(ttl / 4)
	for _, nd := range nodes {
		if !slices.Contains(nd.view.ids(), proc.id) {
			t.Fatalf("stopped member dropped %v after SIGSTOP, before its TTL %v", time.Since(stopped).Round(time.Millisecond), ttl)
		}
	}
	for _, nd := range nodes {
		nd.view.mustSee(t, ttl+slow, ids(nodes...)...)
	}
	t.Logf("stopped member removed %v after SIGSTOP (TTL %v, heartbeat interval %v)",
		time.Since(stopped).Round(time.Millisecond), ttl, fast(ttl).HeartbeatInterval)
	proc.signal(t, syscall.SIGCONT)
	proc.mustSay(t, slow, "EXPELLED missed heartbeats")
}

// TestLostConnectionExpels: a live member whose database session is
// terminated (pg_terminate_backend) is dropped by the others at their next
// read, as a killed one is, and expels itself at its next heartbeat
// instead of going on as a member that the others no longer see.
func TestLostConnectionExpels(t *testing.T) {
	pool := mustPool(t)
	nodes := mustJoinNodes(t, pool, fast(longTTL), 2)
	var terminated bool
	err := pool.QueryRow(t.Context(), `SELECT pg_terminate_backend(l.pid)
		FROM cohort_cluster.members m JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
			AND l.objsubid = 2 AND l.objid = m.lock_key::oid
		WHERE m.cluster_name = $1 AND m.member_id = $2`, clusterName, nodes[1].id()).Scan(&terminated)
	if err != nil || !terminated {
		t.Fatalf("terminating the member's session: %v, %v", terminated, err)
	}
	nodes[0].view.mustSee(t, slow, nodes[0].id())
	nodes[1].mustBeExpelled(t, slow, clusterpg.CauseConnectionLost)
}
