package actors_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// The process manager's benchmark: a job is started on its aggregate
// (StartJob, one event: JobStarted); the relay process manager routes the
// event to the job's instance, whose Handle dispatches FinishJob to the
// same aggregate (one event: JobFinished). A job's latency is from the
// dispatch of StartJob until the aggregate applied JobFinished (after its
// append): the subscription's read, the delivery to the instance, its
// command and its append.

type (
	// StartJob starts job Ref on aggregate ID, for relay instance Instance.
	StartJob struct{ ID, Instance, Ref string }
	// StartQuietJobs starts the jobs Refs at once (one event each, in one
	// append), for an instance that handles them without a command.
	StartQuietJobs struct {
		ID, Instance string
		Refs         []string
	}
	// FinishJob finishes job Ref on aggregate ID.
	FinishJob struct{ ID, Ref string }
	// ProbeJob appends nothing: it activates the aggregate.
	ProbeJob struct{ ID string }
	// JobStarted: job Ref, on aggregate ID, is for relay instance Instance.
	JobStarted struct {
		ID, Instance, Ref string
		Quiet             bool // handled without a command
	}
	// JobFinished: the relay finished job Ref.
	JobFinished struct{ ID, Ref string }
)

// jobRun is one job as the benchmark follows it.
type jobRun struct {
	start      time.Time
	dispatched time.Duration // until StartJob's dispatch returned
	routed     atomic.Int64  // UnixNano when the coordinator routed it; 0 until then
	handled    atomic.Int64  // UnixNano of the first Handle; 0 until then
	member     atomic.Int32  // the member whose instance handled it, +1
	done       chan struct{}
	once       sync.Once
}

// jobTracker follows the jobs under way, wherever their aggregates and
// instances run (all members are in this process).
type jobTracker struct {
	jobs  sync.Map // ref -> *jobRun
	seq   atomic.Int64
	coord atomic.Int32 // the member whose coordinator routed an event, +1
}

// begin registers a new job and returns its ref.
func (t *jobTracker) begin() (string, *jobRun) {
	ref := "r" + strconv.FormatInt(t.seq.Add(1), 10)
	j := &jobRun{start: time.Now(), done: make(chan struct{})}
	t.jobs.Store(ref, j)
	return ref, j
}

func (t *jobTracker) routed(ref string, member int) {
	t.coord.Store(int32(member + 1))
	if v, ok := t.jobs.Load(ref); ok {
		v.(*jobRun).routed.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (t *jobTracker) handled(ref string, member int) {
	if v, ok := t.jobs.Load(ref); ok {
		j := v.(*jobRun)
		j.handled.CompareAndSwap(0, time.Now().UnixNano())
		j.member.CompareAndSwap(0, int32(member+1))
	}
}

func (t *jobTracker) finished(ref string) {
	if v, ok := t.jobs.Load(ref); ok {
		j := v.(*jobRun)
		j.once.Do(func() { close(j.done) })
	}
}

// JobRecord is the job aggregate.
type JobRecord struct {
	Jobs int
	t    *jobTracker
}

func (r *JobRecord) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case StartJob:
		return []any{JobStarted{ID: c.ID, Instance: c.Instance, Ref: c.Ref}}, nil
	case StartQuietJobs:
		evs := make([]any, len(c.Refs))
		for i, ref := range c.Refs {
			evs[i] = JobStarted{ID: c.ID, Instance: c.Instance, Ref: ref, Quiet: true}
		}
		return evs, nil
	case FinishJob:
		return []any{JobFinished(c)}, nil
	}
	return nil, nil
}

func (r *JobRecord) Apply(ev any) {
	r.Jobs++
	if e, ok := ev.(JobFinished); ok {
		r.t.finished(e.Ref)
	}
}

// Relay is the benchmark's process manager: it finishes each job it is
// told of.
type Relay struct {
	Jobs   int
	t      *jobTracker
	member int
}

func (p *Relay) Handle(ev actors.Event) ([]any, error) {
	e, ok := ev.Payload.(JobStarted)
	if !ok {
		return nil, nil
	}
	p.t.handled(e.Ref, p.member)
	if e.Quiet {
		p.t.finished(e.Ref)
		return nil, nil
	}
	return []any{FinishJob{ID: e.ID, Ref: e.Ref}}, nil
}

func (p *Relay) Apply(any) { p.Jobs++ }

// jobApp returns an App (not started) with the job aggregate and the relay
// process manager, as member (0 alone) of a cluster if cfg makes it one.
func jobApp(tb testing.TB, store actors.EventStore, t *jobTracker, member int, cfg func(*actors.Config)) *actors.App {
	tb.Helper()
	app := benchApp(tb, store, cfg)
	registerJobs(tb, app, t, member)
	return app
}

