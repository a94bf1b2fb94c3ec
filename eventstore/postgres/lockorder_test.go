package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// appendEvents appends one event to stream in tx with the store's SQL
// function, as an appending transaction does.
func appendEvents(ctx context.Context, tx pgx.Tx, stream string) error {
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		return err
	}
	var status int16
	err := tx.QueryRow(ctx, `SELECT status FROM cohort.append_events($1, -1, $2, '{test.Held}', '{"{}"}', '{NULL}', '{NULL}', '{NULL}')`,
		stream, []uuid.UUID{uuid.New()}).Scan(&status)
	if err == nil && status != 0 {
		err = errors.New("append refused")
	}
	return err
}

// waitBlocked waits until the backend pid waits for a lock.
func waitBlocked(tb testing.TB, pool *pgxpool.Pool, pid uint32) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting bool
		err := pool.QueryRow(tb.Context(), `SELECT coalesce(wait_event_type = 'Lock', false)
			FROM pg_stat_activity WHERE pid = $1`, int32(pid)).Scan(&waiting)
		if err != nil {
			tb.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("backend %d never waited for a lock", pid)
}

// TestGroupCommitLocksInOneOrder races a group commit with another
// transaction that appends to x, then to y. The batch appends to x
// expecting no stream (refused: x exists, or the transaction creates it)
// and to y expecting any version. The batch must wait for x before it
// takes y, whatever x's expected version and whether x exists yet, or the
// two deadlock: PostgreSQL then aborts one of them after
// deadlock_timeout, and every $all reader stalls meanwhile.
func TestGroupCommitLocksInOneOrder(t *testing.T) {
	for _, tt := range []struct {
		name     string
		existing []string
	}{
		{"x exists", []string{"a-x", "b-y"}},
		{"x is new", []string{"b-y"}},
	} {
		t.Run(tt.name, func(t *testing.T) { testLockOrder(t, tt.existing) })
	}
}

func testLockOrder(t *testing.T, existing []string) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	for _, stream := range existing {
		if _, err := s.Append(ctx, stream, eventstore.NoStream, events(1)); err != nil {
			t.Fatal(err)
		}
	}
	pool := pgtest.NewPool(t, conn)

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := appendEvents(ctx, tx, "a-x"); err != nil {
		t.Fatal(err)
	}

	batchConn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer batchConn.Release()
	type outcome struct {
		status map[string]int16
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		o := outcome{status: map[string]int16{}}
		rows, err := batchConn.Query(ctx, `SELECT stream_id, status FROM cohort.append_batch(
			'{a-x,b-y}', '{0,-1}', '{1,1}', '{1,2}', '{1,2}', '{1,1}', $1, '{t,t}', '{"{}","{}"}',
			'{NULL,NULL}', '{NULL,NULL}', '{NULL,NULL}')`, []uuid.UUID{uuid.New(), uuid.New()})
		if err == nil {
			var stream string
			var status int16
			_, err = pgx.ForEachRow(rows, []any{&stream, &status}, func() error {
				o.status[stream] = status
				return nil
			})
		}
		o.err = err
		done <- o
	}()
	waitBlocked(t, pool, batchConn.Conn().PgConn().PID())

	txErr := appendEvents(ctx, tx, "b-y")
	if txErr == nil {
		txErr = tx.Commit(ctx)
	}
	got := <-done
	var pgErr *pgconn.PgError
	for _, err := range []error{txErr, got.err} {
		if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			t.Fatalf("the group commit and the transaction deadlocked: %v", err)
		}
	}
	if txErr != nil || got.err != nil {
		t.Fatalf("transaction: %v; group commit: %v", txErr, got.err)
	}
	if got.status["a-x"] != 1 || got.status["b-y"] != 0 {
		t.Fatalf("group commit statuses %v; want a-x refused (1), b-y appended (0)", got.status)
	}
}
