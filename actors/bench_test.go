package actors_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// The runtime's benchmarks run on PostgreSQL with durable commits and
// compare with the event store used directly, in the same run. See
// BENCHMARKS.md for figures and the commands that reproduce them.

var benchAggregates = flag.Int("bench.aggregates", 1_000_000,
	"distinct aggregates BenchmarkMillionAggregates touches")

// Counter is the benchmarks' aggregate: one event per command.
type Counter struct{ N int }

type (
	Increment   struct{ ID string }
	Incremented struct{ By int }
)

func (c *Counter) Execute(cmd any) ([]any, error) { return []any{Incremented{By: 1}}, nil }
func (c *Counter) Apply(ev any)                   { c.N += ev.(Incremented).By }

// benchApp returns a new App (not started) on store, configured by cfg
// if not nil.
func benchApp(tb testing.TB, store actors.EventStore, cfg func(*actors.Config)) *actors.App {
	tb.Helper()
	c := actors.Config{Store: store}
	if cfg != nil {
		cfg(&c)
	}
	app, err := actors.New(c)
	must(tb, err)
	return app
}

func counterApp(tb testing.TB, store actors.EventStore, typ actors.AggregateType, cfg func(*actors.Config)) *actors.App {
	tb.Helper()
	app := benchApp(tb, store, cfg)
	must(tb, actors.RegisterEvent[Incremented](app.Registry(), "bench.Incremented"))
	typ.Name, typ.New = "counter", func() actors.Aggregate { return &Counter{} }
	must(tb, app.RegisterAggregate(typ))
	must(tb, actors.Route(app, "counter", func(c Increment) string { return c.ID }))
	return app
}

