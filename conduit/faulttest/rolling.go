package faulttest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/conduitload"
	"github.com/cohort-dev/cohort/internal/balancer"
)

// RollingConfig configures RollingRestart.
type RollingConfig struct {
	// Nodes is how many Conduit processes share the database (default
	// 3); Rounds how many times each is restarted in turn (default 1).
	Nodes, Rounds int
	// NodeArgs, if set, returns more flags for node i (0-based), the same
	// at every start of that node: a cluster's, say.
	NodeArgs func(i int) []string
	// Workers and UsersPerWorker shape the load (conduitload.Config).
	Workers, UsersPerWorker int
	// Settle is the load before the first restart, between restarts and
	// after the last (default 2 s).
	Settle time.Duration
	// CheckInterval is how often the balancer checks the nodes' readiness
	// (default 200 ms); Drain is each node's -drain (default five check
	// intervals, so that the balancer has moved away before the node
	// stops listening).
	CheckInterval, Drain time.Duration
	// Race builds Conduit with the race detector; a data race it reports
	// is a problem.
	Race bool
	// Seed seeds the load; 0 picks one.
	Seed uint64
	// PostgresBinDir holds the PostgreSQL binaries; empty finds them.
	PostgresBinDir string
	// WorkDir receives the binary and the server log. Required.
	WorkDir string
	// Logf receives progress; Logger the cluster's and the balancer's
	// logs. Both optional.
	Logf   func(format string, args ...any)
	Logger *slog.Logger
}

func (c RollingConfig) withDefaults() RollingConfig {
	if c.Nodes <= 0 {
		c.Nodes = 3
	}
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	if c.NodeArgs == nil {
		c.NodeArgs = func(int) []string { return nil }
	}
	if c.Settle <= 0 {
		c.Settle = 2 * time.Second
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 200 * time.Millisecond
	}
	if c.Drain <= 0 {
		c.Drain = 5 * c.CheckInterval
	}
	loadDefaults(&c.Workers, &c.UsersPerWorker, &c.Seed, &c.Logf, &c.Logger)
	return c
}

// RollingResult holds the figures of a rolling restart and every problem
// it found. Its Result holds the checks at the end and the problems
// (Result.Kills and the other fault counts stay zero): OK is Result's.
type RollingResult struct {
	Result
	// Restarts: nodes restarted; Restart: for each, from SIGTERM until
	// the balancer believed the new process ready.
	Restarts int
	Restart  []time.Duration
	// Balancer: what the balancer did; its Retried requests are the
	// connection-level failures the load never saw.
	Balancer balancer.Stats
	// Unexpected: answers the load did not expect (an unexpected
	// rejection, or an acknowledged answer it could not use).
	Unexpected int64
}

// failedRequests counts the load's requests that got no usable answer.
func (r *RollingResult) failedRequests() int64 {
	var n int64
	for _, o := range []conduitload.Outcome{conduitload.Refused, conduitload.Unknown, conduitload.TimedOut} {
		n += r.Load.Writes(o) + r.Load.Reads(o)
	}
	return n
}

// node is one Conduit process of a rolling restart, restarted in place.
type node struct {
	cfg  ConduitConfig
	proc *Conduit
}

