package actors_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// placedNodeEnv, set to a database's connection string, makes the test
// binary run as node c of a placed cluster (runPlacedNode).
const placedNodeEnv = "COHORT_ACTORS_PLACED_NODE_DB"

// runPlacedNode runs node c of the placement tests' cluster {a, b, c},
// with their handlers and process manager: it prints "ready" once a
// strongly consistent dispatch returned (every handler, its own included,
// processed it), then "GOT name position" for every event its handlers
// and process manager handle, until it is killed.
func runPlacedNode(conn string) {
	tb := exitTB{}
	ctx := context.Background()
	app := newBank(tb, helperStore(tb, conn), withConfig(func(c *actors.Config) {
		c.Placement = actors.NewRendezvousPlacement("c", "a", "b", "c")
	}))
	out := make(chan string, 1024)
	for _, name := range placedHandlers {
		must(tb, app.RegisterHandler(actors.HandlerConfig{Name: name, Consistency: actors.Strong,
			Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
				out <- fmt.Sprintf("GOT %s %d", name, ev.Position)
				return nil
			})}))
	}
	must(tb, app.RegisterProcessManager(actors.ProcessManagerConfig{Name: placedProcess, Consistency: actors.Strong,
		New: func() actors.ProcessManager {
			return &placedWelcome{report: func(p int64) { out <- fmt.Sprintf("GOT %s %d", placedProcess, p) }}
		},
		Interested: welcomeRoutes}))
	must(tb, app.Start(ctx))
	_, err := app.Dispatch(ctx, OpenAccount{ID: "node-c"}, actors.WithConsistency(actors.Strong))
	must(tb, err)
	fmt.Println("ready")
	for line := range out {
		fmt.Println(line)
	}
}

// startPlacedNode starts node c in another process; its handlings are
// recorded in h.
func startPlacedNode(t *testing.T, conn string, h *handlings) *os.Process {
	t.Helper()
	c, lines := startHelper(t, placedNodeEnv, conn)
	go func() {
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 3 && f[0] == "GOT" {
				p, _ := strconv.ParseInt(f[2], 10, 64)
				h.record(f[1], "c", p)
			}
		}
	}()
	return c
}

// TestPlacementMovesOffFrozenNode: node c, in another process, runs its
// share of the handlers, then freezes (SIGSTOP). The membership drops it
// (fed by hand here): a and b own its handlers now, and take them over
// as soon as c's leases expire, unrenewed; strongly consistent dispatches
// through a and b wait for that and then complete. Thawed, c still
// believes it owns them, but it holds no lease: the events after the move
// are handled once, by a or b.
func TestPlacementMovesOffFrozenNode(t *testing.T) {
	three, two := owners("a", "b", "c"), owners("a", "b")
	conn := actorstest.PostgresDatabase(t)
	stores := []actors.EventStore{actorstest.PostgresStore(t, conn), actorstest.PostgresStore(t, conn)}
	h := newHandlings()
	nodes := startPlaced(t, stores, []string{"a", "b"}, []string{"a", "b", "c"}, h, time.Minute)
	c := startPlacedNode(t, conn, h)
	checkHandledBy(t, h, three, dispatchRound(t, nodes, "three"))

	must(t, c.Signal(syscall.SIGSTOP))
	frozen := time.Now()
	for _, n := range nodes {
		n.place.SetMembers(n.id, []string{"a", "b"})
	}
	moved := dispatchRound(t, nodes, "frozen")
	t.Logf("c's handlers processed on a and b %v after c froze (its lease TTL: the store's default)",
		time.Since(frozen).Round(time.Millisecond))
	checkHandledBy(t, h, two, moved)

	must(t, c.Signal(syscall.SIGCONT))
	after := dispatchRound(t, nodes, "thawed")
	time.Sleep(time.Second) // c would have handled them by now
	checkHandledBy(t, h, two, after)
}
