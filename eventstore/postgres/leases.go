package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaseManager holds persistent subscriptions' leases (migration 0012) for
// one store, from one dedicated connection. That connection holds a session
// advisory lock keyed by the holder id it writes into the leases it takes,
// by which other processes know that it is alive: when the connection ends
// (its process died), its leases may be taken at once; when it stays open
// but its process stops renewing them (frozen), once they expire.
//
// The manager tries the waiting leases every LockPollInterval (and at once
// when one is requested), renews the held ones every LeaseRenewInterval,
// and reports a held lease lost when a renewal finds it taken, when the
// connection is lost, or when it was not renewed within LeaseTTL by this
// process's clock, counted from the start of the last renewal that
// succeeded: never after the database lets another holder take it.
type leaseManager struct {
	s       *Store
	wake    chan struct{}
	acquire string
	renew   string
	free    string
	exists  string
	unheld  string
	// frozen is held by FreezeLeases (tests) to stop the manager, as if
	// its process were frozen.
	frozen sync.RWMutex

	mu      sync.Mutex
	waiting map[string][]*lease // by subscription, in request order; a name held here is not tried
	held    map[string]*lease
	release []*lease        // held leases to free on the next turn
	freed   []chan struct{} // closed once those are freed
	renewed time.Time       // when the last renewal started
}

// lease is one subscription's claim on its lease.
type lease struct {
	name    string
	granted chan struct{} // closed when the lease is held, or the subscription is missing
	lost    chan struct{} // closed when a held lease was lost

	// Set before granted closes.
	token   int64 // fencing token of this holding
	missing bool  // no such subscription: granted without a lease

	until time.Time // held until, by this process's clock; guarded by the manager's mu
}

func newLeaseManager(s *Store) *leaseManager {
	q := s.q.schema
	return &leaseManager{
		s:    s,
		wake: make(chan struct{}, 1),
		// A taker skips a row locked by a fenced transaction (check_lease
		// keeps the lease where it is until that transaction ends) and
		// re-checks one changed since its snapshot.
		acquire: `UPDATE ` + q + `.subscriptions s SET holder = $2, token = s.token + 1,
			expires_at = clock_timestamp() + $3 * interval '1 millisecond'
			FROM (SELECT name FROM ` + q + `.subscriptions
				WHERE name = ANY($1) AND CASE WHEN holder IS NULL OR holder = $2 OR expires_at <= clock_timestamp()
					THEN true ELSE NOT ` + q + `.holder_alive(holder) END
				FOR UPDATE SKIP LOCKED) c
			WHERE s.name = c.name RETURNING s.name, s.token`,
		renew: `UPDATE ` + q + `.subscriptions s SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
			FROM unnest($1::text[], $2::bigint[]) AS r(name, token)
			WHERE s.name = r.name AND s.token = r.token RETURNING s.name`,
		free: `UPDATE ` + q + `.subscriptions s SET holder = NULL, expires_at = NULL
			FROM unnest($1::text[], $2::bigint[]) AS r(name, token)
			WHERE s.name = r.name AND s.token = r.token`,
		exists: `SELECT n FROM unnest($1::text[]) n WHERE NOT EXISTS (SELECT 1 FROM ` + q + `.subscriptions s WHERE s.name = n)`,
		// The complement of what acquire may take, plus the missing.
		unheld: `SELECT n FROM unnest($1::text[]) n WHERE NOT EXISTS (SELECT 1 FROM ` + q + `.subscriptions s
			WHERE s.name = n AND s.holder IS NOT NULL AND s.expires_at > clock_timestamp() AND ` + q + `.holder_alive(s.holder))`,
		waiting: make(map[string][]*lease),
		held:    make(map[string]*lease),
	}
}

// UnheldSubscriptions returns those of the named persistent subscriptions
// whose lease no live holder has: never subscribed, released, expired, or
// taken by a process whose lease connection ended. It implements
// actors.UnheldReporter, by which a node of a cluster finds a
// subscription its placement has left without a runner.
func (s *Store) UnheldSubscriptions(ctx context.Context, names []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, s.leases.unheld, names)
	if err != nil {
		return nil, fmt.Errorf("postgres: unheld subscriptions: %w", err)
	}
	free, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: unheld subscriptions: %w", err)
	}
	return free, nil
}

