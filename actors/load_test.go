package actors_test

import (
	"context"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// TestLoadIsOneRead: an aggregate of fewer events than a page loads with
// one read of its snapshot and stream together, on every store (the
// memory store takes the same load path as PostgreSQL), with and without
// snapshots.
func TestLoadIsOneRead(t *testing.T) {
	tests := []struct {
		name string
		opts []bankOption
	}{
		{"no snapshots", nil},
		{"snapshots", []bankOption{withAggregate(func(a *actors.AggregateType) { a.SnapshotEvery, a.SnapshotVersion = 2, 1 })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
				app := startBank(t, store, tt.opts...)
				open(t, app, "a1")
				for range 3 {
					dispatch(t, app, Deposit{ID: "a1", Amount: 1})
				}
				must(t, app.Close(context.Background()))

				s := spy(store)
				app = startBank(t, s, tt.opts...)
				if got := state(t, app, "a1"); got.Balance != 3 {
					t.Fatalf("balance after a load = %d, want 3", got.Balance)
				}
				if reads, pages := s.readsOf("account-a1"), s.pagesOf("account-a1"); reads != 1 || pages != 0 {
					t.Errorf("load: %d reads, %d of them ReadStream; want one ReadSnapshotStream", reads, pages)
				}
			})
		})
	}
}
