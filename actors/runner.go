package actors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/cohort-dev/cohort/eventstore"
)

// runner is a handler or process manager: it starts with the application
// and stops, storing its checkpoint, when the application closes. A
// persistent one placed on other nodes (Config.Placement) is prepared at
// start but opened only while this node runs it, and released when it no
// longer does.
type runner interface {
	name() string
	kind() string         // KindEventHandler or KindProcessManager
	subscription() string // "" for a transient handler
	// prepare checks the runner and calls its start hooks.
	prepare(ctx context.Context) error
	// open subscribes and spawns the actors that handle the events.
	open(ctx context.Context) error
	// stop lets those actors finish what they were given, then closes the
	// subscription, storing its checkpoint and releasing it to other
	// processes; it does nothing while the runner is not open.
	stop(ctx context.Context) error
	// isHalted reports whether an error policy stopped the runner.
	isHalted() bool
	// seed records the progress its stored checkpoint shows, as open
	// does (for a runner that runs on another node).
	seed(ctx context.Context)
}

// subscribed is what handlers and process managers share: a persistent
// subscription to $all, the goroutine that pumps its batches into the
// actor that handles them, that actor, and the counts of its actors.
type subscribed struct {
	app         *App
	handlerName string
	handlerKind string
	subName     string // "" for a transient subscription
	opts        eventstore.SubscribeOptions
	stats       *actorStats // from the first opening on
	halt        atomic.Bool // an error policy stopped it

	mu  sync.Mutex
	cur *session // while open
}

// session is one opening of a runner's subscription: the subscription, the
// actor it feeds (bound to this session, so that an actor of an earlier
// opening never acknowledges a later one's events), and the pump between
// them.
type session struct {
	sub      eventstore.Subscription
	pid      *actor.PID
	pumpDone chan struct{}
	// abandon is closed once stop has returned (by its deadline or with
	// the actor stopped): work of the session still running gives up.
	abandon chan struct{}
}

func newSubscribed(a *App, kind, name, sub string, from eventstore.StartFrom, batch int, c Consistency) subscribed {
	return subscribed{app: a, handlerName: name, handlerKind: kind, subName: sub,
		opts: subscribeOptions(sub, from, batch, c)}
}

func (r *subscribed) name() string         { return r.handlerName }
func (r *subscribed) kind() string         { return r.handlerKind }
func (r *subscribed) subscription() string { return r.subName }
func (r *subscribed) isHalted() bool       { return r.halt.Load() }

// openSession subscribes, seeds the handler's progress from its
// checkpoint, and spawns the actor that produce makes for the session,
// pumping the batches into it.
func (r *subscribed) openSession(ctx context.Context, produce func(*session) actor.Actor, opts ...actor.PropsOption) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		return nil
	}
	sub, err := r.app.store.Subscribe(ctx, r.opts)
	if err != nil {
		return err
	}
	s := &session{sub: sub, pumpDone: make(chan struct{}), abandon: make(chan struct{})}
	r.seed(ctx)
	r.addStats()
	r.stats.live.Add(1)
	s.pid = r.app.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return produce(s) },
		append(opts, r.stats.mailboxProps())...))
	go pump(sub, r.app.system.Root, s.pid, s.pumpDone)
	r.cur = s
	return nil
}

// ensureStats makes the runner's group of statistics, if not yet made.
func (r *subscribed) ensureStats() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addStats()
}

// addStats makes the runner's group of statistics, if not yet made; the
// caller holds r.mu.
func (r *subscribed) addStats() {
	if r.stats == nil {
		r.stats = r.app.stats.add(r.handlerKind, r.handlerName)
	}
}

// seed records, for WaitFor and Inspect, the progress stored in the
// runner's checkpoint, if it is a position in $all (a stream's checkpoint
// is a stream version).
func (r *subscribed) seed(ctx context.Context) {
	if r.subName != "" && r.opts.IsAll() {
		r.app.seedProgress(ctx, r.handlerName, r.subName)
	}
}

// stop lets the actor and its children finish what they were given, then
// closes the subscription, which stores the checkpoint.
func (r *subscribed) stop(ctx context.Context) error {
	r.mu.Lock()
	s := r.cur
	r.cur = nil
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	defer close(s.abandon)
	drain(ctx, r.app.system.Root, s.pid)
	stopActor(ctx, r.app.system.Root, s.pid)
	r.stats.live.Add(-1)
	err := s.sub.Close()
	select {
	case <-s.pumpDone:
	case <-ctx.Done():
	}
	return err
}

// leased returns ctx carrying the session's lease when its store fences
// persistent subscriptions (eventstore.Leased), so that a handler can
// fence its own transaction with it (see eventstore.LeaseFrom). It is the
// subscription's latest lease when the handler is called: lost since, it
// fences the call out; a retried batch is fenced by the lease of the
// retry.
func (s *session) leased(ctx context.Context) context.Context {
	if l, ok := s.sub.(eventstore.Leased); ok {
		if lease, ok := l.Lease(); ok {
			return eventstore.WithLease(ctx, lease)
		}
	}
	return ctx
}

// halted records that an error policy stopped the handler, which fails the
// waits for its progress, and releases the session's subscription so that
// no more events are delivered here (another process may then take it
// over; this one does not open it again).
func (r *subscribed) halted(s *session, err error) {
	r.app.log.Error("stopped by its error policy", "handler", r.handlerName, "kind", r.handlerKind, "err", err)
	var stopped *HandlerStoppedError
	if !errors.As(err, &stopped) {
		err = &HandlerStoppedError{Name: r.handlerName, Err: err}
	}
	r.halt.Store(true)
	r.app.tracker.halt(r.handlerName, err)
	go s.sub.Close() // idempotent; not from the actor, which it may wait for
}

// seedProgress records, for WaitFor, the progress a handler made before
// this application started: its subscription's stored checkpoint (up to
// which some process handled every event). Without it, that progress would
// only show once the handler handles a later event.
func (a *App) seedProgress(ctx context.Context, handler, subscription string) {
	cp, err := a.store.Checkpoint(ctx, subscription)
	if err != nil {
		a.log.Warn("reading a checkpoint failed", "handler", handler, "err", err)
		return
	}
	a.tracker.advance(handler, cp)
}

// batchMsg carries a delivered batch into a handler's actor.
type batchMsg struct{ events []eventstore.RecordedEvent }

// pump forwards a subscription's batches to an actor until the
// subscription closes. The subscription's MaxInFlight bounds what waits in
// the actor's mailbox.
func pump(sub eventstore.Subscription, root *actor.RootContext, pid *actor.PID, done chan<- struct{}) {
	defer close(done)
	for batch := range sub.Events() {
		root.Send(pid, batchMsg{events: batch})
	}
}
