package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// horizon tracks the highest global position below which every position is
// final: committed, or never to be committed.
//
// Appending transactions take their transaction id before their positions.
// An observation reads the sequence's last value L, then (in a later
// statement, so a later snapshot) the current snapshot S. Any transaction
// holding a position <= L took its id before L was read, so at S it had
// either finished or was listed in progress in S. Once every transaction
// listed in S has finished, positions up to L are final: that is when L
// becomes the horizon. Nothing here orders writers; they never wait for it.
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
}

// observation is one (L, S) pair.
type observation struct {
	last int64      // the sequence's last value L
	snap pgSnapshot // S; snap.xip lists the transactions to wait for
}

type xid uint64

// pgSnapshot is a parsed pg_snapshot: xmin:xmax:xip,...
type pgSnapshot struct {
	xmin, xmax xid
	xip        []xid // sorted
}

// finished reports whether transaction x had ended when the snapshot was
// taken.
func (p pgSnapshot) finished(x xid) bool {
	if x < p.xmin {
		return true
	}
	if x >= p.xmax {
		return false
	}
	_, found := slices.BinarySearch(p.xip, x)
	return !found
}

func parseSnapshot(text string) (pgSnapshot, error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		return pgSnapshot{}, fmt.Errorf("postgres: bad snapshot %q", text)
	}
	var p pgSnapshot
	for i, dst := range []*xid{&p.xmin, &p.xmax} {
		v, err := strconv.ParseUint(parts[i], 10, 64)
		if err != nil {
			return pgSnapshot{}, fmt.Errorf("postgres: bad snapshot %q", text)
		}
		*dst = xid(v)
	}
	if parts[2] != "" {
		for _, f := range strings.Split(parts[2], ",") {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return pgSnapshot{}, fmt.Errorf("postgres: bad snapshot %q", text)
			}
			p.xip = append(p.xip, xid(v))
		}
		slices.Sort(p.xip)
	}
	return p, nil
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

// kick asks the tracker to look again soon.
func (h *horizon) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// observe reads L and then S, in two statements of one round trip.
func (h *horizon) observe(ctx context.Context) (observation, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_sequence_last_value($1::regclass)", h.s.q.schema+".event_position")
	b.Queue("SELECT pg_current_snapshot()::text")
	br := h.s.pool.SendBatch(ctx, b)
	defer br.Close()
	var last pgtype.Int8
	if err := br.QueryRow().Scan(&last); err != nil {
		return observation{}, fmt.Errorf("postgres: horizon: %w", err)
	}
	var text string
	if err := br.QueryRow().Scan(&text); err != nil {
		return observation{}, fmt.Errorf("postgres: horizon: %w", err)
	}
	snap, err := parseSnapshot(text)
	if err != nil {
		return observation{}, err
	}
	return observation{last: last.Int64, snap: snap}, nil
}

// advance takes a new observation: it resolves the pending observations
// against its snapshot, queues it if it must wait, and moves the horizon.
// It returns the horizon and whether observations are still pending.
func (h *horizon) advance(o observation) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	safe := h.safe
	all := append(h.pending, o)
	keep := all[:0]
	for _, p := range all {
		if p.last <= safe {
			continue
		}
		if allFinished(p.snap.xip, o.snap) {
			safe = p.last
			continue
		}
		keep = append(keep, p)
	}
	// Drop pending observations at or below the new horizon.
	h.pending = slices.DeleteFunc(keep, func(p observation) bool { return p.last <= safe })
	if safe > h.safe {
		h.safe = safe
		close(h.changed)
		h.changed = make(chan struct{})
	}
	close(h.activity)
	h.activity = make(chan struct{})
	return h.safe, len(h.pending) > 0
}

func allFinished(xs []xid, snap pgSnapshot) bool {
	for _, x := range xs {
		if !snap.finished(x) {
			return false
		}
	}
	return true
}

// sync returns a horizon that covers every transaction committed before
// the call, waiting up to HorizonWait for transactions still in progress;
// after that it returns the best horizon known, which is still safe.
func (h *horizon) sync(ctx context.Context) (int64, error) {
	o, err := h.observe(ctx)
	if err != nil {
		return 0, err
	}
	safe, _ := h.advance(o)
	if safe >= o.last {
		return safe, nil
	}
	deadline := time.Now().Add(h.s.cfg.HorizonWait)
	for delay := 200 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 20*time.Millisecond) {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		next, err := h.observe(ctx)
		if err != nil {
			return 0, err
		}
		if safe, _ = h.advance(next); safe >= o.last {
			return safe, nil
		}
	}
	return safe, nil
}

// run keeps the horizon moving: it observes when woken by a commit or a
// notification, polls quickly while observations wait for transactions to
// end, and slowly when idle.
func (h *horizon) run(ctx context.Context) {
	idle := h.s.cfg.IdlePollInterval
	wait := idle
	t := time.NewTimer(wait)
	defer t.Stop()
	backoff := 200 * time.Microsecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-t.C:
		}
		o, err := h.observe(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			h.s.log.Warn("horizon observation failed", "err", err)
			wait = min(2*max(wait, 10*time.Millisecond), idle)
		default:
			if _, pending := h.advance(o); pending {
				wait = backoff
				backoff = min(2*backoff, 20*time.Millisecond)
			} else {
				wait = idle
				backoff = 200 * time.Microsecond
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
