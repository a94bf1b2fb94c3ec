// Package httpapi is Conduit's RealWorld HTTP API (see the RealWorld
// OpenAPI specification) on a chi router, over the use cases of package
// conduit.
//
// Requests authenticate with "Authorization: Token <jwt>": an HS256 JWT
// issued at registration and login (Tokens). A request without the header
// is anonymous; one with an invalid, expired or forged token, or a token
// of an unknown user, is refused with 401 on every endpoint.
//
// Every error goes through one function, writeError, which maps the use
// cases' errors to statuses and RealWorld's {"errors":{field:[msg]}}
// bodies: 422 for invalid input (malformed JSON, wrong types, invalid
// values, taken usernames), 401, 403, 404, 413 for bodies over the limit,
// 503 with Retry-After when the database is unreachable or restarting or
// the application does not answer in time (conduit.ErrUnavailable), and
// 500 with a generic message — details of internal failures are logged,
// never sent.
//
// Every response carries X-Content-Type-Options: nosniff and X-Request-Id
// (the client's if well-formed, else generated). With a TracerProvider,
// each request starts a trace of its own, linked to an incoming
// traceparent, unless Config.TrustTraceContext lets it continue the
// caller's.
package httpapi
