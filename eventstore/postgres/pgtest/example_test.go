package pgtest_test

import (
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// testOpenAccount is a test of an application on PostgreSQL: a store on a
// fresh database that already holds the event store's schema. (TestExample
// runs it.)
func testOpenAccount(t *testing.T) {
	store, err := postgres.New(t.Context(), pgtest.MustPool(t), postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	res, err := store.Append(t.Context(), "account-1", eventstore.NoStream,
		[]eventstore.EventData{{Type: "bank.AccountOpened", Data: []byte(`{"owner":"ada"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 {
		t.Errorf("version %d after the first event, want 1", res.Version)
	}
}

// A package's tests run on PostgreSQL once its TestMain calls Main; each
// test then asks for its own database with MustPool (or NewDatabase).
func Example() {
	// In a _test.go file of the application's package:
	//
	//	func TestMain(m *testing.M) { pgtest.Main(m) }
	//
	//	func TestOpenAccount(t *testing.T) { testOpenAccount(t) }
	_ = testOpenAccount
}
