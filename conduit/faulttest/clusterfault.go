package faulttest

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/conduitload"
	"github.com/cohort-dev/cohort/internal/balancer"
)

// MemberFault is what ClusterFault does to one member of the cluster.
type MemberFault int

const (
	// KillMember kills it with SIGKILL: its session ends, and the
	// membership drops it within a heartbeat.
	KillMember MemberFault = iota
	// FreezeMember stops it with SIGSTOP for ClusterFaultConfig.Freeze,
	// longer than the membership's TTL, then lets it go on (SIGCONT): its
	// row expires, the others drop it, and it finds itself expelled when
	// it wakes.
	FreezeMember
)

func (f MemberFault) String() string {
	if f == FreezeMember {
		return "SIGSTOP"
	}
	return "SIGKILL"
}

// ClusterFaultConfig configures ClusterFault.
type ClusterFaultConfig struct {
	Fault MemberFault
	// Freeze is how long FreezeMember keeps the member stopped (default
	// 20 s, beyond the membership's default TTL of 10 s with a margin: a
	// survivor's topology update was once held up 4.6 s by protoactor's
	// reconnection to the frozen member).
	Freeze time.Duration
	// Probes is how many users, of those whose aggregate's shard lives on
	// the victim and of the others, have their bio changed one command
	// after another through the surviving members (alternately) during
	// the run (default 6 of each).
	Probes int
	// Workers and UsersPerWorker shape the mixed load through the
	// balancer (conduitload.Config).
	Workers, UsersPerWorker int
	// Settle is the load before the fault, and after it once every probe
	// had a command acknowledged (default 3 s).
	Settle time.Duration
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
	// Race builds Conduit with the race detector; a data race it reports
	// is a problem.
	Race bool
}

func (c ClusterFaultConfig) withDefaults() ClusterFaultConfig {
	if c.Freeze <= 0 {
		c.Freeze = 20 * time.Second
	}
	if c.Probes <= 0 {
		c.Probes = 6
	}
	if c.Settle <= 0 {
		c.Settle = 3 * time.Second
	}
	loadDefaults(&c.Workers, &c.UsersPerWorker, &c.Seed, &c.Logf, &c.Logger)
	return c
}

// ClusterFaultResult holds the figures of ClusterFault and every problem
// it found (in Result, whose OK it shares).
type ClusterFaultResult struct {
	Result
	Fault MemberFault
	// Victim is the member the fault hit (a node index); Members the
	// members' cluster addresses, by node.
	Victim  int
	Members []string
	// Freeze is how long FreezeMember kept the victim stopped.
	Freeze time.Duration
	// Moved: for each probe whose aggregate's shard lived on the victim,
	// from the fault until a command for it, sent after the fault through
	// another member, was acknowledged. Stayed: the same for the probes
	// whose shards lived on the other members.
	Moved, Stayed []time.Duration
	// MovedEach lists Moved's figures with the node each probe sent its
	// commands through: "node i: duration".
	MovedEach []string
	// VictimEnd says how the victim ended (FreezeMember: after it woke);
	// VictimExit is its exit status, nil if it did not exit or exited 0.
	VictimEnd  string
	VictimExit error
	// Conflicts: the surviving members' cohort.aggregate.version_conflicts
	// at the end.
	Conflicts int64
	Balancer  balancer.Stats
}

