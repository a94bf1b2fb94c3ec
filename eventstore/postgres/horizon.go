package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// horizon tracks the highest global position below which every position is
// final: committed, or never to be committed.
//
// Every transaction that takes positions (append_batch, append_events)
// first takes the writers' lock, a shared transaction-level advisory lock
// on a key of this store's schema, then its transaction id, then its
// positions (a caller of append_events may take its id first: all that
// matters is that both come before the first position); it holds the lock
// until it ends. An observation reads the
// sequence's last value L and then, in a later statement, the next
// transaction id N that PostgreSQL will assign, and the transaction ids of
// the transactions holding the writers' lock at that moment. Every
// transaction holding a position <= L took the lock and its id before L
// was read, so its id is below N, and while it runs it holds the lock. A
// later look at the lock's holders that finds none with an id below N (a
// holder may have no id yet: it will take one above N) proves that all of
// them have ended: positions up to L are then final, and L becomes the
// horizon. Nothing here orders writers; they never wait for it (the lock
// is shared: only an exclusive request would wait).
//
// This is exactly as strong as waiting for every transaction on the
// cluster with an id below N (a snapshot's xmin >= N), which the horizon
// did before: a transaction that can hold a position <= L and still runs
// holds the lock and an id below N, so it is found either way; the
// transactions it no longer waits for never took the lock, so they hold
// no positions.
// It is what keeps a long transaction elsewhere on the cluster (a report, a
// migration, a projector's batch, or the caller's own transaction around a
// strongly consistent dispatch) from holding back every subscription.
//
// (Holders and their ids come from one read of pg_locks: the advisory lock
// and the transactionid lock every transaction with an id holds on it,
// matched by virtual transaction. The 32-bit ids there are widened to
// 64 bits with age(), which counts from the same next id as N.)
type horizon struct {
	s *Store

	mu      sync.Mutex
	safe    int64
	changed chan struct{} // closed and replaced when safe advances
	pending []observation // observations waiting for transactions to end
	// activity is closed and replaced after each observation: stream
	// subscriptions, which do not need the horizon, wait on it.
	activity chan struct{}

	wake chan struct{} // buffered 1: something may have committed

	// followers counts this store's open $all subscriptions: without them
	// nobody needs the horizon kept up to date (ReadAll and Current observe
	// for themselves), and observing after every commit would only load
	// the database.
	followers atomic.Int64

	// onObserve, if set, is told when each of run's observations started
	// and ended (tests set it).
	onObserve atomic.Pointer[func(start, end time.Time)]
}

// observation is one (L, N) pair, with the oldest writer seen with N,
// which judges earlier observations.
type observation struct {
	last   int64  // the sequence's last value L
	next   uint64 // the next transaction id N, read after L
	oldest uint64 // every writer with a lower id had ended when N was read
	// read is the shared reader's read of $all, made in the same round
	// trip after N and the writers (see fanout.prefetch); nil if none.
	read *prefetch
}

func newHorizon(s *Store) *horizon {
	return &horizon{s: s, changed: make(chan struct{}), activity: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// current returns the horizon and a channel closed when it next advances.
func (h *horizon) current() (int64, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.safe, h.changed
}

// observed returns a channel closed after the next observation.
func (h *horizon) observed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.activity
}

// signal wakes what waits for the next observation, without observing.
func (h *horizon) signal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.activity)
	h.activity = make(chan struct{})
}

// kick asks the tracker to look again soon.
func (h *horizon) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// writersLockClass is the first key of the writers' lock; the second is
// the oid of the store's position sequence (migrations/0008).
const writersLockClass = 1668245618

