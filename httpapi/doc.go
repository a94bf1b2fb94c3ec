// Package httpapi is Conduit's RealWorld HTTP API (see the RealWorld
// OpenAPI specification) on a chi router, over the use cases of package
// conduit.
//
// Requests authenticate with "Authorization: Token <jwt>": an HS256 JWT
// issued at registration and login (Tokens). A request without the header
// is anonymous; one with an invalid, expired or forged token, a token of
// an unknown user, or a token issued before its user's last change of
// password, is refused with 401 on every endpoint. Each token carries a
// keyed digest of its user's password hash, checked against the users
// read model; the answer to a change of password carries a fresh token.
// That read is the request's only read of its user: handlers take the
// user from the request's session, and use cases from the context
// (conduit.WithCurrentUser).
//
// Beyond the RealWorld spec, DELETE /api/user deletes and forgets the
// caller (conduit.App.DeleteUser) and answers 204 with no body; their
// tokens stop working as it returns, so a second DELETE is 401, and
// their articles and comments stay under projectors.DeletedUsername.
//
// Every error goes through one function, writeError, which maps the use
// cases' errors to statuses and RealWorld's {"errors":{field:[msg]}}
// bodies: 422 for invalid input (malformed JSON, wrong types, invalid
// values, taken usernames), 401, 403, 404, 409 for a write that lost to
// concurrent writes to the same resource past the runtime's retries
// (conduit.ErrConflict: nothing written, safe to try again), 413 for
// bodies over the limit, 429 with Retry-After for a client over a limit,
// 503 with Retry-After
// when the database is unreachable or restarting, the application is
// overloaded or stopping, or it does not answer in time
// (conduit.ErrUnavailable, conduit.ErrOverloaded), and 500 with a generic
// message — details of internal failures are logged, never sent.
//
// Limits (see Limits): failed logins are counted per client address and
// per account before the password is checked, so a client over either
// limit costs no hash; a correct login counts for nothing. The client
// address is the connection's peer, or the X-Forwarded-For of a trusted
// proxy. An optional per-address request rate applies to every endpoint.
//
// Every response carries X-Content-Type-Options: nosniff and X-Request-Id
// (the client's if well-formed, else generated). With a TracerProvider,
// each request starts a trace of its own, linked to an incoming
// traceparent, unless Config.TrustTraceContext lets it continue the
// caller's.
package httpapi
