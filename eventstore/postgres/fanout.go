package postgres

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
)

// fanout is one reader of $all per store, shared by the store's $all
// subscriptions: a window of the latest events up to the horizon, read
// once from the tables (the tail) and served to every subscription from
// memory, instead of each subscription reading every event again.
//
// The window covers the positions (low, top]: it holds every event
// committed there, in position order (the positions missing are final
// without an event: taken by transactions that rolled back). top never
// passes the horizon, so the window is exactly as gap-safe as a read of
// the tables up to the horizon: it is one. It is read in the horizon's
// own round trip when it can be (prefetch), else by the tail, a goroutine
// that follows the horizon. Appends of other processes reach it the same
// way, woken by their notifications through the horizon.
//
// The window is bounded (Config.FanoutWindow events): the oldest events
// leave it as new ones come. The tail never waits for a subscription; a
// subscription whose next position has left the window (a slow one, or one
// catching up from far back) reads the tables itself up to low, then
// rejoins the window. Each subscription copies the events it takes into
// batches of its own; the events' bytes (Data, Metadata) are shared.
type fanout struct {
	s    *Store
	size int // the most events the window keeps

	// readMu is held while the tail reads and fills the window, so that
	// forget, after a hard delete, waits for a read that may have seen the
	// deleted events.
	readMu sync.Mutex

	mu      sync.Mutex
	low     int64                      // the window covers (low, top]
	top     int64                      //
	events  []eventstore.RecordedEvent // in (low, top], by position
	changed chan struct{}              // closed and replaced when top advances
	deletes uint64                     // hard deletes forgotten so far

	wake chan struct{} // buffered 1: a subscription needs the window

	// reads counts the tail's reads of the tables, offered the reads of the
	// horizon's observations taken, and fallbacks the subscriptions' own
	// reads (tests read them).
	reads, offered, fallbacks atomic.Int64
}

