package projectors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// mustLease subscribes persistently to store as name and returns the
// subscription once it holds its lease, and the lease.
func mustLease(t *testing.T, store *postgres.Store, name string) (eventstore.Subscription, eventstore.Lease) {
	t.Helper()
	sub, err := store.Subscribe(t.Context(), eventstore.SubscribeOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if l, ok := sub.(eventstore.Leased).Lease(); ok {
			return sub, l
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s holds no lease", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProjectorFencedByLease: a projector's transaction is fenced by the
// lease in its context. Once the subscription has passed to another
// process, a batch handled under the old lease (a process that resumes
// after a freeze) fails with ErrLeaseLost and writes no row; under the new
// lease it is written.
func TestProjectorFencedByLease(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	if err := postgres.Migrate(ctx, f.db, ""); err != nil {
		t.Fatal(err)
	}
	open := func() *postgres.Store {
		s, err := postgres.New(ctx, f.db, postgres.Config{LockPollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	old, stale := mustLease(t, open(), "users")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	_, fresh := mustLease(t, open(), "users")

	batch := []actors.Event{{Payload: users()[0], Position: 1, CreatedAt: f.now}}
	users := f.procs[0]
	if users.Name() != "users" {
		t.Fatalf("first projector is %s", users.Name())
	}
	var lost *eventstore.LeaseLostError
	if err := users.HandleEvents(eventstore.WithLease(ctx, stale), batch); !errors.As(err, &lost) || !errors.Is(err, eventstore.ErrLeaseLost) {
		t.Fatalf("projecting under a lost lease: %v, want a *LeaseLostError", err)
	}
	count := func() (n int) {
		if err := f.db.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("a fenced batch wrote %d users", n)
	}
	if err := users.HandleEvents(eventstore.WithLease(ctx, fresh), batch); err != nil {
		t.Fatal(err)
	}
	if err := users.HandleEvents(context.WithoutCancel(ctx), batch); err != nil {
		t.Fatal(err) // no lease (the memory store, a test): not fenced
	}
	if n := count(); n != 1 {
		t.Fatalf("the holder's batch wrote %d users, want 1", n)
	}
}
