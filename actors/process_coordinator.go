package actors

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/cohort-dev/cohort/eventstore"
)

// pmRunner runs a process manager on its subscription.
type pmRunner struct {
	subscribed
	cfg ProcessManagerConfig
}

// prepare has nothing to check: a process manager has no start hooks.
func (r *pmRunner) prepare(context.Context) error { return nil }

// open subscribes, with a coordinator for the session, restarted by its
// supervisor if it fails. Once the session stops (within stop's context),
// a save of states still running gives up: its states are delivered
// again to the next session, here or in another process.
func (r *pmRunner) open(ctx context.Context) error {
	return r.openSession(ctx, func(s *session) actor.Actor { return newCoordinator(r, s) },
		actor.WithSupervisor(actor.NewRestartingStrategy()))
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
		rec      eventstore.RecordedEvent // ev as stored, for an instance on another member
		err      error                    // ev failed to decode (on the instance's member)
		interest Interest
		// delivery, for an instance that is a cluster identity, is the
		// delivery the event came in, answered once its last event is
		// handled at the sender of the envelope the event came in.
		delivery *pmDelivery
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
// persisted. Alone, its instances are its children: like a shard, it
// passivates idle ones and buffers their events while they stop; the
// events an instance did not finish (it was passivated while waiting to
// retry) go to its successor first. In a cluster, its instances are
// cluster identities, spread over the members (remoteInstances).
type coordinator struct {
	r         *pmRunner
	s         *session
	instances *childPool[pmEvent] // alone
	remote    *remoteInstances    // in a cluster
	window    *ackWindow
	unsaved   map[string]*eventstore.Snapshot // id -> state to persist (nil: delete)
	flushing  bool
	halted    bool
	draining  chan struct{} // set by a drainRequest, closed once drained
}

// newCoordinator returns a coordinator with no instances.
func newCoordinator(r *pmRunner, s *session) *coordinator {
	c := &coordinator{
		r:       r,
		s:       s,
		window:  newAckWindow(),
		unsaved: make(map[string]*eventstore.Snapshot),
	}
	if r.app.cluster != nil {
		c.remote = newRemoteInstances(r, c.unsaved)
		return c
	}
	c.instances = newChildPool(poolConfig[pmEvent]{
		limit: r.cfg.MaxLiveInstances,
		props: func(id string) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return newInstance(r, id) }, r.stats.mailboxProps())
		},
		live:       []*atomic.Int64{&r.stats.live},
		passivated: func() { r.app.countPassivation(r.stats) },
		spawned:    c.spawned,
		unfinished: true,
	})
	return c
}

// Receive handles the subscription's batches, the instances' reports and
// stops, flushes, passivation and drain requests.
func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case batchMsg:
		if !c.halted && c.draining == nil {
			c.route(ctx, m.events)
		}
	case pmDone:
		// One delivery done: a second copy of the event may still be pending.
		c.instances.finished(m.id, func(e pmEvent) bool { return e.ev.Position == m.ev.Position })
		c.done(ctx, m)
	case pmAnswer:
		c.answered(ctx, m)
	case flushTick:
		c.flush(ctx)
	case pmHalted:
		c.halt(m.err)
	case passivateRequest:
		c.instances.passivateRequested(ctx, m.pid)
	case *actor.Terminated:
		ctx.Send(ctx.Self(), instanceStopped{who: m.Who})
	case instanceStopped:
		// Unless draining, the events the instance did not finish and
		// those buffered go to a successor; draining, they are not
		// acknowledged, and delivered again later.
		if c.instances.stopped(ctx, m.who, c.draining == nil) && c.draining != nil {
			c.checkDrained(ctx)
		}
	case drainRequest:
		// Instances finish what is in their mailboxes and stop; then every
		// report is in, and the last flush persists and acknowledges it.
		c.draining = m.done
		if c.instances != nil {
			c.instances.passivateAll(ctx)
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
		c.stopDeliveries()
	case *actor.Restarting:
		c.stopDeliveries()
	}
}

