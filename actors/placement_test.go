package actors_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// handlings records which node handled which event, by handler.
type handlings struct {
	mu sync.Mutex
	by map[string]map[int64][]string // handler -> position -> nodes
}

func newHandlings() *handlings { return &handlings{by: make(map[string]map[int64][]string)} }

// record records that handler name handled position on node.
func (h *handlings) record(name, node string, position int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by[name] == nil {
		h.by[name] = make(map[int64][]string)
	}
	h.by[name][position] = append(h.by[name][position], node)
}

// handler returns handler name's EventHandler on node.
func (h *handlings) handler(name, node string) actors.EventHandler {
	return actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
		h.record(name, node, ev.Position)
		return nil
	})
}

// placedWelcome is the welcome process manager, reporting each account's
// opening it handles.
type placedWelcome struct {
	welcome
	report func(position int64)
}

func (w *placedWelcome) Handle(ev actors.Event) ([]any, error) {
	w.report(ev.Position)
	return w.welcome.Handle(ev)
}

// nodes returns the nodes that handled position in handler name.
func (h *handlings) nodes(name string, position int64) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.by[name][position])
}

// twice returns the positions some handler handled more than once.
func (h *handlings) twice() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var dup []string
	for name, ps := range h.by {
		for p, nodes := range ps {
			if len(nodes) > 1 {
				dup = append(dup, fmt.Sprintf("%s@%d by %v", name, p, nodes))
			}
		}
	}
	return dup
}

// placedNode is one application of a cluster, with its placement fed by
// hand.
type placedNode struct {
	id    string
	app   *actors.App
	place *actors.RendezvousPlacement
}

// placedHandlers are the handlers of the placement tests: enough that
// rendezvous hashing gives each of three members some.
var placedHandlers = []string{"proj-0", "proj-1", "proj-2", "proj-3", "proj-4", "proj-5", "proj-6", "proj-7", "proj-8"}

// placedProcess is the process manager of the placement tests (the
// welcome process), named so that c owns it among {a, b, c}.
const placedProcess = "onboarding"

// placedSubscription names the subscription of a placed handler or of the
// process manager.
func placedSubscription(name string) string {
	if name == placedProcess {
		return actors.ProcessManagerSubscription(name)
	}
	return actors.HandlerSubscription(name)
}

// startPlaced starts one application per store, node ids, each with
// placedHandlers (every other one in two partitions) and the
// placedProcess, all strongly consistent, placed by rendezvous hashing
// over members.
func startPlaced(t *testing.T, stores []actors.EventStore, ids, members []string, h *handlings, orphan time.Duration) []*placedNode {
	t.Helper()
	nodes := make([]*placedNode, len(stores))
	for i, s := range stores {
		n := &placedNode{id: ids[i], place: actors.NewRendezvousPlacement(ids[i], members...)}
		n.app = newBank(t, s, withConfig(func(c *actors.Config) {
			c.Placement, c.OrphanTimeout = n.place, orphan
		}))
		for j, name := range placedHandlers {
			// Some partitioned: one subscription, placed as a whole.
			must(t, n.app.RegisterHandler(actors.HandlerConfig{Name: name, Handler: h.handler(name, n.id),
				Consistency: actors.Strong, Concurrency: 1 + j%2}))
		}
		must(t, n.app.RegisterProcessManager(actors.ProcessManagerConfig{Name: placedProcess, Consistency: actors.Strong,
			New: func() actors.ProcessManager {
				return &placedWelcome{report: func(p int64) { h.record(placedProcess, n.id, p) }}
			},
			Interested: welcomeRoutes}))
		actorstest.Start(t, n.app)
		nodes[i] = n
	}
	return nodes
}

// owners returns the owner among members of each placed handler and of
// the process manager.
func owners(members ...string) map[string]string {
	p := actors.NewRendezvousPlacement("", members...)
	m := make(map[string]string)
	for _, name := range append(slices.Clone(placedHandlers), placedProcess) {
		m[name] = p.Owner(placedSubscription(name))
	}
	return m
}

// settled reports whether every node's Inspect shows owner's handlers as
// owned there and elsewhere on the others.
func settled(nodes []*placedNode, owner map[string]string) bool {
	for _, n := range nodes {
		for _, info := range n.app.Inspect(context.Background()).Handlers {
			want := "elsewhere"
			if owner[info.Name] == n.id {
				want = "owned"
			}
			if info.Placement != want {
				return false
			}
		}
	}
	return true
}

