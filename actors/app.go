package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/cohort-dev/cohort/eventstore"
)

// EventStore is what the runtime needs of an event store. An aggregate
// loads with one ReadSnapshotStream (then reads on with ReadStream past
// its first page), and a process manager saves its instances' states with
// SaveSnapshots: every store, the memory one included, takes these paths.
// A store that wraps another (to count or to fail calls in a test) must
// forward them too; embedding the wrapped EventStore does.
type EventStore interface {
	eventstore.Appender
	eventstore.StreamReader
	eventstore.Snapshotter
	eventstore.SnapshotStreamReader
	eventstore.SnapshotSaver
	eventstore.Subscriber
}

// Config configures an App.
type Config struct {
	// Store persists events, snapshots and subscriptions. Required.
	Store EventStore
	// Registry names event types; default a new, empty one.
	Registry *Registry
	// Logger receives the runtime's logs; default discards them.
	Logger *slog.Logger
	// DispatchTimeout bounds a dispatch without its own timeout (default 5 s).
	DispatchTimeout time.Duration
	// Shards is the number of parent actors each aggregate type's instances
	// are spread over (default 16).
	Shards int
	// MaxLiveAggregates bounds the aggregate actors in memory across all
	// types; beyond it the least recently used are passivated (default
	// 100,000). Each aggregate type keeps at least one in memory.
	MaxLiveAggregates int
	// ShutdownTimeout bounds Close when its context has no deadline
	// (default 10 s).
	ShutdownTimeout time.Duration
	// TracerProvider traces every command across the actors it reaches
	// (default: none). The trace context travels in message headers and,
	// to handlers, in the events' metadata (W3C traceparent).
	TracerProvider trace.TracerProvider
	// MeterProvider receives the runtime's metrics (default: none).
	MeterProvider metric.MeterProvider
	// Personal configures the encryption of personal data: its master key
	// is required when personal data is registered (see Personal).
	Personal Personal
	// Placement, if set, spreads the persistent subscriptions of handlers
	// and process managers over the nodes of a cluster: this node runs
	// only those it owns, and hands one over (after finishing what it was
	// given) when it no longer owns it. Nil with a Cluster: rendezvous
	// hashing over the cluster's members, as its topology changes. Nil
	// without: every node competes for every subscription, and whichever
	// takes its lease first runs it. The
	// store's lease still guarantees one writer either way. Every node
	// prepares every handler at Start (HandlerInit runs there) whether or
	// not it owns it; transient handlers run on every node.
	Placement Placement
	// OrphanTimeout is how long a persistent subscription that another
	// node owns may stay without any holder before this node takes it
	// over anyway (with Placement, and a store that is an UnheldReporter),
	// so that a wrong placement never stalls it for good (default 15 s,
	// three lease TTLs of the PostgreSQL store's defaults).
	OrphanTimeout time.Duration
	// Cluster, if set, makes the App a member of a cluster whose members
	// share the aggregates (see ClusterConfig); nil runs everything in
	// this process.
	Cluster *ClusterConfig
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("actors: Config.Store is nil")
	case c.DispatchTimeout < 0 || c.ShutdownTimeout < 0 || c.OrphanTimeout < 0:
		return errors.New("actors: negative timeout")
	case c.Shards < 0 || c.Shards > 4096:
		return errors.New("actors: Shards out of range 1..4096")
	case c.MaxLiveAggregates < 0:
		return errors.New("actors: negative MaxLiveAggregates")
	}
	if c.Cluster != nil {
		if err := c.Cluster.Validate(); err != nil {
			return err
		}
	}
	return c.Personal.Validate()
}