// stopDeliveries ends, in a cluster, the deliveries to instances still
// under way: their events are delivered again with the subscription's.
func (c *coordinator) stopDeliveries() {
	if c.remote != nil {
		c.remote.stop()
	}
}

// answered takes, in a cluster, an instance's report of a delivery: its
// events are done, and the state after the last is to persist.
func (c *coordinator) answered(ctx actor.Context, m pmAnswer) {
	evs, rep := c.remote.answered(ctx, m)
	switch {
	case rep == nil: // stale
		return
	case rep.halt != nil:
		c.halt(rep.halt)
	default:
		for i, e := range evs {
			done := pmDone{id: m.id, ev: e.ev}
			if i == len(evs)-1 {
				done.state, done.deleted = rep.state, rep.deleted
			}
			c.done(ctx, done)
		}
	}
	if c.draining != nil {
		c.checkDrained(ctx)
	}
}

// deliver sends e to instance id: its child, or its cluster identity.
func (c *coordinator) deliver(ctx actor.Context, id string, e pmEvent) {
	if c.remote != nil {
		c.remote.send(ctx, id, e)
		return
	}
	c.instances.send(ctx, id, e)
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
		c.window.add(ev, len(interests))
		for _, in := range interests {
			e := pmEvent{ev: ev, interest: in}
			if c.remote != nil {
				e.rec = rec
			}
			c.deliver(ctx, in.ID, e)
		}
	}
	c.scheduleFlush(ctx)
}

// interested calls the process manager's Interested, a panic in it made
// an error.
func (c *coordinator) interested(ev Event) (in []Interest, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return c.r.cfg.Interested(ev), nil
}

// spawned hands a new instance the state not yet persisted.
func (c *coordinator) spawned(ctx actor.Context, id string, pid *actor.PID) {
	if state, ok := c.unsaved[id]; ok {
		ctx.Send(pid, pmInit{state: state})
	}
}

// checkDrained tells a draining coordinator, through its mailbox, once no
// instance is left (alone), or no delivery is under way (in a cluster).
func (c *coordinator) checkDrained(ctx actor.Context) {
	if (c.remote != nil && c.remote.idle()) || (c.instances != nil && c.instances.len() == 0) {
		ctx.Send(ctx.Self(), drained{})
	}
}

// done records an instance's report: one delivery finished, and the
// state (or deletion) to persist.
func (c *coordinator) done(ctx actor.Context, m pmDone) {
	switch {
	case m.deleted:
		c.unsaved[m.id] = nil
	case m.state != nil:
		c.unsaved[m.id] = m.state
	}
	c.window.finish(m.ev.Position)
	c.scheduleFlush(ctx)
}

// scheduleFlush queues one flushTick unless one is queued.
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
	if len(c.unsaved) > 0 {
		if err := c.save(); err != nil {
			c.r.app.log.Warn("process manager state not saved, retrying", "process_manager", c.r.cfg.Name, "err", err)
			self, root := ctx.Self(), ctx.ActorSystem().Root
			time.AfterFunc(200*time.Millisecond, func() { root.Send(self, flushTick{}) })
			c.flushing = true
			return
		}
	}
	last, ok := c.window.advance()
	if !ok {
		return
	}
	if err := c.s.sub.Ack(ackOf(last)); err != nil {
		c.r.app.log.Warn("process manager ack failed", "process_manager", c.r.cfg.Name, "err", err)
	}
	c.r.app.tracker.advance(c.r.cfg.Name, last.Position)
}

// save writes pending states and deletions in one SaveSnapshots, within
// HandleTimeout and until the runner abandons saves.
func (c *coordinator) save() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.r.cfg.HandleTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.s.abandon:
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
	if err := c.r.app.store.SaveSnapshots(ctx, record, del); err != nil {
		return err
	}
	clear(c.unsaved)
	return nil
}

// halt stops the process manager with err, once.
func (c *coordinator) halt(err error) {
	if c.halted {
		return
	}
	c.halted = true
	c.r.halted(c.s, err)
}
