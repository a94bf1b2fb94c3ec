package faulttest

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/conduitload"
)

// Config configures Run.
type Config struct {
	// Kills is how many times Conduit is killed with SIGKILL and
	// restarted; PostgresRestarts how many times PostgreSQL is restarted
	// with an immediate shutdown under load while Conduit keeps running.
	Kills, PostgresRestarts int
	// Rivals is how many times a second Conduit process starts on the
	// same database and writes to aggregates the first one holds in
	// memory (follows of the load's users), so that the first must catch
	// up after a version conflict.
	Rivals int
	// Workers and UsersPerWorker shape the load (conduitload.Config).
	Workers, UsersPerWorker int
	// Round is the mean time of load before each fault (each is drawn
	// from half to one and a half times it); the load also runs for one
	// round after the last fault.
	Round time.Duration
	// PostgresDowntime is how long PostgreSQL stays down, beyond the time
	// it takes to stop and start, at every second restart (the others
	// start again at once): a long outage lets Conduit's retries back off
	// to their longest interval before the database returns.
	PostgresDowntime time.Duration
	// MaxRecovery is the target time for Conduit to acknowledge a write
	// again once PostgreSQL accepts connections (default 5 s); Run
	// reports it as a problem when a restart takes longer.
	MaxRecovery time.Duration
	// Race builds Conduit with the race detector; a data race it reports
	// is a problem.
	Race bool
	// Seed seeds the choices of faults, moments and load; 0 picks one.
	Seed uint64
	// PostgresBinDir holds the PostgreSQL binaries; empty finds them.
	PostgresBinDir string
	// WorkDir receives the binary and the server log. Required.
	WorkDir string
	// Logf receives progress; Logger the cluster's logs. Both optional.
	Logf   func(format string, args ...any)
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Round <= 0 {
		c.Round = 3 * time.Second
	}
	if c.MaxRecovery <= 0 {
		c.MaxRecovery = 5 * time.Second
	}
	loadDefaults(&c.Workers, &c.UsersPerWorker, &c.Seed, &c.Logf, &c.Logger)
	return c
}

