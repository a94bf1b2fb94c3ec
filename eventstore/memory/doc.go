// Package memory is an in-memory [eventstore.Store], for tests and for
// running Cohort without a database.
//
// [New] creates an empty storage and returns a handle on it; [Store.Connect]
// returns another handle on the same storage, as if a second process had
// connected to the same database. Handles share events, streams, snapshots
// and persistent subscriptions' checkpoints and locks; closing a handle
// closes only the subscriptions opened through it and so releases the
// persistent subscriptions it held to subscribers on other handles. A
// persistent subscription is held by one handle until it closes: all
// handles live in one process, which cannot be frozen while another runs,
// so there are no leases to expire and no fencing (its subscriptions are
// not eventstore.Leased, and handlers' contexts carry no lease).
//
// Positions are dense from 1 (hard deletes leave gaps). Nothing survives the
// process.
package memory