// runWorkers runs workers goroutines, worker w calling op with each of
// its own aggregates (w, w+workers, ...) in turn, until ops calls in all.
func runWorkers(tb testing.TB, workers, aggregates, ops int, op func(w, aggregate int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				if next.Add(1) > int64(ops) {
					return
				}
				if err := op(w, w+(i*workers)%aggregates); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkDispatchWarm: 10 concurrent dispatchers, 1,000 aggregates in
// memory, one event per command; beside it, the same appends made directly
// to the store by 10 goroutines (the framework's overhead is the
// difference).
func BenchmarkDispatchWarm(b *testing.B) {
	const workers, aggregates = 10, 1000
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	runtime := func(b *testing.B, prefix string, cfg func(*actors.Config)) {
		app := actorstest.Start(b, counterApp(b, actorstest.PostgresStore(b, conn), actors.AggregateType{StreamPrefix: prefix}, cfg))
		for i := range aggregates {
			actorstest.Dispatch(b, app, Increment{ID: strconv.Itoa(i)})
		}
		b.ResetTimer()
		runWorkers(b, workers, aggregates, b.N, func(_, a int) error {
			_, err := app.Dispatch(ctx, Increment{ID: strconv.Itoa(a)})
			return err
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
	}
	b.Run("runtime", func(b *testing.B) { runtime(b, "rt-", nil) })
	// Every command traced: spans recorded and exported (to nowhere) by
	// the OpenTelemetry SDK's batching processor.
	b.Run("runtime-traced", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer tp.Shutdown(context.Background())
		runtime(b, "tr-", func(c *actors.Config) { c.TracerProvider = tp })
	})
	run := 0
	b.Run("store", func(b *testing.B) {
		store := actorstest.PostgresStore(b, conn)
		versions := make([]int64, aggregates) // each touched by one worker only
		data := []byte(`{"By":1}`)
		run++
		prefix := fmt.Sprintf("st%d-", run)
		b.ResetTimer()
		runWorkers(b, workers, aggregates, b.N, func(_, a int) error {
			res, err := store.Append(ctx, prefix+strconv.Itoa(a), eventstore.Exact(versions[a]),
				[]eventstore.EventData{{Type: "bench.Incremented", Data: data}})
			versions[a] = res.Version
			return err
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
}

// BenchmarkStrongConsistency dispatches one command at a time, with
// eventual and with strong consistency, and one strongly consistent
// projector writing each batch to PostgreSQL.
func BenchmarkStrongConsistency(b *testing.B) {
	conn := actorstest.PostgresDatabase(b)
	pool := pgtest.NewPool(b, conn)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE counters (id text PRIMARY KEY, n int NOT NULL);
		CREATE TABLE checkpoint (name text PRIMARY KEY, position bigint NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []actors.Consistency{actors.Eventual, actors.Strong} {
		name := map[actors.Consistency]string{actors.Eventual: "eventual", actors.Strong: "strong"}[mode]
		b.Run(name, func(b *testing.B) {
			app := counterApp(b, actorstest.PostgresStore(b, conn), actors.AggregateType{StreamPrefix: name + "-"}, nil)
			must(b, app.RegisterHandler(actors.HandlerConfig{
				Name:        "projector-" + name,
				StartFrom:   eventstore.Current,
				Consistency: actors.Strong,
				Batch: batchFunc(func(ctx context.Context, evs []actors.Event) error {
					return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						b := &pgx.Batch{}
						for _, ev := range evs {
							b.Queue(`INSERT INTO counters VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = counters.n + 1`, ev.StreamID)
						}
						b.Queue(`INSERT INTO checkpoint VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = $2`,
							"projector-"+name, evs[len(evs)-1].Position)
						return tx.SendBatch(ctx, b).Close()
					})
				}),
			}))
			actorstest.Start(b, app)
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				if _, err := app.Dispatch(ctx, Increment{ID: strconv.Itoa(i % 100)}, actors.WithConsistency(mode)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency reports the median and 99th percentile of lat, which it
// sorts.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

type batchFunc func(context.Context, []actors.Event) error

func (f batchFunc) HandleEvents(ctx context.Context, evs []actors.Event) error { return f(ctx, evs) }

// BenchmarkColdStart: 1,000 aggregates of 50 events, snapshotted every 10.
// Each iteration sends one command to each aggregate with 10 dispatchers,
// once from a freshly started application (cold: each aggregate loads its
// snapshot and the events after it) and once more with every aggregate in
// memory (warm). cold/warm is the ratio of the two times. The applications
// share one store, so that both rounds run on warm database connections:
// the figure is the cost of loading aggregates.
func BenchmarkColdStart(b *testing.B) {
	const workers, aggregates, history = 10, 1000, 50
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	typ := actors.AggregateType{StreamPrefix: "cold-", SnapshotEvery: 10, SnapshotVersion: 1}
	round := func(app *actors.App) time.Duration {
		start := time.Now()
		runWorkers(b, workers, aggregates, aggregates, func(_, a int) error {
			_, err := app.Dispatch(ctx, Increment{ID: strconv.Itoa(a)})
			return err
		})
		return time.Since(start)
	}
	// Loading aggregates reads the database from many actors at once: give
	// the store's pool room for them (pgxpool's default is 4 connections).
	store := actorstest.PostgresStore(b, conn+"&pool_max_conns=20")
	seed := counterApp(b, store, typ, nil)
	must(b, seed.Start(ctx))
	for range history {
		round(seed)
	}
	must(b, seed.Close(ctx))
	var warm, cold time.Duration
	for b.Loop() {
		app := counterApp(b, store, typ, nil)
		must(b, app.Start(ctx))
		cold += round(app)
		warm += round(app)
		must(b, app.Close(ctx))
	}
	b.ReportMetric(float64(warm.Milliseconds())/float64(b.N), "warm-ms")
	b.ReportMetric(float64(cold.Milliseconds())/float64(b.N), "cold-ms")
	b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
}

// BenchmarkMillionAggregates touches -bench.aggregates distinct aggregates
// (default 1,000,000), one command each, with 10 dispatchers and a 100 ms
// lifespan, sampling the process's resident memory; then waits for the
// lifespan to pass and counts the aggregates left in memory.
func BenchmarkMillionAggregates(b *testing.B) {
	const workers = 10
	n := *benchAggregates
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	for b.Loop() {
		app := actorstest.Start(b, counterApp(b, actorstest.PostgresStore(b, conn),
			actors.AggregateType{StreamPrefix: fmt.Sprintf("m%d-", b.N), Lifespan: actors.IdleLifespan(100 * time.Millisecond)}, nil))
		var peak atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				peak.Store(max(peak.Load(), rssKB(b)))
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		maxLive := 0
		var done atomic.Int64
		runWorkers(b, workers, n, n, func(_, a int) error {
			_, err := app.Dispatch(ctx, Increment{ID: strconv.Itoa(a)})
			if done.Add(1)%10_000 == 0 {
				maxLive = max(maxLive, actors.LiveAggregates(app))
			}
			return err
		})
		deadline := time.Now().Add(10 * time.Second)
		for actors.LiveAggregates(app) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		close(stop)
		<-sampled
		b.ReportMetric(float64(peak.Load())/1024, "peak-rss-MiB")
		b.ReportMetric(float64(maxLive), "max-live")
		b.ReportMetric(float64(actors.LiveAggregates(app)), "live-after")
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commands/s")
	}
}

// rssKB reads the process's resident set size.
func rssKB(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb
		}
	}
	return 0
}
