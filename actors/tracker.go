package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// tracker records how far each handler has processed $all, for strong
// consistency and App.WaitFor: as this process handles events, and, when
// the store is a ProgressWatcher, as any process stores checkpoints.
type tracker struct {
	mu       sync.Mutex
	handlers map[string]*progress
	// pushed is set when the store pushes every process's stored
	// checkpoints: waits then poll only as a safety net.
	pushed atomic.Bool
}

type progress struct {
	position int64
	at       time.Time // when the last event processed was appended
	halted   error     // set when an error policy stopped the handler
	waiters  []waiter
}

type waiter struct {
	position int64
	ch       chan struct{}
}

func newTracker() *tracker { return &tracker{handlers: make(map[string]*progress)} }

func (t *tracker) get(name string) *progress {
	p, ok := t.handlers[name]
	if !ok {
		p = &progress{}
		t.handlers[name] = p
	}
	return p
}

// advance records that name has processed everything up to position.
func (t *tracker) advance(name string, position int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.get(name)
	if position <= p.position {
		return
	}
	p.position = position
	keep := p.waiters[:0]
	for _, w := range p.waiters {
		if w.position <= position {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	clear(p.waiters[len(keep):])
	p.waiters = keep
}

// halt records that name stopped at its position: waits beyond it fail
// with err.
func (t *tracker) halt(name string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.get(name)
	p.halted = err
	for _, w := range p.waiters {
		close(w.ch)
	}
	clear(p.waiters)
	p.waiters = nil
}

// processed records when the last event name processed was appended.
func (t *tracker) processed(name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(name).at = at
}

// snapshot returns name's progress (without its waiters).
func (t *tracker) snapshot(name string) progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.get(name)
	return progress{position: p.position, at: p.at, halted: p.halted}
}

// remoteGrace is how long a wait relies on progress in this process alone
// before it also polls the stored checkpoint, and remotePoll how often it
// polls then, when the store does not push progress. When it does,
// safetyPoll is both: a poll only finds progress whose notification was
// lost.
const (
	remoteGrace = 50 * time.Millisecond
	remotePoll  = 25 * time.Millisecond
	safetyPoll  = time.Second
)

// wait returns once name has processed position, or ctx ends. Progress
// made in this process wakes it at once, progress stored by another
// process when the store pushes it; it also asks stored for the stored
// progress, after remoteGrace and every remotePoll, or every safetyPoll
// when the store pushes progress.
func (t *tracker) wait(ctx context.Context, name string, position int64, stored func(context.Context) (int64, error)) error {
	t.mu.Lock()
	p := t.get(name)
	if p.position >= position {
		t.mu.Unlock()
		return nil
	}
	if p.halted != nil {
		t.mu.Unlock()
		return p.halted
	}
	w := waiter{position: position, ch: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	t.mu.Unlock()
	first, every := remoteGrace, remotePoll
	if t.pushed.Load() {
		first, every = safetyPoll, safetyPoll
	}
	poll := time.NewTimer(first)
	defer poll.Stop()
	for {
		select {
		case <-w.ch:
			t.mu.Lock()
			defer t.mu.Unlock()
			if p.position >= position {
				return nil
			}
			return p.halted
		case <-poll.C:
			if cp, err := stored(ctx); err == nil && cp >= position {
				t.advance(name, cp) // closes w.ch
				continue
			}
			poll.Reset(every)
		case <-ctx.Done():
			t.mu.Lock()
			for i, x := range p.waiters {
				if x.ch == w.ch {
					p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
					break
				}
			}
			t.mu.Unlock()
			return ctx.Err()
		}
	}
}
