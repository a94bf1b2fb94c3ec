package faulttest

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/conduitload"
)

// HotConfig configures HotAggregate.
type HotConfig struct {
	// Unclustered runs the three processes on one database without
	// -cluster (any of them loads any aggregate), for comparison.
	Unclustered bool
	// Users is how many users favorite and unfavorite the article, one
	// command after another each, spread over the nodes (default 9).
	Users int
	// Warmup is the load before the counting starts (default 3 s);
	// Steady how long it is counted (default 10 s).
	Warmup, Steady time.Duration
	// PostgresBinDir holds the PostgreSQL binaries; empty finds them.
	PostgresBinDir string
	// WorkDir receives the binary and the server log. Required.
	WorkDir string
	// Logf receives progress; Logger the cluster's logs. Both optional.
	Logf   func(format string, args ...any)
	Logger *slog.Logger
	// Race builds Conduit with the race detector; a data race it reports
	// is a problem.
	Race bool
}

// HotResult holds the figures of HotAggregate and the problems it found.
type HotResult struct {
	Clustered bool
	// Commands: favorites and unfavorites acknowledged in the steady
	// phase; Failed: those that were not.
	Commands, Failed int64
	// FailedBy counts the failed ones by HTTP status (0: no answer).
	// Without a cluster, writes that lose to the other nodes past the
	// runtime's retries are answered 409 (nothing written).
	FailedBy map[int]int64
	// WarmupConflicts and Conflicts: cohort.aggregate.version_conflicts
	// over the three nodes during the warm-up and the steady phase.
	WarmupConflicts, Conflicts int64
	Streams                    StreamReport
	Invariants                 []string
	Problems                   []string
	ServerLog, LogTail         string
	Elapsed                    time.Duration
}

// OK reports whether the run found nothing wrong (the conflicts are for
// the caller to judge).
func (r *HotResult) OK() bool {
	return len(r.Streams.Problems) == 0 && len(r.Invariants) == 0 && len(r.Problems) == 0
}

