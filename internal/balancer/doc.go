// Package balancer is a minimal HTTP load balancer for several Conduit
// processes on one database, so that the README's three-node walk-through
// needs nothing but Go (cmd/conduit-lb serves it).
//
// It proxies each request (net/http/httputil.ReverseProxy) to the next
// backend in round-robin order among those it believes ready. It believes
// a backend ready until its readiness check (GET /readyz, every
// CheckInterval) fails or a connection to it is refused, and ready again
// once the check passes. A request whose connection could not be made was
// never sent: it goes to the next backend whatever its method. A GET or
// HEAD without a body that failed after it was sent (the connection broke)
// goes to the next backend too; any other request that failed after it
// was sent is answered 502, for its effect is unknown. Answers of the
// backends, whatever their status, are passed on as they are.
package balancer
