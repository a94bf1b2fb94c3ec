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
// The usual flow is: claim the value, dispatch the command that uses it,
// release the claim if the command definitely failed, and release the old
// value once an event says it is no longer used. A process that crashes
// between a claim and its command leaves the value claimed by an owner
// that never used it; Owner tells who holds a value, so that an operator
// or a repair job can release it.
package unique
