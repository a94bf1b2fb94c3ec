package actors

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/cohort-dev/cohort/eventstore"
)

// remoteInstances is a coordinator's view of its instances when they are
// cluster identities (App in a cluster): each instance lives in a
// processShard placed by the cluster, possibly on another member. The
// coordinator keeps what it keeps on one node (the routing, the
// acknowledgement window, the states to persist, in batches); it sends an
// instance one delivery at a time (the events queued for it, up to
// BatchSize), the next once the instance has reported the last, so that
// each delivery can tell the instance which state it follows
// (pmDelivery.prev): an instance that moved, or that handled a
// delivery whose report was lost, reloads its state (the coordinator's
// unsaved one, carried with the delivery, or the stored one) before it
// handles the event. A delivery is made again, to the instance's shard
// looked up anew, when it reached no one (dead letter), when the member
// it went to left the cluster, when the instance stopped before handling
// it, or when it went unanswered for HandleTimeout per event and one
// more; a delivery handled twice dispatches the same command ids twice,
// which their aggregates recognise.
type remoteInstances struct {
	r       *pmRunner
	unsaved map[string]*eventstore.Snapshot // the coordinator's, read only
	session uint64
	seq     uint64
	byID    map[string]*remoteInstance
	busy    int // instances with a delivery under way
	// life ends the deliveries under way when the coordinator stops.
	life   context.Context
	cancel context.CancelFunc
}

// remoteInstance is one instance as its coordinator sees it.
type remoteInstance struct {
	queue    []pmEvent // the first inflight are under way
	inflight int
	sending  pmToken // the delivery under way (Attempt 0); zero: none
	accepted pmToken // the last delivery reported and accepted
}

// pmAnswer is the outcome of a delivery, sent by its goroutine to the
// coordinator; rep is nil if the coordinator stopped first.
type pmAnswer struct {
	id   string
	sent pmToken
	rep  *pmReport
}

// newRemoteInstances returns the view of a coordinator whose states not
// yet persisted are unsaved.
func newRemoteInstances(r *pmRunner, unsaved map[string]*eventstore.Snapshot) *remoteInstances {
	var b [8]byte
	_, _ = rand.Read(b[:])
	life, cancel := context.WithCancel(context.Background())
	return &remoteInstances{r: r, unsaved: unsaved, session: binary.LittleEndian.Uint64(b[:]) | 1,
		byID: make(map[string]*remoteInstance), life: life, cancel: cancel}
}

// send queues e for instance id and delivers it unless a delivery to the
// instance is under way.
func (ri *remoteInstances) send(ctx actor.Context, id string, e pmEvent) {
	inst, ok := ri.byID[id]
	if !ok {
		inst = &remoteInstance{}
		ri.byID[id] = inst
	}
	inst.queue = append(inst.queue, e)
	if inst.sending == (pmToken{}) {
		ri.deliverHead(ctx, id, inst)
	}
}

// deliverHead delivers the instance's first queued events, up to
// BatchSize, in a goroutine that ends with the outcome or when the
// coordinator stops.
func (ri *remoteInstances) deliverHead(ctx actor.Context, id string, inst *remoteInstance) {
	ri.seq++
	inst.sending = pmToken{Session: ri.session, Seq: ri.seq}
	inst.inflight = min(len(inst.queue), ri.r.cfg.BatchSize)
	ri.busy++
	d := pmDelivery{instance: id, token: inst.sending, prev: inst.accepted, items: make([]pmItem, inst.inflight)}
	for i, e := range inst.queue[:inst.inflight] {
		d.items[i] = pmItem{ev: e.ev, rec: e.rec, interest: e.interest}
	}
	if st, ok := ri.unsaved[id]; ok {
		d.hasState, d.state = true, st
	}
	self, root, sent := ctx.Self(), ctx.ActorSystem().Root, inst.sending
	go func() {
		rep := ri.r.deliver(ri.life, d)
		root.Send(self, pmAnswer{id: id, sent: sent, rep: rep})
	}()
}