// HotAggregate starts three Conduit processes on one database, members
// of one cluster unless cfg.Unclustered, publishes one article, and has
// cfg.Users users favorite and unfavorite it, one command after another
// each, user i through node i%3: one aggregate receiving commands through
// every node. It counts the version conflicts the nodes report
// (cohort.aggregate.version_conflicts on their /metrics) after a warm-up:
// in a cluster the article has one activation, so there should be none.
// Then it checks the streams and the invariants (no favorite applied
// twice, the counts in step).
func HotAggregate(ctx context.Context, cfg HotConfig) (_ *HotResult, err error) {
	if cfg.Users <= 0 {
		cfg.Users = 9
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 3 * time.Second
	}
	if cfg.Steady <= 0 {
		cfg.Steady = 10 * time.Second
	}
	var seed uint64
	loadDefaults(new(int), new(int), &seed, &cfg.Logf, &cfg.Logger)
	began := time.Now()
	res := &HotResult{Clustered: !cfg.Unclustered}
	defer func() { res.Elapsed = time.Since(began) }()

	h, err := newHarness(ctx, cfg.PostgresBinDir, cfg.WorkDir, cfg.Race, cfg.Logger)
	if err != nil {
		return res, err
	}
	defer h.Close()
	defer h.keepLog(&err, res.OK, &res.ServerLog, &res.LogTail)
	base, err := h.conduitConfig(cfg.WorkDir, "-drain", "0s")
	if err != nil {
		return res, err
	}
	args := func(int) []string { return nil }
	if !cfg.Unclustered {
		if args, _, err = ClusterArgs(3); err != nil {
			return res, err
		}
	}
	nodes, _, err := makeNodes(base, 3, args)
	if err != nil {
		return res, err
	}
	defer killNodes(nodes)
	if err := startCluster(ctx, nodes, h.log); err != nil {
		return res, err
	}

	tokens := make([]string, cfg.Users+1)
	for i := range tokens {
		name := "hot_" + strings.ToLower(crand.Text()[:10])
		r := conduitload.NewClient(nodes[i%3].proc.API, 30*time.Second).Do(ctx, http.MethodPost, "/users", "",
			map[string]any{"user": map[string]string{"username": name, "email": name + "@hot.test", "password": "hot-password"}})
		var doc conduitload.UserDoc
		if r.Outcome() != conduitload.Acked || r.Decode(&doc) != nil {
			return res, fmt.Errorf("faulttest: register %s: %s", name, r)
		}
		tokens[i] = doc.User.Token
	}
	r := conduitload.NewClient(nodes[0].proc.API, 30*time.Second).Do(ctx, http.MethodPost, "/articles", tokens[cfg.Users],
		map[string]any{"article": map[string]any{"title": "Hot article", "description": "Favorited by all", "body": "Hot"}})
	var doc conduitload.ArticleDoc
	if r.Outcome() != conduitload.Acked || r.Decode(&doc) != nil {
		return res, fmt.Errorf("faulttest: publish the hot article: %s", r)
	}
	path := "/articles/" + doc.Article.Slug + "/favorite"
	cfg.Logf("PostgreSQL on port %d; 3 Conduits (clustered: %v); %d users favorite and unfavorite %s through every node",
		h.pg.Port(), res.Clustered, cfg.Users, doc.Article.Slug)

	conflicts := func() (int64, error) {
		var n int64
		for _, nd := range nodes {
			c, err := versionConflicts(ctx, nd.proc.Admin)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n, nil
	}
	var counting atomic.Bool
	var acked, failed atomic.Int64
	var failedMu sync.Mutex
	res.FailedBy = make(map[int]int64)
	loads := make([]func(context.Context), cfg.Users)
	for i := range loads {
		c := conduitload.NewClient(nodes[i%3].proc.API, 30*time.Second)
		loads[i] = func(ctx context.Context) {
			for n := 0; ctx.Err() == nil; n++ {
				method := http.MethodPost
				if n%2 == 1 {
					method = http.MethodDelete
				}
				r := c.Do(ctx, method, path, tokens[i], nil)
				if ctx.Err() != nil || !counting.Load() {
					continue
				}
				if r.Outcome() == conduitload.Acked {
					acked.Add(1)
				} else {
					failed.Add(1)
					failedMu.Lock()
					res.FailedBy[r.Status]++
					failedMu.Unlock()
					cfg.Logf("%s %s through node %d: %s", method, path, i%3, r)
				}
			}
		}
	}
	stop := startLoad(ctx, loads...)
	defer stop()
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return res, err
	}
	if res.WarmupConflicts, err = conflicts(); err != nil {
		return res, err
	}
	counting.Store(true)
	if err := sleepCtx(ctx, cfg.Steady); err != nil {
		return res, err
	}
	counting.Store(false)
	end, err := conflicts()
	if err != nil {
		return res, err
	}
	stop()
	res.Conflicts = end - res.WarmupConflicts
	res.Commands, res.Failed = acked.Load(), failed.Load()
	// Without a cluster, conflicts that outlast the retries fail
	// commands, answered 409: that is what the comparison shows. Any
	// other failure is a problem.
	failedMu.Lock()
	otherFailures := res.Failed - res.FailedBy[http.StatusConflict]
	failedMu.Unlock()
	switch {
	case res.Failed > 0 && res.Clustered:
		res.Problems = append(res.Problems, fmt.Sprintf("%d commands of the steady phase failed (logged above)", res.Failed))
	case otherFailures > 0:
		res.Problems = append(res.Problems, fmt.Sprintf("%d commands of the steady phase failed otherwise than with 409 (logged above)", otherFailures))
	}

	db, err := pgxpool.New(ctx, h.pg.ConnString("conduit"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	check := Checker{DB: db}
	if res.Streams, err = check.Streams(ctx); err != nil {
		return res, err
	}
	if res.Invariants, err = check.Invariants(ctx); err != nil {
		return res, err
	}
	if err := stopNodes(nodes); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("graceful shutdown: %v", err))
	}
	if n := h.log.Races(); n > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d data races in the server", n))
	}
	return res, nil
}

// Summary formats the run's figures.
func (r *HotResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hot aggregate through three nodes (clustered: %v): %v\n", r.Clustered, ms(r.Elapsed))
	fmt.Fprintf(&b, "  steady phase:          %d favorites and unfavorites acknowledged, %d failed%s\n", r.Commands, r.Failed, statusCounts(r.FailedBy))
	fmt.Fprintf(&b, "  version conflicts:     %d in the steady phase (%d in the warm-up)\n", r.Conflicts, r.WarmupConflicts)
	fmt.Fprintf(&b, "  streams checked:       %d (%d events), with gaps or duplicates: %d\n", r.Streams.Streams, r.Streams.Events, len(r.Streams.Problems))
	fmt.Fprintf(&b, "  invariant violations:  %d\n", len(r.Invariants))
	for _, list := range [][]string{r.Streams.Problems, r.Invariants, r.Problems} {
		for _, s := range list {
			fmt.Fprintf(&b, "  problem: %s\n", s)
		}
	}
	return b.String()
}

// statusCounts formats counts by HTTP status, " (409: 40, 503: 3)", in
// the order of the statuses; "" when there are none. Status 0 is "no
// answer".
func statusCounts(by map[int]int64) string {
	if len(by) == 0 {
		return ""
	}
	parts := make([]string, 0, len(by))
	for _, status := range slices.Sorted(maps.Keys(by)) {
		name := strconv.Itoa(status)
		if status == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, by[status]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
