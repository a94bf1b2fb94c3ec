package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
)

// Subscribe implements eventstore.Subscriber.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	sub := &subscription{
		s:      s,
		opts:   opts,
		events: make(chan []eventstore.RecordedEvent),
		acks:   make(chan struct{}, 1),
		exited: make(chan struct{}),
	}
	if opts.Name != "" {
		if err := s.createSubscription(ctx, opts); err != nil {
			return nil, err
		}
	} else {
		start, err := s.startCursor(ctx, opts)
		if err != nil {
			return nil, err
		}
		sub.reset(start)
	}
	sub.ctx, sub.cancel = context.WithCancel(context.Background())

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sub.cancel()
		return nil, eventstore.ErrClosed
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	if opts.IsAll() {
		s.horizon.followers.Add(1)
		s.horizon.kick() // start observing at once
		s.fanout.kick()
	}
	go sub.run()
	return sub, nil
}

// createSubscription stores a persistent subscription's row unless it
// exists, and checks that an existing one follows the same stream.
func (s *Store) createSubscription(ctx context.Context, opts eventstore.SubscribeOptions) error {
	stream, _, err := s.loadSubscription(ctx, opts.Name)
	if errors.Is(err, eventstore.ErrSubscriptionNotFound) {
		var start int64
		if start, err = s.startCursor(ctx, opts); err != nil {
			return err
		}
		if _, err = s.pool.Exec(ctx, s.q.subCreate, opts.Name, opts.Stream, start); err != nil {
			return fmt.Errorf("postgres: subscribe: %w", err)
		}
		stream, _, err = s.loadSubscription(ctx, opts.Name)
	}
	if err != nil {
		return err
	}
	if stream != opts.Stream {
		return &eventstore.InvalidArgumentError{Arg: "stream",
			Reason: fmt.Sprintf("subscription %q follows %q, not %q", opts.Name, stream, opts.Stream)}
	}
	return nil
}

func (s *Store) loadSubscription(ctx context.Context, name string) (stream string, lastSeen int64, err error) {
	err = s.pool.QueryRow(ctx, s.q.subGet, name).Scan(&stream, &lastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, fmt.Errorf("%w: %q", eventstore.ErrSubscriptionNotFound, name)
	}
	if err != nil {
		return "", 0, fmt.Errorf("postgres: subscription %q: %w", name, err)
	}
	return stream, lastSeen, nil
}

// startCursor resolves StartFrom to the cursor to start after.
func (s *Store) startCursor(ctx context.Context, opts eventstore.SubscribeOptions) (int64, error) {
	switch {
	case !opts.StartFrom.IsCurrent():
		return opts.StartFrom.Cursor(), nil
	case opts.IsAll():
		return s.horizon.syncAll(ctx)
	}
	var version int64
	var deleted bool
	err := s.pool.QueryRow(ctx, s.q.streamState, opts.Stream).Scan(&version, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: subscribe: %w", err)
	}
	return version, nil
}

// Checkpoint implements eventstore.Subscriber.
func (s *Store) Checkpoint(ctx context.Context, name string) (int64, error) {
	_, last, err := s.loadSubscription(ctx, name)
	return last, err
}

// DeleteSubscription implements eventstore.Subscriber.
func (s *Store) DeleteSubscription(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, s.q.subDelete, name)
	if err != nil {
		return fmt.Errorf("postgres: delete subscription: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %q", eventstore.ErrSubscriptionNotFound, name)
	}
	return nil
}

// subscription delivers one subscription's events from a goroutine it owns.
type subscription struct {
	s    *Store
	opts eventstore.SubscribeOptions

	events chan []eventstore.RecordedEvent
	acks   chan struct{} // buffered 1: an ack arrived

	// ctx is the subscription's own lifetime, ended by Close.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	exited    chan struct{}
	err       error // why it ended; read after exited is closed

	mu            sync.Mutex
	lease         *lease    // the latest holding; persistent subscriptions only
	next          int64     // first cursor not yet read
	inflight      []int64   // cursors delivered and not acknowledged, increasing
	maxDelivered  int64     // highest cursor ever delivered
	acked         int64     // highest acknowledged cursor
	stored        int64     // checkpoint last stored
	unstored      int       // events acknowledged since
	firstUnstored time.Time // first acknowledgement since
}

func (sub *subscription) persistent() bool { return sub.opts.Name != "" }

// Lease implements eventstore.Leased.
func (sub *subscription) Lease() (eventstore.Lease, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.lease == nil {
		return eventstore.Lease{}, false
	}
	return eventstore.Lease{Store: sub.s.cfg.Schema, Subscription: sub.opts.Name, Token: sub.lease.token,
		TTL: sub.s.cfg.LeaseTTL}, true
}

// hold records the subscription's new holding.
func (sub *subscription) hold(l *lease) {
	sub.mu.Lock()
	sub.lease = l
	sub.mu.Unlock()
}

// reset positions the subscription right after cursor, forgetting what was
// in flight: it will be delivered again.
func (sub *subscription) reset(cursor int64) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.next = cursor + 1
	sub.inflight = sub.inflight[:0]
	sub.acked, sub.stored = cursor, cursor
	sub.unstored, sub.firstUnstored = 0, time.Time{}
}