func (c Config) withDefaults() Config {
	if c.Registry == nil {
		c.Registry = NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.DispatchTimeout == 0 {
		c.DispatchTimeout = 5 * time.Second
	}
	if c.Shards == 0 {
		c.Shards = 16
	}
	if c.MaxLiveAggregates == 0 {
		c.MaxLiveAggregates = 100_000
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.OrphanTimeout == 0 {
		c.OrphanTimeout = 15 * time.Second
	}
	c.Personal = c.Personal.withDefaults(c.Store)
	return c
}

const (
	stateCreated int32 = iota
	stateRunning
	stateStopped
)

// App is a Cohort application: an actor system that routes commands to
// aggregate actors and feeds events to handler and process manager actors.
// Register everything, Start, Dispatch, and Close.
type App struct {
	cfg      Config
	store    EventStore
	registry *Registry
	log      *slog.Logger

	system     *actor.ActorSystem
	aggregates map[string]*aggregateKind
	routes     map[reflect.Type]route
	middleware []Middleware
	handlers   map[string]runner
	handlerSeq []runner // in registration order
	strong     []string // handlers and process managers declared strongly consistent
	// strongHandlers are the strongly consistent event handlers (not
	// process managers): what a process manager's strong dispatches wait for.
	strongHandlers []string
	tracker        *tracker
	placer         *placer // nil without a placement
	// placement is Config.Placement, or for a clustered App without one
	// the cluster's own (followTopology).
	placement Placement
	unwatch   func() // stops watching the store's progress, if it pushes it
	snapshots *snapshotter
	dispatch  DispatchFunc
	keys      *personalKeys
	cluster   *clusterNode // nil unless Config.Cluster

	ins     *instruments
	stats   statsRegistry
	journal *journal

	state    atomic.Int32
	internal atomic.Bool // process managers may dispatch (until aggregates stop)
	inflight activity
	closeMu  sync.Mutex
	live     atomic.Int64 // aggregate actors spawned and not yet terminated

	// decoded shares the decoding of each event among the subscriptions.
	decoded *decodeCache
	// conflicts counts the appends refused because another writer had
	// appended to the aggregate's stream (cohort.aggregate.version_conflicts).
	conflicts atomic.Int64
}

// New returns an application; register its aggregates, routes and handlers,
// then Start it.
func New(cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := &App{
		cfg:        cfg,
		store:      cfg.Store,
		registry:   cfg.Registry,
		log:        cfg.Logger,
		aggregates: make(map[string]*aggregateKind),
		routes:     make(map[reflect.Type]route),
		handlers:   make(map[string]runner),
		tracker:    newTracker(),
		decoded:    newDecodeCache(),
		journal:    newJournal(),
	}
	ins, err := newInstruments(cfg.TracerProvider, cfg.MeterProvider, a)
	if err != nil {
		return nil, fmt.Errorf("actors: metrics: %w", err)
	}
	a.ins = ins
	if a.keys, err = newPersonalKeys(cfg.Personal); err != nil {
		return nil, err
	}
	return a, nil
}

// Registry returns the application's event registry.
func (a *App) Registry() *Registry { return a.registry }

// Logger returns the application's logger.
func (a *App) Logger() *slog.Logger { return a.log }

func (a *App) registering() error {
	if a.state.Load() != stateCreated {
		return errors.New("actors: register before Start")
	}
	return nil
}

// RegisterAggregate registers an aggregate type.
func (a *App) RegisterAggregate(t AggregateType) error {
	if err := a.registering(); err != nil {
		return err
	}
	if err := t.validate(); err != nil {
		return err
	}
	if _, dup := a.aggregates[t.Name]; dup {
		return fmt.Errorf("actors: aggregate %s already registered", t.Name)
	}
	a.aggregates[t.Name] = &aggregateKind{app: a, typ: t.withDefaults()}
	return nil
}

// Route sends commands of type C to the aggregate type named aggregate,
// to the instance whose id identity returns. opts are the route's options
// (Creating, Defaults, RouteLifespan); defaults that belong to one
// dispatch are an error (see Defaults).
func Route[C any](a *App, aggregate string, identity func(C) string, opts ...RouteOption) error {
	if err := a.registering(); err != nil {
		return err
	}
	if _, ok := a.aggregates[aggregate]; !ok {
		return fmt.Errorf("actors: route %v: no aggregate %q", reflect.TypeFor[C](), aggregate)
	}
	t := reflect.TypeFor[C]()
	if _, dup := a.routes[t]; dup {
		return fmt.Errorf("actors: command %v already routed", t)
	}
	r, err := newRoute(aggregate, t, func(c any) string { return identity(c.(C)) }, opts)
	if err != nil {
		return err
	}
	if k := a.aggregates[aggregate]; r.lifespan != nil {
		k.typ.Lifespan = withRouteLifespan(k.typ.Lifespan, t, r.lifespan)
	}
	a.routes[t] = r
	return nil
}

// Use appends middleware around every dispatch; the first added runs
// outermost.
func (a *App) Use(mw ...Middleware) error {
	if err := a.registering(); err != nil {
		return err
	}
	a.middleware = append(a.middleware, mw...)
	return nil
}

// Start starts the actor system, the aggregate supervisors, and every
// handler and process manager (each opens its persistent subscription).
// If one fails to start, Start closes the application and returns that
// failure joined with Close's. A route whose default consistency waits
// for a handler that is not registered fails Start before anything
// starts (ErrHandlerNotFound). Before any of it, Start checks the master
// key of personal data (see Personal) and fails with a *MasterKeyError
// when it is missing or wrong.
func (a *App) Start(ctx context.Context) error {
	if a.state.Load() == stateCreated {
		if err := a.checkRouteHandlers(); err != nil {
			return err
		}
	}
	if !a.state.CompareAndSwap(stateCreated, stateRunning) {
		return errors.New("actors: Start called twice")
	}
	if err := a.keys.start(ctx, a); err != nil {
		a.state.Store(stateStopped) // nothing started: Close has nothing to do
		return err
	}
	log := a.log
	a.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }))
	a.snapshots = newSnapshotter(a.store, a.log, func(sourceType string) {
		a.ins.snapshots.Add(context.Background(), 1, metric.WithAttributes(AttrAggregateType.String(sourceType)))
	})
	// Each shard keeps at least one aggregate live: with a small bound, use
	// fewer shards so that the bound holds across them.
	kinds := max(1, len(a.aggregates))
	shards := min(a.cfg.Shards, max(1, a.cfg.MaxLiveAggregates/kinds))
	perShard := max(1, a.cfg.MaxLiveAggregates/(shards*kinds))
	for _, k := range a.aggregates {
		k.start(shards, perShard)
	}
	a.placement = a.cfg.Placement
	if a.cfg.Cluster != nil {
		if a.placement == nil {
			a.placement = followTopology(a.system)
		}
		if err := a.joinCluster(); err != nil {
			return errors.Join(err, a.Close(context.WithoutCancel(ctx)))
		}
	}
	var d DispatchFunc = a.route
	for i := len(a.middleware) - 1; i >= 0; i-- {
		d = a.middleware[i](d)
	}
	a.dispatch = d
	a.internal.Store(true)
	a.tracker.pushed.Store(a.watchProgress())
	a.placer = newPlacer(a)
	for _, h := range a.handlerSeq {
		if err := a.startRunner(ctx, h); err != nil {
			err = fmt.Errorf("actors: start %s: %w", h.name(), err)
			return errors.Join(err, a.Close(context.WithoutCancel(ctx)))
		}
	}
	if a.placer != nil {
		a.placer.start()
	}
	return nil
}

