// Package admin serves a Cohort application's operations endpoints, meant
// for a loopback listener apart from the public API: a live actors page
// (self-contained, its assets embedded), its JSON API, the Prometheus
// metrics, and pprof. Given a Rebuilder, the page also lists the
// application's projections, each with a button that rebuilds it online.
//
//	GET /                     the live actors page
//	GET /api/state            actors, handlers, slowest recent commands (JSON)
//	GET /api/chain?correlation=ID
//	                          the causal chain of a correlation id (JSON)
//	GET /api/projections      projections: generation, position, lag, rebuild progress and ETA (JSON)
//	POST /api/projections/{name}/rebuild
//	                          starts an online rebuild (202); refused from another origin
//	GET /metrics              metrics in the Prometheus text format
//	GET /debug/pprof/...      the Go profiler
package admin
