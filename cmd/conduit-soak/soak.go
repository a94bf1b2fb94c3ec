package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduitload"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/httpapi"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

// soakMasterKey is the master key of the soak's Conduit: its database
// holds made-up users only.
var soakMasterKey = []byte("conduit-soak master key, public.")

// config is the command's configuration.
type config struct {
	Duration    time.Duration
	Interval    time.Duration
	Settle      time.Duration // idle time after the load before the final measurement
	Workers     int
	Users       int     // per worker
	Articles    int     // per worker, the bound of a steady load
	Comments    int     // live comments per worker, the bound of a steady load
	Grow        bool    // no bounds: the data grows, the heap is not judged
	ReadShare   float64 // share of reads
	API         string  // a running server; empty runs Conduit in process
	DatabaseURL string  // the in-process Conduit's database; empty starts a throwaway cluster
	PgBin       string
	Password    password.Params
	Seed        uint64
	// Leak thresholds: goroutines that may remain after the load, and how
	// much the live heap may grow from the start of the load to its end.
	MaxGoroutineGrowth int
	MaxHeapGrowth      float64
}

func parseConfig(args []string) (config, error) {
	cfg := config{Password: password.Params{Memory: 64, Time: 1, Threads: 1}}
	fs := flag.NewFlagSet("conduit-soak", flag.ContinueOnError)
	fs.DurationVar(&cfg.Duration, "duration", time.Minute, "how long to hold the load")
	fs.DurationVar(&cfg.Interval, "interval", 5*time.Second, "reporting interval")
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "idle time after the load before the final measurement")
	fs.IntVar(&cfg.Workers, "workers", 8, "concurrent workers, each one request at a time")
	fs.IntVar(&cfg.Users, "users", 6, "users each worker registers")
	fs.IntVar(&cfg.Articles, "articles", 20, "articles per worker: beyond them the load retitles instead of publishing")
	fs.IntVar(&cfg.Comments, "comments", 40, "live comments per worker: beyond them the load deletes comments instead of adding them")
	fs.BoolVar(&cfg.Grow, "grow", false, "let the data grow without bound (the live heap then grows with it and is not judged)")
	fs.Float64Var(&cfg.ReadShare, "read-share", 0.3, "share of requests that are reads (0..1)")
	fs.StringVar(&cfg.API, "api", "", "drive the running server at this API URL (…/api) instead of Conduit in process")
	fs.StringVar(&cfg.DatabaseURL, "database", "", "PostgreSQL URL for the in-process Conduit (it migrates and writes there); default: a throwaway local cluster")
	fs.StringVar(&cfg.PgBin, "pg-bin", "", "PostgreSQL server binaries of the throwaway cluster (default: found on PATH or in /usr/lib/postgresql/*/bin)")
	memory := fs.Uint("hash-memory", 64, "Argon2id memory per password hash, in KiB (in process; low by default, to measure Conduit rather than Argon2)")
	passes := fs.Uint("hash-time", 1, "Argon2id passes per password hash")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the load's choices (0: random)")
	fs.IntVar(&cfg.MaxGoroutineGrowth, "max-goroutine-growth", 25, "goroutines allowed to remain after the load and the settle time")
	fs.Float64Var(&cfg.MaxHeapGrowth, "max-heap-growth", 1.5, "factor by which the live heap may grow from the end of the warm-up (the first third) to the end of a steady load")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case cfg.Duration <= 0 || cfg.Interval <= 0 || cfg.Settle < 0:
		return config{}, errors.New("-duration and -interval must be positive, -settle not negative")
	case cfg.Workers <= 0 || cfg.Users <= 0 || cfg.Articles <= 0 || cfg.Comments <= 0:
		return config{}, errors.New("-workers, -users, -articles and -comments must be positive")
	case cfg.MaxHeapGrowth < 1:
		return config{}, errors.New("-max-heap-growth must be at least 1")
	case cfg.ReadShare < 0 || cfg.ReadShare >= 1:
		return config{}, errors.New("-read-share must be within 0..1 (excluding 1)")
	case cfg.API != "" && cfg.DatabaseURL != "":
		return config{}, errors.New("-api and -database exclude each other")
	case *memory > 1<<32-1 || *passes > 1<<32-1:
		return config{}, errors.New("hash parameters out of range")
	}
	cfg.Password.Memory, cfg.Password.Time = uint32(*memory), uint32(*passes)
	if err := cfg.Password.Validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// sample is one interval's figures.
