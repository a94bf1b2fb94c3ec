package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pruneAfter is how long the row of a member that left, died or expired is
// kept, for diagnostics, before a joining node deletes it.
const pruneAfter = time.Hour

// table runs the members table's statements for one schema.
type table struct {
	pool *pgxpool.Pool
	// The statements, their identifiers quoted.
	joinLock, incompatible, join, prune, heartbeat, live, leave string
}

func newTable(pool *pgxpool.Pool, schema string) *table {
	m := pgx.Identifier{schema, "members"}.Sanitize()
	return &table{
		pool: pool,
		// Joins serialize on this lock (members' lock keys are never 0),
		// so that each sees the members that joined before it.
		joinLock: `SELECT pg_advisory_xact_lock(` + fmt.Sprint(lockClass) + `, 0)`,
		// A live member of another protocol, other than those the joining
		// node supersedes at its address.
		incompatible: `SELECT member_id, protocol FROM ` + liveMembers(m) + `
			WHERE protocol <> $2 AND NOT (host = $3 AND port = $4)
			ORDER BY started_at LIMIT 1`,
		// The new row and the older rows it supersedes are written by one
		// statement: no node reads the new member beside its dead
		// predecessor at the same address.
		join: `WITH me AS (
				INSERT INTO ` + m + ` (cluster_name, member_id, host, port, kinds, started_at, heartbeat_at, ttl, status, lock_key, protocol)
				VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp(), $6 * interval '1 millisecond', 'alive', $7, $8)
				RETURNING started_at)
			UPDATE ` + m + ` o SET status = 'dead' FROM me
			WHERE o.cluster_name = $1 AND o.host = $3 AND o.port = $4 AND o.member_id <> $2
				AND o.status = 'alive' AND o.started_at <= me.started_at`,
		prune: `DELETE FROM ` + m + ` WHERE cluster_name = $1
			AND (status <> 'alive' OR heartbeat_at + ttl < clock_timestamp())
			AND heartbeat_at < clock_timestamp() - $2 * interval '1 millisecond'`,
		// A row is renewed only within its renew window (half its TTL)
		// after its last heartbeat. The second column is the row's status
		// before the update ('' when it is gone), to tell why it was not.
		heartbeat: `WITH hb AS (
				UPDATE ` + m + ` SET heartbeat_at = clock_timestamp()
				WHERE cluster_name = $1 AND member_id = $2 AND status = 'alive'
					AND heartbeat_at + ttl / 2 > clock_timestamp()
				RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM hb),
				coalesce((SELECT status FROM ` + m + ` WHERE cluster_name = $1 AND member_id = $2), '')`,
		live: `SELECT member_id, host, port, kinds FROM ` + liveMembers(m) + ` ORDER BY member_id`,
		leave: `UPDATE ` + m + ` SET status = 'left'
			WHERE cluster_name = $1 AND member_id = $2 AND status = 'alive'`,
	}
}

// liveMembers is a subquery (named live) of the live members of cluster
// $1 in the members table m: rows alive whose heartbeat is younger than
// their TTL, by the database's clock, and whose member's session still
// holds its advisory lock (see session). Its columns are the table's.
func liveMembers(m string) string {
	return `(WITH sessions AS MATERIALIZED (
			SELECT objid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND classid = ` + fmt.Sprint(lockClass) + `::oid AND objsubid = 2
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
		SELECT * FROM ` + m + `
		WHERE cluster_name = $1 AND status = 'alive' AND heartbeat_at + ttl > clock_timestamp()
			AND (lock_key IS NULL OR lock_key::oid IN (SELECT objid FROM sessions))) live`
}

// member is one row of the members table, as a node joins with it.
type member struct {
	cluster, id string
	host        string
	port        int
	kinds       []string
	ttl         time.Duration
	lockKey     int32  // its session's lock key
	protocol    string // its Config.Protocol
}

// insert adds m's row as a live member, through the member's session,
// marks dead the older members that advertised its address, and deletes
// rows of members gone for longer than pruneAfter. It returns how many
// members m superseded, or an *IncompatibleMemberError, without writing,
// when a live member it does not supersede has another protocol.
func (t *table) insert(ctx context.Context, s *session, m member) (superseded int64, err error) {
	err = pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, t.joinLock); err != nil {
			return err
		}
		other := IncompatibleMemberError{Cluster: m.cluster, Protocol: m.protocol}
		err := tx.QueryRow(ctx, t.incompatible, m.cluster, m.protocol, m.host, m.port).Scan(&other.MemberID, &other.MemberProtocol)
		switch {
		case err == nil:
			return &other
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		tag, err := tx.Exec(ctx, t.join, m.cluster, m.id, m.host, m.port, m.kinds, m.ttl.Milliseconds(), m.lockKey, m.protocol)
		if err != nil {
			return err
		}
		superseded = tag.RowsAffected()
		_, err = tx.Exec(ctx, t.prune, m.cluster, pruneAfter.Milliseconds())
		return err
	})
	if errors.Is(err, ErrIncompatibleMember) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("cluster/postgres: join: %w", err)
	}
	return superseded, nil
}

// renewal is a heartbeat's outcome.
type renewal struct {
	renewed bool
	status  string // the row's status before the heartbeat; "" when it is gone
}

// cause returns why a heartbeat that renewed nothing found the member
// expelled.
func (r renewal) cause() ExpelCause {
	switch r.status {
	case "alive":
		return CauseExpired
	case "dead":
		return CauseSuperseded
	}
	return CauseRemoved
}

// batcher runs a batch of statements: a member's session, or the pool for
// a client.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// beat renews the member's row (when id is not empty: a client has no
// row) and reads the cluster's live members, in one round trip through
// db.
func (t *table) beat(ctx context.Context, db batcher, clusterName, id string) (renewal, cluster.Members, error) {
	var b pgx.Batch
	var r renewal
	if id != "" {
		b.Queue(t.heartbeat, clusterName, id).QueryRow(func(row pgx.Row) error {
			return row.Scan(&r.renewed, &r.status)
		})
	}
	ms := t.queueLive(&b, clusterName)
	if err := db.SendBatch(ctx, &b).Close(); err != nil {
		return renewal{}, nil, fmt.Errorf("cluster/postgres: heartbeat: %w", err)
	}
	return r, *ms, nil
}

// queueLive queues the read of the cluster's live members; the returned
// slice is filled once the batch has run.
func (t *table) queueLive(b *pgx.Batch, clusterName string) *cluster.Members {
	ms := new(cluster.Members)
	b.Queue(t.live, clusterName).Query(func(rows pgx.Rows) error {
		var (
			id, host string
			port     int32
			kinds    []string
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &host, &port, &kinds}, func() error {
			*ms = append(*ms, &cluster.Member{Id: id, Host: host, Port: port, Kinds: slices.Clone(kinds)})
			return nil
		})
		return err
	})
	return ms
}

// markLeft marks the member's row left, if it is still alive.
func (t *table) markLeft(ctx context.Context, clusterName, id string) error {
	if _, err := t.pool.Exec(ctx, t.leave, clusterName, id); err != nil {
		return fmt.Errorf("cluster/postgres: leave: %w", err)
	}
	return nil
}