// request queues a claim on the subscription's lease; the lease's granted
// channel closes when it is taken.
func (m *leaseManager) request(name string) *lease {
	l := &lease{name: name, granted: make(chan struct{}), lost: make(chan struct{})}
	m.mu.Lock()
	m.waiting[name] = append(m.waiting[name], l)
	m.mu.Unlock()
	m.kick()
	return l
}

// drop gives up a lease, held or not. The returned channel is closed once
// the lease is freed, so that another process can take it at once.
func (m *leaseManager) drop(l *lease) <-chan struct{} {
	freed := make(chan struct{})
	m.mu.Lock()
	if ws := slices.DeleteFunc(m.waiting[l.name], func(w *lease) bool { return w == l }); len(ws) > 0 {
		m.waiting[l.name] = ws
	} else {
		delete(m.waiting, l.name)
	}
	if m.held[l.name] == l {
		delete(m.held, l.name)
		m.release = append(m.release, l)
		m.freed = append(m.freed, freed)
	} else {
		close(freed)
	}
	m.mu.Unlock()
	m.kick()
	return freed
}

// closeFreed closes the channels of releases done (or made moot by a lost
// connection).
func closeFreed(freed []chan struct{}) {
	for _, c := range freed {
		close(c)
	}
}

func (m *leaseManager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *leaseManager) run(ctx context.Context) {
	var conn *pgx.Conn
	var holder int64
	defer func() {
		if conn != nil {
			closeConn(conn) // the holder is gone: its leases may be taken at once
		}
		m.mu.Lock()
		closeFreed(m.freed)
		m.freed = nil
		m.mu.Unlock()
	}()
	t := time.NewTicker(min(m.s.cfg.LockPollInterval, m.s.cfg.LeaseRenewInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
		m.frozen.RLock()
		conn, holder = m.step(ctx, conn, holder)
		m.frozen.RUnlock()
	}
}

// step expires leases not renewed in time, connects if need be, and takes
// one turn; it returns the connection to go on with (nil when lost).
func (m *leaseManager) step(ctx context.Context, conn *pgx.Conn, holder int64) (*pgx.Conn, int64) {
	m.expire(time.Now())
	if conn == nil {
		var err error
		if conn, holder, err = m.connect(ctx); err != nil {
			if ctx.Err() == nil {
				m.s.log.Warn("subscription lease connection failed", "err", err)
			}
			return nil, 0
		}
	}
	// A turn that outlasts the first held lease's validity fails, losing
	// the connection and with it every lease, rather than deliver past it.
	tctx, cancel := context.WithDeadline(ctx, m.deadline(time.Now()))
	err := m.turn(tctx, conn, holder)
	cancel()
	if err == nil {
		return conn, holder
	}
	if ctx.Err() == nil {
		m.s.log.Warn("subscription lease connection lost", "err", err)
	}
	closeConn(conn)
	m.loseAll()
	return nil, 0
}

// connect opens the lease connection and takes its holder lock, under a
// random holder id (a new one each time, so that leases taken under an
// earlier connection are seen as a dead holder's).
func (m *leaseManager) connect(ctx context.Context) (*pgx.Conn, int64, error) {
	conn, err := pgx.ConnectConfig(ctx, m.s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, 0, err
	}
	for {
		holder := rand.Int64N(1<<62) + 1
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", holder).Scan(&ok); err != nil {
			closeConn(conn)
			return nil, 0, err
		}
		if ok {
			return conn, holder, nil
		}
	}
}

// deadline is when a turn starting at now must have ended: the earliest
// validity of a held lease, or a TTL away.
func (m *leaseManager) deadline(now time.Time) time.Time {
	d := now.Add(m.s.cfg.LeaseTTL)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.held {
		if l.until.Before(d) {
			d = l.until
		}
	}
	return d
}