// ClusterFault starts three Conduit processes as one cluster on one
// database behind the balancer, drives the mixed load through the
// balancer and, meanwhile, probes: users whose bio is changed one command
// after another through the members other than the victim. After Settle
// it hits the victim (node 2) with cfg.Fault and measures, for each probe,
// how long after the fault a command sent after it was acknowledged:
// separately for the probes whose aggregate's shard lived on the victim
// (found by the cluster's placement: see shardOwner) and the others. Then
// it checks as Run does (checkEnd): no acknowledged write lost, no command
// applied twice, the read model equal to a rebuild. It returns an error
// when it cannot carry on; problems it found are in the result.
func ClusterFault(ctx context.Context, cfg ClusterFaultConfig) (_ *ClusterFaultResult, err error) {
	cfg = cfg.withDefaults()
	began := time.Now()
	res := &ClusterFaultResult{Result: Result{Seed: cfg.Seed}, Fault: cfg.Fault, Victim: 2, Freeze: cfg.Freeze}
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
	args, members, err := ClusterArgs(3)
	if err != nil {
		return res, err
	}
	res.Members = members
	nodes, backends, err := makeNodes(base, 3, args)
	if err != nil {
		return res, err
	}
	defer killNodes(nodes)
	if err := startCluster(ctx, nodes, h.log); err != nil {
		return res, err
	}
	cfg.Logf("PostgreSQL on port %d; 3 Conduits on %v, members %v; seed %d", h.pg.Port(), backends, members, cfg.Seed)
	lb, lbURL, stopLB, err := serveBalancer(backends, 200*time.Millisecond, cfg.Logger)
	if err != nil {
		return res, err
	}
	defer stopLB()
	db, err := pgxpool.New(ctx, h.pg.ConnString("conduit"))
	if err != nil {
		return res, err
	}
	defer db.Close()

	probes, err := newClusterProbes(ctx, db, nodes[0].proc.API, cfg.Probes, members, res.Victim)
	if err != nil {
		return res, err
	}
	wl := conduitload.New(conduitload.Config{
		Client:         conduitload.NewClient(lbURL+"/api", 30*time.Second),
		Workers:        cfg.Workers,
		UsersPerWorker: cfg.UsersPerWorker,
		Seed:           cfg.Seed,
		Logf:           cfg.Logf,
	})
	survivors := []string{nodes[0].proc.API, nodes[1].proc.API}
	stop := startLoad(ctx, wl.Run, func(ctx context.Context) { probes.run(ctx, survivors) })
	defer stop()

	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return res, err
	}
	victim := nodes[res.Victim]
	var faultAt time.Time
	switch cfg.Fault {
	case KillMember:
		faultAt = time.Now()
		if err := victim.proc.Kill(); err != nil {
			return res, err
		}
		res.VictimEnd = "killed"
		cfg.Logf("SIGKILL node %d (member %s)", res.Victim, members[res.Victim])
	case FreezeMember:
		faultAt = time.Now()
		if err := syscall.Kill(victim.proc.Pid(), syscall.SIGSTOP); err != nil {
			return res, err
		}
		cfg.Logf("SIGSTOP node %d (member %s) for %v", res.Victim, members[res.Victim], cfg.Freeze)
		if err := sleepCtx(ctx, cfg.Freeze); err != nil {
			_ = syscall.Kill(victim.proc.Pid(), syscall.SIGCONT)
			return res, err
		}
		if err := syscall.Kill(victim.proc.Pid(), syscall.SIGCONT); err != nil {
			return res, err
		}
		select {
		case <-victim.proc.Exited():
			res.VictimExit = victim.proc.err
			res.VictimEnd = fmt.Sprintf("woke and exited at once (%v)", cmpOr(victim.proc.err, "exit status 0"))
		case <-time.After(10 * time.Second):
			res.VictimEnd = "woke and still runs 10 s later"
		}
		cfg.Logf("SIGCONT node %d: %s", res.Victim, res.VictimEnd)
	}
	// The probes go on until each had a command acknowledged (or a
	// minute passed), then the load runs for Settle more.
	for limit := time.Now().Add(time.Minute); time.Now().Before(limit); {
		moved, stayed := probes.recovery(faultAt)
		if len(moved)+len(stayed) == len(probes.probes) {
			break
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return res, err
		}
	}
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return res, err
	}
	stop()
	res.Load = wl.Stats().Snapshot()
	res.Balancer = lb.Stats()
	cfg.Logf("load stopped after %v:\n%s", ms(time.Since(began)), res.Load.Table())
	res.Moved, res.Stayed = probes.recovery(faultAt)
	for _, p := range probes.probes {
		if d, ok := p.recovery(faultAt); ok && p.onVictim {
			res.MovedEach = append(res.MovedEach, fmt.Sprintf("node %d: %v", p.via, ms(d)))
		}
	}
	if n := probes.count(true); len(res.Moved) < n {
		res.problem("%d of the %d probes whose shard lived on the victim had no command acknowledged after the fault", n-len(res.Moved), n)
	}
	if n := probes.count(false); len(res.Stayed) < n {
		res.problem("%d of the %d probes whose shard lived elsewhere had no command acknowledged after the fault", n-len(res.Stayed), n)
	}
	for _, n := range nodes[:res.Victim] {
		c, err := versionConflicts(ctx, n.proc.Admin)
		if err != nil {
			return res, err
		}
		res.Conflicts += c
	}

	check := Checker{DB: db, ClaimsKey: []byte(base.ClaimsKey)}
	if err := res.checkEnd(ctx, wl, check, func() error { return stopNodes(nodes) }, nodes[0].cfg, h.log); err != nil {
		return res, err
	}
	return res, nil
}

