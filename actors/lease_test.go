package actors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// leaseRecorder records the lease each call of a handler finds in its
// context.
type leaseRecorder struct {
	mu     sync.Mutex
	leases []eventstore.Lease
	calls  int
}

func (r *leaseRecorder) record(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if l, ok := eventstore.LeaseFrom(ctx); ok {
		r.leases = append(r.leases, l)
	}
	return nil
}

func (r *leaseRecorder) seen() (calls int, leases []eventstore.Lease) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, append([]eventstore.Lease(nil), r.leases...)
}

// TestHandlerContextCarriesLease: a persistent handler's calls carry its
// subscription's lease when the store fences subscriptions (PostgreSQL),
// so that the handler can fence its own transaction with it; a transient
// handler's, and any handler's on the memory store, carry none.
func TestHandlerContextCarriesLease(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		_, inMemory := store.(*memory.Store)
		app := newBank(t, store)
		recs := map[string]*leaseRecorder{"single": {}, "batch": {}, "transient": {}}
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "single",
			Handler: actors.HandlerFunc(func(ctx context.Context, _ actors.Event) error { return recs["single"].record(ctx) })}))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "batch",
			Batch: batchFunc(func(ctx context.Context, _ []actors.Event) error { return recs["batch"].record(ctx) })}))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "transient", Transient: true,
			Handler: actors.HandlerFunc(func(ctx context.Context, _ actors.Event) error { return recs["transient"].record(ctx) })}))
		actorstest.Start(t, app)
		dispatch(t, app, OpenAccount{ID: "a"})
		for name, r := range recs {
			eventually(t, patience, name+" handles the event", func() bool { n, _ := r.seen(); return n > 0 })
		}
		for name, r := range recs {
			_, leases := r.seen()
			want := !inMemory && name != "transient"
			if !want {
				if len(leases) > 0 {
					t.Errorf("%s: calls carry leases %+v, want none", name, leases)
				}
				continue
			}
			if len(leases) == 0 {
				t.Fatalf("%s: calls carry no lease", name)
			}
			if l := leases[0]; l.Subscription != actors.HandlerSubscription(name) || l.Token <= 0 || l.TTL <= 0 {
				t.Errorf("%s: lease %+v", name, l)
			}
		}
	})
}