// loadDefaults fills in the defaults that Config and RollingConfig share:
// 4 workers of 4 users, a random seed, no progress, a discarding logger.
func loadDefaults(workers, users *int, seed *uint64, logf *func(string, ...any), logger **slog.Logger) {
	if *workers <= 0 {
		*workers = 4
	}
	if *users <= 0 {
		*users = 4
	}
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	if *logf == nil {
		*logf = func(string, ...any) {}
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
}

// Result holds the figures of a run and every problem it found.
type Result struct {
	Seed             uint64
	Kills            int
	PostgresRestarts int
	// KillServing: from a restart after SIGKILL (up to half a second
	// after it) until Conduit serves; KillRecovery: until it acknowledges
	// a write; KillOutage: from the kill until then.
	KillServing, KillRecovery, KillOutage []time.Duration
	// PostgresOutage: from pg_ctl stop -m immediate until PostgreSQL
	// accepts connections again; PostgresRecovery: from then until
	// Conduit acknowledges a write.
	PostgresOutage, PostgresRecovery []time.Duration
	// Rivals: rival rounds; RivalWrites: follows sent through the second
	// process, by answer ("503" and so on).
	Rivals      int
	RivalWrites map[string]int
	// AfterRival: aggregates written by the first process after a rival
	// wrote to them (each a version conflict to catch up on).
	AfterRival    int
	Load          conduitload.Snapshot
	Verify        conduitload.Report
	Streams       StreamReport
	Invariants    []string
	Claims        ClaimReport
	ReadModelRows int      // rows compared with the rebuild
	RebuildDiff   []string // differences from the rebuild
	Races         int      // data race reports of the server
	Problems      []string // everything else that went wrong
	Elapsed       time.Duration
	ServerLog     string // path of the servers' log
	LogTail       string // its end, when something went wrong
}

// OK reports whether the run found nothing wrong.
func (r *Result) OK() bool {
	return r.Verify.OK() && len(r.Streams.Problems) == 0 && len(r.Invariants) == 0 && len(r.Claims.Missing) == 0 &&
		len(r.Claims.OrphanedAccounts) == 0 &&
		len(r.RebuildDiff) == 0 && r.Races == 0 && len(r.Problems) == 0
}

func (r *Result) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// fault is one fault to inject.
type fault int

const (
	killConduit fault = iota
	restartPostgres
	rivalWriter
)

// Run starts PostgreSQL and Conduit (as a subprocess), drives the load,
// injects the faults at random moments, then verifies everything: the
// acknowledged writes through the API, the streams, the invariants, and
// the read model against a rebuild from the event store. It returns an
// error when it cannot carry on (the harness failed, or Conduit did not
// come back); problems it found are in the result.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	cfg = cfg.withDefaults()
	began := time.Now()
	res := &Result{Seed: cfg.Seed}
	defer func() { res.Elapsed = time.Since(began) }()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xfa17))

	h, err := newHarness(ctx, cfg.PostgresBinDir, cfg.WorkDir, cfg.Race, cfg.Logger)
	if err != nil {
		return res, err
	}
	defer h.Close()
	pg, serverLog := h.pg, h.log
	res.ServerLog = serverLog.Path()
	defer func() {
		if err != nil || !res.OK() {
			res.LogTail = serverLog.Tail(150)
		}
	}()
	// Killed or stopped without a balancer: nothing to drain for.
	conduitCfg, err := h.conduitConfig(cfg.WorkDir, "-drain", "0s")
	if err != nil {
		return res, err
	}
	cfg.Logf("PostgreSQL on port %d (data %s); Conduit on %s; seed %d", pg.Port(), pg.cfg.DataDir, conduitCfg.Addr, cfg.Seed)

	proc, err := StartConduit(ctx, conduitCfg, serverLog)
	if err != nil {
		return res, err
	}
	defer func() {
		if proc != nil {
			_ = proc.Kill()
		}
	}()
	probe, err := newProber(ctx, proc.API)
	if err != nil {
		return res, err
	}

	wl := conduitload.New(conduitload.Config{
		Client:         conduitload.NewClient(proc.API, 30*time.Second),
		Workers:        cfg.Workers,
		UsersPerWorker: cfg.UsersPerWorker,
		Seed:           cfg.Seed,
	})
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		wl.Run(loadCtx)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopLoad()
			<-loadDone
		}
	}
	defer stop()

	faults := slices.Repeat([]fault{killConduit}, cfg.Kills)
	faults = append(faults, slices.Repeat([]fault{restartPostgres}, cfg.PostgresRestarts)...)
	faults = append(faults, slices.Repeat([]fault{rivalWriter}, cfg.Rivals)...)
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	round := func() time.Duration { return cfg.Round/2 + time.Duration(rng.Int64N(int64(cfg.Round)+1)) }

	for i, f := range faults {
		if err := sleepCtx(ctx, round()); err != nil {
			return res, err
		}
		select {
		case <-proc.Exited():
			return res, fmt.Errorf("faulttest: conduit exited on its own before fault %d\n%s", i+1, serverLog.Tail(60))
		default:
		}
		switch f {
		case killConduit:
			killed := time.Now()
			if err := proc.Kill(); err != nil {
				return res, err
			}
			res.Kills++
			// Down for a moment: requests meanwhile are refused.
			if err := sleepCtx(ctx, time.Duration(rng.Int64N(int64(500*time.Millisecond)))); err != nil {
				return res, err
			}
			if proc, err = StartConduit(ctx, conduitCfg, serverLog); err != nil {
				return res, fmt.Errorf("faulttest: restart after kill %d: %w\n%s", res.Kills, err, serverLog.Tail(60))
			}
			acked, err := probe.untilAcked(ctx, 2*time.Minute)
			if err != nil {
				return res, fmt.Errorf("faulttest: after kill %d: %w\n%s", res.Kills, err,
					diagnose(ctx, proc, pg.ConnString("conduit"), cfg.WorkDir, "stuck-after-kill"))
			}
			res.KillServing = append(res.KillServing, proc.Serving.Sub(proc.Started))
			res.KillRecovery = append(res.KillRecovery, acked.Sub(proc.Started))
			res.KillOutage = append(res.KillOutage, acked.Sub(killed))
			cfg.Logf("fault %d/%d: SIGKILL conduit; restarted, serving after %v, first write acknowledged %v after the restart",
				i+1, len(faults), ms(proc.Serving.Sub(proc.Started)), ms(acked.Sub(proc.Started)))
		case restartPostgres:
			downtime := time.Duration(0)
			if res.PostgresRestarts%2 == 1 {
				downtime = cfg.PostgresDowntime
			}
			r, err := pg.RestartImmediate(ctx, downtime)
			if err != nil {
				return res, err
			}
			res.PostgresRestarts++
			acked, err := probe.untilAcked(ctx, 2*time.Minute)
			if err != nil {
				return res, fmt.Errorf("faulttest: after PostgreSQL restart %d: %w\n%s", res.PostgresRestarts, err,
					diagnose(ctx, proc, pg.ConnString("conduit"), cfg.WorkDir, "stuck-after-postgres-restart"))
			}
			rec := max(0, acked.Sub(r.Up))
			res.PostgresOutage = append(res.PostgresOutage, r.Up.Sub(r.Stopping))
			res.PostgresRecovery = append(res.PostgresRecovery, rec)
			cfg.Logf("fault %d/%d: pg_ctl stop -m immediate + start; PostgreSQL back after %v, first write acknowledged %v later",
				i+1, len(faults), ms(r.Up.Sub(r.Stopping)), ms(rec))
			if rec > cfg.MaxRecovery {
				res.problem("Conduit acknowledged a write %v after PostgreSQL was back (target %v)", ms(rec), cfg.MaxRecovery)
			}
			select {
			case <-proc.Exited():
				return res, fmt.Errorf("faulttest: conduit exited during PostgreSQL restart %d\n%s", res.PostgresRestarts, serverLog.Tail(60))
			default:
			}
		case rivalWriter:
			answers, err := rival(ctx, conduitCfg, serverLog, proc.API, wl.Usernames(), rng)
			if err != nil {
				return res, err
			}
			res.Rivals++
			if res.RivalWrites == nil {
				res.RivalWrites = map[string]int{}
			}
			for a, n := range answers {
				res.RivalWrites[a] += n
			}
			cfg.Logf("fault %d/%d: a second Conduit process wrote follows of the load's users: %v", i+1, len(faults), answers)
		}
	}
	if err := sleepCtx(ctx, round()); err != nil {
		return res, err
	}
	stop()
	res.Load = wl.Stats().Snapshot()
	cfg.Logf("load stopped after %v:\n%s", ms(time.Since(began)), res.Load.Table())

	db, err := pgxpool.New(ctx, pg.ConnString("conduit"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	check := Checker{DB: db, ClaimsKey: []byte(conduitCfg.ClaimsKey)}
	stopConduit := func() error {
		err := proc.Stop()
		proc = nil
		return err
	}
	if err := res.checkEnd(ctx, wl, check, stopConduit, conduitCfg, serverLog); err != nil {
		return res, err
	}
	if res.AfterRival, err = check.AfterRival(ctx); err != nil {
		return res, err
	}
	if res.Rivals > 0 && res.AfterRival == 0 {
		res.problem("no aggregate was written after a rival's write: the catch-up after a conflict went untested")
	}
	return res, nil
}

// checkEnd verifies what a run left once its load stopped: every
// acknowledged write of wl is visible through the API (wl's client), the
// streams have no gap or duplicate, the invariants hold, the unique
// claims agree with the read model; then, once stop has stopped every
// Conduit process on the database, a Conduit started as cfg with -rebuild
// all rebuilds the read model, which must equal, row by row, the one the
// run left. Problems go into r; the error says the checks could not run.
func (r *Result) checkEnd(ctx context.Context, wl *conduitload.Workload, check Checker, stop func() error, cfg ConduitConfig, log *ServerLog) error {
	var err error
	if r.Verify, err = wl.Verify(ctx); err != nil {
		return err
	}
	if r.Streams, err = check.Streams(ctx); err != nil {
		return err
	}
	if r.Invariants, err = check.Invariants(ctx); err != nil {
		return err
	}
	if r.Claims, err = check.Claims(ctx); err != nil {
		return err
	}

	// The read model equals a rebuild from the event store.
	before, err := check.DumpReadModel(ctx)
	if err != nil {
		return err
	}
	checkpoints, err := check.Checkpoints(ctx)
	if err != nil {
		return err
	}
	if err := stop(); err != nil {
		r.problem("graceful shutdown: %v", err)
	}
	cfg.Args = append(slices.Clone(cfg.Args), "-rebuild", "all")
	proc, err := StartConduit(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("faulttest: start with -rebuild all: %w\n%s", err, log.Tail(60))
	}
	defer func() {
		if proc != nil {
			_ = proc.Kill()
		}
	}()
	if err := waitCheckpoints(ctx, check, checkpoints, 3*time.Minute); err != nil {
		return err
	}
	after, err := check.DumpReadModel(ctx)
	if err != nil {
		return err
	}
	r.ReadModelRows = before.Rows()
	r.RebuildDiff = Diff(before, after, 5)
	if err := selfCheck(ctx, check, after); err != nil {
		r.problem("%v", err)
	}
	if err := proc.Stop(); err != nil {
		r.problem("graceful shutdown after the rebuild: %v", err)
	}
	proc = nil
	r.Races = log.Races()
	return nil
}

// rivalFollows bounds the follows a rival sends.
const rivalFollows = 8

// rival starts a second Conduit process on the same database, registers
// a user through the first (api) and has it follow some of targets
// through the second, all at once, then stops the second. Its writes take
// effect in the event store while the first process holds the followed
// authors in memory at older versions: the first must catch up (a version
// conflict) when it next writes to them. The second's answers depend on
// how the runtime keeps strong consistency across processes (the
// projections run in the first): it returns them by status.
func rival(ctx context.Context, cfg ConduitConfig, log *ServerLog, api string, targets []string, rng *rand.Rand) (map[string]int, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	second, err := StartConduit(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("faulttest: start a rival: %w", err)
	}
	defer second.Kill()
	name := "rival_" + strings.ToLower(crand.Text()[:8])
	r := conduitload.NewClient(api, 30*time.Second).Do(ctx, http.MethodPost, "/users", "", map[string]any{"user": map[string]string{
		"username": name, "email": name + "@rival.test", "password": "rival-password"}})
	var doc conduitload.UserDoc
	if r.Outcome() != conduitload.Acked || r.Decode(&doc) != nil {
		return nil, fmt.Errorf("faulttest: register a rival: %s", r)
	}
	rng.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	targets = targets[:min(len(targets), rivalFollows)]
	c := conduitload.NewClient(second.API, time.Minute)
	answers := make(chan string, len(targets))
	for _, t := range targets {
		go func() {
			r := c.Do(ctx, http.MethodPost, "/profiles/"+url.PathEscape(t)+"/follow", doc.User.Token, nil)
			if r.Err != nil {
				answers <- r.Outcome().String()
			} else {
				answers <- strconv.Itoa(r.Status)
			}
		}()
	}
	out := map[string]int{}
	for range targets {
		out[<-answers]++
	}
	if err := second.Stop(); err != nil {
		return out, err
	}
	return out, nil
}

// selfCheck damages one row of the read model and expects both the
// rebuild comparison and the invariants to notice, so that a passing run
// means something; then it repairs the row.
func selfCheck(ctx context.Context, check Checker, good ReadModel) error {
	const damage = `UPDATE {rm}.articles SET favorites_count = favorites_count + $1
		WHERE id = (SELECT min(id) FROM {rm}.articles)`
	if _, err := check.DB.Exec(ctx, check.sql(damage), 1); err != nil {
		return err
	}
	damaged, err := check.DumpReadModel(ctx)
	if err != nil {
		return err
	}
	inv, err := check.Invariants(ctx)
	if err != nil {
		return err
	}
	if _, err := check.DB.Exec(ctx, check.sql(damage), -1); err != nil {
		return err
	}
	if len(Diff(good, damaged, 1)) == 0 || len(inv) == 0 {
		return errors.New("self-check: a damaged favorites count went unnoticed")
	}
	return nil
}

// waitCheckpoints waits until every projection has reached its checkpoint
// in want.
func waitCheckpoints(ctx context.Context, check Checker, want map[string]int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		got, err := check.Checkpoints(ctx)
		if err != nil {
			return err
		}
		behind := []string{}
		for name, pos := range want {
			if got[name] < pos {
				behind = append(behind, fmt.Sprintf("%s at %d of %d", name, got[name], pos))
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faulttest: the rebuild did not catch up within %v: %s", limit, strings.Join(behind, ", "))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// prober measures recovery with a write of its own: a change of its
// user's bio, which goes through an aggregate, the event store and the
// strongly consistent projections.
type prober struct {
	c     *conduitload.Client
	token string
	n     int
}

func newProber(ctx context.Context, api string) (*prober, error) {
	p := &prober{c: conduitload.NewClient(api, 3*time.Second)}
	name := "probe_" + strings.ToLower(crand.Text()[:8])
	r := p.c.Do(ctx, http.MethodPost, "/users", "", map[string]any{"user": map[string]string{
		"username": name, "email": name + "@probe.test", "password": "probe-password"}})
	var doc conduitload.UserDoc
	if r.Outcome() != conduitload.Acked || r.Decode(&doc) != nil {
		return nil, fmt.Errorf("faulttest: register the probe: %s", r)
	}
	p.token = doc.User.Token
	return p, nil
}

// untilAcked writes until a write is acknowledged, and returns when.
func (p *prober) untilAcked(ctx context.Context, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	var last conduitload.Response
	for time.Now().Before(deadline) {
		p.n++
		last = p.c.Do(ctx, http.MethodPut, "/user", p.token,
			map[string]any{"user": map[string]string{"bio": fmt.Sprintf("probe %d", p.n)}})
		if last.Outcome() == conduitload.Acked {
			return time.Now(), nil
		}
		if err := sleepCtx(ctx, 25*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, fmt.Errorf("no write acknowledged within %v (last answer: %s)", limit, last)
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

// ms rounds d to milliseconds for display.
func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// Percentile returns the p-th percentile (0..100) of ds by the
// nearest-rank method, 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := int(p / 100 * float64(len(s)))
	if float64(rank) < p/100*float64(len(s)) {
		rank++
	}
	return s[max(0, min(rank, len(s))-1)]
}

// Summary formats the run's figures.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fault suite: seed %d, %v\n", r.Seed, ms(r.Elapsed))
	fmt.Fprintf(&b, "  Conduit SIGKILLs:               %d\n", r.Kills)
	fmt.Fprintf(&b, "  PostgreSQL immediate restarts:  %d\n", r.PostgresRestarts)
	fmt.Fprintf(&b, "  rival writer rounds:            %d (follows through a second process, by answer: %v; aggregates caught up after them: %d)\n",
		r.Rivals, r.RivalWrites, r.AfterRival)
	fmt.Fprintf(&b, "  after SIGKILL, restart → serving:         p50 %v, max %v\n",
		ms(Percentile(r.KillServing, 50)), ms(Percentile(r.KillServing, 100)))
	fmt.Fprintf(&b, "  after SIGKILL, restart → write acked:     p50 %v, max %v\n",
		ms(Percentile(r.KillRecovery, 50)), ms(Percentile(r.KillRecovery, 100)))
	fmt.Fprintf(&b, "  PostgreSQL outage (stop → accepting):     p50 %v, max %v\n",
		ms(Percentile(r.PostgresOutage, 50)), ms(Percentile(r.PostgresOutage, 100)))
	fmt.Fprintf(&b, "  PostgreSQL back → Conduit write acked:    p50 %v, max %v\n",
		ms(Percentile(r.PostgresRecovery, 50)), ms(Percentile(r.PostgresRecovery, 100)))
	r.writeChecks(&b)
	return b.String()
}

// writeChecks formats the load's counts, the checks at the end (checkEnd)
// and every problem.
func (r *Result) writeChecks(b *strings.Builder) {
	lost := len(r.Verify.Lost)
	fmt.Fprintf(b, "  requests:                       %d (writes: %d acknowledged, %d rejected, %d refused, %d unknown, %d timed out)\n",
		r.Load.Requests(), r.Load.Writes(conduitload.Acked), r.Load.Writes(conduitload.Rejected),
		r.Load.Writes(conduitload.Refused), r.Load.Writes(conduitload.Unknown), r.Load.Writes(conduitload.TimedOut))
	fmt.Fprintf(b, "  acknowledged writes checked:    %d of %d (%d facts, %d of them uncertain)\n",
		r.Verify.Checked, r.Verify.AckedWrites, r.Verify.Facts, r.Verify.Uncertain)
	fmt.Fprintf(b, "  lost:                           %d\n", lost)
	fmt.Fprintf(b, "  inconsistent views:             %d\n", len(r.Verify.Inconsistent))
	fmt.Fprintf(b, "  streams checked:                %d (%d events), with gaps or duplicates: %d\n",
		r.Streams.Streams, r.Streams.Events, len(r.Streams.Problems))
	fmt.Fprintf(b, "  invariant violations:           %d\n", len(r.Invariants))
	fmt.Fprintf(b, "  unique claims:                  %d held, %d values in use unclaimed, %d slugs orphaned (writes of unknown outcome), %d usernames and emails orphaned\n",
		r.Claims.Claims, len(r.Claims.Missing), r.Claims.Orphaned, len(r.Claims.OrphanedAccounts))
	fmt.Fprintf(b, "  read model rows vs rebuild:     %d rows, %d differences\n", r.ReadModelRows, len(r.RebuildDiff))
	fmt.Fprintf(b, "  data races in the server:       %d\n", r.Races)
	for _, list := range []struct {
		name  string
		items []string
	}{
		{"lost", r.Verify.Lost}, {"inconsistent", r.Verify.Inconsistent}, {"stream", r.Streams.Problems},
		{"invariant", r.Invariants}, {"unclaimed", r.Claims.Missing}, {"orphaned", r.Claims.OrphanedAccounts}, {"rebuild", r.RebuildDiff}, {"problem", r.Problems},
	} {
		for i, s := range list.items {
			if i == 20 {
				fmt.Fprintf(b, "  %s: … %d more\n", list.name, len(list.items)-20)
				break
			}
			fmt.Fprintf(b, "  %s: %s\n", list.name, s)
		}
	}
}