// Events implements eventstore.Subscription.
func (sub *subscription) Events() <-chan []eventstore.RecordedEvent { return sub.events }

// Ack implements eventstore.Subscription.
func (sub *subscription) Ack(ev eventstore.RecordedEvent) error {
	if !sub.opts.IsAll() && ev.StreamID != sub.opts.Stream {
		return &eventstore.InvalidArgumentError{Arg: "event", Reason: fmt.Sprintf("from stream %q, not %q", ev.StreamID, sub.opts.Stream)}
	}
	c := eventstore.Cursor(sub.opts.Stream, ev)
	sub.mu.Lock()
	if c > sub.maxDelivered {
		sub.mu.Unlock()
		return &eventstore.InvalidArgumentError{Arg: "event", Reason: fmt.Sprintf("%d was never delivered", c)}
	}
	i, found := slices.BinarySearch(sub.inflight, c)
	if !found {
		sub.mu.Unlock()
		if c <= sub.acked || len(sub.inflight) == 0 || c < sub.inflight[0] {
			// Already acknowledged, or delivered before the subscription
			// resumed from its checkpoint: nothing to do.
			return nil
		}
		return &eventstore.InvalidArgumentError{Arg: "event", Reason: fmt.Sprintf("%d was never delivered", c)}
	}
	sub.inflight = sub.inflight[i+1:]
	sub.acked = c
	sub.unstored += i + 1
	if sub.firstUnstored.IsZero() {
		sub.firstUnstored = time.Now()
	}
	sub.mu.Unlock()
	select {
	case sub.acks <- struct{}{}:
	default:
	}
	return nil
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(sub.cancel)
	<-sub.exited
	return sub.err
}

func (sub *subscription) run() {
	defer func() {
		if sub.opts.IsAll() {
			sub.s.horizon.followers.Add(-1)
		}
		sub.s.mu.Lock()
		delete(sub.s.subs, sub)
		sub.s.mu.Unlock()
		close(sub.events)
		close(sub.exited)
	}()
	if !sub.persistent() {
		sub.deliver(nil)
		return
	}
	for sub.ctx.Err() == nil {
		l := sub.s.leases.request(sub.opts.Name)
		select {
		case <-l.granted:
		case <-sub.ctx.Done():
			sub.s.leases.drop(l)
			return
		}
		_, last, err := sub.s.loadSubscription(sub.ctx, sub.opts.Name)
		if err == nil && l.missing {
			err = fmt.Errorf("%w: %q", eventstore.ErrSubscriptionNotFound, sub.opts.Name)
		}
		if err != nil {
			sub.s.leases.drop(l)
			if errors.Is(err, eventstore.ErrSubscriptionNotFound) {
				sub.err = err
				return
			}
			if sub.ctx.Err() == nil {
				sub.s.log.Warn("subscription resume failed", "subscription", sub.opts.Name, "err", err)
				sub.sleep(nil, sub.s.cfg.LockPollInterval)
			}
			continue
		}
		// The lease is taken before the checkpoint is read, and a former
		// holder's checkpoint writes are refused from then on: the
		// checkpoint read is the last one stored.
		sub.reset(last)
		sub.hold(l)
		sub.deliver(l.lost)
		select {
		case <-l.lost:
		default:
			if err := sub.storeCheckpoint(true); err != nil && sub.ctx.Err() != nil && !errors.Is(err, eventstore.ErrLeaseLost) {
				sub.err = err
			}
		}
		freed := sub.s.leases.drop(l)
		if sub.ctx.Err() != nil {
			// Closing: hand the subscription over before Close returns.
			select {
			case <-freed:
			case <-time.After(releaseWait):
			}
		}
	}
}

// releaseWait bounds how long Close waits for the subscription's lease to
// be freed.
const releaseWait = 5 * time.Second

// deliver sends batches until the subscription closes or lost is closed.
func (sub *subscription) deliver(lost <-chan struct{}) {
	ckTimer := time.NewTimer(time.Hour)
	ckTimer.Stop()
	defer ckTimer.Stop()
	backoff := 10 * time.Millisecond
	var batch []eventstore.RecordedEvent // read, not yet taken by the subscriber
	for {
		if sub.persistent() {
			if due, at := sub.checkpointDue(); due {
				err := sub.storeCheckpoint(false)
				if errors.Is(err, eventstore.ErrLeaseLost) {
					// Another holder took over: it delivers from the
					// checkpoint, and this one must stop.
					sub.s.log.Warn("subscription lost: checkpoint refused", "subscription", sub.opts.Name, "err", err)
					return
				}
				if err != nil && sub.ctx.Err() == nil {
					sub.s.log.Warn("subscription checkpoint failed", "subscription", sub.opts.Name, "err", err)
				}
			} else if !at.IsZero() {
				ckTimer.Reset(time.Until(at))
			}
		}
		var wake <-chan struct{}
		if batch == nil {
			if room := sub.room(); room > 0 {
				var err error
				batch, wake, err = sub.fetch(min(room, sub.opts.BatchSize))
				if err != nil {
					if sub.ctx.Err() != nil || !sub.sleep(lost, backoff) {
						return
					}
					sub.s.log.Warn("subscription read failed", "subscription", sub.opts.Name, "err", err)
					backoff = min(2*backoff, 2*time.Second)
					continue
				}
				backoff = 10 * time.Millisecond
				if len(batch) > 0 {
					// Counted in flight before it is sent: the subscriber may
					// ack it before this goroutine runs again.
					sub.delivered(batch)
				}
			}
		}
		var send chan<- []eventstore.RecordedEvent
		if len(batch) > 0 {
			send = sub.events
		}
		select {
		case send <- batch:
			batch = nil
		case <-wake:
		case <-sub.acks:
		case <-ckTimer.C:
		case <-lost:
			return
		case <-sub.ctx.Done():
			return
		}
	}
}

