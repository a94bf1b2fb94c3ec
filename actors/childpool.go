package actors

import (
	"container/list"
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// childPool is a parent actor's keyed pool of child actors: the shard's
// aggregate instances, the process-manager coordinator's instances, the
// handler actor's partitions. It spawns a child for a key on demand,
// passivates the least recently used one beyond its limit or when the
// child asks (passivateRequest, from its idleTimer), and buffers the
// messages for a child that is stopping until it has stopped, then hands
// them to a successor.
//
// Passivation goes through the pool because protoactor drops a message
// sent to an actor that is stopping. The pool is used from its parent's
// Receive only; its methods take the parent's context.
type childPool[M any] struct {
	cfg      poolConfig[M]
	children map[string]*poolChild[M] // by key
	byPID    map[string]*poolChild[M] // by child PID id
	lru      *list.List               // live, not stopping; front is most recent
}

// poolConfig is how a childPool's parents differ.
type poolConfig[M any] struct {
	// limit bounds the live children (not stopping): beyond it the least
	// recently sent to is passivated. 0: no limit.
	limit int
	// props returns the props of key's child.
	props func(key string) *actor.Props
	// live are counters of the pool's children in memory, spawned and not
	// yet stopped.
	live []*atomic.Int64
	// passivated, if set, records a passivation (the metrics).
	passivated func()
	// spawned, if set, is called when key's child has been spawned, before
	// the pool sends it anything (e.g. to give it an initial state).
	spawned func(ctx actor.Context, key string, pid *actor.PID)
	// unfinished makes the pool remember the messages sent to each child
	// until finished reports them done: those a child leaves when it stops
	// go to its successor, before the ones buffered meanwhile.
	unfinished bool
}

// poolChild is the pool's record of one live (or stopping) child.
type poolChild[M any] struct {
	key      string
	pid      *actor.PID
	stopping bool
	buffer   []M // for the successor, sent while stopping
	pending  []M // sent, not finished (poolConfig.unfinished)
	elem     *list.Element
}

// newChildPool returns a pool with no children.
func newChildPool[M any](cfg poolConfig[M]) *childPool[M] {
	return &childPool[M]{
		cfg:      cfg,
		children: make(map[string]*poolChild[M]),
		byPID:    make(map[string]*poolChild[M]),
		lru:      list.New(),
	}
}

// len is the number of children, live or stopping.
func (p *childPool[M]) len() int { return len(p.children) }

// send delivers m to key's child, spawning it if there is none, or buffers
// m for the successor of a child that is stopping; then it passivates the
// least recently used children beyond the limit.
func (p *childPool[M]) send(ctx actor.Context, key string, m M) {
	c := p.ensure(ctx, key)
	if c.stopping {
		c.buffer = append(c.buffer, m)
		return
	}
	p.lru.MoveToFront(c.elem)
	p.deliver(ctx, c, m)
	for p.cfg.limit > 0 && p.lru.Len() > p.cfg.limit {
		p.passivate(ctx, p.lru.Back().Value.(*poolChild[M]))
	}
}

// ensure returns key's child, spawning it if there is none.
func (p *childPool[M]) ensure(ctx actor.Context, key string) *poolChild[M] {
	if c, ok := p.children[key]; ok {
		return c
	}
	c := &poolChild[M]{key: key, pid: ctx.Spawn(p.cfg.props(key))}
	for _, n := range p.cfg.live {
		n.Add(1)
	}
	c.elem = p.lru.PushFront(c)
	p.children[key] = c
	p.byPID[c.pid.Id] = c
	if p.cfg.spawned != nil {
		p.cfg.spawned(ctx, key, c.pid)
	}
	return c
}

// deliver sends m to a live child.
func (p *childPool[M]) deliver(ctx actor.Context, c *poolChild[M], m M) {
	if p.cfg.unfinished {
		c.pending = append(c.pending, m)
	}
	ctx.Send(c.pid, m)
}

// passivateRequested passivates the child pid, which asked for it, unless
// it is stopping already or gone.
func (p *childPool[M]) passivateRequested(ctx actor.Context, pid *actor.PID) {
	if c, ok := p.byPID[pid.Id]; ok && !c.stopping {
		p.passivate(ctx, c)
	}
}

// passivateAll passivates every child not stopping yet.
func (p *childPool[M]) passivateAll(ctx actor.Context) {
	for _, c := range p.children {
		if !c.stopping {
			p.passivate(ctx, c)
		}
	}
}

// passivate stops a child after the messages already in its mailbox.
func (p *childPool[M]) passivate(ctx actor.Context, c *poolChild[M]) {
	if p.cfg.passivated != nil {
		p.cfg.passivated()
	}
	c.stopping = true
	p.lru.Remove(c.elem)
	c.elem = nil
	ctx.Poison(c.pid)
}

// stopped forgets the child who once it has stopped; with successor it
// hands the child's unfinished and buffered messages, if any, to a new
// child for its key. It reports whether who was one of the pool's
// children.
func (p *childPool[M]) stopped(ctx actor.Context, who *actor.PID, successor bool) bool {
	c, ok := p.byPID[who.Id]
	if !ok {
		return false
	}
	delete(p.byPID, who.Id)
	delete(p.children, c.key)
	for _, n := range p.cfg.live {
		n.Add(-1)
	}
	if c.elem != nil {
		p.lru.Remove(c.elem)
	}
	msgs := slices.Concat(c.pending, c.buffer)
	if !successor || len(msgs) == 0 {
		return true
	}
	next := p.ensure(ctx, c.key)
	for _, m := range msgs {
		p.deliver(ctx, next, m)
	}
	return true
}

// finished reports done the first message sent to key's child that is
// still pending and matches done (poolConfig.unfinished).
func (p *childPool[M]) finished(key string, done func(M) bool) {
	c, ok := p.children[key]
	if !ok {
		return
	}
	if i := slices.IndexFunc(c.pending, done); i >= 0 {
		c.pending = slices.Delete(c.pending, i, i+1)
	}
}

// countPassivation records the passivation of one of the actors s
// counts, in s and in the metrics.
func (a *App) countPassivation(s *actorStats) {
	s.passivations.Add(1)
	a.ins.passivations.Add(context.Background(), 1, metric.WithAttributes(
		AttrActorKind.String(s.kind), attribute.String("name", s.name)))
}

// passivateRequest asks a pool's parent to stop an idle child.
type passivateRequest struct{ pid *actor.PID }

// requestPassivation asks the parent of the actor of ctx to passivate it.
func requestPassivation(ctx actor.Context) {
	ctx.Send(ctx.Parent(), passivateRequest{pid: ctx.Self()})
}

// idleTick is a child's idleTimer firing; stale generations are ignored.
type idleTick struct{ gen uint64 }

// idleTimer is a pooled child's idle timer: once armed, it sends the child
// an idleTick after the idle time, and the child asks to be passivated.
// (protoactor's ReceiveTimeout races: upstream issue #1139.) Arming again
// or stopping voids a tick already sent.
type idleTimer struct {
	gen   uint64
	timer *time.Timer
}

// arm (re)starts the timer: after d, the actor of ctx receives an idleTick.
func (t *idleTimer) arm(ctx actor.Context, d time.Duration) {
	t.stop()
	gen, self, root := t.gen, ctx.Self(), ctx.ActorSystem().Root
	t.timer = time.AfterFunc(d, func() { root.Send(self, idleTick{gen: gen}) })
}

// stop stops the timer and voids a tick already sent.
func (t *idleTimer) stop() {
	t.gen++
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// current reports whether tick comes from the timer as last armed.
func (t *idleTimer) current(tick idleTick) bool { return tick.gen == t.gen }