// turn frees released leases, renews the held ones when due, and tries the
// waiting ones, all in one round trip.
func (m *leaseManager) turn(ctx context.Context, conn *pgx.Conn, holder int64) error {
	start := time.Now()
	ttl := m.s.cfg.LeaseTTL.Milliseconds()
	m.mu.Lock()
	release, freed := m.release, m.freed
	m.release, m.freed = nil, nil
	var renew []*lease
	if start.Sub(m.renewed) >= m.s.cfg.LeaseRenewInterval {
		for _, l := range m.held {
			renew = append(renew, l)
		}
		m.renewed = start
	}
	names := make([]string, 0, len(m.waiting))
	for n := range m.waiting {
		if _, held := m.held[n]; !held {
			names = append(names, n)
		}
	}
	m.mu.Unlock()

	b := &pgx.Batch{}
	if len(release) > 0 {
		n, t := leaseArgs(release)
		b.Queue(m.free, n, t)
	}
	if len(renew) > 0 {
		n, t := leaseArgs(renew)
		b.Queue(m.renew, n, t, ttl)
	}
	// Always sent, to check the connection.
	b.Queue(m.acquire, names, holder, ttl)
	if len(names) > 0 {
		b.Queue(m.exists, names)
	}
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if len(release) > 0 {
		_, err := br.Exec()
		// Freed, or the connection is lost and with it the holder.
		closeFreed(freed)
		if err != nil {
			return err
		}
	}
	var renewed []string
	if len(renew) > 0 {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		if renewed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	type taken struct {
		Name  string
		Token int64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[taken])
	if err != nil {
		return err
	}
	var missing []string
	if len(names) > 0 {
		if rows, err = br.Query(); err != nil {
			return err
		}
		if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}

	until := start.Add(m.s.cfg.LeaseTTL)
	m.mu.Lock()
	for _, l := range renew {
		switch {
		case m.held[l.name] != l:
			// Dropped meanwhile.
		case slices.Contains(renewed, l.name):
			l.until = until
		default:
			m.s.log.Warn("subscription lease taken by another holder", "subscription", l.name, "token", l.token)
			m.lose(l)
		}
	}
	var unwanted []*lease
	for _, g := range got {
		l := m.grant(g.Name)
		if l == nil {
			// Dropped while we were taking it.
			unwanted = append(unwanted, &lease{name: g.Name, token: g.Token})
			continue
		}
		l.token, l.until = g.Token, until
		m.held[g.Name] = l
		close(l.granted)
	}
	for _, n := range missing {
		for l := m.grant(n); l != nil; l = m.grant(n) {
			l.missing = true
			close(l.granted)
		}
	}
	m.release = append(m.release, unwanted...)
	m.mu.Unlock()
	if len(unwanted) > 0 {
		m.kick()
	}
	return nil
}

// grant removes the first waiter for name and returns it, or nil. The
// caller holds m.mu.
func (m *leaseManager) grant(name string) *lease {
	ws := m.waiting[name]
	if len(ws) == 0 {
		return nil
	}
	if len(ws) == 1 {
		delete(m.waiting, name)
	} else {
		m.waiting[name] = ws[1:]
	}
	return ws[0]
}

// leaseArgs returns the names and tokens of ls, as query arguments.
func leaseArgs(ls []*lease) ([]string, []int64) {
	names, tokens := make([]string, len(ls)), make([]int64, len(ls))
	for i, l := range ls {
		names[i], tokens[i] = l.name, l.token
	}
	return names, tokens
}

// expire reports lost every held lease not renewed in time: its holder
// must stop before another may take it.
func (m *leaseManager) expire(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.held {
		if !now.Before(l.until) {
			m.s.log.Warn("subscription lease expired before it was renewed", "subscription", l.name, "token", l.token)
			m.lose(l)
			// Free it unless another holder took it (the token says).
			m.release = append(m.release, l)
		}
	}
}

// lose reports a held lease lost. The caller holds m.mu.
func (m *leaseManager) lose(l *lease) {
	close(l.lost)
	delete(m.held, l.name)
}

// loseAll reports every held lease lost; each subscription requests its
// lease again when it notices.
func (m *leaseManager) loseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.held {
		m.lose(l)
	}
	m.release = nil
	closeFreed(m.freed)
	m.freed = nil
}