// registerJobs registers the job aggregate and the relay process manager
// on app, member (0 alone) of a cluster or not.
func registerJobs(tb testing.TB, app *actors.App, t *jobTracker, member int) {
	tb.Helper()
	must(tb, actors.RegisterEvent[JobStarted](app.Registry(), "bench.JobStarted"))
	must(tb, actors.RegisterEvent[JobFinished](app.Registry(), "bench.JobFinished"))
	must(tb, app.RegisterAggregate(actors.AggregateType{Name: "job", New: func() actors.Aggregate { return &JobRecord{t: t} }}))
	must(tb, actors.Route(app, "job", func(c StartJob) string { return c.ID }))
	must(tb, actors.Route(app, "job", func(c StartQuietJobs) string { return c.ID }))
	must(tb, actors.Route(app, "job", func(c FinishJob) string { return c.ID }))
	must(tb, actors.Route(app, "job", func(c ProbeJob) string { return c.ID }))
	must(tb, app.RegisterProcessManager(actors.ProcessManagerConfig{
		Name: "relay",
		New:  func() actors.ProcessManager { return &Relay{t: t, member: member} },
		Interested: func(ev actors.Event) []actors.Interest {
			if e, ok := ev.Payload.(JobStarted); ok {
				t.routed(e.Ref, member)
				return []actors.Interest{actors.ContinueProcess(e.Instance)}
			}
			return nil
		},
	}))
}

// runJob starts a job on aggregate id for instance inst through app and
// returns it once its instance's command is applied.
func runJob(tb testing.TB, app *actors.App, t *jobTracker, id, inst string) *jobRun {
	ref, j := t.begin()
	defer t.jobs.Delete(ref)
	if _, err := app.Dispatch(context.Background(), StartJob{ID: id, Instance: inst, Ref: ref}); err != nil {
		tb.Error(err)
		return j
	}
	j.dispatched = time.Since(j.start)
	select {
	case <-j.done:
	case <-time.After(time.Minute):
		tb.Errorf("job %s not finished within a minute", ref)
	}
	return j
}

