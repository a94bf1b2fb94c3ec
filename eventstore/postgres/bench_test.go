package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// The benchmarks compare the store with raw pgx doing the same writes on
// the same server in the same run: rows of the same shape into a table
// with the same indexes (raw_events, created LIKE the events table).
// Compare them with benchstat; BENCHMARKS.md has the figures.

// rawTable creates raw_events and a sequence for the raw baseline.
func rawTable(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	_, err := pool.Exec(b.Context(), `
		CREATE TABLE IF NOT EXISTS raw_events (LIKE cohort.events INCLUDING ALL);
		CREATE SEQUENCE IF NOT EXISTS raw_position`)
	if err != nil {
		b.Fatal(err)
	}
}

// rawInsert writes what an append writes to the events table: the same
// columns from the same arrays (ids, types, data, metadata, causation and
// correlation ids), with stream versions counted from a base.
const rawInsert = `INSERT INTO raw_events (position, event_id, stream_id, stream_version, type, data,
		metadata, causation_id, correlation_id, created_at)
	SELECT nextval('raw_position'), u.id, $1, $4 + u.ord, u.type, u.data, u.metadata, u.causation, u.correlation, now()
	  FROM unnest($2::uuid[], $5::text[], $3::jsonb[], $6::jsonb[], $7::uuid[], $8::uuid[])
	       WITH ORDINALITY AS u(id, type, data, metadata, causation, correlation, ord)`

// rawArgs are rawInsert's arguments for payloads appended to stream at
// version base.
func rawArgs(stream string, payloads [][]byte, base int64) []any {
	n := len(payloads)
	types := make([]string, n)
	meta := make([][]byte, n)
	none := make([]*uuid.UUID, n)
	for i := range types {
		types[i] = "bench.Event"
	}
	return []any{stream, newIDs(n), payloads, base, types, meta, none, none}
}

func benchPayloads(n int) [][]byte {
	p := make([][]byte, n)
	for i := range p {
		p[i] = []byte(fmt.Sprintf(`{"user_id":"%s","username":"user%d","bio":"a short biography"}`, uuid.New(), i))
	}
	return p
}

func benchEvents(payloads [][]byte) []eventstore.EventData {
	evs := make([]eventstore.EventData, len(payloads))
	for i, p := range payloads {
		evs[i] = eventstore.EventData{Type: "bench.Event", Data: p}
	}
	return evs
}

func newIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i], _ = uuid.NewV7()
	}
	return ids
}

