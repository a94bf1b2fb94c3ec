// Package actorstest helps test applications built on the actors runtime.
//
// Decisions, without a store or actors:
//
//   - Aggregate: given past events, when a command, then the events it
//     causes (Then) or its error (ThenError, ThenErrorAs). It takes the
//     aggregate's own constructor (a func() *User), and State returns
//     that type.
//   - Process: the same for a process manager: given past events, when an
//     event, then the commands it dispatches or its error. Routes checks
//     its routing (Interested); CommandFails and ThenDecision check what
//     its error policy decides when one of those commands fails or is
//     refused (Refusal), with the failure the runtime would describe (the
//     instance's state before the event included).
//
// Applications, on real stores:
//
//   - Stores runs a test twice, on the in-memory store and on PostgreSQL
//     (a fresh, migrated database per test); SharedStores gives several
//     stores on one storage, as several processes see one database.
//   - Start starts an application and closes it at the test's cleanup;
//     Dispatch dispatches and fails the test on error.
//   - WaitForEvent waits for an event in $all that matches a predicate
//     (Is matches by payload type).
//
// Tests that use PostgreSQL (Stores, SharedStores, PostgresDatabase) must
// run their package's TestMain through pgtest.Main (package
// github.com/cohort-dev/cohort/eventstore/postgres/pgtest), which starts
// one throwaway PostgreSQL cluster per test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package actorstest