// Dispatch sends a command to its aggregate and waits for the outcome.
func (a *App) Dispatch(ctx context.Context, payload any, opts ...DispatchOption) (Result, error) {
	a.inflight.enter()
	defer a.inflight.leave()
	if a.state.Load() != stateRunning {
		return Result{}, ErrStopped
	}
	return a.dispatchCommand(ctx, payload, opts)
}

// dispatchInternal is Dispatch for process managers, which keep
// dispatching while the application drains them during Close.
func (a *App) dispatchInternal(ctx context.Context, payload any, opts ...DispatchOption) (Result, error) {
	if !a.internal.Load() {
		return Result{}, ErrStopped
	}
	return a.dispatchCommand(ctx, payload, opts)
}

func (a *App) dispatchCommand(ctx context.Context, payload any, opts []DispatchOption) (res Result, err error) {
	cmd := &Command{Payload: payload, ExpectedVersion: NoExpectedVersion, Timeout: a.cfg.DispatchTimeout}
	r, ok := a.routes[reflect.TypeOf(payload)]
	if !ok {
		return Result{}, &UnregisteredCommandError{Type: fmt.Sprintf("%T", payload)}
	}
	r.apply(cmd)
	for _, o := range opts {
		o(cmd)
	}
	cmd.AggregateType, cmd.creating = r.aggregate, r.creating
	if cmd.AggregateID = r.identity(payload); cmd.AggregateID == "" {
		return Result{}, fmt.Errorf("%w: %T", ErrMissingIdentity, payload)
	}
	if cmd.CorrelationID == uuid.Nil {
		cmd.CorrelationID = uuid.New()
	}
	ctx, cancel := context.WithTimeout(ctx, cmd.Timeout)
	defer cancel()
	typ := typeName(payload)
	span := trace.SpanFromContext(ctx)
	if a.ins.tracing {
		ctx, span = a.ins.tracer.Start(ctx, "dispatch "+typ, trace.WithAttributes(
			AttrActorKind.String(KindRouter), AttrCommandType.String(typ),
			AttrAggregateType.String(cmd.AggregateType), AttrStreamID.String(a.streamOf(cmd)),
			AttrCausationID.String(cmd.CausationID.String()), AttrCorrelationID.String(cmd.CorrelationID.String())))
		defer func() {
			span.SetAttributes(AttrCommandID.String(cmd.ID.String())) // given by now, unless middleware refused it
			endSpan(span, err)
		}()
	}
	start := time.Now()
	res, err = a.dispatch(ctx, cmd)
	took := time.Since(start)
	outcome, errText := "ok", ""
	if err != nil {
		outcome, errText = "error", err.Error()
	}
	a.ins.dispatched.Add(ctx, 1, a.ins.options(attrKey{instrument: instDispatched, name: typ, outcome: outcome}))
	a.ins.dispatchDuration.Record(ctx, took.Seconds(), a.ins.options(attrKey{instrument: instDispatchDuration, name: typ}))
	a.journal.command(CommandRecord{ID: cmd.ID, CausationID: cmd.CausationID, CorrelationID: cmd.CorrelationID,
		Type: typ, Aggregate: cmd.AggregateType + "/" + cmd.AggregateID, Start: start, Duration: took,
		Position: res.Position, Err: errText})
	return res, err
}