// BenchmarkAppendBatch100: one writer appends batches of 100 events, each
// to a new stream.
func BenchmarkAppendBatch100(b *testing.B) {
	conn := newDatabase(b)
	payloads := benchPayloads(100)
	b.Run("store", func(b *testing.B) {
		s := mustOpen(b, conn, postgres.Config{})
		evs := benchEvents(payloads)
		run, i := uuid.NewString(), 0
		for b.Loop() {
			i++
			if _, err := s.Append(b.Context(), fmt.Sprintf("batch-%s-%d", run, i), eventstore.NoStream, evs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("pgx", func(b *testing.B) {
		pool := pgtest.NewPool(b, conn)
		rawTable(b, pool)
		run, i := uuid.NewString(), 0
		for b.Loop() {
			i++
			if _, err := pool.Exec(b.Context(), rawInsert, rawArgs(fmt.Sprintf("batch-%s-%d", run, i), payloads, 0)...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkAppendConcurrent50: 50 writers each append one event at a time
// to their own stream. The store shares transactions among them (group
// commit); raw pgx commits one transaction per event, each on its own
// connection.
func BenchmarkAppendConcurrent50(b *testing.B) {
	const writers = 50
	conn := newDatabase(b)
	payload := benchPayloads(1)
	run := func(b *testing.B, appendOne func(ctx context.Context, stream string, version int64) error) {
		var next atomic.Int64
		run := uuid.NewString()
		b.SetParallelism((writers + 1) / 2) // GOMAXPROCS is 2 here; 25 per proc
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			stream := fmt.Sprintf("writer-%s-%d", run, next.Add(1))
			var version int64
			for pb.Next() {
				if err := appendOne(b.Context(), stream, version); err != nil {
					b.Error(err)
					return
				}
				version++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("store", func(b *testing.B) {
		st := &statTracer{}
		s := mustOpen(b, conn, postgres.Config{Tracer: st})
		defer func() { b.Log(st) }()
		evs := benchEvents(payload)
		run(b, func(ctx context.Context, stream string, version int64) error {
			_, err := s.Append(ctx, stream, eventstore.Exact(version), evs)
			return err
		})
	})
	b.Run("pgx", func(b *testing.B) {
		cfg, err := pgxpool.ParseConfig(conn)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = writers
		pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		rawTable(b, pool)
		run(b, func(ctx context.Context, stream string, version int64) error {
			_, err := pool.Exec(ctx, rawInsert, rawArgs(stream, payload, version)...)
			return err
		})
	})
}

// BenchmarkReadAll reads $all forward in pages of 1,000 events.
func BenchmarkReadAll(b *testing.B) {
	const total = 100_000
	conn := newDatabase(b)
	s := mustOpen(b, conn, postgres.Config{})
	evs := benchEvents(benchPayloads(1000))
	for i := range total / 1000 {
		if _, err := s.Append(b.Context(), fmt.Sprintf("r-%d", i), eventstore.NoStream, evs); err != nil {
			b.Fatal(err)
		}
	}
	read := 0
	for b.Loop() {
		n := 0
		for _, err := range eventstore.AllEvents(b.Context(), s, 0, 1000) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != total {
			b.Fatalf("read %d events, want %d", n, total)
		}
		read += n
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSubscriptionLatency appends one event at a time and measures
// how long after the append returns a subscription delivers it, in the
// same process (woken directly) and in another (woken by NOTIFY); with
// five subscriptions in the process, until all five delivered it.
func BenchmarkSubscriptionLatency(b *testing.B) {
	for _, c := range []struct {
		where string
		subs  int
	}{{"same-process", 1}, {"other-process", 1}, {"same-process-5-subs", 5}} {
		b.Run(c.where, func(b *testing.B) {
			conn := newDatabase(b)
			writer := mustOpen(b, conn, postgres.Config{})
			reader := writer
			if c.where == "other-process" {
				reader = mustOpen(b, conn, postgres.Config{})
			}
			subs := make([]eventstore.Subscription, c.subs)
			for i := range subs {
				sub, err := reader.Subscribe(b.Context(), eventstore.SubscribeOptions{StartFrom: eventstore.Current})
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
				subs[i] = sub
			}
			evs := benchEvents(benchPayloads(1))
			var lat []time.Duration
			for b.Loop() {
				res, err := writer.Append(b.Context(), "latency", eventstore.Any, evs)
				if err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				for _, sub := range subs {
					awaitPosition(b, sub, res.LastPosition)
				}
				lat = append(lat, time.Since(committed))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// awaitPosition receives from sub, acknowledging, until it delivered the
// event at position pos.
func awaitPosition(b *testing.B, sub eventstore.Subscription, pos int64) {
	b.Helper()
	for {
		select {
		case batch := <-sub.Events():
			if err := sub.Ack(batch[len(batch)-1]); err != nil {
				b.Fatal(err)
			}
			if batch[len(batch)-1].Position >= pos {
				return
			}
		case <-time.After(10 * time.Second):
			b.Fatal("event not delivered")
		}
	}
}

// BenchmarkSubscriptionFanout: 10 writers append one event at a time to
// their own streams while five $all subscriptions in the same process
// (Conduit has five) deliver everything; it reports appends/s until every
// subscription delivered the last event.
func BenchmarkSubscriptionFanout(b *testing.B) {
	const writers, subscriptions = 10, 5
	conn := newDatabase(b)
	s := mustOpen(b, conn, postgres.Config{})
	evs := benchEvents(benchPayloads(1))
	var delivered sync.WaitGroup
	var last atomic.Int64
	last.Store(-1)
	written := make(chan struct{})
	for range subscriptions {
		sub, err := s.Subscribe(b.Context(), eventstore.SubscribeOptions{StartFrom: eventstore.Current})
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		delivered.Go(func() {
			var seen int64
			for {
				select {
				case batch := <-sub.Events():
					if err := sub.Ack(batch[len(batch)-1]); err != nil {
						b.Error(err)
						return
					}
					seen = batch[len(batch)-1].Position
				case <-written:
					if seen < last.Load() {
						awaitPosition(b, sub, last.Load())
					}
					return
				}
			}
		})
	}
	run := uuid.NewString()
	b.ResetTimer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("fanout-%s-%d", run, w)
			for i := w; i < b.N; i += writers {
				res, err := s.Append(context.Background(), stream, eventstore.Any, evs)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				last.Store(max(last.Load(), res.LastPosition))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(written)
	delivered.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// statTracer reports the group commits of a benchmark.
type statTracer struct {
	mu               sync.Mutex
	batches, appends int
	dur              time.Duration
}

func (s *statTracer) BatchCommitted(appends, _ int, d time.Duration, _ error) {
	s.mu.Lock()
	s.batches++
	s.appends += appends
	s.dur += d
	s.mu.Unlock()
}

func (s *statTracer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.batches == 0 {
		return "no batches"
	}
	return fmt.Sprintf("%d batches, %.1f appends/batch, %v/batch", s.batches, float64(s.appends)/float64(s.batches), s.dur/time.Duration(s.batches))
}