// writersQuery reads the snapshot's xmin and its age (N = xmin + age),
// and, unless xmin alone settles what is waited for (no transaction at all
// with an id below $3, the lowest N pending, or below this N), the age of
// the oldest transaction id holding the writers' lock (NULL if none has an
// id). pg_locks costs more than the snapshot, so it is read only then, and
// once: the advisory lock's holders are matched with the transactionid
// locks they hold on their own ids.
const writersQuery = `
WITH l AS MATERIALIZED (
  SELECT locktype, database, classid, objid, objsubid, virtualtransaction, transactionid, mode
    FROM pg_locks WHERE granted AND locktype IN ('advisory', 'transactionid'))
SELECT x.xmin, x.age, x.settled,
       CASE WHEN NOT x.settled THEN
         (SELECT max(age(t.transactionid))
            FROM l a JOIN l t ON t.virtualtransaction = a.virtualtransaction
           WHERE a.locktype = 'advisory' AND a.classid = $1::integer::oid
             AND a.objid = $2::regclass AND a.objsubid = 2
             AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock')
       END
  FROM (SELECT y.xmin, y.age, y.xmin >= least($3::bigint, y.xmin + y.age) AS settled
          FROM (SELECT pg_snapshot_xmin(s)::text::bigint AS xmin, age(xid(pg_snapshot_xmin(s))) AS age
                  FROM pg_current_snapshot() s) y) x`

// observe reads L, then N and the oldest writer, in two statements of one
// round trip; with withRead, and no observation pending, a third statement
// reads $all for the store's subscriptions (see fanout.prefetch). N is
// derived from age(), which counts transactions from a
// given id to the next one to be assigned, without assigning one; the
// writers' ids are widened from 32 bits the same way, from N. Every
// transaction with an id below the snapshot's xmin has ended, writers
// among them, so the oldest writer is at least xmin.
func (h *horizon) observe(ctx context.Context, withRead bool) (observation, error) {
	var lowest pgtype.Int8 // the lowest N pending
	h.mu.Lock()
	for _, p := range h.pending {
		if !lowest.Valid || int64(p.next) < lowest.Int64 {
			lowest = pgtype.Int8{Int64: int64(p.next), Valid: true}
		}
	}
	h.mu.Unlock()
	b := &pgx.Batch{}
	b.Queue("SELECT pg_sequence_last_value($1::regclass)", h.s.q.schema+".event_position")
	b.Queue(writersQuery, writersLockClass, h.s.q.schema+".event_position", lowest)
	var read *prefetch
	if withRead && !lowest.Valid {
		read = h.s.fanout.prefetch(b)
	}
	br := h.s.pool.SendBatch(ctx, b)
	defer br.Close()
	var last pgtype.Int8
	if err := br.QueryRow().Scan(&last); err != nil {
		return observation{}, fmt.Errorf("postgres: horizon: %w", err)
	}
	var xmin, age int64
	var settled bool
	var oldestAge pgtype.Int4
	if err := br.QueryRow().Scan(&xmin, &age, &settled, &oldestAge); err != nil {
		return observation{}, fmt.Errorf("postgres: horizon: %w", err)
	}
	next := xmin + age
	oldest := xmin
	switch {
	case settled:
	case oldestAge.Valid:
		oldest = max(xmin, min(next, next-int64(oldestAge.Int32)))
	default:
		oldest = next
	}
	if read != nil {
		if err := read.scan(br); err != nil {
			return observation{}, fmt.Errorf("postgres: horizon: %w", err)
		}
	}
	return observation{last: last.Int64, next: uint64(next), oldest: uint64(oldest), read: read}, nil
}

// advance takes a new observation: it resolves the pending observations
// against its snapshot, queues it if it must wait, and moves the horizon.
// It returns the horizon and whether observations are still pending.
func (h *horizon) advance(o observation) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	safe := h.safe
	// proved is the highest position this observation proves final:
	// o.read, made after it, holds every event up to there.
	var proved int64
	all := append(h.pending, o)
	keep := all[:0]
	for _, p := range all {
		if o.oldest >= p.next {
			proved = max(proved, p.last)
		}
		if p.last <= safe {
			continue
		}
		if o.oldest >= p.next {
			safe = p.last
			continue
		}
		keep = append(keep, p)
	}
	// Drop pending observations at or below the new horizon.
	h.pending = slices.DeleteFunc(keep, func(p observation) bool { return p.last <= safe })
	if o.read != nil && proved > 0 {
		// Before the horizon moves: the shared reader then has nothing to
		// read.
		h.s.fanout.offer(o.read, proved)
	}
	if safe > h.safe {
		h.safe = safe
		close(h.changed)
		h.changed = make(chan struct{})
	}
	close(h.activity)
	h.activity = make(chan struct{})
	return h.safe, len(h.pending) > 0
}

