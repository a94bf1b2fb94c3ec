package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

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
	// state is base's state as marshalState encodes it (nil: unknown), and
	// changed says that the last event handled replaced base: only then
	// does the instance report base for persisting.
	state   []byte
	changed bool
	queue   *eventQueue
	// interests are the queued events' interests, with how many copies of
	// each are queued (a resumed subscription delivers an event again).
	interests map[int64]queuedInterest
	// handling is the state the event being handled was given to (nil
	// before it is known), for the error policy.
	handling ProcessManager
	idle     idleTimer
	// lastToken, for an instance that is a cluster identity, is the token
	// of the delivery its state follows (see pmDelivery): the last one it
	// handled, or the one its coordinator said it follows; synced once it
	// has followed one.
	lastToken pmToken
	synced    bool
	// stopped says that an event of the delivery under way stopped the
	// instance: reported with the last one, the state is deleted unless
	// a later event started it again.
	stopped bool
}

// queuedInterest is the interest of an event queued n times, and, for an
// instance that is a cluster identity, the deliveries that brought it, in
// order.
type queuedInterest struct {
	in  Interest
	n   int
	via []pmVia
}

// pmVia is a delivery to an instance that is a cluster identity, where
// to report it, and whether the event it came with is its last.
type pmVia struct {
	d       *pmDelivery
	replyTo *actor.PID
	last    bool
}

// newInstance returns instance id, its state not yet loaded.
func newInstance(r *pmRunner, id string) *instance {
	in := &instance{r: r, id: id, interests: make(map[int64]queuedInterest)}
	obs := handlingObserver{app: r.app, name: r.cfg.Name, kind: KindProcessManager, instance: id}
	in.queue = newQueue(obs, r.cfg.OnError, r.cfg.HandleTimeout, 1, in.handle)
	in.queue.describe = in.describe
	return in
}

// Receive queues events, handles them in order with retries, and asks to
// be passivated when idle.
func (in *instance) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case pmInit:
		in.init(m.state)
	case pmEvent:
		q := in.interests[m.ev.Position]
		q.in, q.n = m.interest, q.n+1
		if d := m.delivery; d != nil {
			last := m.ev.Position == d.items[len(d.items)-1].ev.Position
			q.via = append(q.via, pmVia{d: d, replyTo: ctx.Sender(), last: last})
		}
		in.interests[m.ev.Position] = q
		in.queue.push(queued{ev: m.ev, err: m.err})
		in.drain(ctx)
	case retryTick:
		if in.queue.tick(m) {
			in.drain(ctx)
		}
	case idleTick:
		if in.idle.current(m) && len(in.queue.items) == 0 {
			requestPassivation(ctx)
		}
	case *actor.Stopping:
		in.queue.stop()
		in.idle.stop()
		in.returnUnhandled(ctx)
	}
}

// returnUnhandled asks the coordinators of the deliveries still queued,
// as the instance stops (passivated beyond MaxLiveInstances, or its shard
// moving), to make them again: they go to the instance's next
// activation.
func (in *instance) returnUnhandled(ctx actor.Context) {
	asked := make(map[*pmDelivery]bool)
	for _, q := range in.interests {
		for _, v := range q.via {
			if !asked[v.d] {
				asked[v.d] = true
				in.answer(ctx, v, &pmReport{token: v.d.token, again: true})
			}
		}
	}
	clear(in.interests)
}

// follow makes the instance's state the one delivery d says it follows:
// unless the instance handled d's prev last, it reloads its state, from
// d or the store. A new activation always loads.
func (in *instance) follow(d *pmDelivery) {
	if in.synced && d.prev == in.lastToken {
		return
	}
	in.loaded, in.changed, in.stopped = false, false, false
	if d.hasState {
		in.init(d.state)
	} else {
		in.base, in.baseKnown = nil, false
	}
	in.lastToken, in.synced = d.prev, true
}

// answer reports a delivery to its coordinator: as it is on this member,
// encoded to another.
func (in *instance) answer(ctx actor.Context, v pmVia, rep *pmReport) {
	if v.replyTo == nil {
		return
	}
	app := in.r.app
	if v.replyTo.Address == app.cluster.addr {
		ctx.Send(v.replyTo, rep)
		return
	}
	ctx.Send(v.replyTo, app.encodeReport(rep))
}

// forget drops one queued copy of the event at pos.
func (in *instance) forget(pos int64) {
	if q := in.interests[pos]; q.n > 1 {
		q.n--
		in.interests[pos] = q
	} else {
		delete(in.interests, pos)
	}
}

