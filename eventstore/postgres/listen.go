package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifier tells other processes that events were committed. It sends
// NOTIFY in its own statement after the writing transaction committed:
// notifying inside the transaction would hold PostgreSQL's database-wide
// notification lock through every writer's commit.
type notifier struct {
	s    *Store
	wake chan struct{}
}

func newNotifier(s *Store) *notifier { return &notifier{s: s, wake: make(chan struct{}, 1)} }

func (n *notifier) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// notifyInterval is the least time between two notifications. Each one is
// a transaction of its own; wake-ups that arrive while one is in flight, or
// within the interval, collapse into the next. It is short because a Go
// timer shorter than a millisecond fires about a millisecond late when the
// process is otherwise idle (the runtime's poller waits in whole
// milliseconds): a 1 ms interval delayed delivery to other processes from
// ~0.3 ms to ~1.4 ms (p50) with one writer appending in turn, and a longer
// one bought nothing measurable under load.
const notifyInterval = 250 * time.Microsecond

// run sends one notification per wake-up, at most one per notifyInterval;
// wake-ups that arrive meanwhile collapse into the next one. The payload is
// the store's id, so that its own listener ignores it.
func (n *notifier) run(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		if wait := notifyInterval - time.Since(last); wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
		}
		last = time.Now()
		// A notification takes a transaction id, so its commit would wait
		// for an fsync; nothing is lost if it is not durable. (set_config,
		// not SET LOCAL: the statement runs in an implicit transaction,
		// where SET LOCAL does nothing.)
		const notify = `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`
		if _, err := n.s.pool.Exec(ctx, notify, n.s.channel, n.s.id); err != nil && ctx.Err() == nil {
			// Other processes still find the events at their next poll.
			n.s.log.Warn("notify failed", "err", err)
		}
	}
}

// listen holds a connection that LISTENs for other processes' commits,
// which wake the horizon tracker, for every process's stored checkpoints,
// which go to the progress watchers, and for key deletions, which go to
// the key watchers. It reconnects with backoff; after each (re)connection
// it wakes the tracker and tells the key watchers to forget every key,
// since notifications may have been missed meanwhile (missed progress is
// found by the watchers' own polls).
func (s *Store) listen(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() { backoff = 50 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("listen connection lost", "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer closeConn(conn)
	for _, ch := range []string{s.channel, s.progressChannel, s.keysChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	connected()
	s.horizon.kick()
	s.keyNotice("")
	for {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch {
		case msg.Channel == s.progressChannel:
			s.progressed(msg.Payload)
		case msg.Channel == s.keysChannel:
			s.keyNotice(msg.Payload)
		case msg.Payload != s.id:
			s.horizon.kick()
		}
	}
}

// closeConn closes a dedicated connection, bounded in time even when the
// server is gone.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// sleep waits for d, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