type sample struct {
	at         time.Duration // since the load started
	span       time.Duration // the interval's length
	load       conduitload.Snapshot
	live       uint64 // bytes of live heap objects (after a collection)
	sys        uint64 // bytes obtained from the OS
	goroutines int
	dbConns    int32 // acquired connections of the in-process pool
}

// report is the run's outcome.
type report struct {
	inProcess            bool
	samples              []sample
	total                conduitload.Snapshot
	elapsed              time.Duration // of the load
	verify               conduitload.Report
	steady               bool
	goroutinesBefore     int // before the load
	goroutinesAfter      int // after the load and the settle time
	liveBefore           uint64
	liveWarm             uint64        // at the end of the warm-up
	warmAt               time.Duration // when that was
	liveAfter            uint64
	goroutineLeak        bool
	heapLeak             bool
	maxGoroutineGrowth   int
	maxHeapGrowthPercent int
}

func (r *report) ok() bool { return r.verify.OK() && !r.goroutineLeak && !r.heapLeak }

// run soaks and writes the report to out.
func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	rep := &report{inProcess: cfg.API == "", steady: !cfg.Grow}
	api := cfg.API
	var pool *pgxpool.Pool
	if rep.inProcess {
		srv, err := startInProcess(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		api, pool = srv.api, srv.pool
		fmt.Fprintf(out, "Conduit in process at %s (%s)\n", api, srv.db)
	} else {
		fmt.Fprintf(out, "driving %s\n", api)
	}

	client := conduitload.NewClient(api, 30*time.Second)
	lcfg := conduitload.Config{
		Client: client, Workers: cfg.Workers, UsersPerWorker: cfg.Users, Seed: cfg.Seed,
		ReadShare: max(cfg.ReadShare, -1e-9), // 0 means none, not the default
	}
	shape := "growing data"
	if rep.steady {
		lcfg.MaxArticles, lcfg.MaxComments = cfg.Articles, cfg.Comments
		shape = fmt.Sprintf("steady data (at most %d articles and %d live comments each)", cfg.Articles, cfg.Comments)
	}
	wl := conduitload.New(lcfg)
	fmt.Fprintf(out, "load: %d workers, %d users each, %s, read share %.2f, seed %d, for %v\n\n",
		cfg.Workers, cfg.Users, shape, cfg.ReadShare, wl.Seed(), cfg.Duration)

	rep.goroutinesBefore, rep.liveBefore = settledGoroutines(), liveHeap()
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	done := make(chan struct{})
	go func() {
		defer close(done)
		wl.Run(loadCtx)
	}()

	fmt.Fprintln(out, header(rep.inProcess))
	began := time.Now()
	prev := wl.Stats().Snapshot()
	var lastAt time.Duration
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
		case <-done:
			running = false
		}
		snap := wl.Stats().Snapshot()
		s := sample{at: time.Since(began), load: snap.Sub(prev), goroutines: runtime.NumGoroutine()}
		s.span = s.at - lastAt
		prev, lastAt = snap, s.at
		s.live = liveHeap()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.sys = ms.Sys
		if pool != nil {
			s.dbConns = pool.Stat().AcquiredConns()
		}
		if !running && s.span < cfg.Interval/2 && len(rep.samples) > 0 {
			break // a sliver after the last full interval: the totals count it
		}
		rep.samples = append(rep.samples, s)
		fmt.Fprintln(out, s.row(rep.inProcess))
		if rep.warmAt == 0 && s.at >= cfg.Duration/3 {
			rep.liveWarm, rep.warmAt = s.live, s.at // the working set, once warm
		}
	}
	<-done
	rep.total, rep.elapsed = wl.Stats().Snapshot(), time.Since(began)

	verifyCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var err error
	if rep.verify, err = wl.Verify(verifyCtx); err != nil {
		return rep, err
	}

	client.CloseIdle()
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return rep, err
	}
	rep.goroutinesAfter, rep.liveAfter = settledGoroutines(), liveHeap()
	rep.judge(cfg)
	rep.write(out)
	return rep, nil
}

