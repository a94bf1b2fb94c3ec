package postgres_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestAppendBatchProbesOnlyItsStreams runs append_batch on one connection,
// as a group commit does, first while the store is small, then after it
// has grown to thousands of streams, and counts the rows of the streams
// table the second call read. It must look up the streams it names, not
// scan the table: the function's generic plan, made on the connection's
// first call and kept while the connection lives, once looked them up with
// a hashed subplan over the whole table, so that every append cost in
// proportion to the store's size.
func TestAppendBatchProbesOnlyItsStreams(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t, newDatabase(t))
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// A rename's append: the user's stream at its version, a new claim,
	// the release of the old one. It returns the rows of streams read.
	rename := func(round int) int64 {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		streams := []string{"user-1", "claim-new-" + string(rune('a'+round)), "claim-old"}
		ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		rows, err := tx.Query(ctx, `SELECT status FROM cohort.append_batch(
			$1, $2, '{1,1,1}', '{1,1,1}', '{1,2,3}', '{1,1,1}', $3,
			'{t,t,t}', '{"{}","{}","{}"}', '{NULL,NULL,NULL}', '{NULL,NULL,NULL}', '{NULL,NULL,NULL}')`,
			streams, []int64{int64(round) + 1, 0, int64(round) + 1}, ids)
		if err != nil {
			t.Fatal(err)
		}
		statuses, err := pgx.CollectRows(rows, pgx.RowTo[int16])
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range statuses {
			if st != 0 {
				t.Fatalf("round %d: statuses %v, want every append written", round, statuses)
			}
		}
		var read int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
			FROM pg_stat_xact_user_tables WHERE schemaname = 'cohort' AND relname = 'streams'`).Scan(&read); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return read
	}
	const others = 5000
	for _, sql := range []string{
		`INSERT INTO cohort.streams (stream_id, version) VALUES ('user-1', 1), ('claim-old', 1)`,
		`ANALYZE cohort.streams`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	rename(0)
	if _, err := pool.Exec(ctx, `INSERT INTO cohort.streams (stream_id, version)
		SELECT 'other-' || i, 1 FROM generate_series(1, $1::integer) i`, others); err != nil {
		t.Fatal(err)
	}
	// A few probes per stream named; nowhere near the table's size.
	if read, limit := rename(1), int64(30); read > limit {
		t.Fatalf("append_batch read %d rows of the streams table (%d streams), want at most %d: it scans the table", read, others+4, limit)
	}
}
