package actors

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/cohort-dev/cohort/eventstore"
)

// runner is a handler or process manager: it starts with the application
// and stops, storing its checkpoint, when the application closes.
type runner interface {
	name() string
	kind() string         // KindEventHandler or KindProcessManager
	subscription() string // "" for a transient handler
	start(ctx context.Context) error
	stop(ctx context.Context) error
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

	sub      eventstore.Subscription
	pid      *actor.PID
	pumpDone chan struct{}
	stats    *actorStats
}

func newSubscribed(a *App, kind, name, sub string, from eventstore.StartFrom, batch int, c Consistency) subscribed {
	return subscribed{app: a, handlerName: name, handlerKind: kind, subName: sub,
		opts: subscribeOptions(sub, from, batch, c)}
}

func (r *subscribed) name() string         { return r.handlerName }
func (r *subscribed) kind() string         { return r.handlerKind }
func (r *subscribed) subscription() string { return r.subName }

// open subscribes, seeds the handler's progress from its checkpoint, and
// spawns the actor that produce makes, pumping the batches into it.
func (r *subscribed) open(ctx context.Context, produce actor.Producer, opts ...actor.PropsOption) error {
	sub, err := r.app.store.Subscribe(ctx, r.opts)
	if err != nil {
		return err
	}
	r.sub = sub
	if r.subName != "" && r.opts.IsAll() {
		// (A stream's checkpoint is a stream version, not a position.)
		r.app.seedProgress(ctx, r.handlerName, r.subName)
	}
	r.stats = r.app.stats.add(r.handlerKind, r.handlerName)
	r.stats.live.Add(1)
	r.pid = r.app.system.Root.Spawn(actor.PropsFromProducer(produce, append(opts, r.stats.mailboxProps())...))
	r.pumpDone = make(chan struct{})
	go pump(sub, r.app.system.Root, r.pid, r.pumpDone)
	return nil
}

// stop lets the actor and its children finish what they were given, then
// closes the subscription, which stores the checkpoint.
func (r *subscribed) stop(ctx context.Context) error {
	if r.pid == nil {
		return nil
	}
	drain(ctx, r.app.system.Root, r.pid)
	stopActor(ctx, r.app.system.Root, r.pid)
	r.stats.live.Add(-1)
	err := r.sub.Close()
	select {
	case <-r.pumpDone:
	case <-ctx.Done():
	}
	return err
}

// leased returns ctx carrying the subscription's lease when its store
// fences persistent subscriptions (eventstore.Leased), so that a handler
// can fence its own transaction with it (see eventstore.LeaseFrom). It is
// the subscription's latest lease when the handler is called: lost since,
// it fences the call out; a retried batch is fenced by the lease of the
// retry.
func (r *subscribed) leased(ctx context.Context) context.Context {
	if l, ok := r.sub.(eventstore.Leased); ok {
		if lease, ok := l.Lease(); ok {
			return eventstore.WithLease(ctx, lease)
		}
	}
	return ctx
}

// halted records that an error policy stopped the handler, which fails the
// waits for its progress, and releases its subscription so that no more
// events are delivered here (another process may then take it over).
func (r *subscribed) halted(err error) {
	r.app.log.Error("stopped by its error policy", "handler", r.handlerName, "kind", r.handlerKind, "err", err)
	var stopped *HandlerStoppedError
	if !errors.As(err, &stopped) {
		err = &HandlerStoppedError{Name: r.handlerName, Err: err}
	}
	r.app.tracker.halt(r.handlerName, err)
	go r.sub.Close() // idempotent; not from the actor, which it may wait for
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