// sync returns a horizon that covers every transaction committed before
// the call, waiting up to HorizonWait for transactions still in progress;
// after that it returns the best horizon known, which is still safe.
func (h *horizon) sync(ctx context.Context) (int64, error) {
	return h.syncWithin(ctx, h.s.cfg.HorizonWait)
}

// syncAll is sync without a time limit other than ctx's: it returns once
// every position taken before the call is final, and returns the last of
// them. Subscriptions that start from Current start there, so that they
// deliver no event committed before they were created.
func (h *horizon) syncAll(ctx context.Context) (int64, error) {
	return h.syncWithin(ctx, -1)
}

// syncWithin waits up to wait (forever if negative) for the horizon to
// cover what was committed before the call.
func (h *horizon) syncWithin(ctx context.Context, wait time.Duration) (int64, error) {
	o, err := h.observe(ctx, false)
	if err != nil {
		return 0, err
	}
	safe, _ := h.advance(o)
	if safe >= o.last {
		return safe, nil
	}
	deadline := time.Now().Add(wait)
	for delay := time.Duration(0); wait < 0 || time.Now().Before(deadline); delay = retryDelay(delay) {
		if delay > 0 {
			if !sleep(ctx, delay) {
				return 0, ctx.Err()
			}
		}
		next, err := h.observe(ctx, false)
		if err != nil {
			return 0, err
		}
		if safe, _ = h.advance(next); safe >= o.last {
			return safe, nil
		}
	}
	return safe, nil
}

// retryDelay is the wait before the next observation while transactions
// still hold positions, after a wait of d: the first retry goes at once
// (its round trip is wait enough for most commits, and a Go timer under a
// millisecond fires about a millisecond late in an idle process), then
// 200 µs doubling up to 20 ms.
func retryDelay(d time.Duration) time.Duration {
	return min(max(2*d, 200*time.Microsecond), 20*time.Millisecond)
}

// horizonGapCap bounds the pause run makes after an observation (see run).
const horizonGapCap = 5 * time.Millisecond

// run keeps the horizon moving: it observes when woken by a commit or a
// notification, polls quickly while observations wait for transactions to
// end, and slowly when idle.
//
// After each observation it pauses for as long as the observation took, up
// to horizonGapCap, before it observes again: under a stream of commits
// the ones that come meanwhile are then covered by one observation (one
// read of pg_locks, one read of $all) instead of the horizon observing
// back to back, which kept a connection and the database busy for little.
// When idle an observation takes a round trip, and so does the pause, so
// that a commit waits at most that much longer to be delivered. What is
// proved is unchanged: the pause only delays the next observation.
func (h *horizon) run(ctx context.Context) {
	idle := h.s.cfg.IdlePollInterval
	wait := idle
	t := time.NewTimer(wait)
	defer t.Stop()
	var backoff time.Duration
	var ended time.Time   // when the last observation ended
	var gap time.Duration // the pause due after it
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-t.C:
		}
		if h.followers.Load() == 0 {
			// Stream subscriptions need only know that something committed.
			h.signal()
			wait = idle
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
			t.Reset(wait)
			continue
		}
		if rest := gap - time.Since(ended); rest > 0 && !sleep(ctx, rest) {
			return
		}
		// Observations after a commit read the events too; retries while
		// transactions hold positions do not (the reader reads once they
		// have ended).
		start := time.Now()
		o, err := h.observe(ctx, true)
		ended = time.Now()
		gap = min(ended.Sub(start), horizonGapCap)
		if f := h.onObserve.Load(); f != nil {
			(*f)(start, ended)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			h.s.log.Warn("horizon observation failed", "err", err)
			wait = min(2*max(wait, 10*time.Millisecond), idle)
		default:
			if _, pending := h.advance(o); pending {
				wait = backoff
				backoff = retryDelay(backoff)
			} else {
				wait = idle
				backoff = 0
			}
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}
