package actors

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/cohort-dev/cohort/eventstore"
)

// ProcessManager is the state and behaviour of one process instance: a
// long-running conversation that reacts to events by dispatching commands.
//
// Handle returns the commands an event causes and must not change the
// state; Apply changes the state by the event. Both run in the instance's
// actor, one event at a time. The state is persisted as JSON, with the
// process manager's StateVersion; a state that fails to decode (or is of
// another version and cannot be upgraded) or to encode is an error for the
// process manager's error policy, never dropped.
type ProcessManager interface {
	Handle(ev Event) ([]any, error)
	Apply(ev Event)
}

// ProcessRouter is implemented by a process manager type that routes
// events to its instances itself, as Commanded's interested?/1 does: its
// ProcessManagerConfig.Interested may then be nil. Interested is called on
// one value that New returned, never on an instance's state, so it must
// depend on the event alone.
type ProcessRouter interface {
	Interested(ev Event) []Interest
}

type interestKind int8

const (
	interestStart interestKind = iota
	interestStartStrict
	interestContinue
	interestContinueStrict
	interestStop
)

// Interest routes an event to a process instance.
type Interest struct {
	kind interestKind
	ID   string
}

// StartProcess routes the event to instance id, starting it if needed.
func StartProcess(id string) Interest { return Interest{kind: interestStart, ID: id} }

// StartProcessStrict starts instance id; it fails with ErrProcessExists if
// the instance already exists.
func StartProcessStrict(id string) Interest { return Interest{kind: interestStartStrict, ID: id} }

// ContinueProcess routes the event to instance id, starting it if needed.
func ContinueProcess(id string) Interest { return Interest{kind: interestContinue, ID: id} }

// ContinueProcessStrict routes the event to existing instance id; it fails
// with ErrProcessNotFound if there is none.
func ContinueProcessStrict(id string) Interest { return Interest{kind: interestContinueStrict, ID: id} }

// StopProcess stops instance id and deletes its state; the event itself is
// not handled.
func StopProcess(id string) Interest { return Interest{kind: interestStop, ID: id} }

var (
	// ErrProcessExists: StartProcessStrict found the instance.
	ErrProcessExists = errors.New("actors: process instance already exists")
	// ErrProcessNotFound: ContinueProcessStrict found no instance.
	ErrProcessNotFound = errors.New("actors: process instance not found")
)

// ProcessManagerConfig registers a process manager.
type ProcessManagerConfig struct {
	// Name identifies the process manager and its subscription; unique among
	// handlers and process managers.
	Name string
	// New returns the state of a new instance.
	New func() ProcessManager
	// Interested routes an event to the instances that handle it; none
	// means the event does not concern this process manager. If nil, the
	// type that New returns must implement ProcessRouter, whose method is
	// used.
	Interested func(ev Event) []Interest
	// StartFrom is where a new process manager starts: Origin or Current.
	StartFrom eventstore.StartFrom
	// Consistency Strong makes strongly consistent dispatches wait for it.
	Consistency Consistency
	// DispatchConsistency Strong makes the commands it dispatches wait for
	// the strongly consistent event handlers (not for process managers,
	// which could be waiting for it in turn), so that what they cause is
	// in the read models by the time its own progress counts.
	DispatchConsistency Consistency
	// OnError decides about failures, including failed commands
	// (Failure.Command, Failure.Refused); default
	// DefaultProcessErrorPolicy, which retries and then skips, and never
	// stops the process manager for one instance's failure.
	OnError ErrorPolicy
	// IdleTimeout passivates an instance idle that long (default 1 min).
	IdleTimeout time.Duration
	// MaxLiveInstances bounds the instances in memory (default 10,000).
	MaxLiveInstances int
	// BatchSize bounds the events per delivered batch (default 100).
	BatchSize int
	// StateVersion is the schema version of the instances' state, stored
	// with it (as AggregateType.SnapshotVersion is with snapshots). Change
	// it when the state's JSON changes shape.
	StateVersion int
	// UpgradeState, if set, turns the JSON of a state stored with another
	// schema version into the JSON of the current one. Without it, such a
	// state is a *ProcessStateError for OnError, as a state that fails to
	// decode is.
	UpgradeState func(version int, state json.RawMessage) (json.RawMessage, error)
	// HandleTimeout bounds handling one event, its commands included, and
	// one save of the instances' states (default 30 s). While the
	// application closes, Close's deadline bounds saves too.
	HandleTimeout time.Duration
}

