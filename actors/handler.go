package actors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/cohort-dev/cohort/eventstore"
)

// EventHandler handles events one at a time, in global order (within its
// partition when it runs concurrently). Delivery is at least once: after a
// crash it may see an event again.
type EventHandler interface {
	HandleEvent(ctx context.Context, ev Event) error
}

// HandlerFunc adapts a function to EventHandler.
type HandlerFunc func(ctx context.Context, ev Event) error

// HandleEvent implements EventHandler.
func (f HandlerFunc) HandleEvent(ctx context.Context, ev Event) error { return f(ctx, ev) }

// BatchHandler handles events in batches, in global order, e.g. a
// projector that writes a batch and its own checkpoint in one transaction.
// A failed batch is retried whole.
//
// The context of a persistent handler's calls (either kind) carries its
// subscription's lease when the store fences subscriptions
// (eventstore.LeaseFrom): a handler that writes in a transaction of its
// own checks the lease first in it (postgres.CheckLease), so that a
// process that lost the subscription while frozen writes nothing when it
// resumes.
type BatchHandler interface {
	HandleEvents(ctx context.Context, evs []Event) error
}

// HandlerInit is implemented by a handler (an EventHandler or a
// BatchHandler) that prepares itself each time the application starts it,
// as Commanded's init/0: App.Start calls Init before the handler's
// subscription opens, and fails if it fails.
type HandlerInit interface {
	Init(ctx context.Context) error
}

// HandlerReset is implemented by a handler whose state is built from
// events and must be cleared when it starts over from its StartFrom, as
// Commanded's before_reset/0: App.ResetHandler calls it, and App.Start
// calls it (before Init) on every start of a transient handler.
type HandlerReset interface {
	Reset(ctx context.Context) error
}

// HandlerConfig registers an event handler.
type HandlerConfig struct {
	// Name identifies the handler and its persistent subscription; it must
	// be unique among handlers and process managers.
	Name string
	// Handler or Batch: exactly one must be set.
	Handler EventHandler
	Batch   BatchHandler
	// StartFrom is where a new handler starts: Origin (default) or Current;
	// a transient handler starts there on every start.
	StartFrom eventstore.StartFrom
	// Stream, if set, subscribes the handler to that one stream instead of
	// $all (StartFrom's After cursor is then a stream version). Such a
	// handler cannot be strongly consistent: it never sees the positions of
	// other streams' events, and WaitFor on it waits for positions of its
	// own stream's events only.
	Stream string
	// Events, if set, are the payload types the handler wants, as zero
	// values (e.g. Deposited{}): it sees events of those types only, and
	// the others count as handled (acknowledged, advancing its progress).
	// An event that fails to decode still goes to OnError. Each type must
	// be registered (RegisterEvent) when the application starts.
	Events []any
	// Transient makes the handler start from StartFrom every time the
	// application starts, and store no checkpoint; every process runs its
	// own copy (there is no lock among processes).
	//
	// Which to use: a handler whose state lives in memory (an in-memory
	// read model, a cache) must be transient, or after a restart its
	// checkpoint survives while its state does not, and the state silently
	// misses every event before the restart. A handler whose state is
	// durable (tables in a database, ideally written in the transaction
	// that stores its own position) or whose effects must happen once (an
	// e-mail) must be persistent, the default: it resumes after its
	// checkpoint, and one process at a time handles its events. A transient
	// handler from Origin replays the whole history on each start, so its
	// start-up grows with the store; one from Current sees only new events
	// (e.g. to push them to this process's clients).
	Transient bool
	// Consistency Strong makes strongly consistent dispatches wait for this
	// handler.
	Consistency Consistency
	// Concurrency runs an EventHandler in that many partitions; events of
	// one partition key stay in order. Default 1.
	Concurrency int
	// PartitionBy returns an event's partition key; default its stream.
	PartitionBy func(Event) string
	// OnError decides about failures; default DefaultErrorPolicy.
	OnError ErrorPolicy
	// BatchSize bounds the events per delivered batch (default 100).
	BatchSize int
	// HandleTimeout bounds one call of the handler (default 30 s).
	HandleTimeout time.Duration
}

