package actors

import (
	"context"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/propagation"
)

// aggregateKind runs one aggregate type: a fixed set of shard actors, each
// the parent and supervisor of the instances whose ids hash to it.
type aggregateKind struct {
	app    *App
	typ    AggregateType
	shards []*actor.PID
	stats  *actorStats // the aggregate actors
	router *actorStats // the shards
}

// commandMsg carries a command to its aggregate actor; the actor answers on
// reply (buffered), never through a protoactor future.
type commandMsg struct {
	// ctx is the dispatch's context: a command whose caller gave up
	// (deadline or cancellation) before it ran is not executed.
	ctx   context.Context
	cmd   *Command
	reply chan commandReply
}

type commandReply struct {
	res Result
	err error
}

func (m *commandMsg) respond(res Result, err error) {
	select {
	case m.reply <- commandReply{res: res, err: err}:
	default: // already answered (a panic after the reply)
	}
}

func (k *aggregateKind) start(n, perShard int) {
	// A panic in aggregate code restarts that one actor, every time: the
	// failed command's caller gets an error, the next command reloads the
	// state.
	k.stats = k.app.stats.add(KindAggregate, k.typ.Name)
	k.router = k.app.stats.add(KindRouter, k.typ.Name)
	props := actor.PropsFromProducer(func() actor.Actor { return newShard(k, perShard) },
		actor.WithSupervisor(actor.NewRestartingStrategy()),
		actor.WithGuardian(actor.NewRestartingStrategy()),
		k.router.mailboxProps())
	k.router.live.Add(int64(n))
	k.shards = make([]*actor.PID, n)
	for i := range n {
		k.shards[i] = k.app.system.Root.Spawn(props)
	}
}

// send routes a command to its shard, with the dispatch's trace context
// in the message header.
func (k *aggregateKind) send(ctx context.Context, m *commandMsg) {
	var msg any = m
	if k.app.ins.tracing {
		hdr := propagation.MapCarrier{}
		traceContext.Inject(ctx, hdr)
		msg = withHeader(hdr, m)
	}
	k.app.system.Root.Send(k.shards[partition(m.cmd.AggregateID, len(k.shards))], msg)
}

// withHeader wraps a message in an envelope carrying hdr, if any.
func withHeader(hdr map[string]string, m any) any {
	if len(hdr) == 0 {
		return m
	}
	return &actor.MessageEnvelope{Header: hdr, Message: m}
}

// stop stops the shards, and with them their children, waiting within
// ctx. The waiting goroutine ends by itself: protoactor's stop futures time
// out after 10 s.
func (k *aggregateKind) stop(ctx context.Context) {
	fs := make([]actor.Future, len(k.shards))
	for i, pid := range k.shards {
		fs[i] = k.app.system.Root.PoisonFuture(pid)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range fs {
			_ = f.Wait()
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// shard routes commands to its children, spawning them on demand, and
// passivates them: on request (lifespan) or when it holds more than its
// share of MaxLiveAggregates (least recently used first). Commands for a
// child that is stopping are buffered and delivered to its successor.
type shard struct {
	children *childPool[any] // commands, with their headers; by aggregate id
}

func newShard(k *aggregateKind, limit int) *shard {
	return &shard{children: newChildPool(poolConfig[any]{
		limit: limit,
		props: func(id string) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return newAggregateActor(k, id) }, k.stats.mailboxProps())
		},
		live:       []*atomic.Int64{&k.app.live, &k.stats.live},
		passivated: func() { k.app.countPassivation(k.stats) },
	})}
}

func (s *shard) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *commandMsg:
		var msg any = m
		if hdr := ctx.MessageHeader(); hdr != nil && hdr.Length() > 0 {
			msg = withHeader(hdr.ToMap(), m)
		}
		s.children.send(ctx, m.cmd.AggregateID, msg)
	case passivateRequest:
		s.children.passivateRequested(ctx, m.pid)
	case *actor.Terminated:
		s.children.stopped(ctx, m.Who, true)
	}
}