// dispatchRound opens one account through each node, strongly consistent:
// each returns once every handler processed its event, wherever it runs.
// It returns the events' positions.
func dispatchRound(t *testing.T, nodes []*placedNode, round string) []int64 {
	t.Helper()
	var ps []int64
	for i, n := range nodes {
		start := time.Now()
		r := dispatch(t, n.app, OpenAccount{ID: fmt.Sprintf("%s-%d", round, i)}, actors.WithConsistency(actors.Strong))
		t.Logf("%s: strong dispatch through %s: %v", round, n.id, time.Since(start).Round(time.Millisecond))
		ps = append(ps, r.Position)
	}
	return ps
}

// checkHandledBy fails unless every placed handler and the process
// manager handled each position once, on its owner. (It first waits for
// every handling to be recorded: another process reports them late.)
func checkHandledBy(t *testing.T, h *handlings, owner map[string]string, positions []int64) {
	t.Helper()
	eventually(t, patience, "every handling recorded", func() bool {
		for name := range owner {
			for _, p := range positions {
				if len(h.nodes(name, p)) == 0 {
					return false
				}
			}
		}
		return true
	})
	for name := range owner {
		for _, p := range positions {
			if got := h.nodes(name, p); !slices.Equal(got, []string{owner[name]}) {
				t.Errorf("%s handled position %d on %v, want on its owner %s only", name, p, got, owner[name])
			}
		}
	}
}

// TestPlacementSpreadsHandlers: three applications on one store, each
// with a placement over {a, b, c}: every handler runs on its owner only,
// and the owners are spread over the three. Removed from the members, c
// hands its handlers over to their new owners among a and b (each
// finishes what it was given and frees its lease at once), which go on
// processing; back among the members, c gets them back. Strongly
// consistent dispatches complete through every node all along, and no
// event is handled twice. The process manager is placed the same way.
func TestPlacementSpreadsHandlers(t *testing.T) {
	three, two := owners("a", "b", "c"), owners("a", "b")
	for _, n := range []string{"a", "b", "c"} {
		if !slices.Contains(slices.Collect(maps.Values(three)), n) {
			t.Fatalf("no handler owned by %s among %v: pick other names", n, three)
		}
	}
	actorstest.SharedStores(t, 3, func(t *testing.T, stores []actors.EventStore) {
		h := newHandlings()
		nodes := startPlaced(t, stores, []string{"a", "b", "c"}, []string{"a", "b", "c"}, h, time.Minute)
		eventually(t, patience, "every node sees its own handlers", func() bool { return settled(nodes, three) })
		checkHandledBy(t, h, three, dispatchRound(t, nodes, "spread"))

		start := time.Now()
		for _, n := range nodes {
			n.place.SetMembers(n.id, []string{"a", "b"})
		}
		moved := dispatchRound(t, nodes, "moving") // handled by the old owner or the new one
		eventually(t, patience, "c's handlers move to a and b", func() bool { return settled(nodes, two) })
		t.Logf("hand-over settled after %v", time.Since(start).Round(time.Millisecond))
		checkHandledBy(t, h, two, dispatchRound(t, nodes, "moved"))

		for _, n := range nodes { // c comes back: its handlers open there again
			n.place.SetMembers(n.id, []string{"a", "b", "c"})
		}
		eventually(t, patience, "c's handlers come back", func() bool { return settled(nodes, three) })
		checkHandledBy(t, h, three, dispatchRound(t, nodes, "back"))
		for _, name := range placedHandlers {
			for _, p := range moved {
				if got := h.nodes(name, p); len(got) != 1 {
					t.Errorf("%s handled position %d on %v during the move, want once", name, p, got)
				}
			}
		}
		if dup := h.twice(); len(dup) > 0 {
			t.Errorf("handled twice: %v", dup)
		}
	})
}

// TestPlacementRescuesOrphans: a node that leaves without the others'
// placement knowing leaves its handlers without a holder; after
// OrphanTimeout the others take them over anyway, so they keep processing.
// Once the placement drops the node, each goes to its owner.
func TestPlacementRescuesOrphans(t *testing.T) {
	three, two := owners("a", "b", "c"), owners("a", "b")
	actorstest.SharedStores(t, 3, func(t *testing.T, stores []actors.EventStore) {
		h := newHandlings()
		orphan := 300 * time.Millisecond
		nodes := startPlaced(t, stores, []string{"a", "b", "c"}, []string{"a", "b", "c"}, h, orphan)
		eventually(t, patience, "every node sees its own handlers", func() bool { return settled(nodes, three) })
		ctx, cancel := context.WithTimeout(context.Background(), actorstest.CloseTimeout)
		defer cancel()
		must(t, nodes[2].app.Close(ctx)) // c leaves; a and b still count it in
		live := nodes[:2]
		start := time.Now()
		ps := dispatchRound(t, live, "orphaned") // waits for c's handlers too
		t.Logf("c's handlers processed after %v (OrphanTimeout %v)", time.Since(start).Round(time.Millisecond), orphan)
		for _, name := range placedHandlers {
			if three[name] != "c" {
				continue
			}
			for _, p := range ps {
				if got := h.nodes(name, p); len(got) != 1 || got[0] == "c" {
					t.Errorf("%s handled position %d on %v, want once on a or b", name, p, got)
				}
			}
		}
		rescued := 0
		for _, n := range live {
			for _, info := range n.app.Inspect(context.Background()).Handlers {
				if info.Placement == "rescued" {
					rescued++
				}
			}
		}
		if rescued == 0 {
			t.Error("Inspect shows no rescued handler")
		}

		for _, n := range live {
			n.place.SetMembers(n.id, []string{"a", "b"})
		}
		eventually(t, patience, "the rescued handlers go to their owners", func() bool { return settled(live, two) })
		checkHandledBy(t, h, two, dispatchRound(t, live, "placed"))
		if dup := h.twice(); len(dup) > 0 {
			t.Errorf("handled twice: %v", dup)
		}
	})
}