func newFanout(s *Store) *fanout {
	return &fanout{s: s, size: s.cfg.FanoutWindow, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// kick asks the tail to catch up with the horizon.
func (f *fanout) kick() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// prefetch is a read of $all queued in the horizon's observation: the
// events after the window's top, read after the observation has looked at
// the writers. Every position the observation proves final was final
// before the read began, so the read holds every event up to it, and the
// window takes them without a round trip of its own (offer).
type prefetch struct {
	from    int64  // the first position read: the window's top + 1
	deletes uint64 // the window's deletes when queued
	events  []eventstore.RecordedEvent
}

// prefetch queues the read of the events after the window's top on b, or
// returns nil when nobody needs them.
func (f *fanout) prefetch(b *pgx.Batch) *prefetch {
	if f.s.horizon.followers.Load() == 0 {
		return nil
	}
	f.mu.Lock()
	p := &prefetch{from: f.top + 1, deletes: f.deletes}
	f.mu.Unlock()
	b.Queue(f.s.q.readAllFwd, p.from, int64(math.MaxInt64), fanoutPage)
	return p
}

// scan reads the prefetched events from br, after the statements queued
// before it.
func (p *prefetch) scan(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	p.events, err = scanEvents(rows, "", fanoutPage)
	return err
}

// offer fills the window from p up to proved, a position proved final
// before p was read, unless the window moved since p was queued or a
// stream was hard-deleted meanwhile (p may hold its events), or the window
// is being filled: offer never waits for a read.
func (f *fanout) offer(p *prefetch, proved int64) {
	if !f.readMu.TryLock() {
		return
	}
	defer f.readMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.top != p.from-1 || f.deletes != p.deletes {
		return
	}
	upTo := proved
	if len(p.events) == fanoutPage {
		upTo = min(upTo, p.events[len(p.events)-1].Position)
	}
	if upTo <= f.top {
		return
	}
	n, _ := slices.BinarySearchFunc(p.events, upTo+1, func(e eventstore.RecordedEvent, pos int64) int {
		return cmp.Compare(e.Position, pos)
	})
	f.offered.Add(1)
	f.add(p.events[:n], upTo)
}

// fanoutPage bounds the events of one read of the tail.
const fanoutPage = 1000

// run is the tail: it follows the horizon while the store has $all
// subscriptions, reading what it passes once.
func (f *fanout) run(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for {
		safe, changed := f.s.horizon.current()
		f.mu.Lock()
		top := f.top
		f.mu.Unlock()
		if safe <= top || f.s.horizon.followers.Load() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-f.wake:
			}
			continue
		}
		if err := f.fill(ctx, safe); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.s.log.Warn("subscription tail read failed", "err", err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
	}
}

// fill reads the events after top up to safe, at most a page, into the
// window. A window further behind the horizon than it can hold starts
// again at the horizon: subscriptions behind it read the tables.
func (f *fanout) fill(ctx context.Context, safe int64) error {
	f.readMu.Lock()
	defer f.readMu.Unlock()
	f.mu.Lock()
	top := f.top
	f.mu.Unlock()
	if safe-top > int64(f.size) {
		f.mu.Lock()
		f.low, f.top, f.events = safe, safe, nil
		f.advanced()
		f.mu.Unlock()
		return nil
	}
	f.reads.Add(1)
	evs, err := f.s.readAllRange(ctx, top+1, safe, fanoutPage)
	if err != nil {
		return err
	}
	upTo := safe
	if len(evs) == fanoutPage {
		upTo = evs[len(evs)-1].Position
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(evs, upTo)
	return nil
}

// add appends evs to the window, which then covers up to upTo, and drops
// the oldest events beyond its size. The caller holds f.mu.
func (f *fanout) add(evs []eventstore.RecordedEvent, upTo int64) {
	f.events = append(f.events, evs...)
	if over := len(f.events) - f.size; over > 0 {
		f.low = f.events[over-1].Position
		// The dropped events go with the array when append next grows it
		// (it copies only the window): no copy per batch.
		f.events = f.events[over:]
	}
	f.top = upTo
	f.advanced()
}

// advanced wakes the subscriptions waiting for the window. The caller
// holds f.mu.
func (f *fanout) advanced() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// forget removes a hard-deleted stream's events from the window, after the
// deletion committed: subscriptions that have not taken them yet no longer
// see them, as if they read the tables.
func (f *fanout) forget(stream string) {
	f.readMu.Lock()
	defer f.readMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	f.events = slices.DeleteFunc(f.events, func(e eventstore.RecordedEvent) bool { return e.StreamID == stream })
}

// take returns up to n events from position next on, and the position to
// read from after them. With none, it returns a channel closed when there
// may be more. A position before the window is read from the tables, up to
// the window's start.
func (f *fanout) take(ctx context.Context, next int64, n int) ([]eventstore.RecordedEvent, int64, <-chan struct{}, error) {
	f.mu.Lock()
	low, top, changed := f.low, f.top, f.changed
	if next > low {
		defer f.mu.Unlock()
		if next > top {
			return nil, next, changed, nil
		}
		i, _ := slices.BinarySearchFunc(f.events, next, func(e eventstore.RecordedEvent, p int64) int {
			return cmp.Compare(e.Position, p)
		})
		if rest := f.events[i:]; len(rest) > n {
			evs := slices.Clone(rest[:n])
			return evs, evs[n-1].Position + 1, nil, nil
		}
		if i == len(f.events) {
			// Nothing committed in [next, top]: positions lost to rolled
			// back transactions.
			return nil, top + 1, changed, nil
		}
		return slices.Clone(f.events[i:]), top + 1, nil, nil
	}
	f.mu.Unlock()
	// Behind the window: read the tables up to its start, then rejoin.
	f.fallbacks.Add(1)
	evs, err := f.s.readAllRange(ctx, next, low, n)
	if err != nil {
		return nil, next, nil, err
	}
	if len(evs) == n {
		return evs, evs[n-1].Position + 1, nil, nil
	}
	if len(evs) == 0 {
		// Nothing there: go on at the window at once.
		return nil, low + 1, closedChan, nil
	}
	return evs, low + 1, nil, nil
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