// streamOf names the stream of a command's aggregate.
func (a *App) streamOf(cmd *Command) string {
	if k, ok := a.aggregates[cmd.AggregateType]; ok {
		return k.typ.StreamPrefix + cmd.AggregateID
	}
	return ""
}

// typeName names a command or event type for spans and metrics.
func typeName(v any) string { return reflect.TypeOf(v).String() }

// route is the innermost dispatch: it hands the command to its aggregate's
// actor and waits, then waits for strongly consistent handlers.
func (a *App) route(ctx context.Context, cmd *Command) (Result, error) {
	k, ok := a.aggregates[cmd.AggregateType]
	if !ok {
		return Result{}, &UnregisteredCommandError{Type: fmt.Sprintf("%T", cmd.Payload)}
	}
	if cmd.AggregateID == "" {
		return Result{}, fmt.Errorf("%w: %T", ErrMissingIdentity, cmd.Payload)
	}
	cmd.assignID()
	rep, err := a.deliver(ctx, k, cmd)
	if err != nil {
		return Result{}, err
	}
	if rep.err != nil {
		// An outcome that failed only after the append (its events or
		// state could not be returned) still says what was appended.
		return rep.res, rep.err
	}
	if cmd.Consistency == Strong && rep.res.Position > 0 {
		names := cmd.Handlers
		if len(names) == 0 {
			names = a.strong
		}
		if err := a.waitForAll(ctx, names, rep.res.Position); err != nil {
			if ctx.Err() != nil {
				return rep.res, dispatchTimeout(ctx)
			}
			return rep.res, err
		}
	}
	return rep.res, nil
}

