// Package storetest is the conformance suite every [eventstore.Store]
// implementation passes.
//
// An implementation's tests call [Run] with a function that prepares a
// fresh, empty storage and returns an [Opener] on it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Opener {
//			db := newEmptyDatabase(t)
//			return func(tb testing.TB) eventstore.Store { return connect(tb, db) }
//		})
//	}
//
// Each call of the Opener must return a new handle on the same storage, as if
// another process had connected to the same database; the suite uses two
// handles to test the global order under concurrent writers and the
// exclusivity of persistent subscriptions. The suite closes every handle it
// opens.
//
// The suite tests only what the eventstore package promises: it does not
// assume that positions are dense or start at 1, compares JSON
// semantically, and gives asynchronous deliveries a few seconds to arrive.
//
// [Collect] is also useful to tests of code built on subscriptions.
package storetest
