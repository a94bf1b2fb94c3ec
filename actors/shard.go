package actors

import (
	"context"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/types/known/anypb"
)

// aggregateKind runs one aggregate type: a fixed set of shard actors, each
// the parent and supervisor of the instances whose ids hash to it.
type aggregateKind struct {
	app    *App
	typ    AggregateType
	n      int          // shards
	shards []*actor.PID // spawned here; nil in a cluster, which places them
	props  *actor.Props // a shard's
	stats  *actorStats  // the aggregate actors
	router *actorStats  // the shards
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
	k.n = n
	opts := []actor.PropsOption{actor.WithSupervisor(actor.NewRestartingStrategy()), k.router.mailboxProps()}
	if k.clustered() {
		// The cluster spawns each shard, on the member it places it on,
		// as a child of its placement actor (which restarts it).
		k.props = actor.PropsFromProducer(func() actor.Actor { return newShard(k, perShard) }, opts...)
		return
	}
	k.props = actor.PropsFromProducer(func() actor.Actor { return newShard(k, perShard) },
		append(opts, actor.WithGuardian(actor.NewRestartingStrategy()))...)
	k.router.live.Add(int64(n))
	k.shards = make([]*actor.PID, n)
	for i := range n {
		k.shards[i] = k.app.system.Root.Spawn(k.props)
	}
}

// clustered reports whether the shards are cluster identities (see
// ClusterConfig).
func (k *aggregateKind) clustered() bool { return k.app.cfg.Cluster != nil }

// send routes a command to its shard, with the dispatch's trace context
// in the message header.
func (k *aggregateKind) send(ctx context.Context, m *commandMsg) {
	msg := withHeader(k.traceHeader(ctx), m)
	k.app.system.Root.Send(k.shards[partition(m.cmd.AggregateID, len(k.shards))], msg)
}

// traceHeader is the dispatch's trace context for a message header, when
// tracing.
func (k *aggregateKind) traceHeader(ctx context.Context) map[string]string {
	if !k.app.ins.tracing {
		return nil
	}
	hdr := propagation.MapCarrier{}
	traceContext.Inject(ctx, hdr)
	return hdr
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
//
// In a cluster, the shard is a cluster identity: it also serves commands
// from other members (remoteCommand) and, when it stops because it moved
// or its member leaves, lets its children finish the commands they were
// given.
type shard struct {
	k        *aggregateKind
	children *childPool[any] // commands, with their headers; by aggregate id
}

func newShard(k *aggregateKind, limit int) *shard {
	return &shard{k: k, children: newChildPool(poolConfig[any]{
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
	case *anypb.Any:
		s.remoteCommand(ctx, m)
	case *actor.Started:
		if s.k.clustered() {
			s.k.router.live.Add(1)
		}
	case *actor.Stopping:
		if s.k.clustered() {
			s.drain(ctx)
		}
	case *actor.Stopped:
		if s.k.clustered() {
			s.k.router.live.Add(-1)
		}
	}
}

// drain stops the children after the commands in their mailboxes, which
// protoactor's stopping of a parent's children would drop, and waits for
// them (a stop future times out after 10 s).
func (s *shard) drain(ctx actor.Context) {
	var fs []actor.Future
	for _, pid := range ctx.Children() {
		fs = append(fs, ctx.PoisonFuture(pid))
	}
	for _, f := range fs {
		_ = f.Wait()
	}
}

// remoteCommand serves a command from another member: it hands it to its
// aggregate as a local one, and a goroutine, which ends with the reply or
// the caller's deadline, sends the outcome to the caller's future.
func (s *shard) remoteCommand(ctx actor.Context, m *anypb.Any) {
	app, sender := s.k.app, ctx.Sender()
	opCtx, cancel, cmd, hdr, err := app.decodeCommand(m)
	if err != nil {
		if sender != nil {
			ctx.Send(sender, app.encodeReply(Result{}, err))
		}
		return
	}
	msg := &commandMsg{ctx: opCtx, cmd: cmd, reply: make(chan commandReply, 1)}
	s.children.send(ctx, cmd.AggregateID, withHeader(hdr, msg))
	root := ctx.ActorSystem().Root
	go func() {
		defer cancel()
		var rep commandReply
		select {
		case rep = <-msg.reply:
		case <-opCtx.Done():
			rep.err = dispatchTimeout(opCtx)
		}
		if sender != nil {
			root.Send(sender, app.encodeReply(rep.res, rep.err))
		}
	}()
}
