package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/wrapperspb"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// clusterName is the protoactor cluster the tests' nodes join.
const clusterName = "cohort-test"

// node is one cluster member of a test, in this process.
type node struct {
	c        *cluster.Cluster
	provider *clusterpg.Provider
	view     *view
	started  bool // by the cluster's StartMember: remote and gossip run
}

// id returns the node's member id.
func (n *node) id() string { return n.c.ActorSystem.ID }

// port returns the port the node's remote listens on.
func (n *node) port(tb testing.TB) int {
	tb.Helper()
	_, port, err := n.c.ActorSystem.GetHostPort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// view records the topology a node's member list publishes.
type view struct {
	mu      sync.Mutex
	members []*cluster.Member
	changed chan struct{} // closed and replaced on every change
}

func newView() *view { return &view{changed: make(chan struct{})} }

func (v *view) observe(evt any) {
	t, ok := evt.(*cluster.ClusterTopology)
	if !ok {
		return
	}
	v.mu.Lock()
	v.members = t.Members
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
}

// ids returns the member ids of the latest topology, sorted.
func (v *view) ids() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := make([]string, 0, len(v.members))
	for _, m := range v.members {
		ids = append(ids, m.Id)
	}
	slices.Sort(ids)
	return ids
}

// mustSee waits up to within for the node's topology to hold exactly the
// member ids want, and fails tb otherwise.
func (v *view) mustSee(tb testing.TB, within time.Duration, want ...string) {
	tb.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.After(within)
	for {
		v.mu.Lock()
		changed := v.changed
		v.mu.Unlock()
		got := v.ids()
		if slices.Equal(got, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("topology %v after %v, want %v", got, within, want)
		}
	}
}

// mustPool returns a pool on a fresh database holding the members table.
func mustPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return pgtest.MustPool(tb, pgtest.FromTemplate(template))
}

// discard is the actor systems' logger: protoactor logs every topology
// change and gossip round.
func discard(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// answerWhere is the echo kind's grain: it answers a request with the
// address of the node it lives on.
func answerWhere(ctx actor.Context) {
	if _, ok := ctx.Message().(*wrapperspb.StringValue); ok {
		ctx.Respond(wrapperspb.String(ctx.Self().Address))
	}
}

// fakePorts counts the ports handed out, from 40001, to nodes whose
// remote does not listen.
var fakePorts atomic.Int32

// newNode returns an unstarted node whose provider uses pool and cfg, its
// cluster configured for a remote on 127.0.0.1:port, its view subscribed.
func newNode(tb testing.TB, pool *pgxpool.Pool, cfg clusterpg.Config, port int) *node {
	tb.Helper()
	n, err := buildNode(tb.Context(), pool, cfg, port)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !n.c.ActorSystem.IsStopped() {
			n.crash(tb)
		}
		if err := n.provider.Close(); err != nil {
			tb.Error(err)
		}
	})
	return n
}

// buildNode is newNode without the test's cleanup, for a member process.
func buildNode(ctx context.Context, pool *pgxpool.Pool, cfg clusterpg.Config, port int) (*node, error) {
	provider, err := clusterpg.New(ctx, pool, cfg)
	if err != nil {
		return nil, err
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(discard))
	echo := cluster.NewKind("echo", actor.PropsFromFunc(answerWhere))
	c := cluster.New(system, cluster.Configure(clusterName, provider, disthash.New(),
		remote.Configure("127.0.0.1", port), cluster.WithKinds(echo)))
	n := &node{c: c, provider: provider, view: newView()}
	system.EventStream.Subscribe(n.view.observe)
	return n, nil
}

// mustJoin starts a node that advertises 127.0.0.1:port (0 for a port no
// other node of the test binary advertises) as the cluster would, but
// without its remote and gossip: the provider is started directly on the
// cluster, whose member list is protoactor's own (cluster_test.go starts
// full members).
func mustJoin(tb testing.TB, pool *pgxpool.Pool, cfg clusterpg.Config, port int) *node {
	tb.Helper()
	if port == 0 {
		port = fakePort()
	}
	n := newNode(tb, pool, cfg, port)
	if err := n.join(port); err != nil {
		tb.Fatal(err)
	}
	return n
}

// fakePort returns a port, from 40001 on, that no other node of the test
// binary advertises; nothing listens on it.
func fakePort() int { return 40000 + int(fakePorts.Add(1)) }

// join starts the node's provider as a member advertising
// 127.0.0.1:port, without remote and gossip (see mustJoin).
func (n *node) join(port int) error {
	n.c.Remote = remote.NewRemote(n.c.ActorSystem, n.c.Config.RemoteConfig)
	n.c.ActorSystem.ProcessRegistry.Address = fmt.Sprintf("127.0.0.1:%d", port)
	return n.provider.StartMember(n.c)
}

// crash stops the node as a crash would: its row is left to expire.
func (n *node) crash(tb testing.TB) {
	tb.Helper()
	if n.started {
		n.c.Shutdown(false)
	} else {
		n.c.ActorSystem.Shutdown()
	}
	if err := n.provider.Close(); err != nil {
		tb.Error(err)
	}
}

// mustBeExpelled waits up to within for the node to find itself expelled,
// and fails tb unless its Err is an *ExpelledError of its own for cause
// (which is ErrExpelled).
func (n *node) mustBeExpelled(tb testing.TB, within time.Duration, cause clusterpg.ExpelCause) {
	tb.Helper()
	select {
	case <-n.provider.Expelled():
	case <-time.After(within):
		tb.Fatalf("member %s not expelled within %v; want %v", n.id(), within, cause)
	}
	err := n.provider.Err()
	var expelled *clusterpg.ExpelledError
	if !errors.As(err, &expelled) || !errors.Is(err, clusterpg.ErrExpelled) || expelled.Cause != cause ||
		expelled.MemberID != n.id() || expelled.Cluster != clusterName {
		tb.Fatalf("Err() = %v, want an *ExpelledError of %s for %v", err, n.id(), cause)
	}
}

// ids returns the member ids of nodes.
func ids(nodes ...*node) []string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.id())
	}
	return s
}
