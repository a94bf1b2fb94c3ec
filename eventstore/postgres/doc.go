// Package postgres is Cohort's event store on PostgreSQL (pgx/v5).
//
// # Global order without a global lock
//
// Positions come from a sequence. Every appending transaction takes the
// store's writers' lock (a shared advisory lock) and its transaction id
// before it takes positions. A reader that reads the sequence's last value
// L and then the next transaction id N knows that every transaction
// holding a position up to L has an id below N and holds the writers'
// lock; once no holder of the lock has an id below N, all of them have
// ended and no position up to L can still appear. L is then the horizon:
// $all reads and subscriptions never go past it, so an event that commits
// late with a lower position is never skipped, and writers in any number
// of processes never wait on each other for it. The cost: an append
// transaction that runs long holds the horizon back until it ends. Other
// transactions on the cluster, however long, do not: a report, a
// migration or a projector's batch delays no subscription.
//
// The store appends only in transactions of its own, on its own
// connections: no API appends in a caller's transaction. So a caller may
// wait for the horizon (a strongly consistent dispatch, ReadAll, a
// subscription from Current) while it holds a transaction open on the same
// database, even one that wrote: that transaction never holds the writers'
// lock, and the wait does not wait for it.
//
// Appends take their streams in stream id order, whatever their expected
// versions, so that group commits of different processes never deadlock.
//
// # Group commit
//
// Appends are queued to committers that write every queued append in one
// transaction (one round trip, one fsync). Each append keeps its own
// expected-version check and outcome: a conflict fails that append alone.
// A multi-stream append (AppendStreams) is one group in that transaction:
// its streams are written or refused together, and whichever way it goes,
// the other appends of the transaction are not affected.
//
// # Live delivery
//
// After each commit the store wakes its own subscriptions directly and
// sends a NOTIFY, outside the writing transaction (NOTIFY at commit would
// serialize every writer on PostgreSQL's notification lock), which other
// processes' stores LISTEN for. Subscriptions catch up from the tables, so
// a lost notification only delays delivery until the next poll.
//
// A store reads $all once for all its $all subscriptions: one reader
// follows the horizon (woken by local commits and by other processes'
// notifications) and keeps the latest events in a bounded window, from
// which every subscription takes what it has not delivered yet. The
// reader waits for no subscription; one that falls behind the window
// reads the tables itself up to the window's start, then rejoins it.
// Subscriptions in one process share the events' bytes (Data, Metadata):
// a consumer must not modify them. Stream subscriptions read their own
// stream (its versions include links, which $all does not carry).
//
// # Persistent subscriptions
//
// A persistent subscription is held through a session advisory lock on a
// dedicated connection; when its holder dies, PostgreSQL drops the lock
// and a waiting process takes over at its next poll. Checkpoints are stored
// in batches.
package postgres
