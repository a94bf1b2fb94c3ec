// Package eventstore defines Cohort's event store: streams of events with
// optimistic concurrency, a global order over all streams ($all), links,
// soft and hard deletes, snapshots, transient and persistent
// subscriptions, and the wrapped data keys of crypto-shredding
// ([KeyStore]).
//
// The package holds only the domain types, the errors and the small
// interfaces an implementation satisfies. Implementations live in
// subpackages: [github.com/cohort-dev/cohort/eventstore/postgres] persists
// events in PostgreSQL, [github.com/cohort-dev/cohort/eventstore/memory]
// keeps them in memory. Both pass the conformance suite in
// [github.com/cohort-dev/cohort/eventstore/storetest].
//
// Versions and positions start at 1. A stream's version is the number of
// events in it; [NoStream] (0) is the version of a stream that does not
// exist. The global position orders every event of every stream; positions
// increase in commit order as seen by readers of $all but may have gaps.
package eventstore