// Summary formats the run's figures.
func (r *ClusterFaultResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster fault (%v of one of three members): seed %d, %v\n", r.Fault, r.Seed, ms(r.Elapsed))
	fmt.Fprintf(&b, "  victim:                         node %d (member %s): %s\n", r.Victim, r.Members[r.Victim], r.VictimEnd)
	fmt.Fprintf(&b, "  probes on the victim's shards:  %d; fault → first command acknowledged elsewhere: p50 %v, max %v\n",
		len(r.Moved), ms(Percentile(r.Moved, 50)), ms(Percentile(r.Moved, 100)))
	fmt.Fprintf(&b, "  each, by the node it went through: %v\n", r.MovedEach)
	fmt.Fprintf(&b, "  probes on the others' shards:   %d; fault → next command acknowledged: p50 %v, max %v\n",
		len(r.Stayed), ms(Percentile(r.Stayed, 50)), ms(Percentile(r.Stayed, 100)))
	fmt.Fprintf(&b, "  version conflicts (survivors):  %d\n", r.Conflicts)
	fmt.Fprintf(&b, "  balancer:                       %d requests, %d retried on another node, %d answered by the balancer\n",
		r.Balancer.Requests, r.Balancer.Retried, r.Balancer.Failed)
	r.writeChecks(&b)
	return b.String()
}

// clusterProbes are users whose bio changes one command after another,
// each through one member; whether its aggregate's shard lives on the
// victim is known from the start.
type clusterProbes struct {
	probes []*clusterProbe
}

type clusterProbe struct {
	token    string
	onVictim bool
	via      int // which of the surviving members it sends its commands through
	mu       sync.Mutex
	acked    []probeCommand
}

// probeCommand is a command a probe sent and saw acknowledged.
type probeCommand struct{ sent, done time.Time }

// newClusterProbes registers users through api until it has n whose
// accounts.User aggregate's shard lives on the victim while all of
// members are up, and n whose shard lives on another member.
func newClusterProbes(ctx context.Context, db *pgxpool.Pool, api string, n int, members []string, victim int) (*clusterProbes, error) {
	c := conduitload.NewClient(api, 30*time.Second)
	ps := &clusterProbes{}
	have := map[bool]int{}
	for tries := 0; have[true] < n || have[false] < n; tries++ {
		if tries == 20*n {
			return nil, fmt.Errorf("faulttest: %d users registered, %d on the victim's shards: the placement is not what shardOwner expects", tries, have[true])
		}
		name := "probe_" + strings.ToLower(crand.Text()[:10])
		r := c.Do(ctx, http.MethodPost, "/users", "", map[string]any{"user": map[string]string{
			"username": name, "email": name + "@probe.test", "password": "probe-password"}})
		var doc conduitload.UserDoc
		if r.Outcome() != conduitload.Acked || r.Decode(&doc) != nil {
			return nil, fmt.Errorf("faulttest: register a probe: %s", r)
		}
		var id string
		if err := db.QueryRow(ctx, `SELECT id FROM conduit.users WHERE username = $1`, name).Scan(&id); err != nil {
			return nil, fmt.Errorf("faulttest: the probe %s's id: %w", name, err)
		}
		owner, err := shardOwner(userAggregateKind, id, members)
		if err != nil {
			return nil, err
		}
		onVictim := owner == members[victim]
		if have[onVictim] == n {
			continue
		}
		ps.probes = append(ps.probes, &clusterProbe{token: doc.User.Token, onVictim: onVictim, via: have[onVictim] % 2})
		have[onVictim]++
	}
	return ps, nil
}

