package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestPartitionedHandlerSurvivesResubscribe: a handler that runs in
// partitions keeps making progress after its subscription's lock
// connection is lost (as when PostgreSQL restarts) while one partition is
// still retrying an event that the others have overtaken. The store
// resumes the subscription from its checkpoint and delivers those events
// again; the handler must still acknowledge everything once the slow event
// passes.
//
// The fault suite found the opposite: Conduit's claims handler (eight
// partitions) stopped at a position for good after a PostgreSQL restart,
// and every strongly consistent write then timed out.
func TestPartitionedHandlerSurvivesResubscribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pool, store, app := newResubscribeApp(t, ctx)

	const fastStreams = 8 // some of them land in the slow one's partition, some not
	var (
		slowPasses atomic.Bool
		slowTries  atomic.Int64
		fastDone   atomic.Int64
	)
	err := app.RegisterHandler(actors.HandlerConfig{
		Name:        "partitioned",
		Concurrency: 2,
		PartitionBy: func(ev actors.Event) string { return ev.StreamID },
		OnError:     actors.RetryPolicy(1000, 10*time.Millisecond, 50*time.Millisecond),
		Handler: actors.HandlerFunc(func(_ context.Context, ev actors.Event) error {
			if ev.StreamID == "slow" {
				slowTries.Add(1)
				if !slowPasses.Load() {
					return errors.New("not yet")
				}
				return nil
			}
			fastDone.Add(1)
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	appendOne := func(stream string) int64 { return appendTick(t, ctx, store, stream) }
	appendOne("slow")
	var last int64
	for i := range fastStreams {
		last = appendOne("fast-" + string(rune('a'+i)))
	}
	// The fast events of the other partition overtake the slow one; those
	// of its own partition wait behind it.
	waitUntil(t, ctx, "fast events handled while the slow one fails", func() bool {
		return fastDone.Load() > 0 && slowTries.Load() >= 2
	})
	time.Sleep(200 * time.Millisecond)
	overtaken := fastDone.Load()
	if overtaken == fastStreams {
		t.Fatal("no fast event waits behind the slow one: choose other stream names")
	}

	// Lose the subscription's lock connection: the store resumes the
	// subscription from its checkpoint, before the slow event.
	loseLocks(t, ctx, pool)
	// The fast events come again (the partitions handle them at once).
	redelivered := waitFor(ctx, 10*time.Second, func() bool { return fastDone.Load() >= 2*overtaken })
	t.Logf("%d of %d fast events overtook the slow one; handled %d times after the lock was lost (redelivered: %v)",
		overtaken, fastStreams, fastDone.Load(), redelivered)

	slowPasses.Store(true)
	waitCtx, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	if err := app.WaitFor(waitCtx, "partitioned", last); err != nil {
		t.Fatalf("the handler did not reach position %d after the slow event passed: %v", last, err)
	}
	// And it goes on: the events delivered twice must not hold it back.
	next := appendOne("after")
	if err := app.WaitFor(waitCtx, "partitioned", next); err != nil {
		t.Fatalf("the handler did not reach a new event's position %d: %v", next, err)
	}
}

// TestProcessStopSurvivesResubscribe: an instance that gets a stopping
// event twice (its subscription resumed while an earlier event of the
// instance still failed) stops: each copy keeps its interest.
//
// Before, the instance forgot an event's interest once it had handled the
// first copy, so it took the second copy of the stopping event for one
// that starts it, handled it and kept its state.
func TestProcessStopSurvivesResubscribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pool, store, app := newResubscribeApp(t, ctx)
	var (
		passes  atomic.Bool
		tries   atomic.Int64
		handled atomic.Int64
		stops   atomic.Int64 // deliveries of the stopping event
	)
	err := app.RegisterProcessManager(actors.ProcessManagerConfig{
		Name: "pm",
		New: func() actors.ProcessManager {
			return &namedProcess{Name: "x", handle: func(string) error {
				tries.Add(1)
				if !passes.Load() {
					return errors.New("not yet")
				}
				handled.Add(1)
				return nil
			}}
		},
		OnError: actors.RetryPolicy(1000, 10*time.Millisecond, 50*time.Millisecond),
		Interested: func(ev actors.Event) []actors.Interest {
			switch ev.StreamID {
			case "go":
				return []actors.Interest{actors.StartProcess("x")}
			case "stop":
				stops.Add(1)
				return []actors.Interest{actors.StopProcess("x")}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())

	appendTick(t, ctx, store, "go")
	appendTick(t, ctx, store, "stop")
	// The stopping event must have been delivered before the subscription
	// is lost, to be delivered again after.
	waitUntil(t, ctx, "the instance failing its first event, the stopping event delivered", func() bool {
		return tries.Load() >= 2 && stops.Load() >= 1
	})
	loseLocks(t, ctx, pool)
	waitUntil(t, ctx, "the stopping event delivered again", func() bool { return stops.Load() >= 2 })

	passes.Store(true)
	after := appendTick(t, ctx, store, "after")
	waitCtx, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	if err := app.WaitFor(waitCtx, "pm", after); err != nil {
		t.Fatalf("the process manager did not reach position %d: %v", after, err)
	}
	if snap, err := store.ReadSnapshot(ctx, "$process-pm-x"); !errors.Is(err, eventstore.ErrSnapshotNotFound) {
		t.Errorf("the stopped instance has a state: %s (%v); handled %d events", snap.Data, err, handled.Load())
	}
}

// newResubscribeApp returns an application, not started, on a new
// PostgreSQL store that notices a lost subscription lock within 20 ms, and
// a pool on the store's database; the store closes at cleanup.
func newResubscribeApp(t *testing.T, ctx context.Context) (*pgxpool.Pool, *postgres.Store, *actors.App) {
	t.Helper()
	pool := pgtest.MustPool(t)
	store, err := postgres.New(ctx, pool, postgres.Config{LockPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	actors.MustRegisterEvent[tick](app.Registry(), "test.Tick")
	return pool, store, app
}

// loseLocks ends the connections holding the database's advisory locks
// (the subscriptions' locks): the store resumes each subscription from its
// checkpoint, delivering again the events in flight.
func loseLocks(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
}

// tick is the event appendTick appends: it names its stream.
type tick struct{ Stream string }

// appendTick appends a tick to stream and returns its position.
func appendTick(t *testing.T, ctx context.Context, store *postgres.Store, stream string) int64 {
	t.Helper()
	data, err := json.Marshal(tick{Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(ctx, stream, eventstore.Any, []eventstore.EventData{{ID: uuid.New(), Type: "test.Tick", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	return res.LastPosition
}

// waitFor polls cond until it holds or d passes, and reports whether it
// held.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) || sleepCtx(ctx, 10*time.Millisecond) != nil {
			return false
		}
	}
	return true
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	if !waitFor(ctx, 30*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// namedProcess learns its instance's name from the first event it handles
// (a tick on stream "name-<id>"); handle decides about every later event.
type namedProcess struct {
	Name   string
	handle func(name string) error
}

func (p *namedProcess) Handle(ev actors.Event) ([]any, error) {
	if p.Name == "" {
		return nil, nil
	}
	return nil, p.handle(p.Name)
}

func (p *namedProcess) Apply(event any) {
	if t, ok := event.(tick); ok {
		if name, ok := strings.CutPrefix(t.Stream, "name-"); ok {
			p.Name = name
		}
	}
}

// TestProcessManagerSurvivesResubscribe: a process manager whose
// subscription resumes in the same process (its lock connection lost)
// while an event is still in flight gets that event again. The event
// concerns two instances; one finishes both copies while the other still
// fails. The process manager must not pass the event until the other
// instance has finished it too.
//
// Before, the coordinator reset the event's count of unfinished instances
// to two when the copy arrived, so the first instance's two reports
// acknowledged the event while the second instance had not handled it: a
// crash then would have lost it.
func TestProcessManagerSurvivesResubscribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pool, store, app := newResubscribeApp(t, ctx)

	var (
		passes   = map[string]*atomic.Bool{"slow": {}, "fast": {}}
		tries    = map[string]*atomic.Int64{"slow": {}, "fast": {}}
		handled  = map[string]*atomic.Int64{"slow": {}, "fast": {}}
		routings atomic.Int64 // deliveries of the shared event
	)
	handle := func(name string) error {
		tries[name].Add(1)
		if !passes[name].Load() {
			return errors.New("not yet")
		}
		handled[name].Add(1)
		return nil
	}
	err := app.RegisterProcessManager(actors.ProcessManagerConfig{
		Name:    "pm",
		New:     func() actors.ProcessManager { return &namedProcess{handle: handle} },
		OnError: actors.RetryPolicy(1000, 10*time.Millisecond, 50*time.Millisecond),
		Interested: func(ev actors.Event) []actors.Interest {
			if name, ok := strings.CutPrefix(ev.StreamID, "name-"); ok {
				return []actors.Interest{actors.StartProcess(name)}
			}
			if ev.StreamID == "shared" {
				routings.Add(1)
			}
			return []actors.Interest{actors.ContinueProcess("slow"), actors.ContinueProcess("fast")}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	appendOne := func(stream string) int64 { return appendTick(t, ctx, store, stream) }
	appendOne("name-slow")
	named := appendOne("name-fast")
	waitCtx, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	if err := app.WaitFor(waitCtx, "pm", named); err != nil {
		t.Fatal(err)
	}
	shared := appendOne("shared")
	waitUntil(t, ctx, "both instances failing the shared event", func() bool {
		return tries["slow"].Load() >= 2 && tries["fast"].Load() >= 2
	})

	// Lose the subscription's lock connection: the store resumes the
	// subscription from its checkpoint, before the shared event.
	loseLocks(t, ctx, pool)
	waitUntil(t, ctx, "the shared event delivered again", func() bool { return routings.Load() >= 2 })

	// The fast instance finishes both copies; the slow one still fails.
	passes["fast"].Store(true)
	waitUntil(t, ctx, "the fast instance handling the shared event", func() bool { return handled["fast"].Load() > 0 })
	early, cancelEarly := context.WithTimeout(ctx, 2*time.Second)
	defer cancelEarly()
	if err := app.WaitFor(early, "pm", shared); err == nil {
		t.Fatalf("the process manager passed position %d while the slow instance had not handled it (tries %d)",
			shared, tries["slow"].Load())
	}

	passes["slow"].Store(true)
	if err := app.WaitFor(waitCtx, "pm", shared); err != nil {
		t.Fatalf("the process manager did not reach position %d after the slow instance passed: %v", shared, err)
	}
	next := appendOne("after")
	if err := app.WaitFor(waitCtx, "pm", next); err != nil {
		t.Fatalf("the process manager did not reach a new event's position %d: %v", next, err)
	}
	if n := handled["slow"].Load(); n != 2 {
		t.Errorf("the slow instance handled %d events after the shared one, want 2 (shared, after)", n)
	}
}