// RollingRestart starts cfg.Nodes Conduit processes on one database
// behind the balancer (internal/balancer, as cmd/conduit-lb runs it),
// drives a steady load through the balancer, and restarts each node in
// turn, as an operator upgrading them would: SIGTERM, which drains it
// (the balancer sees its /readyz fail and moves away), its exit, a start
// on the same address, and a wait until the balancer sends it requests
// again. Then it checks as Run does (checkEnd) and that the load saw no
// failed request: a connection that failed as a node went away must have
// been retried by the balancer. It returns an error when it cannot carry
// on; problems it found are in the result.
func RollingRestart(ctx context.Context, cfg RollingConfig) (_ *RollingResult, err error) {
	cfg = cfg.withDefaults()
	began := time.Now()
	res := &RollingResult{Result: Result{Seed: cfg.Seed}}
	defer func() { res.Elapsed = time.Since(began) }()

	h, err := newHarness(ctx, cfg.PostgresBinDir, cfg.WorkDir, cfg.Race, cfg.Logger)
	if err != nil {
		return res, err
	}
	defer h.Close()
	defer h.keepLog(&err, res.OK, &res.ServerLog, &res.LogTail)
	base, err := h.conduitConfig(cfg.WorkDir, "-drain", cfg.Drain.String())
	if err != nil {
		return res, err
	}
	nodes, backends, err := makeNodes(base, cfg.Nodes, cfg.NodeArgs)
	if err != nil {
		return res, err
	}
	defer killNodes(nodes)
	if err := startCluster(ctx, nodes, h.log); err != nil {
		return res, err
	}
	cfg.Logf("PostgreSQL on port %d; %d Conduits on %v; seed %d", h.pg.Port(), cfg.Nodes, backends, cfg.Seed)

	lb, lbURL, stopLB, err := serveBalancer(backends, cfg.CheckInterval, cfg.Logger)
	if err != nil {
		return res, err
	}
	defer stopLB()

	var unexpected atomic.Int64
	wl := conduitload.New(conduitload.Config{
		Client:         conduitload.NewClient(lbURL+"/api", 30*time.Second),
		Workers:        cfg.Workers,
		UsersPerWorker: cfg.UsersPerWorker,
		Seed:           cfg.Seed,
		Logf: func(format string, args ...any) {
			unexpected.Add(1)
			cfg.Logf(format, args...)
		},
	})
	stop := startLoad(ctx, wl.Run)
	defer stop()

	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return res, err
	}
	for round := range cfg.Rounds {
		for i, n := range nodes {
			took, err := n.restart(ctx, lb, i, h.log)
			if err != nil {
				return res, fmt.Errorf("faulttest: round %d, node %d: %w\n%s", round+1, i, err, h.log.Tail(60))
			}
			res.Restarts++
			res.Restart = append(res.Restart, took)
			cfg.Logf("round %d: node %d restarted, ready again after %v (load so far: %d requests; balancer: %+v)",
				round+1, i, ms(took), wl.Stats().Snapshot().Requests(), lb.Stats())
			if err := sleepCtx(ctx, cfg.Settle); err != nil {
				return res, err
			}
		}
	}
	stop()
	res.Load = wl.Stats().Snapshot()
	res.Balancer = lb.Stats()
	res.Unexpected = unexpected.Load() + res.Load.Anomalies
	cfg.Logf("load stopped after %v:\n%s", ms(time.Since(began)), res.Load.Table())
	if n := res.failedRequests(); n > 0 {
		res.problem("%d requests of the load got no answer or a 5xx through the balancer", n)
	}
	if res.Balancer.Failed > 0 {
		res.problem("the balancer answered %d requests itself (502 or 503)", res.Balancer.Failed)
	}
	if res.Unexpected > 0 {
		res.problem("%d answers the load did not expect (logged above)", res.Unexpected)
	}

	db, err := pgxpool.New(ctx, h.pg.ConnString("conduit"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	check := Checker{DB: db, ClaimsKey: []byte(base.ClaimsKey)}
	if err := res.checkEnd(ctx, wl, check, func() error { return stopNodes(nodes) }, nodes[0].cfg, h.log); err != nil {
		return res, err
	}
	return res, nil
}

// makeNodes returns n nodes configured as base, each on its own address
// (the first on base's) with args(i) after base's flags, and their URLs.
func makeNodes(base ConduitConfig, n int, args func(i int) []string) ([]*node, []*url.URL, error) {
	nodes := make([]*node, n)
	backends := make([]*url.URL, n)
	for i := range nodes {
		c := base
		if i > 0 {
			port, err := FreePort()
			if err != nil {
				return nil, nil, err
			}
			c.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		c.Args = append(slices.Clone(base.Args), args(i)...)
		nodes[i] = &node{cfg: c}
		backends[i] = &url.URL{Scheme: "http", Host: c.Addr}
	}
	return nodes, backends, nil
}

// startCluster starts nodes: the first alone, as it migrates the
// database and generates the master key the others read; then the others
// at once.
func startCluster(ctx context.Context, nodes []*node, log *ServerLog) error {
	if err := startNodes(ctx, nodes[:1], log); err != nil {
		return err
	}
	return startNodes(ctx, nodes[1:], log)
}

// stopNodes stops the running nodes with SIGTERM, at once, and expects
// each to exit cleanly; a node whose process has exited already (killed,
// or gone by itself) is skipped.
func stopNodes(nodes []*node) error {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		if n.proc == nil {
			continue
		}
		select {
		case <-n.proc.Exited():
			n.proc = nil
			continue
		default:
		}
		wg.Go(func() {
			errs[i] = n.proc.Stop()
			n.proc = nil
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// killNodes kills the nodes still running.
func killNodes(nodes []*node) {
	for _, n := range nodes {
		if n != nil && n.proc != nil {
			_ = n.proc.Kill()
		}
	}
}

// startLoad runs each of loads in a goroutine of its own, with a context
// derived from ctx, and returns the function that stops them: it cancels
// that context and waits for them; a second call does nothing.
func startLoad(ctx context.Context, loads ...func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range loads {
		wg.Go(func() { run(ctx) })
	}
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	})
}

// startNodes starts nodes concurrently and waits until each serves.
func startNodes(ctx context.Context, nodes []*node, log *ServerLog) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			if n.proc, errs[i] = StartConduit(ctx, n.cfg, log); errs[i] != nil {
				errs[i] = fmt.Errorf("faulttest: start the Conduit on %s: %w", n.cfg.Addr, errs[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// restart stops n with SIGTERM (it drains, then exits), starts it again,
// and waits until lb believes it ready (backend i); it returns the time
// from SIGTERM until then.
func (n *node) restart(ctx context.Context, lb *balancer.Balancer, i int, log *ServerLog) (time.Duration, error) {
	began := time.Now()
	err := n.proc.Stop()
	n.proc = nil
	if err != nil {
		return 0, err
	}
	if n.proc, err = StartConduit(ctx, n.cfg, log); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(time.Minute); !lb.Ready()[i]; {
		if time.Now().After(deadline) {
			return 0, errors.New("the balancer did not find the restarted node ready within a minute")
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return time.Since(began), nil
}

// serveBalancer serves a balancer over backends on a free port of
// 127.0.0.1 and returns it, its URL, and a function that stops it.
func serveBalancer(backends []*url.URL, interval time.Duration, log *slog.Logger) (*balancer.Balancer, string, func(), error) {
	lb, err := balancer.New(balancer.Config{Backends: backends, CheckInterval: interval, CheckTimeout: 2 * time.Second, Logger: log})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	checks, stopChecks := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { lb.Run(checks) })
	wg.Go(func() { _ = srv.Serve(ln) })
	stop := func() {
		_ = srv.Close()
		stopChecks()
		wg.Wait()
	}
	return lb, "http://" + ln.Addr().String(), stop, nil
}

// Summary formats the run's figures.
func (r *RollingResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rolling restart: seed %d, %v\n", r.Seed, ms(r.Elapsed))
	fmt.Fprintf(&b, "  nodes restarted:                %d (SIGTERM → ready again: p50 %v, max %v)\n",
		r.Restarts, ms(Percentile(r.Restart, 50)), ms(Percentile(r.Restart, 100)))
	fmt.Fprintf(&b, "  balancer:                       %d requests, %d retried on another node (%d refused connections), %d answered by the balancer\n",
		r.Balancer.Requests, r.Balancer.Retried, r.Balancer.Refused, r.Balancer.Failed)
	fmt.Fprintf(&b, "  load without a usable answer:   %d; unexpected answers: %d\n", r.failedRequests(), r.Unexpected)
	r.writeChecks(&b)
	return b.String()
}