// TestPlacementSeedsProgressElsewhere: a node starting after another has
// processed events knows, at once, how far the handlers that run on the
// other node are (from their stored checkpoints), as it knows its own.
func TestPlacementSeedsProgressElsewhere(t *testing.T) {
	two := owners("a", "b")
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		h := newHandlings()
		a := startPlaced(t, stores[:1], []string{"a"}, []string{"a", "b"}, h, time.Minute)[0]
		r := dispatch(t, a.app, OpenAccount{ID: "early"}, actors.WithConsistency(actors.Eventual))
		for name, owner := range two {
			if owner != "a" {
				continue
			}
			eventually(t, patience, name+" stores its checkpoint", func() bool {
				cp, err := stores[0].Checkpoint(t.Context(), placedSubscription(name))
				return err == nil && cp >= r.Position
			})
		}
		b := startPlaced(t, stores[1:], []string{"b"}, []string{"a", "b"}, h, time.Minute)[0]
		for _, info := range b.app.Inspect(t.Context()).Handlers {
			if two[info.Name] == "a" && info.Position < r.Position {
				t.Errorf("b sees %s (on a) at %d, want at least %d", info.Name, info.Position, r.Position)
			}
		}
	})
}

// TestPlacementMetric: the cohort.subscription.placed gauge says, per
// placed handler, whether this node runs it (1) or not (0), and why
// (cohort.placement: owned, rescued, elsewhere).
func TestPlacementMetric(t *testing.T) {
	two := owners("a", "b")
	reader := sdkmetric.NewManualReader()
	h := newHandlings()
	place := actors.NewRendezvousPlacement("a", "a", "b")
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	app := newBank(t, store, withConfig(func(c *actors.Config) {
		c.Placement, c.OrphanTimeout = place, time.Hour
		c.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	}))
	for _, name := range placedHandlers {
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: name, Handler: h.handler(name, "a")}))
	}
	actorstest.Start(t, app)
	var rm metricdata.ResourceMetrics
	must(t, reader.Collect(t.Context(), &rm))
	got := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "cohort.subscription.placed" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				name, _ := dp.Attributes.Value(actors.AttrHandlerName)
				why, _ := dp.Attributes.Value(actors.AttrPlacement)
				got[name.AsString()] = fmt.Sprintf("%d %s", dp.Value, why.AsString())
			}
		}
	}
	for _, name := range placedHandlers {
		want := "0 elsewhere"
		if two[name] == "a" {
			want = "1 owned"
		}
		if got[name] != want {
			t.Errorf("%s: placed %q, want %q", name, got[name], want)
		}
	}
}

// TestPlacementHandsBackToSlowOwner: a node that starts after the others
// have rescued its handlers (it was slow to start, longer than
// OrphanTimeout) gets them back: a rescuer hands a rescued handler back
// once after another OrphanTimeout, and the owner, waiting for the lease,
// takes it.
func TestPlacementHandsBackToSlowOwner(t *testing.T) {
	three := owners("a", "b", "c")
	actorstest.SharedStores(t, 3, func(t *testing.T, stores []actors.EventStore) {
		h := newHandlings()
		orphan := 300 * time.Millisecond
		members := []string{"a", "b", "c"}
		early := startPlaced(t, stores[:2], members[:2], members, h, orphan)
		eventually(t, patience, "c's handlers rescued by a or b", func() bool {
			for _, n := range early {
				for _, info := range n.app.Inspect(context.Background()).Handlers {
					if info.Placement == "rescued" {
						return true
					}
				}
			}
			return false
		})
		late := startPlaced(t, stores[2:], members[2:], members, h, orphan)
		nodes := append(early, late...)
		eventually(t, patience, "c owns its handlers", func() bool { return settled(nodes, three) })
		checkHandledBy(t, h, three, dispatchRound(t, nodes, "back"))
	})
}
