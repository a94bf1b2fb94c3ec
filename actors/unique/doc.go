// Package unique keeps values unique across an application's aggregates
// and processes — usernames, emails, slugs — with the event store as the
// only arbiter.
//
// A claim on a value is a stream of its own, named by Streams with a
// keyed hash of the namespace and the value ("claim-<namespace>-<hex of
// HMAC-SHA256>", the key from Config): neither the stream id nor the
// claim's events hold the value, so an email claimed as unique is not
// readable in the store, and nobody without the key can test a guess. It
// is created by appending one event with the expected version "no
// stream".
// The store lets exactly one of any number of concurrent appends create a
// stream, in this process or any other, so exactly one claimant wins; the
// others get a *TakenError. Releasing a claim hard-deletes its stream,
// which removes its event from the store and frees the value.
//
// An aggregate can instead claim and release values in the same atomic
// append as its own events, with Streams.ClaimWrite and ReleaseWrite (see
// actors.StreamWrite): a claim appends a Claimed event to the value's
// stream at the version it has while free (no stream, or a stream whose
// last event is a Released), a release appends a Released at the version
// the owner holds. Nothing is then claimed by a command that did not
// happen, and nothing is left to release afterwards. State tells who
// holds a value and at which version it is free; both kinds of claim
// stream are understood by every function here.
//
// The flow with Claim and Release is: claim the value, dispatch the
// command that uses it, release the claim if the command definitely
// failed, and release the old value once an event says it is no longer
// used. A process that crashes
// between a claim and its command leaves the value claimed by an owner
// that never used it; Owner tells who holds a value, so that an operator
// or a repair job can release it.
//
// Claims made before values were hashed are named in plain,
// "unique-<namespace>-<value>"; Upgrade, run at start-up, moves them to
// their keyed streams once and records a check of the key, which it
// compares on every later start: a store's claims are never read with a
// key other than the one they were made with, under which every value
// would be free.
package unique
