package actors

import (
	"container/list"
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
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

// passivateRequest asks a shard to stop an idle child.
type passivateRequest struct{ pid *actor.PID }

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
		hdr := headerCarrier{}
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
	k        *aggregateKind
	limit    int
	children map[string]*child // by aggregate id
	byPID    map[string]*child // by child PID id
	lru      *list.List        // live, not stopping; front is most recent
}

type child struct {
	id       string
	pid      *actor.PID
	stopping bool
	buffer   []any // commands, with their headers, for the successor
	elem     *list.Element
}

func newShard(k *aggregateKind, limit int) *shard {
	return &shard{
		k:        k,
		limit:    limit,
		children: make(map[string]*child),
		byPID:    make(map[string]*child),
		lru:      list.New(),
	}
}

func (s *shard) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *commandMsg:
		s.route(ctx, m)
	case passivateRequest:
		if c, ok := s.byPID[m.pid.Id]; ok && !c.stopping {
			s.passivate(ctx, c)
		}
	case *actor.Terminated:
		s.terminated(ctx, m.Who)
	}
}

func (s *shard) route(ctx actor.Context, m *commandMsg) {
	id := m.cmd.AggregateID
	c, ok := s.children[id]
	if !ok {
		c = s.spawn(ctx, id)
	}
	var msg any = m
	if hdr := ctx.MessageHeader(); hdr != nil && hdr.Length() > 0 {
		msg = withHeader(hdr.ToMap(), m)
	}
	if c.stopping {
		c.buffer = append(c.buffer, msg)
		return
	}
	s.lru.MoveToFront(c.elem)
	ctx.Send(c.pid, msg)
	for s.lru.Len() > s.limit {
		s.passivate(ctx, s.lru.Back().Value.(*child))
	}
}

func (s *shard) spawn(ctx actor.Context, id string) *child {
	k := s.k
	props := actor.PropsFromProducer(func() actor.Actor { return newAggregateActor(k, id) }, k.stats.mailboxProps())
	c := &child{id: id, pid: ctx.Spawn(props)}
	k.app.live.Add(1)
	k.stats.live.Add(1)
	c.elem = s.lru.PushFront(c)
	s.children[id] = c
	s.byPID[c.pid.Id] = c
	return c
}

// passivate stops a child after the messages already in its mailbox.
func (s *shard) passivate(ctx actor.Context, c *child) {
	s.k.stats.passivations.Add(1)
	s.k.app.ins.passivations.Add(context.Background(), 1, metric.WithAttributes(
		AttrActorKind.String(KindAggregate), attribute.String("name", s.k.typ.Name)))
	c.stopping = true
	s.lru.Remove(c.elem)
	c.elem = nil
	ctx.Poison(c.pid)
}

// terminated forgets a stopped child and starts its successor if commands
// arrived meanwhile.
func (s *shard) terminated(ctx actor.Context, who *actor.PID) {
	c, ok := s.byPID[who.Id]
	if !ok {
		return
	}
	delete(s.byPID, who.Id)
	delete(s.children, c.id)
	s.k.app.live.Add(-1)
	s.k.stats.live.Add(-1)
	if c.elem != nil {
		s.lru.Remove(c.elem)
	}
	if len(c.buffer) == 0 {
		return
	}
	next := s.spawn(ctx, c.id)
	for _, m := range c.buffer {
		ctx.Send(next.pid, m)
	}
}