func (c ProcessManagerConfig) validate() error {
	switch {
	case c.Name == "":
		return errors.New("actors: process manager without a name")
	case c.New == nil:
		return fmt.Errorf("actors: process manager %s: New is required", c.Name)
	case c.Interested == nil:
		if _, ok := c.New().(ProcessRouter); !ok {
			return fmt.Errorf("actors: process manager %s: Interested is required unless %T implements ProcessRouter", c.Name, c.New())
		}
	case c.IdleTimeout < 0 || c.MaxLiveInstances < 0 || c.BatchSize < 0 || c.HandleTimeout < 0:
		return fmt.Errorf("actors: process manager %s: negative setting", c.Name)
	}
	return nil
}

func (c ProcessManagerConfig) withDefaults() ProcessManagerConfig {
	if c.Interested == nil && c.New != nil {
		if r, ok := c.New().(ProcessRouter); ok {
			c.Interested = r.Interested
		}
	}
	if c.OnError == nil {
		c.OnError = DefaultProcessErrorPolicy
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = time.Minute
	}
	if c.MaxLiveInstances == 0 {
		c.MaxLiveInstances = 10_000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.HandleTimeout == 0 {
		c.HandleTimeout = 30 * time.Second
	}
	return c
}

// RegisterProcessManager registers a process manager; it starts with the
// application.
func (a *App) RegisterProcessManager(cfg ProcessManagerConfig) error {
	if err := a.registering(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	r := &pmRunner{cfg: cfg, abandon: make(chan struct{}),
		subscribed: newSubscribed(a, KindProcessManager, cfg.Name, ProcessManagerSubscription(cfg.Name), cfg.StartFrom, cfg.BatchSize, cfg.Consistency)}
	return a.addRunner(cfg.Name, r, cfg.Consistency)
}

// pmRunner runs a process manager on its subscription.
type pmRunner struct {
	subscribed
	cfg ProcessManagerConfig
	// abandon is closed once stop has returned, by Close's deadline or
	// with the coordinator stopped: a save still running gives up.
	abandon     chan struct{}
	abandonOnce sync.Once
}

func (r *pmRunner) start(ctx context.Context) error {
	return r.open(ctx, func() actor.Actor { return newCoordinator(r) },
		actor.WithSupervisor(actor.NewRestartingStrategy()))
}

// stop stops the coordinator within ctx, then gives up a save of states
// still running (its states are delivered again after a restart).
func (r *pmRunner) stop(ctx context.Context) error {
	err := r.subscribed.stop(ctx)
	r.abandonOnce.Do(func() { close(r.abandon) })
	return err
}

// stateID is the snapshot id of an instance's state.
func (r *pmRunner) stateID(instance string) string {
	return "$process-" + r.cfg.Name + "-" + instance
}

// Messages between a coordinator and its instances.
type (
	// pmEvent asks an instance to handle an event.
	pmEvent struct {
		ev       Event
		interest Interest
	}
	// pmInit gives a new instance the state its coordinator has not yet
	// persisted (none: a deleted instance).
	pmInit struct{ state *eventstore.Snapshot }
	// pmDone reports an event handled (or skipped) by an instance, with the
	// instance's new state to persist, or its deletion.
	pmDone struct {
		id      string
		ev      Event
		state   *eventstore.Snapshot
		deleted bool
	}
	// pmHalted reports that the error policy stopped the process manager.
	pmHalted struct{ err error }
	// flushTick makes the coordinator persist states and acknowledge; sent
	// to itself so that every report already queued is handled first.
	flushTick struct{}
	// instanceStopped is an instance's *actor.Terminated, sent by the
	// coordinator to itself: Terminated is a system message, which
	// overtakes the reports (pmDone) the instance sent before it stopped;
	// instanceStopped comes after them.
	instanceStopped struct{ who *actor.PID }
)

// coordinator routes a process manager's events to its instances, runs
// them in parallel, persists their states in batches and acknowledges the
// subscription only up to the last event every instance has finished and
// persisted. Like a shard, it passivates idle instances and buffers their
// events while they stop.
type coordinator struct {
	r         *pmRunner
	instances map[string]*pmChild
	byPID     map[string]*pmChild
	lru       *list.List

	// order are the events delivered, in order, not yet acknowledged. A
	// subscription that resumes in this process delivers again the events
	// still in flight: both copies are in order, and remaining counts the
	// deliveries to instances of both until each has reported done.
	order     []Event
	remaining map[int64]int                   // position -> deliveries to instances not yet done
	unsaved   map[string]*eventstore.Snapshot // id -> state to persist (nil: delete)
	flushing  bool
	halted    bool
	draining  chan struct{} // set by a drainRequest, closed once drained
}

type pmChild struct {
	id       string
	pid      *actor.PID
	stopping bool
	buffer   []pmEvent
	// pending are the events sent to the instance that it has not reported
	// done. Those left when it stops (passivated while waiting to retry)
	// go to its successor first.
	pending []pmEvent
	elem    *list.Element
}

func newCoordinator(r *pmRunner) *coordinator {
	return &coordinator{
		r:         r,
		instances: make(map[string]*pmChild),
		byPID:     make(map[string]*pmChild),
		lru:       list.New(),
		remaining: make(map[int64]int),
		unsaved:   make(map[string]*eventstore.Snapshot),
	}
}

func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case batchMsg:
		if !c.halted && c.draining == nil {
			c.route(ctx, m.events)
		}
	case pmDone:
		c.done(ctx, m)
	case flushTick:
		c.flush(ctx)
	case pmHalted:
		c.halt(m.err)
	case passivateRequest:
		if ch, ok := c.byPID[m.pid.Id]; ok && !ch.stopping {
			c.passivate(ctx, ch)
		}
	case *actor.Terminated:
		ctx.Send(ctx.Self(), instanceStopped{who: m.Who})
	case instanceStopped:
		c.terminated(ctx, m.who)
	case drainRequest:
		// Instances finish what is in their mailboxes and stop; then every
		// report is in, and the last flush persists and acknowledges it.
		c.draining = m.done
		for _, ch := range c.instances {
			if !ch.stopping {
				c.passivate(ctx, ch)
			}
		}
		c.checkDrained(ctx)
	case drained:
		select {
		case <-c.draining: // already
		default:
			c.flush(ctx)
			close(c.draining)
		}
	case *actor.Stopping:
		// Persist what instances finished; unfinished events are
		// delivered again after a restart.
		c.flush(ctx)
	}
}

