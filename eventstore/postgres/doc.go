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
// notifications; under a stream of commits the horizon pauses after each
// observation for as long as it took, at most 5 ms, so that the commits
// meanwhile share the next observation) and keeps the latest events in a bounded window, from
// which every subscription takes what it has not delivered yet. The
// reader waits for no subscription; one that falls behind the window
// reads the tables itself up to the window's start, then rejoins it.
// Subscriptions in one process share the events' bytes (Data, Metadata):
// a consumer must not modify them. Stream subscriptions read their own
// stream (its versions include links, which $all does not carry).
//
// # Persistent subscriptions
//
// A persistent subscription is held through a lease in its row (migration
// 0012): a holder id, a fencing token that every acquisition increments,
// and an expiry by the database's clock. Each store holds its leases from
// one dedicated connection, which also holds a session advisory lock keyed
// by its holder id, and renews them every Config.LeaseRenewInterval
// (default 1 s) for Config.LeaseTTL (default 5 s). A waiting store takes a
// lease, at its next poll (Config.LockPollInterval), when it is free, when
// it has expired, or when its holder's advisory lock is gone:
//
//   - a holder that dies (its process killed, its connection lost) is
//     replaced at once, as its session ends;
//   - a holder that is frozen (SIGSTOP, a long pause, a stalled
//     connection) keeps its session, but is replaced once its lease
//     expires, at most LeaseTTL after its last renewal. The holder itself
//     stops delivering by then: it counts the TTL from the start of its
//     last successful renewal on its own clock, and reports the lease lost
//     (as a lost connection) when a renewal is late or finds it taken.
//
// The defaults weigh takeover time against false losses: a holder may miss
// four renewals in a row (a slow database, a GC pause) and keep its lease,
// and a frozen holder is replaced within about 5.3 s (TTL plus a poll).
//
// Fencing makes a holder that resumes after its lease passed on harmless,
// before it notices: checkpoints are written under the lease's token, and
// a write under a superseded token is refused with
// *eventstore.LeaseLostError; the subscription then stops delivering and
// waits for the lease again, so the new holder's checkpoint, which it read
// after taking the lease, is never overwritten by the old one. A handler
// that writes its own state in a transaction (a projector writing its rows
// and checkpoint) fences that transaction with CheckLease and the lease
// the runtime passes in its context (eventstore.LeaseFrom): the check
// fails once the lease has passed on, and until the transaction ends it
// keeps the lease where it is (a taker skips the locked row) while the
// server ends the session if the transaction idles longer than the TTL.
//
// Leases change only who delivers: delivery order, gap safety and the
// checkpoint's meaning (everything up to it was acknowledged) are as for
// any subscription, and a new holder delivers again everything after the
// stored checkpoint. Checkpoints are stored in batches.
package postgres
