package postgres

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockManager holds persistent subscriptions' session advisory locks on one
// dedicated connection. PostgreSQL releases them when that connection ends,
// which is how a dead process hands its subscriptions over. The manager
// tries waiting locks every LockPollInterval (and at once when a lock is
// requested), and checks the connection as often; when it is lost, every
// held lease is reported lost and requested again after reconnecting.
type lockManager struct {
	s    *Store
	wake chan struct{}

	mu      sync.Mutex
	waiting map[int64][]*lease // in request order; a key held here is not tried
	held    map[int64]*lease
	release []int64         // keys to unlock on the next turn
	freed   []chan struct{} // closed once those are unlocked
}

// lease is one subscription's claim on a lock.
type lease struct {
	key     int64
	granted chan struct{} // closed when the lock is held
	lost    chan struct{} // closed when a held lock was lost
}

func newLockManager(s *Store) *lockManager {
	return &lockManager{
		s:       s,
		wake:    make(chan struct{}, 1),
		waiting: make(map[int64][]*lease),
		held:    make(map[int64]*lease),
	}
}

// request queues a claim on key; the lease's granted channel closes when
// the lock is taken.
func (m *lockManager) request(key int64) *lease {
	l := &lease{key: key, granted: make(chan struct{}), lost: make(chan struct{})}
	m.mu.Lock()
	m.waiting[key] = append(m.waiting[key], l)
	m.mu.Unlock()
	m.kick()
	return l
}

// drop gives up a lease, held or not. The returned channel is closed once
// the lock is released, so that another process can take it at once.
func (m *lockManager) drop(l *lease) <-chan struct{} {
	freed := make(chan struct{})
	m.mu.Lock()
	if ws := slices.DeleteFunc(m.waiting[l.key], func(w *lease) bool { return w == l }); len(ws) > 0 {
		m.waiting[l.key] = ws
	} else {
		delete(m.waiting, l.key)
	}
	if m.held[l.key] == l {
		delete(m.held, l.key)
		m.release = append(m.release, l.key)
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

func (m *lockManager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *lockManager) run(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn) // releases every lock still held
		}
		m.mu.Lock()
		closeFreed(m.freed)
		m.freed = nil
		m.mu.Unlock()
	}()
	t := time.NewTicker(m.s.cfg.LockPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, m.s.pool.Config().ConnConfig.Copy())
			if err != nil {
				if ctx.Err() == nil {
					m.s.log.Warn("subscription lock connection failed", "err", err)
				}
				continue
			}
			conn = c
		}
		if err := m.turn(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.s.log.Warn("subscription lock connection lost", "err", err)
			closeConn(conn)
			conn = nil
			m.loseAll()
		}
	}
}

// turn unlocks released keys, checks the connection, and tries the waiting
// locks, all in one round trip.
func (m *lockManager) turn(ctx context.Context, conn *pgx.Conn) error {
	m.mu.Lock()
	release, freed := m.release, m.freed
	m.release, m.freed = nil, nil
	keys := make([]int64, 0, len(m.waiting))
	for k := range m.waiting {
		// Session locks are reentrant: a key this connection holds would be
		// granted twice. Its waiters wait for the holder to drop it.
		if _, held := m.held[k]; !held {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()

	b := &pgx.Batch{}
	if len(release) > 0 {
		b.Queue("SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) k", release)
	}
	b.Queue("SELECT k FROM unnest($1::bigint[]) k WHERE pg_try_advisory_lock(k)", keys)
	br := conn.SendBatch(ctx, b)
	if len(release) > 0 {
		_, err := br.Exec()
		// Released, or the connection is lost and with it every lock.
		closeFreed(freed)
		if err != nil {
			br.Close()
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		br.Close()
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}

	m.mu.Lock()
	var unwanted []int64
	for _, k := range got {
		ws := m.waiting[k]
		if len(ws) == 0 {
			// Dropped while we were taking it.
			unwanted = append(unwanted, k)
			continue
		}
		l := ws[0]
		if len(ws) == 1 {
			delete(m.waiting, k)
		} else {
			m.waiting[k] = ws[1:]
		}
		m.held[k] = l
		close(l.granted)
	}
	m.release = append(m.release, unwanted...)
	m.mu.Unlock()
	if len(unwanted) > 0 {
		m.kick()
	}
	return nil
}

// loseAll reports every held lease lost; each subscription requests a new
// lease when it notices.
func (m *lockManager) loseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, l := range m.held {
		close(l.lost)
		delete(m.held, k)
	}
	m.release = nil
	closeFreed(m.freed)
	m.freed = nil
}