// route decides, for each event in order, which instances handle it.
func (c *coordinator) route(ctx actor.Context, recs []eventstore.RecordedEvent) {
	for _, rec := range recs {
		ev, err := c.r.app.decodeEvent(rec)
		var interests []Interest
		if err == nil {
			interests, err = c.interested(ev)
		}
		if err != nil {
			d := c.r.cfg.OnError.decide(attempt{n: 1}.failure(c.r.cfg.Name, err, ev))
			if d.kind != decideSkip {
				c.halt(fmt.Errorf("routing event %d: %w", ev.Position, err))
				return
			}
			interests = nil
		}
		c.order = append(c.order, ev)
		c.remaining[ev.Position] += len(interests)
		for _, in := range interests {
			c.send(ctx, in.ID, pmEvent{ev: ev, interest: in})
		}
	}
	c.scheduleFlush(ctx)
}

func (c *coordinator) interested(ev Event) (in []Interest, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return c.r.cfg.Interested(ev), nil
}

// send delivers an event to instance id, spawning or buffering as needed.
func (c *coordinator) send(ctx actor.Context, id string, msg pmEvent) {
	ch, ok := c.instances[id]
	if !ok {
		ch = c.spawn(ctx, id)
	}
	if ch.stopping {
		ch.buffer = append(ch.buffer, msg)
		return
	}
	c.lru.MoveToFront(ch.elem)
	ch.pending = append(ch.pending, msg)
	ctx.Send(ch.pid, msg)
	for c.lru.Len() > c.r.cfg.MaxLiveInstances {
		c.passivate(ctx, c.lru.Back().Value.(*pmChild))
	}
}

func (c *coordinator) spawn(ctx actor.Context, id string) *pmChild {
	r := c.r
	ch := &pmChild{id: id, pid: ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return newInstance(r, id) }, r.stats.mailboxProps()))}
	r.stats.live.Add(1)
	ch.elem = c.lru.PushFront(ch)
	c.instances[id] = ch
	c.byPID[ch.pid.Id] = ch
	if state, ok := c.unsaved[id]; ok {
		ctx.Send(ch.pid, pmInit{state: state})
	}
	return ch
}

