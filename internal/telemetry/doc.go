// Package telemetry sets up OpenTelemetry for a Cohort process from the
// standard OTEL_* environment variables: a tracer provider whose exporter
// OTEL_TRACES_EXPORTER chooses (console, otlp or none; unset means none, so
// that a process run with no configuration exports nothing), resource
// attributes from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, sampling
// from OTEL_TRACES_SAMPLER; and a meter provider read by a Prometheus
// handler. It also wraps a slog handler so that records logged with a
// context carry its trace and span ids.
//
// Libraries never call it: they take the providers as configuration. Only
// commands do, once, at start-up.
package telemetry
