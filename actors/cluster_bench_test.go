package actors_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// BenchmarkClusterDispatch: one dispatcher, one event per command, on the
// in-memory store (so that the runtime's own costs show): an App alone,
// then a member of a two-member cluster dispatching to an aggregate whose
// shard is on itself (no encoding) and on the other member (JSON in
// protobuf over gRPC, both ways).
func BenchmarkClusterDispatch(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, app *actors.App, id string) {
		actorstest.Dispatch(b, app, Increment{ID: id})
		for b.Loop() {
			if _, err := app.Dispatch(ctx, Increment{ID: id}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("alone", func(b *testing.B) {
		run(b, actorstest.Start(b, counterApp(b, memory.New(), actors.AggregateType{}, nil)), "x")
	})
	agent := test.NewInMemAgent()
	store := memory.New()
	member := func(s actors.EventStore) *actors.App {
		return actorstest.Start(b, counterApp(b, s, actors.AggregateType{}, func(c *actors.Config) {
			c.Cluster = &actors.ClusterConfig{Name: "bench", Provider: test.NewTestProvider(agent)}
		}))
	}
	a, other := member(store), member(store.Connect())
	_ = other
	// An aggregate whose shard is on a, and one whose shard is on other.
	var local, remote string
	for i := 0; local == "" || remote == ""; i++ {
		id := fmt.Sprintf("c%d", i)
		before := actors.LiveAggregates(a)
		actorstest.Dispatch(b, a, Increment{ID: id})
		if actors.LiveAggregates(a) > before {
			local = id
		} else {
			remote = id
		}
	}
	b.Run("cluster-local", func(b *testing.B) { run(b, a, local) })
	b.Run("cluster-remote", func(b *testing.B) { run(b, a, remote) })
}