// answered takes the outcome of a delivery: it returns the delivery's
// events and the report (nil if it is not the one under way: a stale
// goroutine's) and delivers the instance's next queued events.
func (ri *remoteInstances) answered(ctx actor.Context, m pmAnswer) ([]pmEvent, *pmReport) {
	inst, ok := ri.byID[m.id]
	if !ok || m.rep == nil || inst.sending != m.sent {
		return nil, nil
	}
	evs := inst.queue[:inst.inflight:inst.inflight]
	inst.queue, inst.inflight = inst.queue[inst.inflight:], 0
	inst.sending, inst.accepted = pmToken{}, m.rep.token
	ri.busy--
	switch {
	case len(inst.queue) > 0:
		ri.deliverHead(ctx, m.id, inst)
	case len(ri.byID) > ri.r.cfg.MaxLiveInstances:
		// Forgotten: its next delivery follows no token, and the instance
		// reloads its state.
		delete(ri.byID, m.id)
	}
	return evs, m.rep
}

// idle reports whether no delivery is under way.
func (ri *remoteInstances) idle() bool { return ri.busy == 0 }

// stop ends the deliveries under way.
func (ri *remoteInstances) stop() { ri.cancel() }

// deliver delivers d to its instance's shard wherever the cluster placed
// it and returns the instance's report, trying again (a new attempt of
// the same delivery) until one comes or life ends (nil).
func (r *pmRunner) deliver(life context.Context, d pmDelivery) *pmReport {
	a := r.app
	kind, identity := processKind(r.cfg.Name), strconv.Itoa(partition(d.instance, a.cfg.Shards))
	wait := time.Duration(len(d.items)+1) * r.cfg.HandleTimeout // each event may take HandleTimeout
	for attempt := uint64(1); ; attempt++ {
		if attempt > 1 {
			if sleepCtx(life, retryBackoff) != nil {
				return nil
			}
		}
		rep, err := r.attempt(life, kind, identity, d, attempt, wait)
		switch {
		case life.Err() != nil:
			return nil
		case err != nil:
			a.log.Debug("process events delivered again", "process_manager", r.cfg.Name, "instance", d.instance,
				"position", d.items[0].rec.Position, "events", len(d.items), "attempt", attempt, "err", err)
			continue
		}
		return rep
	}
}

// errAgain: the instance stopped before it handled the delivery.
var errAgain = errors.New("actors: the process instance stopped before handling the event")

// attempt makes one attempt of delivery d, waiting up to wait for the
// report.
func (r *pmRunner) attempt(life context.Context, kind, identity string, d pmDelivery, n uint64, wait time.Duration) (*pmReport, error) {
	a := r.app
	c := a.cluster
	ctx, cancel := context.WithTimeout(life, wait)
	defer cancel()
	pid := c.pid(ctx, identity, kind)
	if pid == nil {
		return nil, errors.New("actors: no member for the instance's shard")
	}
	d.token.Attempt = n
	var msg any = &d
	if pid.Address != c.addr {
		m, err := encodeDelivery(&d)
		if err != nil {
			// It would fail again: the process manager halts with it.
			return &pmReport{token: d.token, halt: err}, nil
		}
		msg = m
	}
	got, err := awaitFuture(ctx, c.members.goneCh(pid.Address), a.system.Root.RequestFuture(pid, msg, wait))
	if err != nil {
		c.forget(identity, kind, pid)
		return nil, err
	}
	var rep *pmReport
	switch m := got.(type) {
	case *pmReport:
		rep = m
	case *anypb.Any:
		if rep, err = a.decodeReport(m); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("actors: a process shard answered with an unknown message")
	}
	if rep.again {
		c.forget(identity, kind, pid)
		return nil, errAgain
	}
	return rep, nil
}
