package actors_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
)

// memberTransfer is the transfer process, recording on which member each
// instance handled an event.
type memberTransfer struct {
	Transfer
	handled func(instance string)
}

func (p *memberTransfer) Handle(ev actors.Event) ([]any, error) {
	if id := ev.Metadata["transfer"]; id != "" {
		p.handled(id)
	}
	return p.Transfer.Handle(ev)
}

// instanceMembers records the members each process instance ran on.
type instanceMembers struct {
	mu sync.Mutex
	on map[string]map[int]bool
}

func (m *instanceMembers) record(member int) func(string) {
	return func(id string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.on[id] == nil {
			m.on[id] = make(map[int]bool)
		}
		m.on[id][member] = true
	}
}

// members returns the members some instance ran on.
func (m *instanceMembers) members() map[int]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := make(map[int]int)
	for _, on := range m.on {
		for i := range on {
			n[i]++
		}
	}
	return n
}

// TestClusterSpreadsProcessInstances: a process manager's instances are
// cluster identities, spread over the members while its coordinator runs
// on one; every transfer completes once (the balances are exact), also
// after a member leaves with instances under way, whose events the others
// then handle.
func TestClusterSpreadsProcessInstances(t *testing.T) {
	const n, funds = 30, 1000
	seen := &instanceMembers{on: make(map[string]map[int]bool)}
	tc := startCluster(t, 3, clusterOption{register: func(t *testing.T, i int, app *actors.App) {
		registerTransfers(t, app, actors.ProcessManagerConfig{
			New: func() actors.ProcessManager { return &memberTransfer{handled: seen.record(i)} },
		})
	}})
	a := tc.apps[0]
	open(t, a, "src", "dst")
	dispatch(t, a, Deposit{ID: "src", Amount: funds})
	transfers := func(round string, apps []*actors.App) {
		t.Helper()
		for k := range n {
			requestTransfer(t, apps[k%len(apps)], fmt.Sprintf("%s-%d", round, k), "src", "dst", 1)
		}
	}
	settled := func(app *actors.App, moved int) {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("%d transferred after %v", moved, time.Since(start).Round(time.Millisecond)) }()
		eventually(t, 2*patience, fmt.Sprintf("%d transferred", moved), func() bool {
			return freshState(t, app, "dst").Balance == moved
		})
		if got := freshState(t, app, "src").Balance; got != funds-moved {
			t.Fatalf("src balance %d, want %d: a transfer withdrew twice or not at all", got, funds-moved)
		}
	}
	transfers("first", tc.apps)
	settled(a, n)
	on := seen.members()
	t.Logf("instances handled per member: %v", on)
	if len(on) < 2 {
		t.Fatalf("every instance ran on one member: %v", on)
	}

	// Member 2 leaves while transfers are under way; the others finish
	// them and take its instances over.
	transfers("second", tc.apps[:2])
	closing := time.Now()
	must(t, tc.apps[2].Close(t.Context()))
	t.Logf("member 2 closed in %v", time.Since(closing).Round(time.Millisecond))
	settled(a, 2*n)
	transfers("third", tc.apps[:2])
	settled(tc.apps[1], 3*n)
}

// TestClusterProcessDeliveriesKeepState: an instance that is a cluster
// identity gets the events queued for it in deliveries of up to
// BatchSize, reported once; across deliveries of hundreds of events, and
// a member leaving under them, it applies each event once: its persisted
// state counts them all, exactly.
func TestClusterProcessDeliveriesKeepState(t *testing.T) {
	const rounds, perRound = 6, 100
	jobs := &jobTracker{}
	tc := startCluster(t, 3, clusterOption{register: func(t *testing.T, i int, app *actors.App) {
		registerJobs(t, app, jobs, i)
	}})
	for r := range rounds {
		round := make([]string, perRound)
		for k := range round {
			round[k] = fmt.Sprintf("r%d-%d", r, k)
		}
		apps := tc.apps
		if r >= rounds/2 {
			apps = tc.apps[:2]
		}
		dispatch(t, apps[r%len(apps)], StartQuietJobs{ID: "jobs", Instance: "hot", Refs: round})
		if r == rounds/2-1 {
			must(t, tc.apps[2].Close(t.Context())) // with deliveries under way
		}
	}
	var st Relay
	eventually(t, 2*patience, fmt.Sprintf("the instance's state counts %d events", rounds*perRound), func() bool {
		return processState(t, tc.store[0], "relay", "hot", &st) && st.Jobs >= rounds*perRound
	})
	if st.Jobs != rounds*perRound {
		t.Fatalf("the instance applied %d events, want %d: some twice", st.Jobs, rounds*perRound)
	}
}
