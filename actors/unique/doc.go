// Package unique keeps values unique across an application's aggregates
// and processes — usernames, emails, slugs — with the event store as the
// only arbiter.
//
// A claim on a value is a stream of its own, "unique-<namespace>-<value>",
// created by appending one event with the expected version "no stream".
// The store lets exactly one of any number of concurrent appends create a
// stream, in this process or any other, so exactly one claimant wins; the
// others get a *TakenError. Releasing a claim hard-deletes its stream,
// which removes its event from the store and frees the value.
//
// An aggregate can instead claim and release values in the same atomic
// append as its own events, with ClaimWrite and ReleaseWrite (see
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
package unique
