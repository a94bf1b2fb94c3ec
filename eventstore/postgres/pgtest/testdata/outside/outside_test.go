package outside_test

import (
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// appendOne appends an event to a new stream and reads it back.
func appendOne(t *testing.T, store actors.EventStore) {
	t.Helper()
	if _, err := store.Append(t.Context(), "account-1", eventstore.NoStream,
		[]eventstore.EventData{{Type: "AccountOpened", Data: []byte(`{"owner":"ada"}`)}}); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadStream(t.Context(), "account-1", eventstore.ReadOptions{Count: 10})
	if err != nil || len(evs) != 1 || evs[0].Type != "AccountOpened" {
		t.Fatalf("read back %v, %v; want the one event", evs, err)
	}
}

func TestMustPool(t *testing.T) {
	store, err := postgres.New(t.Context(), pgtest.MustPool(t), postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	appendOne(t, store)
}

func TestStores(t *testing.T) {
	actorstest.Stores(t, appendOne)
}
