package actors

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// poolOp runs in the test pool's parent actor, on its pool.
type poolOp func(ctx actor.Context, p *childPool[string])

func poolSend(key, msg string) poolOp {
	return func(ctx actor.Context, p *childPool[string]) { p.send(ctx, key, msg) }
}

// poolPassivate asks, as key's child would, that it be passivated.
func poolPassivate(key string) poolOp {
	return func(ctx actor.Context, p *childPool[string]) { p.passivateRequested(ctx, p.children[key].pid) }
}

func poolFinish(key, msg string) poolOp {
	return func(_ actor.Context, p *childPool[string]) {
		p.finished(key, func(m string) bool { return m == msg })
	}
}

func poolPassivateAll(ctx actor.Context, p *childPool[string]) { p.passivateAll(ctx) }

// poolHarness runs a childPool[string] in a parent actor whose children
// record the messages they receive, by key and incarnation ("a#2": the
// second child for key a).
type poolHarness struct {
	system       *actor.ActorSystem
	parent       *actor.PID
	live         atomic.Int64
	passivations atomic.Int64

	mu    sync.Mutex
	spawn map[string]int      // key -> children spawned
	got   map[string][]string // "key#n" -> messages received
}

// poolParent owns the pool under test.
type poolParent struct {
	pool      *childPool[string]
	successor bool
}

func (p *poolParent) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case poolStep:
		for _, op := range m.ops {
			op(ctx, p.pool)
		}
		close(m.done)
	case passivateRequest:
		p.pool.passivateRequested(ctx, m.pid)
	case *actor.Terminated:
		p.pool.stopped(ctx, m.Who, p.successor)
	}
}

// poolStep runs ops in one turn of the parent, then closes done.
type poolStep struct {
	ops  []poolOp
	done chan struct{}
}

type poolChildActor struct {
	h    *poolHarness
	name string
}

func (c *poolChildActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(string); ok {
		c.h.mu.Lock()
		c.h.got[c.name] = append(c.h.got[c.name], m)
		c.h.mu.Unlock()
	}
}

// newPoolHarness starts a parent with a pool of cfg, its props, counters
// and hooks filled in; init, if set, is the message the spawned hook sends
// each new child.
func newPoolHarness(t *testing.T, cfg poolConfig[string], successor bool, init string) *poolHarness {
	t.Helper()
	h := &poolHarness{system: actor.NewActorSystem(), spawn: map[string]int{}, got: map[string][]string{}}
	t.Cleanup(h.system.Shutdown)
	cfg.props = func(key string) *actor.Props {
		h.mu.Lock()
		h.spawn[key]++
		name := fmt.Sprintf("%s#%d", key, h.spawn[key])
		h.mu.Unlock()
		return actor.PropsFromProducer(func() actor.Actor { return &poolChildActor{h: h, name: name} })
	}
	cfg.live = []*atomic.Int64{&h.live}
	cfg.passivated = func() { h.passivations.Add(1) }
	if init != "" {
		cfg.spawned = func(ctx actor.Context, _ string, pid *actor.PID) { ctx.Send(pid, init) }
	}
	h.parent = h.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &poolParent{pool: newChildPool(cfg), successor: successor}
	}))
	return h
}

// run runs ops in one turn of the parent and waits for it.
func (h *poolHarness) run(t *testing.T, ops ...poolOp) {
	t.Helper()
	done := make(chan struct{})
	h.system.Root.Send(h.parent, poolStep{ops: ops, done: done})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the pool's parent did not run the step")
	}
}

// settle waits until no child is stopping and the children have received
// want messages in all.
func (h *poolHarness) settle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stopping := false
		h.run(t, func(_ actor.Context, p *childPool[string]) {
			for _, c := range p.children {
				stopping = stopping || c.stopping
			}
		})
		h.mu.Lock()
		n := 0
		for _, msgs := range h.got {
			n += len(msgs)
		}
		h.mu.Unlock()
		if !stopping && n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool not settled: stopping %v, %d of %d messages received", stopping, n, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestChildPool: the pool spawns a child per key, passivates the least
