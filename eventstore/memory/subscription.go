package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// Subscribe implements [eventstore.Subscriber]. A persistent subscription
// is created, with its StartFrom resolved, before Subscribe returns; its
// events flow once no subscriber on any handle holds its name. Naming an
// existing persistent subscription with another stream fails with
// eventstore.ErrInvalidArgument.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	db := s.db
	db.mu.Lock()
	start := db.startCursor(opts)
	if opts.Name != "" {
		switch cp := db.subs[opts.Name]; {
		case cp == nil:
			db.subs[opts.Name] = &checkpoint{stream: opts.Stream, cursor: start}
		case cp.stream != opts.Stream:
			db.mu.Unlock()
			return nil, &eventstore.InvalidArgumentError{
				Arg:    "stream",
				Reason: fmt.Sprintf("subscription %q follows %q", opts.Name, cp.stream),
			}
		}
	}
	db.mu.Unlock()

	sub := &subscription{
		h:      s,
		opts:   opts,
		all:    opts.IsAll(),
		ch:     make(chan []eventstore.RecordedEvent),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
		acked:  start,
		stored: start,
	}
	s.subs[sub] = struct{}{}
	go sub.run(start)
	return sub, nil
}

// DeleteSubscription implements [eventstore.Subscriber]. A subscriber
// holding the name keeps running; the next one to take it over starts
// afresh, per its StartFrom.
func (s *Store) DeleteSubscription(ctx context.Context, name string) error {
	if name == "" {
		return &eventstore.InvalidArgumentError{Arg: "name", Reason: "empty"}
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if s.db.subs[name] == nil {
		return fmt.Errorf("memory: subscription %q: %w", name, eventstore.ErrSubscriptionNotFound)
	}
	delete(s.db.subs, name)
	return nil
}

// Checkpoint implements [eventstore.Subscriber].
func (s *Store) Checkpoint(ctx context.Context, name string) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	cp := s.db.subs[name]
	if cp == nil {
		return 0, fmt.Errorf("memory: subscription %q: %w", name, eventstore.ErrSubscriptionNotFound)
	}
	return cp.cursor, nil
}

// UnheldSubscriptions returns those of the named persistent subscriptions
// that no subscriber of any handle on the storage holds. It implements
// actors.UnheldReporter.
func (s *Store) UnheldSubscriptions(ctx context.Context, names []string) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	var free []string
	for _, n := range names {
		if s.db.holders[n] == nil {
			free = append(free, n)
		}
	}
	return free, nil
}

// startCursor resolves opts.StartFrom. The caller holds db.mu.
func (db *storage) startCursor(opts eventstore.SubscribeOptions) int64 {
	if !opts.StartFrom.IsCurrent() {
		return opts.StartFrom.Cursor()
	}
	if opts.IsAll() {
		return db.lastPos
	}
	if st := db.streams[opts.Stream]; st != nil {
		return st.version
	}
	return 0
}

// forget drops a closed subscription from the handle.
func (s *Store) forget(sub *subscription) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// subscription is a transient or persistent subscription. Its goroutine,
// run, reads events and sends them on ch; Close stops it and waits for it.
type subscription struct {
	h    *Store
	opts eventstore.SubscribeOptions
	all  bool

	ch        chan []eventstore.RecordedEvent
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when run returns
	wake      chan struct{} // signalled by Ack
	closeOnce sync.Once

	mu       sync.Mutex
	ended    bool
	cp       *checkpoint // persistent, while holding the name
	inflight []delivered // delivered, not yet acknowledged, in order
	acked    int64       // cursor of the last acknowledged event
	stored   int64       // cursor last stored in cp
	// unstored acknowledged events, the first acknowledged at since
	unstored int
	since    time.Time
}

type delivered struct {
	cursor int64
	id     uuid.UUID
}

// Events implements [eventstore.Subscription].
func (sub *subscription) Events() <-chan []eventstore.RecordedEvent { return sub.ch }

// Close implements [eventstore.Subscription]. It always returns nil: a
// memory subscription ends only when closed.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() { close(sub.stop) })
	<-sub.done
	sub.h.forget(sub)
	return nil
}

// Ack implements [eventstore.Subscription].
func (sub *subscription) Ack(ev eventstore.RecordedEvent) error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.ended {
		return eventstore.ErrClosed
	}
	if !sub.all && ev.StreamID != sub.opts.Stream {
		return &eventstore.InvalidArgumentError{Arg: "event", Reason: fmt.Sprintf("from stream %q, not %q", ev.StreamID, sub.opts.Stream)}
	}
	c := eventstore.Cursor(sub.opts.Stream, ev)
	if c <= sub.acked {
		return nil
	}
	i, found := slices.BinarySearchFunc(sub.inflight, c, func(d delivered, c int64) int { return cmp.Compare(d.cursor, c) })
	if !found || sub.inflight[i].id != ev.ID {
		return &eventstore.InvalidArgumentError{Arg: "event", Reason: fmt.Sprintf("event %s was not delivered", ev.ID)}
	}
	n := i + 1
	sub.inflight = slices.Delete(sub.inflight, 0, n)
	sub.acked = c
	if sub.cp != nil {
		if sub.unstored == 0 {
			sub.since = time.Now()
		}
		sub.unstored += n
		if sub.unstored >= sub.opts.CheckpointThreshold {
			sub.store()
		}
	}
	select {
	case sub.wake <- struct{}{}:
	default:
	}
	return nil
}

