package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

// slow is how long a test waits for what should take a heartbeat interval
// or two: generous, for a loaded machine.
const slow = 15 * time.Second

// longTTL is a TTL no test waits out: a member that disappears from a
// topology under it was removed by a write (left, superseded), not expired.
const longTTL = 120 * time.Second

// fast is a configuration whose heartbeats come often.
func fast(ttl time.Duration) clusterpg.Config {
	return clusterpg.Config{TTL: ttl, HeartbeatInterval: 100 * time.Millisecond}
}

// mustJoinNodes starts n members (see mustJoin) and waits until each sees
// all of them.
func mustJoinNodes(t *testing.T, pool *pgxpool.Pool, cfg clusterpg.Config, n int) []*node {
	t.Helper()
	var nodes []*node
	for range n {
		nodes = append(nodes, mustJoin(t, pool, cfg, 0))
	}
	for _, nd := range nodes {
		nd.view.mustSee(t, slow, ids(nodes...)...)
	}
	return nodes
}

// status returns the status of a member's row.
func status(t *testing.T, pool *pgxpool.Pool, id string) string {
	t.Helper()
	var s string
	err := pool.QueryRow(t.Context(), `SELECT status FROM cohort_cluster.members WHERE cluster_name = $1 AND member_id = $2`,
		clusterName, id).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestThreeMembersSeeEachOther: three members on 127.0.0.1 join through
// the table, and each one's topology holds all three, with their
// addresses.
func TestThreeMembersSeeEachOther(t *testing.T) {
	pool := mustPool(t)
	mustSeeAddresses(t, mustJoinNodes(t, pool, fast(longTTL), 3))
}

// mustSeeAddresses fails t unless every node's topology gives each member
// its address.
func mustSeeAddresses(t *testing.T, nodes []*node) {
	t.Helper()
	for _, nd := range nodes {
		nd.view.mu.Lock()
		members := nd.view.members
		nd.view.mu.Unlock()
		for _, m := range members {
			other := nodes[slices.IndexFunc(nodes, func(n *node) bool { return n.id() == m.Id })]
			if m.Address() != other.c.ActorSystem.Address() {
				t.Errorf("member %s seen at %s, want %s", m.Id, m.Address(), other.c.ActorSystem.Address())
			}
		}
	}
}

// TestGracefulShutdownLeaves: a member shut down gracefully marks its row
// left, and the others drop it at their next read, long before its TTL.
func TestGracefulShutdownLeaves(t *testing.T) {
	pool := mustPool(t)
	nodes := mustJoinNodes(t, pool, fast(longTTL), 3)
	if err := nodes[2].provider.Shutdown(true); err != nil {
		t.Fatal(err)
	}
	nodes[2].c.ActorSystem.Shutdown()
	nodes[0].view.mustSee(t, slow, ids(nodes[:2]...)...)
	nodes[1].view.mustSee(t, slow, ids(nodes[:2]...)...)
	if s := status(t, pool, nodes[2].id()); s != "left" {
		t.Errorf("status %q after a graceful shutdown, want left", s)
	}
}

// TestFrozenMemberExpires: a member that stops heartbeating (frozen) is
// removed from the others' topology once its TTL has passed; when it
// thaws, it finds itself expelled and feeds no topology any more.
func TestFrozenMemberExpires(t *testing.T) {
	pool := mustPool(t)
	const ttl = 2 * time.Second
	nodes := mustJoinNodes(t, pool, fast(ttl), 3)
	thaw := clusterpg.Freeze(nodes[2].provider)
	t.Cleanup(thaw) // before the node's cleanup, which waits for its loop
	frozeAt := time.Now()
	nodes[0].view.mustSee(t, ttl+slow, ids(nodes[:2]...)...)
	nodes[1].view.mustSee(t, slow, ids(nodes[:2]...)...)
	t.Logf("frozen member removed %v after the freeze (TTL %v)", time.Since(frozeAt).Round(time.Millisecond), ttl)
	if err := nodes[2].provider.Err(); err != nil {
		t.Fatalf("expelled while frozen: %v", err)
	}
	thaw()
	nodes[2].mustBeExpelled(t, slow, clusterpg.CauseMissedHeartbeats)
	// Its row stays expired: no later heartbeat renews it.
	nodes[0].view.mustSee(t, slow, ids(nodes[:2]...)...)
}

// TestRestartedNodeIsNewMember: a node restarted on the same address
// while its predecessor's session is still open (a process on a host cut
// off from the network: its session lingers, its row stays alive) joins as
// a new member, and its predecessor leaves every topology at once, without
// waiting for its TTL; the predecessor, back, finds itself superseded.
func TestRestartedNodeIsNewMember(t *testing.T) {
	pool := mustPool(t)
	nodes := mustJoinNodes(t, pool, fast(longTTL), 3)
	old := nodes[2]
	thaw := clusterpg.Freeze(old.provider)
	t.Cleanup(thaw) // before the node's cleanup, which waits for its loop
	restarted := mustJoin(t, pool, fast(longTTL), old.port(t))
	if restarted.id() == old.id() {
		t.Fatalf("restarted node has its predecessor's member id %s", old.id())
	}
	want := ids(nodes[0], nodes[1], restarted)
	for _, nd := range []*node{nodes[0], nodes[1], restarted} {
		nd.view.mustSee(t, slow, want...)
	}
	if s := status(t, pool, old.id()); s != "dead" {
		t.Errorf("predecessor's status %q, want dead", s)
	}
	thaw()
	old.mustBeExpelled(t, slow, clusterpg.CauseSuperseded)
}

// TestExpelledByTheTable: a member whose row is marked dead or removed
// learns it at its next heartbeat, with the cause, and stops.
func TestExpelledByTheTable(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		cause clusterpg.ExpelCause
	}{
		{"superseded", `UPDATE cohort_cluster.members SET status = 'dead' WHERE member_id = $1`, clusterpg.CauseSuperseded},
		{"left", `UPDATE cohort_cluster.members SET status = 'left' WHERE member_id = $1`, clusterpg.CauseRemoved},
		{"deleted", `DELETE FROM cohort_cluster.members WHERE member_id = $1`, clusterpg.CauseRemoved},
		{"expired", `UPDATE cohort_cluster.members SET heartbeat_at = heartbeat_at - ttl WHERE member_id = $1`, clusterpg.CauseExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := mustPool(t)
			nd := mustJoin(t, pool, fast(longTTL), 0)
			if _, err := pool.Exec(t.Context(), tt.sql, nd.id()); err != nil {
				t.Fatal(err)
			}
			nd.mustBeExpelled(t, slow, tt.cause)
		})
	}
}