func (sub *subscription) cursor(ev eventstore.RecordedEvent) int64 {
	return eventstore.Cursor(sub.opts.Stream, ev)
}

// fetch reads the next events, at most n. With none, it returns a channel
// closed when there may be more.
func (sub *subscription) fetch(n int) ([]eventstore.RecordedEvent, <-chan struct{}, error) {
	sub.mu.Lock()
	next := sub.next
	sub.mu.Unlock()
	if sub.opts.IsAll() {
		evs, after, wake, err := sub.s.fanout.take(sub.ctx, next, n)
		if err != nil {
			return nil, nil, err
		}
		sub.mu.Lock()
		sub.next = after
		sub.mu.Unlock()
		return evs, wake, nil
	}
	observed := sub.s.horizon.observed()
	evs, err := sub.s.queryEvents(sub.ctx, sub.s.q.readStreamFwd, sub.opts.Stream, n, sub.opts.Stream, next, n)
	if err != nil {
		return nil, nil, err
	}
	if len(evs) == 0 {
		return nil, observed, nil
	}
	sub.advance(evs)
	return evs, nil, nil
}

// advance moves the read cursor past evs.
func (sub *subscription) advance(evs []eventstore.RecordedEvent) {
	sub.mu.Lock()
	sub.next = sub.cursor(evs[len(evs)-1]) + 1
	sub.mu.Unlock()
}

// delivered records a batch as in flight.
func (sub *subscription) delivered(evs []eventstore.RecordedEvent) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, e := range evs {
		sub.inflight = append(sub.inflight, sub.cursor(e))
	}
	sub.maxDelivered = max(sub.maxDelivered, sub.cursor(evs[len(evs)-1]))
}

// room is how many more events may be delivered before MaxInFlight.
func (sub *subscription) room() int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.opts.MaxInFlight - len(sub.inflight)
}

// checkpointDue reports whether acknowledged events should be stored now,
// or else when they will be.
func (sub *subscription) checkpointDue() (bool, time.Time) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.unstored == 0 {
		return false, time.Time{}
	}
	at := sub.firstUnstored.Add(sub.opts.CheckpointInterval)
	return sub.unstored >= sub.opts.CheckpointThreshold || !time.Now().Before(at), at
}

// storeCheckpoint writes the highest acknowledged cursor. final stores it
// with a fresh context after Close.
func (sub *subscription) storeCheckpoint(final bool) error {
	sub.mu.Lock()
	acked, stored, count, l := sub.acked, sub.stored, sub.unstored, sub.lease
	sub.mu.Unlock()
	if acked <= stored || l == nil {
		return nil
	}
	ctx := sub.ctx
	if final {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
	}
	if err := sub.s.writeCheckpoint(ctx, sub.opts.Name, acked, l.token); err != nil {
		return err
	}
	sub.mu.Lock()
	if acked > sub.stored {
		sub.stored = acked
		sub.unstored -= count
		sub.firstUnstored = time.Time{}
		if sub.unstored > 0 {
			sub.firstUnstored = time.Now()
		}
	}
	sub.mu.Unlock()
	return nil
}

// sleep waits d unless the subscription closes or lost is closed; it
// reports whether to go on.
func (sub *subscription) sleep(lost <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-lost:
		return false
	case <-sub.ctx.Done():
		return false
	}
}

// writeCheckpoint stores a persistent subscription's checkpoint under the
// lease token, unless it is stored already; it fails with a
// *eventstore.LeaseLostError when the lease has passed to another holder.
func (s *Store) writeCheckpoint(ctx context.Context, name string, cursor, token int64) error {
	tag, err := s.pool.Exec(ctx, s.q.subCheckpoint, name, cursor, token)
	if err != nil {
		return fmt.Errorf("postgres: checkpoint %q: %w", name, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	// Nothing written: stored already, or fenced.
	var current int64
	err = s.pool.QueryRow(ctx, s.q.subToken, name).Scan(&current)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %q", eventstore.ErrSubscriptionNotFound, name)
	case err != nil:
		return fmt.Errorf("postgres: checkpoint %q: %w", name, err)
	case current != token:
		return &eventstore.LeaseLostError{Subscription: name, Token: token}
	}
	return nil
}
