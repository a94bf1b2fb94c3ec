package actors_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

var (
	_ actors.ProgressWatcher = (*postgres.Store)(nil)
	_ actors.ProgressWatcher = (*memory.Store)(nil)
)

// checkpointCounter counts the stored checkpoints an application reads,
// and forwards progress notifications when its store has them.
type checkpointCounter struct {
	actors.EventStore
	reads atomic.Int64
}

func (c *checkpointCounter) Checkpoint(ctx context.Context, name string) (int64, error) {
	c.reads.Add(1)
	return c.EventStore.Checkpoint(ctx, name)
}

func (c *checkpointCounter) WatchProgress(fn func(string, int64)) func() {
	if w, ok := c.EventStore.(actors.ProgressWatcher); ok {
		return w.WatchProgress(fn)
	}
	return func() {}
}

// TestStrongConsistencyPushedAcrossProcesses: a strong dispatch waiting for
// a handler that runs in another application on the same store wakes on
// the progress the store pushes when the handler's checkpoint is stored; it
// reads no stored checkpoint (polling is only a safety net, after a
// second), and so returns well under the safety net's interval.
func TestStrongConsistencyPushedAcrossProcesses(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		counters := make([]*checkpointCounter, 2)
		recs := make([]*recorder, 2)
		apps := make([]*actors.App, 2)
		for i, s := range stores {
			counters[i] = &checkpointCounter{EventStore: s}
			recs[i] = &recorder{}
			apps[i] = newBank(t, counters[i])
			must(t, apps[i].RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: recs[i].handler(), Consistency: actors.Strong}))
			actorstest.Start(t, apps[i])
		}
		r := dispatch(t, apps[0], OpenAccount{ID: "first"}, actors.WithConsistency(actors.Eventual))
		eventually(t, patience, "a holder handles the first event", func() bool {
			return recs[0].positions()[r.Position] == 1 || recs[1].positions()[r.Position] == 1
		})
		other := 1
		if recs[1].positions()[r.Position] == 1 {
			other = 0
		}
		holder := 1 - other
		reads := counters[other].reads.Load()
		const n = 20
		took := make([]time.Duration, 0, n)
		for i := range n {
			start := time.Now()
			r := dispatch(t, apps[other], OpenAccount{ID: fmt.Sprintf("x%d", i)}, actors.WithConsistency(actors.Strong))
			took = append(took, time.Since(start))
			if recs[holder].positions()[r.Position] != 1 {
				t.Fatalf("strong dispatch in the other process returned before the holder processed position %d", r.Position)
			}
		}
		slices.Sort(took)
		p50, worst := took[n/2], took[n-1]
		t.Logf("strong dispatch waiting for a handler in another process: p50 %v, max %v", p50.Round(100*time.Microsecond), worst.Round(100*time.Microsecond))
		if polls := counters[other].reads.Load() - reads; polls != 0 {
			t.Errorf("the waits read stored checkpoints %d times: progress was polled, not pushed", polls)
		}
		if p50 >= 500*time.Millisecond {
			t.Errorf("p50 %v: not well under the one-second safety poll", p50)
		}
	})
}
