package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// StoreMetrics records the PostgreSQL event store's group commits (it
// satisfies postgres.Tracer): appends and events per transaction, commit
// latency, failed commits.
type StoreMetrics struct {
	appends, events metric.Int64Histogram
	duration        metric.Float64Histogram
}

// NewStoreMetrics creates the instruments on mp.
func NewStoreMetrics(mp metric.MeterProvider) (*StoreMetrics, error) {
	m := mp.Meter("github.com/cohort-dev/cohort/eventstore/postgres")
	appends, err := m.Int64Histogram("cohort.eventstore.batch.appends",
		metric.WithDescription("Appends per group-commit transaction."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
	if err != nil {
		return nil, err
	}
	events, err := m.Int64Histogram("cohort.eventstore.batch.events",
		metric.WithDescription("Events per group-commit transaction."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 20000))
	if err != nil {
		return nil, err
	}
	duration, err := m.Float64Histogram("cohort.eventstore.commit.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of group-commit transactions, by outcome."),
		metric.WithExplicitBucketBoundaries(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1))
	if err != nil {
		return nil, err
	}
	return &StoreMetrics{appends: appends, events: events, duration: duration}, nil
}

// BatchCommitted records one group commit.
func (s *StoreMetrics) BatchCommitted(appends, events int, d time.Duration, err error) {
	ctx := context.Background()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.appends.Record(ctx, int64(appends))
	s.events.Record(ctx, int64(events))
	s.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("outcome", outcome)))
}
