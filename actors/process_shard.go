package actors

import (
	"strings"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/anypb"
)

// processKindPrefix prefixes the cluster kind of each process manager's
// instance shards.
const processKindPrefix = "cohort.process."

// processKind names the cluster kind of a process manager's instance
// shards.
func processKind(name string) string {
	return processKindPrefix + strings.ReplaceAll(name, "/", "_")
}

// processShard is, in a cluster, the parent of the instances of one
// process manager whose ids hash to it: a cluster identity, placed on a
// member as an aggregate shard is, so that a process manager's instances
// spread over the members while its coordinator runs on one. It receives
// deliveries from the coordinator (pmDelivery on this member, encoded
// from another), hands each to its instance, spawned on demand and
// passivated as on one node, and the instance answers the delivery's
// request itself.
type processShard struct {
	r        *pmRunner
	children *childPool[any] // pmEvents, in envelopes naming the coordinator's request
}

// processShardProps returns the props of r's instance shards, each
// holding up to limit live instances.
func processShardProps(r *pmRunner, limit int) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &processShard{r: r, children: newChildPool(poolConfig[any]{
			limit: limit,
			props: func(id string) *actor.Props {
				return actor.PropsFromProducer(func() actor.Actor { return newInstance(r, id) }, r.stats.mailboxProps())
			},
			live:       []*atomic.Int64{&r.stats.live},
			passivated: func() { r.app.countPassivation(r.stats) },
		})}
	}, actor.WithSupervisor(actor.NewRestartingStrategy()), r.stats.mailboxProps())
}

// Receive hands deliveries to instances and passivates them.
func (s *processShard) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pmDelivery:
		s.deliver(ctx, m)
	case *anypb.Any:
		d, err := s.r.decodeDelivery(m)
		if err != nil {
			// Not a delivery this member can read (members of another
			// protocol): the process manager halts with the error.
			s.r.app.log.Error("process event not readable", "process_manager", s.r.cfg.Name, "err", err)
			if ctx.Sender() != nil {
				ctx.Respond(s.r.app.encodeReport(&pmReport{halt: err}))
			}
			return
		}
		s.deliver(ctx, d)
	case passivateRequest:
		s.children.passivateRequested(ctx, m.pid)
	case *actor.Terminated:
		s.children.stopped(ctx, m.Who, true)
	}
	// Stopping (it moves, or its member leaves), it lets protoactor stop
	// its instances after the event each is handling: the deliveries
	// queued in an instance are asked for again, those left in its
	// mailbox go to the dead letters, which tell their coordinators, and
	// the coordinators deliver them to the instances' next activations.
	// Handling them here first would dispatch commands through a member
	// that is leaving.
}

// deliver hands d's events to its instance, which answers the request's
// sender. Each goes in an envelope naming that sender, so that one left
// in the mailbox of an instance that stops goes to the dead letters,
// which answer the sender at once: its coordinator delivers it again.
func (s *processShard) deliver(ctx actor.Context, d *pmDelivery) {
	for _, it := range d.items {
		e := pmEvent{ev: it.ev, err: it.err, interest: it.interest, delivery: d}
		s.children.send(ctx, d.instance, &actor.MessageEnvelope{Message: e, Sender: ctx.Sender()})
	}
}