// store stores the checkpoint. The caller holds sub.mu and sub.cp is set.
func (sub *subscription) store() {
	if sub.acked != sub.stored {
		db := sub.h.db
		db.mu.Lock()
		sub.cp.cursor = sub.acked
		db.mu.Unlock()
		sub.stored = sub.acked
		if sub.all { // a stream subscription's checkpoint is a version
			db.watchers.Notify(progress{subscription: sub.opts.Name, checkpoint: sub.acked})
		}
	}
	sub.unstored = 0
}

// due stores the checkpoint if CheckpointInterval has passed since the
// first unstored acknowledgement, and otherwise reports how long until it
// will have; false when nothing waits to be stored.
func (sub *subscription) due() (time.Duration, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.cp == nil || sub.unstored == 0 {
		return 0, false
	}
	d := sub.opts.CheckpointInterval - time.Since(sub.since)
	if d <= 0 {
		sub.store()
		return 0, false
	}
	return d, true
}

// run delivers events after cursor until stopped.
func (sub *subscription) run(cursor int64) {
	defer sub.finish()
	if sub.opts.Name != "" {
		var ok bool
		if cursor, ok = sub.lock(); !ok {
			return
		}
	}
	// timer fires when unstored acknowledgements must be stored; rearm
	// sets it after anything that may have changed them.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	rearm := func() {
		if d, ok := sub.due(); ok {
			timer.Reset(d)
		} else {
			timer.Stop()
		}
	}
	rearm()
	for {
		var batch []eventstore.RecordedEvent
		var changed <-chan struct{} // nil, so never ready, while no room
		if room := sub.room(); room > 0 {
			batch, changed = sub.read(cursor, min(room, sub.opts.BatchSize))
		}
		if len(batch) == 0 {
			select {
			case <-changed:
			case <-sub.wake:
			case <-timer.C:
			case <-sub.stop:
				return
			}
			rearm()
			continue
		}
		cursor = sub.deliver(batch)
		for sent := false; !sent; {
			select {
			case sub.ch <- batch:
				sent = true
			case <-sub.wake:
			case <-timer.C:
			case <-sub.stop:
				return
			}
			rearm()
		}
	}
}

// lock waits until the subscription holds its name and returns the stored
// checkpoint; false if stopped first.
func (sub *subscription) lock() (int64, bool) {
	db := sub.h.db
	name := sub.opts.Name
	for {
		db.mu.Lock()
		if db.holders[name] == nil {
			db.holders[name] = sub
			cp := db.subs[name]
			if cp == nil { // deleted since Subscribe: create it again
				cp = &checkpoint{stream: sub.opts.Stream, cursor: db.startCursor(sub.opts)}
				db.subs[name] = cp
			}
			cursor := cp.cursor
			db.mu.Unlock()

			sub.mu.Lock()
			sub.cp, sub.acked, sub.stored = cp, cursor, cursor
			sub.mu.Unlock()
			return cursor, true
		}
		released := db.released
		db.mu.Unlock()
		select {
		case <-released:
		case <-sub.stop:
			return 0, false
		}
	}
}

// finish stores the checkpoint, releases the name and ends the
// subscription.
func (sub *subscription) finish() {
	sub.mu.Lock()
	sub.ended = true
	if sub.cp != nil {
		sub.store()
		sub.cp = nil
		db := sub.h.db
		db.mu.Lock()
		if db.holders[sub.opts.Name] == sub {
			delete(db.holders, sub.opts.Name)
			close(db.released)
			db.released = make(chan struct{})
		}
		db.mu.Unlock()
	}
	sub.mu.Unlock()
	close(sub.ch)
	close(sub.done)
}

// room returns how many more events may be delivered before an Ack.
func (sub *subscription) room() int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.opts.MaxInFlight - len(sub.inflight)
}

// read returns up to limit events after cursor, and a channel closed when
// the storage next changes.
func (sub *subscription) read(cursor int64, limit int) ([]eventstore.RecordedEvent, <-chan struct{}) {
	db := sub.h.db
	db.mu.RLock()
	defer db.mu.RUnlock()
	if sub.all {
		return db.readAll(eventstore.Forward, cursor+1, limit), db.changed
	}
	st := db.streams[sub.opts.Stream]
	if st == nil || st.deleted {
		return nil, db.changed
	}
	return st.read(eventstore.Forward, cursor+1, limit), db.changed
}

// deliver records batch as in flight and returns its last cursor.
func (sub *subscription) deliver(batch []eventstore.RecordedEvent) int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, ev := range batch {
		sub.inflight = append(sub.inflight, delivered{cursor: eventstore.Cursor(sub.opts.Stream, ev), id: ev.ID})
	}
	return sub.inflight[len(sub.inflight)-1].cursor
}
