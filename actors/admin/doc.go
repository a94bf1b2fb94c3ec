// Package admin serves a Cohort application's operations endpoints, meant
// for a loopback listener apart from the public API: a live actors page
// (self-contained, its assets embedded), its JSON API, the Prometheus
// metrics, and pprof.
//
//	GET /                     the live actors page
//	GET /api/state            actors, handlers, slowest recent commands (JSON)
//	GET /api/chain?correlation=ID
//	                          the causal chain of a correlation id (JSON)
//	GET /metrics              metrics in the Prometheus text format
//	GET /debug/pprof/...      the Go profiler
package admin