// deliver hands the command to its aggregate's actor and waits for the
// outcome: in this process, or wherever the cluster placed its shard.
func (a *App) deliver(ctx context.Context, k *aggregateKind, cmd *Command) (commandReply, error) {
	if a.cluster != nil {
		return a.deliverClustered(ctx, k, cmd)
	}
	msg := &commandMsg{ctx: ctx, cmd: cmd, reply: make(chan commandReply, 1)}
	k.send(ctx, msg)
	select {
	case rep := <-msg.reply:
		return rep, nil
	case <-ctx.Done():
		return commandReply{}, dispatchTimeout(ctx)
	}
}

// waitForAll waits for several handlers at once (a wait that reads stored
// checkpoints takes a few polls: one after the other, they would add up).
func (a *App) waitForAll(ctx context.Context, names []string, position int64) error {
	if len(names) == 1 {
		return a.WaitFor(ctx, names[0], position)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(names))
	for _, n := range names {
		go func() { errs <- a.WaitFor(ctx, n, position) }()
	}
	var first error
	for range names {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // the others need not go on
		}
	}
	return first
}

// WaitFor waits until the named handler or process manager, registered in
// this application, has processed every event up to position: here, or in
// another process on the same store, as its stored checkpoint shows
// (pushed at once by a store that is a ProgressWatcher, else polled). It
// fails with a *HandlerStoppedError if an error policy stopped the handler
// in this process first.
func (a *App) WaitFor(ctx context.Context, handler string, position int64) error {
	if _, ok := a.handlers[handler]; !ok {
		return fmt.Errorf("%w: %q", ErrHandlerNotFound, handler)
	}
	r := a.handlers[handler]
	return a.tracker.wait(ctx, handler, position, func(ctx context.Context) (int64, error) {
		return a.store.Checkpoint(ctx, r.subscription())
	})
}

// Close stops the application gracefully: new dispatches fail with
// ErrStopped, dispatches in flight finish, handlers and process managers
// finish what they were given and store their checkpoints, aggregates
// stop, pending snapshots are written. It is bounded by ctx, or by
// Config.ShutdownTimeout when ctx has no deadline, and safe to call more
// than once.
func (a *App) Close(ctx context.Context) error {
	a.closeMu.Lock()
	defer a.closeMu.Unlock()
	prev := a.state.Swap(stateStopped)
	if prev != stateRunning {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
		defer cancel()
	}
	var errs []error
	if err := a.inflight.wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("actors: close: dispatches still running: %w", err))
	}
	a.placer.stop() // nothing opens or releases from here on
	// Process managers dispatch commands, so they stop before aggregates.
	for i := len(a.handlerSeq) - 1; i >= 0; i-- {
		if err := a.handlerSeq[i].stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.cluster != nil {
		// Leaving stops this member's shards, and the others take them
		// over; it also shuts the actor system down. Until then, the
		// process instances this member hosts for the others' process
		// managers dispatch their commands.
		if err := a.cluster.leave(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.internal.Store(false)
	for _, k := range a.aggregates {
		k.stop(ctx)
	}
	if err := a.snapshots.close(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.unwatch != nil {
		a.unwatch()
	}
	a.keys.stop()
	if !a.system.IsStopped() { // leaving the cluster shut it down
		a.system.Shutdown()
	}
	return errors.Join(errs...)
}

// activity counts calls in progress; wait returns when none is.
type activity struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (a *activity) enter() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		a.idle = make(chan struct{})
	}
	a.n++
}

func (a *activity) leave() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n--; a.n == 0 {
		close(a.idle)
	}
}

func (a *activity) wait(ctx context.Context) error {
	a.mu.Lock()
	if a.n == 0 {
		a.mu.Unlock()
		return nil
	}
	idle := a.idle
	a.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
