package actors

import (
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestConfigDefaults: the documented defaults.
func TestConfigDefaults(t *testing.T) {
	c := Config{Store: memory.New()}.withDefaults()
	if c.DispatchTimeout != 5*time.Second || c.Shards != 16 || c.MaxLiveAggregates != 100_000 ||
		c.ShutdownTimeout != 10*time.Second || c.Registry == nil || c.Logger == nil {
		t.Errorf("defaults = %+v", c)
	}
	a := AggregateType{Name: "x"}.withDefaults()
	if a.StreamPrefix != "x-" || a.ConflictRetries != 5 {
		t.Errorf("aggregate defaults = %+v", a)
	}
	h := HandlerConfig{Name: "h"}.withDefaults()
	if h.Concurrency != 1 || h.BatchSize != 100 || h.HandleTimeout != 30*time.Second || h.OnError == nil ||
		h.PartitionBy(Event{StreamID: "s"}) != "s" || h.StartFrom.IsCurrent() {
		t.Errorf("handler defaults = %+v", h)
	}
	p := ProcessManagerConfig{Name: "p"}.withDefaults()
	if p.IdleTimeout != time.Minute || p.MaxLiveInstances != 10_000 || p.BatchSize != 100 || p.HandleTimeout != 30*time.Second {
		t.Errorf("process manager defaults = %+v", p)
	}
}

// TestShardsForSmallBounds: with a bound on live aggregates smaller than
// the shards, fewer shards are used so that the bound holds.
func TestShardsForSmallBounds(t *testing.T) {
	for _, tt := range []struct{ shards, max, kinds, wantShards, wantPer int }{
		{16, 100_000, 1, 16, 6250},
		{16, 3, 1, 3, 1},
		{16, 10, 2, 5, 1},
		{4, 1, 2, 1, 1}, // below one per type: one each
	} {
		app, err := New(Config{Store: memory.New(), Shards: tt.shards, MaxLiveAggregates: tt.max})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tt.kinds {
			app.RegisterAggregate(AggregateType{Name: string(rune('a' + i)), New: func() Aggregate { return nil }})
		}
		if err := app.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, k := range app.aggregates {
			if len(k.shards) != tt.wantShards {
				t.Errorf("%+v: %d shards, want %d", tt, len(k.shards), tt.wantShards)
			}
		}
		app.Close(t.Context())
	}
}

// TestRetryPolicy: exponential backoff up to the limit, then stop.
func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy(4, 10*time.Millisecond, 50*time.Millisecond)
	var got []string
	for attempt := 1; attempt <= 4; attempt++ {
		got = append(got, p(Failure{Attempts: attempt}).String())
	}
	want := []string{"retry after 10ms", "retry after 20ms", "retry after 40ms", "stop"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("decisions %q, want %q", got, want)
			break
		}
	}
	if d := RetryPolicy(100, time.Second, time.Minute)(Failure{Attempts: 40}); d.delay != time.Minute {
		t.Errorf("large attempt: %v", d)
	}
}