// recently used beyond its limit or on request, and hands what a stopping
// child was sent (and, if tracked, did not finish) to its successor.
func TestChildPool(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		unfinished  bool
		noSuccessor bool
		init        string
		steps       [][]poolOp
		want        map[string][]string
		live        int64
		passivated  int64
		children    int
	}{{
		name:     "one child per key",
		steps:    [][]poolOp{{poolSend("a", "1"), poolSend("b", "1"), poolSend("a", "2")}},
		want:     map[string][]string{"a#1": {"1", "2"}, "b#1": {"1"}},
		live:     2,
		children: 2,
	}, {
		name:  "least recently used passivated beyond the limit",
		limit: 2,
		steps: [][]poolOp{
			{poolSend("a", "1"), poolSend("b", "1"), poolSend("a", "2"), poolSend("c", "1")}, // b goes
			{poolSend("b", "2")}, // a goes
		},
		want:       map[string][]string{"a#1": {"1", "2"}, "b#1": {"1"}, "c#1": {"1"}, "b#2": {"2"}},
		live:       2,
		passivated: 2,
		children:   2,
	}, {
		name:       "buffered for the successor while stopping",
		steps:      [][]poolOp{{poolSend("a", "1"), poolPassivate("a"), poolSend("a", "2"), poolSend("a", "3")}},
		want:       map[string][]string{"a#1": {"1"}, "a#2": {"2", "3"}},
		live:       1,
		passivated: 1,
		children:   1,
	}, {
		name:       "a second passivation request ignored",
		steps:      [][]poolOp{{poolSend("a", "1"), poolPassivate("a"), poolPassivate("a")}},
		want:       map[string][]string{"a#1": {"1"}},
		passivated: 1,
	}, {
		name:       "unfinished messages go to the successor first",
		unfinished: true,
		steps: [][]poolOp{{poolSend("a", "1"), poolSend("a", "2"), poolFinish("a", "1"),
			poolPassivate("a"), poolSend("a", "3")}},
		want:       map[string][]string{"a#1": {"1", "2"}, "a#2": {"2", "3"}},
		live:       1,
		passivated: 1,
		children:   1,
	}, {
		name:  "unfinished messages not tracked",
		steps: [][]poolOp{{poolSend("a", "1"), poolSend("a", "2"), poolPassivate("a")}},
		want:  map[string][]string{"a#1": {"1", "2"}}, passivated: 1,
	}, {
		name:        "no successor when stopped to drain",
		unfinished:  true,
		noSuccessor: true,
		steps:       [][]poolOp{{poolSend("a", "1"), poolSend("b", "1"), poolPassivateAll, poolSend("a", "2")}},
		want:        map[string][]string{"a#1": {"1"}, "b#1": {"1"}},
		passivated:  2,
	}, {
		name:       "spawned hook before the first message",
		init:       "init",
		steps:      [][]poolOp{{poolSend("a", "1"), poolPassivate("a"), poolSend("a", "2")}},
		want:       map[string][]string{"a#1": {"init", "1"}, "a#2": {"init", "2"}},
		live:       1,
		passivated: 1,
		children:   1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPoolHarness(t, poolConfig[string]{limit: tt.limit, unfinished: tt.unfinished}, !tt.noSuccessor, tt.init)
			want := 0
			for _, msgs := range tt.want {
				want += len(msgs)
			}
			for _, ops := range tt.steps {
				h.run(t, ops...)
				h.settle(t, 0)
			}
			h.settle(t, want)
			h.mu.Lock()
			got := maps.Clone(h.got)
			h.mu.Unlock()
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("children received %v, want %v", got, tt.want)
			}
			var children int
			h.run(t, func(_ actor.Context, p *childPool[string]) { children = p.len() })
			if children != tt.children {
				t.Errorf("children = %d, want %d", children, tt.children)
			}
			if n := h.live.Load(); n != tt.live {
				t.Errorf("live = %d, want %d", n, tt.live)
			}
			if n := h.passivations.Load(); n != tt.passivated {
				t.Errorf("passivations = %d, want %d", n, tt.passivated)
			}
		})
	}
}

// TestIdleTimer: a tick is current until the timer is armed again or
// stopped; an armed timer sends its tick to the actor.
func TestIdleTimer(t *testing.T) {
	tests := []struct {
		name  string
		after func(*idleTimer)
		want  bool
	}{
		{name: "untouched", after: func(*idleTimer) {}, want: true},
		{name: "stopped", after: (*idleTimer).stop, want: false},
		{name: "stopped twice", after: func(it *idleTimer) { it.stop(); it.stop() }, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var it idleTimer
			tick := idleTick{gen: it.gen}
			tt.after(&it)
			if got := it.current(tick); got != tt.want {
				t.Errorf("current = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("fires", func(t *testing.T) {
		system := actor.NewActorSystem()
		t.Cleanup(system.Shutdown)
		ticks := make(chan bool, 4)
		var it idleTimer
		pid := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case time.Duration:
				it.arm(ctx, time.Hour) // voided by the next arm
				it.arm(ctx, m)
			case idleTick:
				ticks <- it.current(m)
			case *actor.Stopping:
				it.stop()
			}
		}))
		system.Root.Send(pid, time.Millisecond)
		select {
		case current := <-ticks:
			if !current {
				t.Error("the armed timer's tick is stale")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no idle tick")
		}
	})
}

// TestAckWindow: the window acknowledges up to the last event before
// which every delivery has finished, a redelivered position only once
// every delivery of it has.
func TestAckWindow(t *testing.T) {
	ev := func(pos int64) Event { return Event{Position: pos} }
	type step struct {
		add    int64 // position to add, with n deliveries
		n      int
		finish int64 // else: position finished
		want   int64 // last acknowledged after the step; 0: none
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "in order", steps: []step{
			{add: 1, n: 1}, {add: 2, n: 1}, {finish: 1, want: 1}, {finish: 2, want: 2}}},
		{name: "out of order", steps: []step{
			{add: 1, n: 1}, {add: 2, n: 1}, {add: 3, n: 1}, {finish: 3}, {finish: 2}, {finish: 1, want: 3}}},
		{name: "nothing to wait for", steps: []step{
			{add: 1, n: 0, want: 1}, {add: 2, n: 1}, {add: 3, n: 0}, {finish: 2, want: 3}}},
		{name: "several deliveries", steps: []step{
			{add: 1, n: 2}, {finish: 1}, {finish: 1, want: 1}}},
		{name: "redelivered", steps: []step{
			{add: 1, n: 1}, {add: 2, n: 1}, {add: 1, n: 1}, {add: 2, n: 1},
			{finish: 1}, {finish: 2}, {finish: 1, want: 1}, {finish: 2, want: 2}}},
		{name: "redelivered after acknowledged", steps: []step{
			{add: 1, n: 1}, {finish: 1, want: 1}, {add: 1, n: 1}, {finish: 1, want: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newAckWindow()
			for i, s := range tt.steps {
				if s.add != 0 {
					w.add(ev(s.add), s.n)
				} else {
					w.finish(s.finish)
				}
				last, ok := w.advance()
				if got := map[bool]int64{true: last.Position}[ok]; got != s.want {
					t.Fatalf("step %d: acknowledged %d (ok %v), want %d", i, last.Position, ok, s.want)
				}
			}
			if len(w.order) != 0 || len(w.remaining) != 0 {
				t.Errorf("window not empty: %v, %v", w.order, w.remaining)
			}
		})
	}
}