// minJudgedHeap is the live heap below which growth is not judged: small
// heaps grow by large factors for no fault of the program.
const minJudgedHeap = 8 << 20

// judge decides whether a leak is suspected: goroutines that did not go
// away after the load, or, under a steady load (bounded data), a live heap
// that grew by more than the allowed factor from the end of the warm-up
// to the end. A growing load's heap grows with the aggregates the runtime
// keeps in memory (up to its bound), which is no leak.
func (r *report) judge(cfg config) {
	r.maxGoroutineGrowth = cfg.MaxGoroutineGrowth
	r.maxHeapGrowthPercent = int(cfg.MaxHeapGrowth * 100)
	if !r.inProcess {
		return
	}
	r.goroutineLeak = r.goroutinesAfter-r.goroutinesBefore > cfg.MaxGoroutineGrowth
	r.heapLeak = r.steady && r.warmAt > 0 && float64(r.liveAfter) > cfg.MaxHeapGrowth*float64(max(r.liveWarm, minJudgedHeap))
}

// settledGoroutines returns the goroutine count once it stops falling
// (goroutines of closed connections take a moment to exit).
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// liveHeap returns the heap after a collection: the live objects.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func header(inProcess bool) string {
	h := fmt.Sprintf("%8s %8s %9s %8s %8s %8s %8s", "time", "req/s", "writes/s", "rejected", "errors", "p50", "p99")
	if inProcess {
		h += fmt.Sprintf(" %9s %9s %10s %8s", "live MiB", "sys MiB", "goroutines", "db conns")
	}
	return h
}

func (s sample) row(inProcess bool) string {
	per := func(n int64) string {
		if s.span <= 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(n)/s.span.Seconds(), 'f', 0, 64)
	}
	r := fmt.Sprintf("%8s %8s %9s %8d %8d %8s %8s", s.at.Round(time.Second), per(s.load.Requests()),
		per(s.load.Writes(conduitload.Acked)), rejectedOf(s.load), errorsOf(s.load),
		s.load.Quantile(0.5).Round(10*time.Microsecond), s.load.Quantile(0.99).Round(10*time.Microsecond))
	if inProcess {
		r += fmt.Sprintf(" %9s %9s %10d %8d", mib(s.live), mib(s.sys), s.goroutines, s.dbConns)
	}
	return r
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

// write writes the summary.
func (r *report) write(out io.Writer) {
	t := r.total
	elapsed := r.elapsed
	rate := func(n int64) string {
		if elapsed <= 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(n)/elapsed.Seconds(), 'f', 0, 64) + "/s"
	}
	fmt.Fprintf(out, "\n%s\n", t.Table())
	fmt.Fprintf(out, "requests:      %d in %v (%s); writes acknowledged %d (%s)\n",
		t.Requests(), elapsed.Round(time.Millisecond), rate(t.Requests()), t.Writes(conduitload.Acked), rate(t.Writes(conduitload.Acked)))
	fmt.Fprintf(out, "errors:        %d (5xx, lost connections, timeouts, refusals); rejected (4xx): %d\n",
		errorsOf(t), rejectedOf(t))
	fmt.Fprintf(out, "latency:       p50 %v, p99 %v, max %v (acknowledged requests; bucket upper bounds)\n",
		t.Quantile(0.5).Round(10*time.Microsecond), t.Quantile(0.99).Round(10*time.Microsecond), t.Quantile(1).Round(10*time.Microsecond))
	fmt.Fprintf(out, "verified:      %d acknowledged writes checked in %d facts; lost %d; inconsistent %d\n",
		r.verify.Checked, r.verify.Facts, len(r.verify.Lost), len(r.verify.Inconsistent))
	for _, l := range r.verify.Lost {
		fmt.Fprintf(out, "  lost: %s\n", l)
	}
	for _, l := range r.verify.Inconsistent {
		fmt.Fprintf(out, "  inconsistent: %s\n", l)
	}
	if !r.inProcess {
		return
	}
	fmt.Fprintf(out, "goroutines:    %d before the load, %d after it (and the settle time)%s\n",
		r.goroutinesBefore, r.goroutinesAfter, verdict(r.goroutineLeak, fmt.Sprintf("more than %d left: suspected leak", r.maxGoroutineGrowth)))
	judged := ""
	if !r.steady {
		judged = " (growing data: not judged)"
	}
	fmt.Fprintf(out, "live heap:     %s MiB before the load, %s MiB once warm (at %v), %s MiB at the end%s%s\n",
		mib(r.liveBefore), mib(r.liveWarm), r.warmAt.Round(time.Second), mib(r.liveAfter), judged,
		verdict(r.heapLeak, fmt.Sprintf("more than %d%% of the warm heap: suspected leak", r.maxHeapGrowthPercent)))
	if r.ok() {
		fmt.Fprintln(out, "result:        OK")
	} else {
		fmt.Fprintln(out, "result:        FAILED")
	}
}