func (c HandlerConfig) validate() error {
	switch {
	case c.Name == "":
		return errors.New("actors: handler without a name")
	case (c.Handler == nil) == (c.Batch == nil):
		return fmt.Errorf("actors: handler %s: set exactly one of Handler and Batch", c.Name)
	case c.Concurrency < 0 || c.BatchSize < 0 || c.HandleTimeout < 0:
		return fmt.Errorf("actors: handler %s: negative setting", c.Name)
	case c.Batch != nil && c.Concurrency > 1:
		return fmt.Errorf("actors: handler %s: a batch handler runs in one partition", c.Name)
	case c.Stream != "" && c.Stream != eventstore.AllStream && c.Consistency == Strong:
		return fmt.Errorf("actors: handler %s: a handler of one stream cannot be strongly consistent", c.Name)
	}
	return nil
}

func (c HandlerConfig) withDefaults() HandlerConfig {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.PartitionBy == nil {
		c.PartitionBy = func(ev Event) string { return ev.StreamID }
	}
	if c.OnError == nil {
		c.OnError = DefaultErrorPolicy
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.HandleTimeout == 0 {
		c.HandleTimeout = 30 * time.Second
	}
	return c
}

// RegisterHandler registers an event handler; it starts with the
// application.
func (a *App) RegisterHandler(cfg HandlerConfig) error {
	if err := a.registering(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	sub := HandlerSubscription(cfg.Name)
	if cfg.Transient {
		sub = "" // a transient subscription
	}
	r := &handlerRunner{cfg: cfg,
		subscribed: newSubscribed(a, KindEventHandler, cfg.Name, sub, cfg.StartFrom, cfg.BatchSize, cfg.Consistency)}
	r.opts.Stream = cfg.Stream
	if len(cfg.Events) > 0 {
		r.wants = make(map[reflect.Type]bool, len(cfg.Events))
		for _, e := range cfg.Events {
			r.wants[reflect.TypeOf(e)] = true
		}
	}
	if err := a.addRunner(cfg.Name, r, cfg.Consistency); err != nil {
		return err
	}
	if cfg.Consistency == Strong {
		a.strongHandlers = append(a.strongHandlers, cfg.Name)
	}
	return nil
}

func (a *App) addRunner(name string, r runner, c Consistency) error {
	if _, dup := a.handlers[name]; dup {
		return fmt.Errorf("actors: handler %s already registered", name)
	}
	a.handlers[name] = r
	a.handlerSeq = append(a.handlerSeq, r)
	if c == Strong {
		a.strong = append(a.strong, name)
	}
	return nil
}

// HandlerSubscription is the name of the persistent subscription behind
// the event handler called name (a transient handler has none). Deleting
// it (while the handler is not running) makes the handler start again from
// its StartFrom.
func HandlerSubscription(name string) string { return "handler:" + name }

// ProcessManagerSubscription is the name of the persistent subscription
// behind the process manager called name.
func ProcessManagerSubscription(name string) string { return "process:" + name }

// strongCheckpointInterval is how often a strongly consistent handler
// stores its checkpoint, at most: waits in other processes read it.
const strongCheckpointInterval = 20 * time.Millisecond

// subscribeOptions are the options of a handler's or process manager's
// subscription.
func subscribeOptions(name string, from eventstore.StartFrom, batch int, c Consistency) eventstore.SubscribeOptions {
	opts := eventstore.SubscribeOptions{
		Name:                name,
		StartFrom:           from,
		BatchSize:           batch,
		MaxInFlight:         batch * 10,
		CheckpointThreshold: batch,
	}
	if c == Strong {
		opts.CheckpointInterval = strongCheckpointInterval
	}
	return opts
}

// handlerRunner runs an event handler on its subscription.
type handlerRunner struct {
	subscribed
	cfg HandlerConfig
	// wants are the payload types of HandlerConfig.Events; nil: all.
	wants map[reflect.Type]bool
}

// prepare checks that the filtered event types are registered and calls
// the handler's Reset (transient) and Init hooks.
func (r *handlerRunner) prepare(ctx context.Context) error {
	for _, e := range r.cfg.Events {
		if _, err := r.app.registry.Name(e); err != nil {
			return fmt.Errorf("handler %s: Events: %w", r.cfg.Name, err)
		}
	}
	if r.cfg.Transient {
		if err := r.reset(ctx); err != nil {
			return err
		}
	}
	if h, ok := r.hooks().(HandlerInit); ok {
		if err := h.Init(ctx); err != nil {
			return fmt.Errorf("handler %s: Init: %w", r.cfg.Name, err)
		}
	}
	return nil
}

// open subscribes, with a handler actor for the session.
func (r *handlerRunner) open(ctx context.Context) error {
	return r.openSession(ctx, func(s *session) actor.Actor { return newHandlerActor(r, s) })
}

// hooks is the handler, which may implement HandlerInit and HandlerReset.
func (r *handlerRunner) hooks() any {
	if r.cfg.Handler != nil {
		return r.cfg.Handler
	}
	return r.cfg.Batch
}

// reset calls the handler's Reset hook, if it has one.
func (r *handlerRunner) reset(ctx context.Context) error {
	if h, ok := r.hooks().(HandlerReset); ok {
		if err := h.Reset(ctx); err != nil {
			return fmt.Errorf("handler %s: Reset: %w", r.cfg.Name, err)
		}
	}
	return nil
}

// wanted reports whether the handler wants ev (HandlerConfig.Events).
func (r *handlerRunner) wanted(ev Event) bool {
	return r.wants == nil || r.wants[reflect.TypeOf(ev.Payload)]
}

// ResetHandler makes the event handler called name start over: it calls
// the handler's Reset hook (HandlerReset), then deletes its stored
// checkpoint, so that it handles every event again from its StartFrom when
// the application starts. Call it before Start, in one process, while no
// other process runs the handler.
func (a *App) ResetHandler(ctx context.Context, name string) error {
	if err := a.registering(); err != nil {
		return err
	}
	r, ok := a.handlers[name].(*handlerRunner)
	if !ok {
		return fmt.Errorf("%w: %q", ErrHandlerNotFound, name)
	}
	if err := r.reset(ctx); err != nil {
		return err
	}
	if r.cfg.Transient {
		return nil
	}
	err := a.store.DeleteSubscription(ctx, r.subName)
	if err != nil && !errors.Is(err, eventstore.ErrSubscriptionNotFound) {
		return fmt.Errorf("actors: reset handler %s: %w", name, err)
	}
	return nil
}

// drainRequest asks a handler's actor or a process manager's coordinator
// to let its children finish what they were given, acknowledge it, and
// take nothing more; done is closed then. (Stopping the actor alone would
// stop its children with their mailboxes unprocessed, and their reports
// to a stopping parent would be lost.)
type drainRequest struct{ done chan struct{} }

// drained tells a draining actor that its children have stopped; it is
// sent to itself, so that it comes after the children's last reports.
type drained struct{}

// drain sends pid a drainRequest and waits for it within ctx.
func drain(ctx context.Context, root *actor.RootContext, pid *actor.PID) {
	done := make(chan struct{})
	root.Send(pid, drainRequest{done: done})
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// stopActor poisons pid and waits for it within ctx.
func stopActor(ctx context.Context, root *actor.RootContext, pid *actor.PID) {
	f := root.PoisonFuture(pid)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Wait() // times out by itself after 10 s
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// ackOf is what a subscription needs to acknowledge ev: stores check that
// the event at that position is the one they delivered.
func ackOf(ev Event) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{ID: ev.ID, Position: ev.Position, StreamID: ev.StreamID, StreamVersion: ev.StreamVersion}
}

// handlerActor feeds events to the handler: inline for one partition, or
// to partition worker actors that report back, so that the subscription is
// acknowledged only up to the last event every partition has finished.
type handlerActor struct {
	r     *handlerRunner
	s     *session
	queue *eventQueue // one partition
	// With workers: the partitions, by index, and the events delivered to
	// them not yet acknowledged.
	workers *childPool[queued]
	nparts  int
	window  *ackWindow
	halted  bool
	// drainQueued: a drainTick is in the mailbox (one partition).
	drainQueued bool
	// draining is set by a drainRequest, and closed once the workers have
	// stopped and their reports are in.
	draining chan struct{}
}

// workerDone reports an event finished by a partition worker.
type workerDone struct{ ev Event }

// workerHalted reports that a worker's policy stopped the handler.
type workerHalted struct{ err error }

func newHandlerActor(r *handlerRunner, s *session) *handlerActor {
	return &handlerActor{r: r, s: s, window: newAckWindow()}
}

func newQueue(obs handlingObserver, policy ErrorPolicy, timeout time.Duration, batch int,
	handle func(context.Context, []Event, attempt) error) *eventQueue {
	return &eventQueue{name: obs.name, policy: policy, timeout: timeout, batch: batch, handle: handle,
		log: obs.app.log.Warn, obs: obs}
}

func (h *handlerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.startPartitions(ctx)
	case batchMsg:
		if h.halted || h.draining != nil {
			return
		}
		items := make([]queued, 0, len(m.events))
		for _, rec := range m.events {
			evs, err := h.r.app.decoded.decode(h.r.app.registry, rec)
			if len(evs) == 0 { // dropped by an upcaster: only acknowledged
				items = append(items, queued{ev: baseEvent(rec), skip: true})
			}
			for _, ev := range evs {
				items = append(items, queued{ev: ev, err: err, skip: err == nil && !h.r.wanted(ev)})
			}
		}
		if h.queue != nil {
			h.queue.push(items...)
			h.drainSoon(ctx)
			return
		}
		for _, it := range items {
			if it.skip {
				h.window.add(it.ev, 0)
				h.advance() // after the events before it
				continue
			}
			h.window.add(it.ev, 1)
			key, err := h.partitionKey(it.ev)
			if err != nil && it.err == nil {
				it.err = err // for the error policy, in partition ""
			}
			h.workers.send(ctx, strconv.Itoa(partition(key, h.nparts)), it)
		}
	case drainTick:
		if h.drainQueued = false; !h.halted {
			h.drain(ctx)
		}
	case retryTick:
		if h.queue != nil && h.queue.tick(m) {
			h.drain(ctx)
		}
	case workerDone:
		h.window.finish(m.ev.Position)
		h.advance()
	case workerHalted:
		h.halt(m.err)
	case drainRequest:
		h.draining = m.done
		if h.workers == nil {
			if h.drainQueued && !h.halted {
				h.drain(ctx) // the batches before this
			}
			close(m.done) // one partition: it handled every batch before this
			return
		}
		h.workers.passivateAll(ctx) // after the events in their mailboxes
	case *actor.Terminated:
		// A partition never has a successor: workers stop only to drain.
		if h.workers != nil && h.workers.stopped(ctx, m.Who, false) && h.draining != nil && h.workers.len() == 0 {
			ctx.Send(ctx.Self(), drained{})
		}
	case drained:
		close(h.draining)
	case *actor.Stopping:
		if h.queue != nil {
			h.queue.stop()
		}
	}
}

// advance acknowledges up to the last event before which every event
// delivered has finished (or was not wanted).
func (h *handlerActor) advance() {
	if last, ok := h.window.advance(); ok {
		h.done(last)
	}
}

// partitionKey calls PartitionBy, turning a panic into an error: a panic
// would restart the actor and lose the batch.
func (h *handlerActor) partitionKey(ev Event) (key string, err error) {
	defer func() {
		if r := recover(); r != nil {
			key, err = "", fmt.Errorf("%s: PartitionBy: %w", h.r.cfg.Name, &PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	return h.r.cfg.PartitionBy(ev), nil
}

func (h *handlerActor) startPartitions(ctx actor.Context) {
	cfg := h.r.cfg
	handle := func(ctx context.Context, evs []Event, _ attempt) error {
		return cfg.Handler.HandleEvent(h.s.leased(ctx), evs[0])
	}
	batch := 1
	if cfg.Batch != nil {
		batch = cfg.BatchSize
		handle = func(ctx context.Context, evs []Event, _ attempt) error {
			return cfg.Batch.HandleEvents(h.s.leased(ctx), evs)
		}
	}
	obs := handlingObserver{app: h.r.app, name: cfg.Name, kind: KindEventHandler}
	if cfg.Concurrency == 1 {
		h.queue = newQueue(obs, cfg.OnError, cfg.HandleTimeout, batch, handle)
		return
	}
	h.nparts = cfg.Concurrency
	h.workers = newChildPool(poolConfig[queued]{
		props: func(string) *actor.Props {
			q := newQueue(obs, cfg.OnError, cfg.HandleTimeout, 1, handle)
			return actor.PropsFromProducer(func() actor.Actor { return &workerActor{queue: q} }, h.r.stats.mailboxProps())
		},
		live: []*atomic.Int64{&h.r.stats.live},
	})
	for i := range h.nparts {
		h.workers.ensure(ctx, strconv.Itoa(i))
	}
}

// drainTick makes a one-partition handler actor handle its queue; sent to
// itself, so that the batches already in its mailbox join the queue first.
type drainTick struct{}

// drainSoon queues one drainTick unless one is queued: the deliveries that
// arrived while the handler was busy are then handled together, in batches
// of up to BatchSize (a projector writes them and its checkpoint in one
// transaction), not one call each.
func (h *handlerActor) drainSoon(ctx actor.Context) {
	if !h.drainQueued {
		h.drainQueued = true
		ctx.Send(ctx.Self(), drainTick{})
	}
}

func (h *handlerActor) drain(ctx actor.Context) {
	if err := h.queue.drain(ctx, h.done); err != nil {
		h.halt(err)
	}
}

// done acknowledges everything up to ev.
func (h *handlerActor) done(ev Event) {
	if ev.more {
		return // its position with the last event of its stored event
	}
	if err := h.s.sub.Ack(ackOf(ev)); err != nil {
		h.r.app.log.Warn("handler ack failed", "handler", h.r.cfg.Name, "err", err)
	}
	h.r.app.tracker.advance(h.r.cfg.Name, ev.Position)
}

func (h *handlerActor) halt(err error) {
	if h.halted {
		return
	}
	h.halted = true
	if h.queue != nil {
		h.queue.stop()
	}
	h.r.halted(h.s, err)
}

// workerActor handles one partition's events in order.
type workerActor struct{ queue *eventQueue }

func (w *workerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case queued:
		w.queue.push(m)
		w.drain(ctx)
	case retryTick:
		if w.queue.tick(m) {
			w.drain(ctx)
		}
	case *actor.Stopping:
		w.queue.stop()
	}
}

func (w *workerActor) drain(ctx actor.Context) {
	err := w.queue.drain(ctx, func(ev Event) { ctx.Send(ctx.Parent(), workerDone{ev: ev}) })
	if err != nil {
		ctx.Send(ctx.Parent(), workerHalted{err: err})
	}
}

// partition maps a key to one of n partitions.
func partition(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