// nextVia removes and returns the first delivery of the event at pos
// still queued; ok is false for an instance that is not a cluster
// identity.
func (in *instance) nextVia(pos int64) (v pmVia, ok bool) {
	q := in.interests[pos]
	if len(q.via) == 0 {
		return pmVia{}, false
	}
	v, q.via = q.via[0], q.via[1:]
	in.interests[pos] = q
	return v, true
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
	in.pm, in.last, in.state = nil, 0, nil
	if in.base != nil {
		pm, last, err := in.r.decodeState(ctx, in.id, *in.base)
		if err != nil {
			return err
		}
		in.pm, in.last = pm, last
		if in.base.SchemaVersion == in.r.cfg.StateVersion {
			// (Unknown if it fails: the next event persists it.)
			in.state, _ = in.r.marshalState(in.id, pm)
		}
	}
	in.loaded = true
	return nil
}

// drain handles the queued events it can, reporting each to the
// coordinator (in a cluster, each delivery, after its last event), then
// arms the idle timer; an error the policy does not absorb halts the
// process manager.
func (in *instance) drain(ctx actor.Context) {
	err := in.queue.drain(ctx, func(ev Event) {
		v, clustered := in.nextVia(ev.Position)
		if clustered {
			in.follow(v.d) // (done without being handled: skipped)
			if in.interests[ev.Position].in.kind == interestStop {
				in.stopped = true
			}
			if !v.last {
				// Reported with the delivery's last event, its state
				// after them all.
				in.forget(ev.Position)
				return
			}
		}
		st, deleted := in.report(ev)
		in.forget(ev.Position)
		if !clustered {
			ctx.Send(ctx.Parent(), pmDone{id: in.id, ev: ev, state: st, deleted: deleted})
			return
		}
		in.lastToken, in.stopped = v.d.token, false
		in.answer(ctx, v, &pmReport{token: v.d.token, state: st, deleted: deleted})
	})
	if err != nil {
		if len(in.queue.items) > 0 {
			if v, ok := in.nextVia(in.queue.items[0].ev.Position); ok {
				in.answer(ctx, v, &pmReport{token: v.d.token, halt: err})
				return
			}
		}
		ctx.Send(ctx.Parent(), pmHalted{err: err})
		return
	}
	in.arm(ctx)
}

// report returns the state to persist after ev (nil if ev left it
// unchanged), or that it was deleted.
func (in *instance) report(ev Event) (*eventstore.Snapshot, bool) {
	if in.base == nil {
		return nil, in.stopped || in.interests[ev.Position].in.kind == interestStop
	}
	if !in.changed {
		return nil, false
	}
	in.changed = false
	return in.base, false
}

// describe adds the instance's id and a copy of its state to a failure.
func (in *instance) describe(f *Failure) {
	f.Instance, f.State = in.id, in.r.copyState(in.handling)
}

// handle handles one event for this instance.
func (in *instance) handle(ctx context.Context, evs []Event, at attempt) error {
	ev := evs[0]
	q := in.interests[ev.Position]
	interest := q.in
	if len(q.via) > 0 {
		in.follow(q.via[0].d)
	}
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
		in.pm, in.base, in.state = nil, nil, nil
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
	pm.Apply(ev.Payload)
	state, err := in.r.marshalState(in.id, pm)
	if err != nil {
		// Handled again (if the policy says so) from the state before ev.
		in.loaded, in.handling = false, nil
		return err
	}
	if in.base == nil || !bytes.Equal(state, in.state) {
		// Changed (or started): persisted. Unchanged, the stored state
		// stays as it is, with an older Last (see pmState).
		snap, err := in.r.stateSnapshot(ctx, in.id, pm, state, ev.Position)
		if err != nil {
			in.loaded, in.handling = false, nil
			return err
		}
		in.base, in.state, in.changed = snap, state, true
	}
	in.pm, in.last = pm, ev.Position
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

// arm starts the idle timer, or asks to be passivated at once when the
// instance has nothing to keep.
func (in *instance) arm(ctx actor.Context) {
	if in.loaded && in.pm == nil && len(in.queue.items) == 0 {
		// Stopped (or never started): nothing to keep.
		in.idle.stop()
		requestPassivation(ctx)
		return
	}
	in.idle.arm(ctx, in.r.cfg.IdleTimeout)
}
