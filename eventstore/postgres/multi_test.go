package postgres_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestAppendBatchGroups runs one append_batch, as one group commit does,
// holding three groups: the first fails on one of its appends, so its
// other appends (a new stream, an existing one at its version) are undone;
// the other groups are written. Each outcome is reported per stream.
func TestAppendBatchGroups(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	for _, stream := range []string{"g1-existing", "g1-taken", "g3-existing"} {
		if _, err := s.Append(ctx, stream, eventstore.NoStream, events(1)); err != nil {
			t.Fatal(err)
		}
	}
	pool := pgtest.NewPool(t, conn)
	streams := []string{"g1-new", "g1-existing", "g1-taken", "g2-new", "g3-existing"}
	ids := make([]uuid.UUID, len(streams))
	for i := range ids {
		ids[i] = uuid.New()
	}
	rows, err := pool.Query(ctx, `SELECT stream_id, status FROM cohort.append_batch(
		$1, '{0,1,0,0,1}', '{1,1,1,1,1}', '{1,1,1,2,3}', '{1,2,3,4,5}', '{1,1,1,1,1}', $2,
		'{t,t,t,t,t}', '{"{}","{}","{}","{}","{}"}', '{NULL,NULL,NULL,NULL,NULL}',
		'{NULL,NULL,NULL,NULL,NULL}', '{NULL,NULL,NULL,NULL,NULL}')`, streams, ids)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]int16{}
	var stream string
	var st int16
	if _, err := pgx.ForEachRow(rows, []any{&stream, &st}, func() error {
		status[stream] = st
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int16{"g1-new": 7, "g1-existing": 7, "g1-taken": 1, "g2-new": 0, "g3-existing": 0}
	for s, w := range want {
		if status[s] != w {
			t.Fatalf("statuses %v, want %v", status, want)
		}
	}

	for stream, version := range map[string]int64{"g1-existing": 1, "g1-taken": 1, "g2-new": 1, "g3-existing": 2} {
		if info, err := s.StreamInfo(ctx, stream); err != nil || info.Version != version {
			t.Fatalf("%s: %+v, %v; want version %d", stream, info, err, version)
		}
	}
	if _, err := s.StreamInfo(ctx, "g1-new"); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("g1-new: %v, want not found: its group failed", err)
	}
	all, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("$all holds %d events, want 3 set up and 2 written", len(all))
	}
	// The undone streams take appends at their versions as before.
	if _, err := s.AppendStreams(ctx, []eventstore.StreamAppend{
		{Stream: "g1-new", Expected: eventstore.NoStream, Events: events(1)},
		{Stream: "g1-existing", Expected: eventstore.Exact(1), Events: events(1)},
	}); err != nil {
		t.Fatal(err)
	}
}
