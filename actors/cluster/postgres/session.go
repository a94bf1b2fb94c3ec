package postgres

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass is the first key of the session advisory locks by which the
// members' sessions are known to be alive ("clus" in ASCII); the second is
// the member's lock key. pg_locks shows them as classid and objid, with
// objsubid 2 (the two-key form, apart from single bigint keys).
const lockClass = 0x636c7573

// lockAttempts bounds the tries for a lock key no other session holds; a
// random key is taken at the first try but for a one-in-a-billion chance.
const lockAttempts = 10

// session is a member's own database connection, open for the member's
// whole life and holding a session advisory lock (lockClass, key), which
// other nodes see in pg_locks: when the member's process dies, or its
// connection is lost, the session ends and the lock with it, and the other
// nodes drop the member at their next read. A frozen process keeps its
// session; its row expires after its TTL instead. The member's heartbeats
// go through the session, so that a lost session is noticed at the next
// one. The provider's loop owns the session and closes it when it ends.
type session struct {
	conn *pgx.Conn
	key  int32 // the lock's second key: the row's lock_key
}

// openSession opens a connection configured as pool's and takes a lock key
// no other session holds. A statement whose context ends is cancelled on
// the server and leaves the connection usable; the connection is closed
// only when the server does not answer within cancelAfter more.
func openSession(ctx context.Context, pool *pgxpool.Pool, cancelAfter time.Duration) (*session, error) {
	cfg := pool.Config().ConnConfig.Copy()
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelAfter}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster/postgres: connect the member's session: %w", err)
	}
	for range lockAttempts {
		key := rand.Int32N(math.MaxInt32) + 1
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockClass, key).Scan(&ok); err != nil {
			closeConn(conn, cancelAfter)
			return nil, fmt.Errorf("cluster/postgres: lock the member's session: %w", err)
		}
		if ok {
			return &session{conn: conn, key: key}, nil
		}
	}
	closeConn(conn, cancelAfter)
	return nil, fmt.Errorf("cluster/postgres: lock the member's session: %d keys taken", lockAttempts)
}

// lost reports whether the session's connection is closed: its lock is
// gone, and the other nodes no longer count the member live.
func (s *session) lost() bool { return s.conn.IsClosed() }

// close ends the session, and with it the member's liveness, within
// timeout.
func (s *session) close(timeout time.Duration) { closeConn(s.conn, timeout) }

// closeConn closes conn within timeout, even when the server is gone.
func closeConn(conn *pgx.Conn, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = conn.Close(ctx)
}