func (c *coordinator) passivate(ctx actor.Context, ch *pmChild) {
	c.r.stats.passivations.Add(1)
	c.r.app.ins.passivations.Add(context.Background(), 1, metric.WithAttributes(
		AttrActorKind.String(KindProcessManager), attribute.String("name", c.r.cfg.Name)))
	ch.stopping = true
	c.lru.Remove(ch.elem)
	ch.elem = nil
	ctx.Poison(ch.pid)
}

func (c *coordinator) terminated(ctx actor.Context, who *actor.PID) {
	ch, ok := c.byPID[who.Id]
	if !ok {
		return
	}
	delete(c.byPID, who.Id)
	delete(c.instances, ch.id)
	c.r.stats.live.Add(-1)
	if ch.elem != nil {
		c.lru.Remove(ch.elem)
	}
	if c.draining != nil {
		// Unfinished events are not acknowledged: delivered again later.
		c.checkDrained(ctx)
		return
	}
	msgs := slices.Concat(ch.pending, ch.buffer)
	if len(msgs) == 0 {
		return
	}
	next := c.spawn(ctx, ch.id)
	for _, m := range msgs {
		next.pending = append(next.pending, m)
		ctx.Send(next.pid, m)
	}
}

// checkDrained tells a draining coordinator, through its mailbox, once no
// instance is left.
func (c *coordinator) checkDrained(ctx actor.Context) {
	if len(c.instances) == 0 {
		ctx.Send(ctx.Self(), drained{})
	}
}

func (c *coordinator) done(ctx actor.Context, m pmDone) {
	if ch, ok := c.instances[m.id]; ok {
		// One delivery done: a second copy of the event may still be pending.
		if i := slices.IndexFunc(ch.pending, func(e pmEvent) bool { return e.ev.Position == m.ev.Position }); i >= 0 {
			ch.pending = slices.Delete(ch.pending, i, i+1)
		}
	}
	switch {
	case m.deleted:
		c.unsaved[m.id] = nil
	case m.state != nil:
		c.unsaved[m.id] = m.state
	}
	c.remaining[m.ev.Position]--
	c.scheduleFlush(ctx)
}

func (c *coordinator) scheduleFlush(ctx actor.Context) {
	if !c.flushing {
		c.flushing = true
		ctx.Send(ctx.Self(), flushTick{})
	}
}

// flush persists the instances' states, then acknowledges every event
// whose instances have all finished.
func (c *coordinator) flush(ctx actor.Context) {
	c.flushing = false
	n := 0
	for n < len(c.order) && c.remaining[c.order[n].Position] <= 0 {
		n++
	}
	if len(c.unsaved) > 0 {
		if err := c.save(); err != nil {
			c.r.app.log.Warn("process manager state not saved, retrying", "process_manager", c.r.cfg.Name, "err", err)
			self, root := ctx.Self(), ctx.ActorSystem().Root
			time.AfterFunc(200*time.Millisecond, func() { root.Send(self, flushTick{}) })
			c.flushing = true
			return
		}
	}
	if n == 0 {
		return
	}
	last := c.order[n-1]
	for _, ev := range c.order[:n] {
		delete(c.remaining, ev.Position)
	}
	c.order = c.order[n:]
	if err := c.r.sub.Ack(ackOf(last)); err != nil {
		c.r.app.log.Warn("process manager ack failed", "process_manager", c.r.cfg.Name, "err", err)
	}
	c.r.app.tracker.advance(c.r.cfg.Name, last.Position)
}

// save writes pending states and deletions in one go where the store can,
// within HandleTimeout and until the runner abandons saves.
func (c *coordinator) save() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.r.cfg.HandleTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.r.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()
	var record []eventstore.Snapshot
	var del []string
	for id, s := range c.unsaved {
		if s == nil {
			del = append(del, c.r.stateID(id))
		} else {
			record = append(record, *s)
		}
	}
	if err := saveSnapshots(ctx, c.r.app.store, record, del); err != nil {
		return err
	}
	clear(c.unsaved)
	return nil
}

func (c *coordinator) halt(err error) {
	if c.halted {
		return
	}
	c.halted = true
	c.r.halted(err)
}