// run changes each probe's bio, one command after another, through
// apis[probe.via], until ctx ends.
func (ps *clusterProbes) run(ctx context.Context, apis []string) {
	var wg sync.WaitGroup
	for _, p := range ps.probes {
		// A short timeout, so that a command stuck on the victim does not
		// hide for long that its aggregate is served elsewhere again: the
		// outcome of one that timed out is unknown, harmless for a bio.
		c := conduitload.NewClient(apis[p.via], time.Second)
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				sent := time.Now()
				r := c.Do(ctx, http.MethodPut, "/user", p.token, map[string]any{"user": map[string]string{"bio": "probe " + strconv.Itoa(n)}})
				if r.Outcome() == conduitload.Acked {
					p.mu.Lock()
					p.acked = append(p.acked, probeCommand{sent: sent, done: time.Now()})
					p.mu.Unlock()
				}
				_ = sleepCtx(ctx, 100*time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// recovery returns, for the probes on the victim's shards and for the
// others, the time from at until the first acknowledgement of a command
// sent after at, for each probe that had one.
func (ps *clusterProbes) recovery(at time.Time) (moved, stayed []time.Duration) {
	for _, p := range ps.probes {
		d, ok := p.recovery(at)
		switch {
		case !ok:
		case p.onVictim:
			moved = append(moved, d)
		default:
			stayed = append(stayed, d)
		}
	}
	return moved, stayed
}

// recovery returns the time from at until the first acknowledgement of
// a command sent after at, if there was one.
func (p *clusterProbe) recovery(at time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.acked {
		if !c.sent.Before(at) {
			return c.done.Sub(at), true
		}
	}
	return 0, false
}

// count returns how many probes live on the victim's shards (or not).
func (ps *clusterProbes) count(onVictim bool) int {
	n := 0
	for _, p := range ps.probes {
		if p.onVictim == onVictim {
			n++
		}
	}
	return n
}

// userAggregateKind is the cluster kind of Conduit's accounts.User
// aggregates (actors' clusterKind of its aggregate type).
const userAggregateKind = "cohort.aggregate.accounts.User"

// conduitShards is the number of shards per aggregate type in Conduit:
// actors.Config's default Shards, which Conduit keeps.
const conduitShards = 16

// shardOwner returns which of members (cluster addresses) the shard of
// aggregate id of kind lives on while exactly those members are up: the
// shard is the identity strconv.Itoa(fnv32a(id) % conduitShards) (as
// actors places an aggregate on a shard), and protoactor's disthash
// identity lookup places it on a member by rendezvous hashing over the
// members' addresses (cluster.Rendezvous).
func shardOwner(kind, id string, members []string) (string, error) {
	h := fnv.New32a()
	h.Write([]byte(id))
	identity := strconv.Itoa(int(h.Sum32() % conduitShards))
	ms := make(cluster.Members, len(members))
	for i, m := range members {
		host, port, err := net.SplitHostPort(m)
		if err != nil {
			return "", err
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return "", err
		}
		ms[i] = &cluster.Member{Host: host, Port: int32(p), Id: m, Kinds: []string{kind}}
	}
	r := cluster.NewRendezvous()
	r.UpdateMembers(ms)
	return r.GetByClusterIdentity(&cluster.ClusterIdentity{Kind: kind, Identity: identity}), nil
}

// versionConflicts reads the cohort.aggregate.version_conflicts counter
// (summed over its attributes) from a Conduit's operations listener.
func versionConflicts(ctx context.Context, admin string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("faulttest: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("faulttest: metrics: %s", resp.Status)
	}
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "cohort_aggregate_version_conflicts") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("faulttest: metrics: %q: %w", line, err)
		}
		total += v
	}
	return int64(total), sc.Err()
}

// cmpOr returns err's text, or ok if err is nil.
func cmpOr(err error, ok string) string {
	if err == nil {
		return ok
	}
	return err.Error()
}