// BenchmarkClusterProcess: the relay process manager alone and in a
// three-member cluster (in this process, gRPC over 127.0.0.1, membership
// in PostgreSQL, each member its own store), its coordinator on one member
// and the jobs started through that member on aggregates whose shards are
// there, with instances on the coordinator's member (local: deliveries as
// Go values) or on the two others (remote: each delivery and its report a
// gRPC round trip, and the instance's FinishJob one more to the aggregate).
//
//   - spread: 10 dispatchers, each starting a job and waiting until it is
//     finished, over 50 warm instances (each with its own aggregate, and
//     one job at a time), rounds of 300 jobs: jobs/s, and the latencies
//     until the instance handled the event and until its command was
//     applied (p50, p99).
//   - hot: one instance told of 200 jobs at once (10 dispatchers, without
//     waiting, each on its own aggregate): the jobs/s that one instance
//     handles, so what the coordinator's one delivery at a time per
//     instance costs there.
//   - hot-quiet: one instance told of 200 jobs in one append, which it
//     handles without a command: the events/s one instance takes, so the
//     delivery's own cost (alone, the events queue in the instance's
//     mailbox; in a cluster, each waits for the report of the one before).
func BenchmarkClusterProcess(b *testing.B) {
	const workers, slots, round, burst = 10, 50, 300, 200
	ctx := context.Background()
	spread := func(b *testing.B, app *actors.App, t *jobTracker, aggs, insts []string) {
		var lat, dispatched, routed, handled []time.Duration
		var mu sync.Mutex
		rounds := 0
		for b.Loop() {
			runWorkers(b, workers, slots, round, func(_, k int) error {
				j := runJob(b, app, t, aggs[k], insts[k])
				mu.Lock()
				defer mu.Unlock()
				lat = append(lat, time.Since(j.start))
				dispatched = append(dispatched, j.dispatched)
				routed = append(routed, time.Duration(j.routed.Load()-j.start.UnixNano()))
				handled = append(handled, time.Duration(j.handled.Load()-j.start.UnixNano()))
				return nil
			})
			rounds++
		}
		b.ReportMetric(float64(rounds*round)/b.Elapsed().Seconds(), "jobs/s")
		reportLatency(b, lat)
		for _, m := range []struct {
			name string
			lat  []time.Duration
		}{{"dispatched", dispatched}, {"routed", routed}, {"handled", handled}} {
			slices.Sort(m.lat)
			b.ReportMetric(float64(m.lat[len(m.lat)/2].Microseconds()), m.name+"-p50-µs")
		}
	}
	hot := func(b *testing.B, app *actors.App, t *jobTracker, aggs []string, inst string) {
		jobs := 0
		for b.Loop() {
			var wg sync.WaitGroup
			runWorkers(b, workers, workers, burst, func(w, _ int) error {
				ref, j := t.begin()
				if _, err := app.Dispatch(ctx, StartJob{ID: aggs[w], Instance: inst, Ref: ref}); err != nil {
					return err
				}
				wg.Go(func() {
					defer t.jobs.Delete(ref)
					select {
					case <-j.done:
					case <-time.After(time.Minute):
						b.Errorf("job %s not finished within a minute", ref)
					}
				})
				return nil
			})
			wg.Wait()
			jobs += burst
		}
		b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
	}
	quiet := func(b *testing.B, app *actors.App, t *jobTracker, agg, inst string) {
		events := 0
		for b.Loop() {
			refs, runs := make([]string, burst), make([]*jobRun, burst)
			for i := range refs {
				refs[i], runs[i] = t.begin()
			}
			actorstest.Dispatch(b, app, StartQuietJobs{ID: agg, Instance: inst, Refs: refs})
			for i, j := range runs {
				select {
				case <-j.done:
				case <-time.After(time.Minute):
					b.Fatalf("job %s not handled within a minute", refs[i])
				}
				t.jobs.Delete(refs[i])
			}
			events += burst
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	}

	b.Run("alone", func(b *testing.B) {
		t := &jobTracker{}
		app := actorstest.Start(b, jobApp(b, actorstest.PostgresStore(b, actorstest.PostgresDatabase(b)), t, 0, nil))
		aggs, insts := make([]string, slots), make([]string, slots)
		for k := range slots {
			aggs[k], insts[k] = "a"+strconv.Itoa(k), "i"+strconv.Itoa(k)
			runJob(b, app, t, aggs[k], insts[k])
		}
		b.Run("spread", func(b *testing.B) { spread(b, app, t, aggs, insts) })
		runJob(b, app, t, aggs[0], "hot")
		b.Run("hot", func(b *testing.B) { hot(b, app, t, aggs, "hot") })
		b.Run("hot-quiet", func(b *testing.B) { quiet(b, app, t, aggs[0], "hot") })
	})

	t := &jobTracker{}
	conn := actorstest.PostgresDatabase(b)
	pool := pgtest.NewPool(b, conn)
	must(b, clusterpg.Migrate(b.Context(), pool, ""))
	var apps []*actors.App
	for i := range 3 {
		provider, err := clusterpg.New(ctx, pool, clusterpg.Config{Protocol: actors.ClusterProtocol})
		must(b, err)
		b.Cleanup(func() { _ = provider.Close() })
		apps = append(apps, actorstest.Start(b, jobApp(b, actorstest.PostgresStore(b, conn), t, i, func(c *actors.Config) {
			c.Cluster = &actors.ClusterConfig{Name: "pmbench", Provider: provider}
		})))
	}
	waitClusterMembers(b, 3, apps...)
	// The coordinator's member, and aggregates whose shards are on it.
	runJob(b, apps[0], t, "probe", "probe")
	coord := int(t.coord.Load()) - 1
	if coord < 0 {
		b.Fatal("no coordinator routed the probe's event")
	}
	via := apps[coord]
	var aggs []string
	for i := 0; len(aggs) < slots; i++ {
		if i > 100*slots {
			b.Fatal("too few aggregates on the coordinator's member")
		}
		id := "a" + strconv.Itoa(i)
		before := actors.LiveAggregates(via)
		actorstest.Dispatch(b, via, ProbeJob{ID: id})
		if actors.LiveAggregates(via) > before {
			aggs = append(aggs, id)
		}
	}
	// Instances on the coordinator's member and on the others.
	var local, remote []string
	for i := 0; len(local) < slots || len(remote) < slots; i++ {
		if i > 100*slots {
			b.Fatalf("too few instances placed: %d local, %d remote", len(local), len(remote))
		}
		inst := "i" + strconv.Itoa(i)
		switch j := runJob(b, via, t, aggs[0], inst); {
		case int(j.member.Load())-1 == coord:
			local = append(local, inst)
		default:
			remote = append(remote, inst)
		}
	}
	b.Logf("coordinator on member %d; instances probed: %d local, %d remote", coord, len(local), len(remote))
	b.Run("cluster-local/spread", func(b *testing.B) { spread(b, via, t, aggs, local[:slots]) })
	b.Run("cluster-remote/spread", func(b *testing.B) { spread(b, via, t, aggs, remote[:slots]) })
	b.Run("cluster-local/hot", func(b *testing.B) { hot(b, via, t, aggs, local[0]) })
	b.Run("cluster-remote/hot", func(b *testing.B) { hot(b, via, t, aggs, remote[0]) })
	b.Run("cluster-local/hot-quiet", func(b *testing.B) { quiet(b, via, t, aggs[0], local[0]) })
	b.Run("cluster-remote/hot-quiet", func(b *testing.B) { quiet(b, via, t, aggs[0], remote[0]) })
}
