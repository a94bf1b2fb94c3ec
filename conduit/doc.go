// Package conduit assembles Conduit on the actors runtime and offers its
// use cases — register, log in, follow, publish, favorite, comment, ... —
// to the HTTP API and to in-process callers such as benchmarks.
//
// New builds the application on the adapters its caller built and owns
// (cmd/conduit: the PostgreSQL event store and the read model's pool; see
// Config): the aggregates, the author workflow, the read-model projectors
// and the handler that frees unique values. Benchmarks and tools that run
// some handlers alone or load users in bulk call NewTool instead (see
// ToolOptions); a server's Config holds only what a server sets. Every command is dispatched with
// strong consistency, so a use case that writes returns only once the read
// model shows the write, and its caller (or the caller's next request)
// reads its own writes without waiting. An account's use case answers
// with the user as its command left them (the aggregate's state the
// dispatch returns), not by reading the read model again, and a caller
// that has just read the user making the request passes it in the
// context (WithCurrentUser) so that UpdateUser does not read it again.
//
// Usernames, emails and slugs are unique: a use case claims the value
// (package unique) before it dispatches the command that uses it, releases
// the claim if the command definitely failed, and the claims handler
// releases old values when events say they are no longer used. Claim
// streams are named by a keyed hash of the value (Config.ClaimsKey), so
// the event store holds no email in plain; Start moves the claims an
// earlier version named in plain once.
//
// DeleteUser deletes and forgets a user: their claims are released with
// the deletion, the read model drops their row and follows and shows
// their articles and comments by projectors.DeletedUsername, and the
// runtime (or Config.Forgetter) forgets their personal data in the events.
//
// Errors: invalid input is a validation.Errors (field -> messages), a
// missing resource wraps ErrNotFound, a resource of another user
// ErrForbidden, a failed login ErrInvalidCredentials, a password hash
// refused because Config.MaxHashes are running or waiting ErrOverloaded,
// a write that kept losing to concurrent writes to the same aggregate past
// the runtime's retries (nothing written) ErrConflict, and a database or
// runtime that cannot answer now ErrUnavailable. Anything else is an
// internal failure.
package conduit