// SnapshotSaver is implemented by stores that write many snapshots and
// deletions in one transaction; others are written one by one.
type SnapshotSaver interface {
	SaveSnapshots(ctx context.Context, record []eventstore.Snapshot, del []string) error
}

func saveSnapshots(ctx context.Context, store EventStore, record []eventstore.Snapshot, del []string) error {
	if s, ok := store.(SnapshotSaver); ok {
		return s.SaveSnapshots(ctx, record, del)
	}
	for _, snap := range record {
		if err := store.RecordSnapshot(ctx, snap); err != nil {
			return err
		}
	}
	for _, id := range del {
		if err := store.DeleteSnapshot(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// instance runs one process instance.
type instance struct {
	r  *pmRunner
	id string

	loaded bool
	pm     ProcessManager // nil: the instance does not exist
	last   int64          // position of the last event handled
	// base is the instance's state as last loaded or encoded (nil: none),
	// what it reports for the coordinator to persist; a failed encode
	// rolls the instance back to it. Until baseKnown, it is read from the
	// store.
	base      *eventstore.Snapshot
	baseKnown bool
	queue     *eventQueue
	// interests are the queued events' interests, with how many copies of
	// each are queued (a resumed subscription delivers an event again).
	interests map[int64]queuedInterest
	// handling is the state the event being handled was given to (nil
	// before it is known), for the error policy.
	handling  ProcessManager
	idleGen   uint64
	idleTimer *time.Timer
}

// queuedInterest is the interest of an event queued n times.
type queuedInterest struct {
	in Interest
	n  int
}

func newInstance(r *pmRunner, id string) *instance {
	in := &instance{r: r, id: id, interests: make(map[int64]queuedInterest)}
	obs := handlingObserver{app: r.app, name: r.cfg.Name, kind: KindProcessManager, instance: id}
	in.queue = newQueue(obs, r.cfg.OnError, r.cfg.HandleTimeout, 1, in.handle)
	in.queue.describe = in.describe
	return in
}

func (in *instance) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case pmInit:
		in.init(m.state)
	case pmEvent:
		q := in.interests[m.ev.Position]
		in.interests[m.ev.Position] = queuedInterest{in: m.interest, n: q.n + 1}
		in.queue.push(queued{ev: m.ev})
		in.drain(ctx)
	case retryTick:
		if in.queue.tick(m) {
			in.drain(ctx)
		}
	case idleTick:
		if m.gen == in.idleGen && len(in.queue.items) == 0 {
			ctx.Send(ctx.Parent(), passivateRequest{pid: ctx.Self()})
		}
	case *actor.Stopping:
		in.queue.stop()
		in.stopTimer()
	}
}

// init adopts the state the coordinator has not yet persisted; the
// instance decodes it before its next event.
func (in *instance) init(s *eventstore.Snapshot) {
	in.loaded, in.base, in.baseKnown = false, s, true
}

// load decodes the instance's state: the one it last had, or the stored
// one. A state that fails to decode is an error, for the error policy.
func (in *instance) load(ctx context.Context) error {
	if !in.baseKnown {
		snap, err := in.r.app.store.ReadSnapshot(ctx, in.r.stateID(in.id))
		switch {
		case errors.Is(err, eventstore.ErrSnapshotNotFound):
			in.base = nil
		case err != nil:
			return fmt.Errorf("load process %s: %w", in.id, err)
		default:
			in.base = &snap
		}
		in.baseKnown = true
	}
	in.pm, in.last = nil, 0
	if in.base != nil {
		pm, last, err := in.r.decodeState(in.id, *in.base)
		if err != nil {
			return err
		}
		in.pm, in.last = pm, last
	}
	in.loaded = true
	return nil
}

func (in *instance) drain(ctx actor.Context) {
	err := in.queue.drain(ctx, func(ev Event) {
		st, deleted := in.report(ev)
		if q := in.interests[ev.Position]; q.n > 1 {
			in.interests[ev.Position] = queuedInterest{in: q.in, n: q.n - 1}
		} else {
			delete(in.interests, ev.Position)
		}
		ctx.Send(ctx.Parent(), pmDone{id: in.id, ev: ev, state: st, deleted: deleted})
	})
	if err != nil {
		ctx.Send(ctx.Parent(), pmHalted{err: err})
		return
	}
	in.arm(ctx)
}

// report returns the state to persist after ev, or that it was deleted.
func (in *instance) report(ev Event) (*eventstore.Snapshot, bool) {
	if in.base == nil {
		return nil, in.interests[ev.Position].in.kind == interestStop
	}
	return in.base, false
}

// describe adds the instance's id and a copy of its state to a failure.
func (in *instance) describe(f *Failure) {
	f.Instance, f.State = in.id, in.r.copyState(in.handling)
}

// handle handles one event for this instance.
func (in *instance) handle(ctx context.Context, evs []Event, at attempt) error {
	ev := evs[0]
	interest := in.interests[ev.Position].in
	in.handling = nil
	if !in.loaded {
		if err := in.load(ctx); err != nil {
			return err
		}
	}
	if in.pm != nil && ev.Position <= in.last {
		return nil // delivered again: already handled
	}
	switch interest.kind {
	case interestStop:
		in.pm, in.base = nil, nil
		return nil
	case interestStartStrict:
		if in.pm != nil {
			return fmt.Errorf("%w: %s", ErrProcessExists, in.id)
		}
	case interestContinueStrict:
		if in.pm == nil {
			return fmt.Errorf("%w: %s", ErrProcessNotFound, in.id)
		}
	}
	pm := in.pm
	if pm == nil {
		pm = in.r.cfg.New()
	}
	in.handling = pm
	cmds, err := pm.Handle(ev)
	if err != nil {
		return err
	}
	for i, cmd := range cmds {
		if err := in.dispatch(ctx, ev, cmd, fmt.Sprintf("%d", i)); err != nil {
			f := at.failure(in.r.cfg.Name, err, ev)
			f.Instance, f.Command, f.Refused, f.State = in.id, cmd, errors.Is(err, ErrValidation), in.r.copyState(pm)
			d := in.r.cfg.OnError.decide(f)
			if d.kind == decideSkip || d.kind == decideCompensate {
				// The queue logs the other decisions.
				in.r.app.log.Warn("process manager command failed", "process_manager", in.r.cfg.Name, "instance", in.id,
					"position", ev.Position, "command", fmt.Sprintf("%T", cmd), "refused", f.Refused,
					"attempt", f.Attempts, "decision", d.String(), "err", err)
			}
			switch d.kind {
			case decideSkip:
				continue
			case decideCompensate:
				if err := in.dispatch(ctx, ev, d.command, fmt.Sprintf("%d/compensate", i)); err != nil {
					return err
				}
				continue
			}
			return &decided{d: d, failure: f, err: err}
		}
	}
	pm.Apply(ev)
	snap, err := in.r.encodeState(in.id, pm, ev.Position)
	if err != nil {
		// Handled again (if the policy says so) from the state before ev.
		in.loaded, in.handling = false, nil
		return err
	}
	in.pm, in.last, in.base = pm, ev.Position, snap
	return nil
}

// dispatch sends a command caused by ev. Its id is derived from ev, so a
// redelivered event re-dispatches the same command ids, which aggregates
// recognise and do not apply twice.
func (in *instance) dispatch(ctx context.Context, ev Event, cmd any, seq string) error {
	id := uuid.NewSHA1(ev.ID, []byte("process/"+in.r.cfg.Name+"/"+in.id+"/"+seq))
	opts := []DispatchOption{
		WithCommandID(id),
		WithCausationID(ev.ID),
		WithCorrelationID(ev.CorrelationID),
		WithMetadata(ev.Metadata),
	}
	if in.r.cfg.DispatchConsistency == Strong && len(in.r.app.strongHandlers) > 0 {
		opts = append(opts, WithConsistency(Strong, in.r.app.strongHandlers...))
	}
	_, err := in.r.app.dispatchInternal(ctx, cmd, opts...)
	return err
}

func (in *instance) arm(ctx actor.Context) {
	in.stopTimer()
	if in.loaded && in.pm == nil && len(in.queue.items) == 0 {
		// Stopped (or never started): nothing to keep.
		ctx.Send(ctx.Parent(), passivateRequest{pid: ctx.Self()})
		return
	}
	gen, self, root := in.idleGen, ctx.Self(), ctx.ActorSystem().Root
	in.idleTimer = time.AfterFunc(in.r.cfg.IdleTimeout, func() { root.Send(self, idleTick{gen: gen}) })
}

func (in *instance) stopTimer() {
	in.idleGen++
	if in.idleTimer != nil {
		in.idleTimer.Stop()
		in.idleTimer = nil
	}
}