func verdict(bad bool, why string) string {
	if bad {
		return " — " + why
	}
	return ""
}

// errorsOf counts requests whose outcome was not an answer: 5xx, lost
// connections, timeouts, refused connections.
func errorsOf(s conduitload.Snapshot) int64 {
	var n int64
	for op := range s.Counts {
		c := s.Counts[op]
		n += c[conduitload.Refused] + c[conduitload.Unknown] + c[conduitload.TimedOut]
	}
	return n
}

func rejectedOf(s conduitload.Snapshot) int64 {
	var n int64
	for op := range s.Counts {
		n += s.Counts[op][conduitload.Rejected]
	}
	return n
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// inProcess is Conduit served from this process.
type inProcess struct {
	api     string
	db      string // where the data lives, for the log
	cluster *pglocal.Cluster
	pool    *pgxpool.Pool
	store   *postgres.Store
	app     *conduit.App
	server  *http.Server
}

func startInProcess(ctx context.Context, cfg config) (s *inProcess, err error) {
	s = &inProcess{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	connString := cfg.DatabaseURL
	s.db = "the database of -database"
	if connString == "" {
		if s.cluster, err = pglocal.Start(ctx, pglocal.Config{BinDir: cfg.PgBin}); err != nil {
			return s, err
		}
		if err := s.cluster.CreateDatabase(ctx, "conduit", ""); err != nil {
			return s, err
		}
		connString = s.cluster.ConnString("conduit")
		s.db = "throwaway PostgreSQL in " + s.cluster.DataDir()
	}
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return s, fmt.Errorf("database URL: %w", err)
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 20) // as cmd/conduit
	if s.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return s, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := postgres.Migrate(ctx, s.pool, ""); err != nil {
		return s, fmt.Errorf("migrate the event store: %w", err)
	}
	if err := conduit.Migrate(ctx, s.pool, ""); err != nil {
		return s, fmt.Errorf("migrate the read model: %w", err)
	}
	if s.store, err = postgres.New(ctx, s.pool, postgres.Config{Logger: log}); err != nil {
		return s, err
	}
	// The soak's database is throwaway: its claims key is fixed and public.
	if s.app, err = conduit.New(ctx, conduit.Config{Store: s.store, DB: s.pool, Password: cfg.Password, Logger: log,
		ClaimsKey: []byte("conduit-soak throwaway claims key"), MasterKey: soakMasterKey}); err != nil {
		return s, err
	}
	if err := s.app.Start(ctx); err != nil {
		return s, err
	}
	tokens, err := httpapi.NewTokens([]byte(crand.Text()+crand.Text()), 0)
	if err != nil {
		return s, err
	}
	h, err := httpapi.NewHandler(httpapi.Config{App: s.app, Tokens: tokens, Logger: log})
	if err != nil {
		return s, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go s.server.Serve(ln)
	s.api = "http://" + ln.Addr().String() + "/api"
	return s, nil
}

func (s *inProcess) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.server != nil {
		_ = s.server.Shutdown(ctx)
	}
	if s.app != nil {
		_ = s.app.Close(ctx)
	}
	if s.store != nil {
		_ = s.store.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.cluster != nil {
		_ = s.cluster.Stop()
	}
}