// TestNewChecksSchema: New refuses a database without the members table,
// and Migrate makes it acceptable.
func TestNewChecksSchema(t *testing.T) {
	pool := pgtest.MustPool(t, pgtest.Empty())
	_, err := clusterpg.New(t.Context(), pool, clusterpg.Config{Schema: "members_here"})
	if !errors.Is(err, pgmigrate.ErrSchemaMismatch) {
		t.Fatalf("New on an empty database: %v, want ErrSchemaMismatch", err)
	}
	if err := clusterpg.Migrate(t.Context(), pool, "members_here"); err != nil {
		t.Fatal(err)
	}
	if _, err := clusterpg.New(t.Context(), pool, clusterpg.Config{Schema: "members_here"}); err != nil {
		t.Fatalf("New after Migrate: %v", err)
	}
}

// TestStartTwice: a provider serves one start.
func TestStartTwice(t *testing.T) {
	pool := mustPool(t)
	nd := mustJoin(t, pool, fast(longTTL), 0)
	if err := nd.provider.StartMember(nd.c); !errors.Is(err, clusterpg.ErrStarted) {
		t.Errorf("second StartMember: %v, want ErrStarted", err)
	}
	if err := nd.provider.Shutdown(true); err != nil {
		t.Fatal(err)
	}
	if err := nd.provider.Shutdown(true); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := nd.provider.StartClient(nd.c); !errors.Is(err, clusterpg.ErrStarted) {
		t.Errorf("StartClient after Shutdown: %v, want ErrStarted", err)
	}
}

// TestConfigValidate: Validate refuses what New cannot run with.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  clusterpg.Config
		ok   bool
	}{
		{"zero", clusterpg.Config{}, true},
		{"short TTL, default interval", clusterpg.Config{TTL: time.Second}, true},
		{"interval a quarter of TTL", clusterpg.Config{TTL: 4 * time.Second, HeartbeatInterval: time.Second}, true},
		{"interval over a quarter of TTL", clusterpg.Config{TTL: 3 * time.Second, HeartbeatInterval: time.Second}, false},
		{"interval over default TTL", clusterpg.Config{HeartbeatInterval: 3 * time.Second}, false},
		{"negative TTL", clusterpg.Config{TTL: -time.Second}, false},
		{"negative interval", clusterpg.Config{HeartbeatInterval: -time.Second}, false},
		{"tiny TTL", clusterpg.Config{TTL: 50 * time.Millisecond}, false},
		{"long schema", clusterpg.Config{Schema: string(make([]byte, 64))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, clusterpg.ErrInvalidConfig) {
				t.Errorf("%v is not ErrInvalidConfig", err)
			}
		})
	}
}

// TestClientFollowsWithoutRow: a cluster client sees the members and
// their changes, and has no row of its own.
func TestClientFollowsWithoutRow(t *testing.T) {
	pool := mustPool(t)
	nodes := mustJoinNodes(t, pool, fast(longTTL), 2)
	client := newNode(t, pool, fast(longTTL), 0)
	client.c.Remote = remote.NewRemote(client.c.ActorSystem, client.c.Config.RemoteConfig)
	if err := client.provider.StartClient(client.c); err != nil {
		t.Fatal(err)
	}
	client.view.mustSee(t, slow, ids(nodes...)...)
	if err := nodes[1].provider.Shutdown(true); err != nil {
		t.Fatal(err)
	}
	client.view.mustSee(t, slow, nodes[0].id())
	var rows int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM cohort_cluster.members`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("%d rows, want the two members'", rows)
	}
}
