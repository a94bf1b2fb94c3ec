package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		conn := newDatabase(t)
		return func(tb testing.TB) eventstore.Store { return mustOpen(tb, conn, postgres.Config{}) }
	})
}

func events(n int) []eventstore.EventData {
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{Type: "test.Event", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return evs
}

// TestHorizonHoldsBackReaders holds a transaction that took a lower
// position open while a later append commits: $all must not show the later
// event until the earlier transaction ends, or a reader that saves the last
// position it saw would skip the earlier one for ever.
func TestHorizonHoldsBackReaders(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{HorizonWait: 50 * time.Millisecond})
	first, err := s.Append(ctx, "a", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{StartFrom: eventstore.After(first.LastPosition)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	pool := pgtest.NewPool(t, conn)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// What an appending transaction does: its id first, then positions.
	var status int16
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	err = tx.QueryRow(ctx, `SELECT status FROM cohort.append_events('held', -1, $1, '{test.Held}', '{"{}"}', '{NULL}', '{NULL}', '{NULL}')`,
		[]uuid.UUID{uuid.New()}).Scan(&status)
	if err != nil || status != 0 {
		t.Fatalf("held append: status %d, %v", status, err)
	}
	later, err := s.Append(ctx, "b", eventstore.Any, events(1))
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, eventstore.ReadOptions{From: first.LastPosition + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Fatalf("ReadAll returned %d events past a transaction still holding a lower position", len(all))
	}
	select {
	case b := <-sub.Events():
		t.Fatalf("subscription delivered position %d past a transaction still holding a lower position", b[0].Position)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := storetest.Collect(t, sub, 2, 5*time.Second)
	if got[0].StreamID != "held" || got[1].Position != later.LastPosition {
		t.Fatalf("delivered %s@%d, %s@%d; want held, then b@%d", got[0].StreamID, got[0].Position, got[1].StreamID, got[1].Position, later.LastPosition)
	}
}

// batchTracer records group-commit batch sizes.
type batchTracer struct {
	mu      sync.Mutex
	largest int
}

func (b *batchTracer) BatchCommitted(appends, _ int, _ time.Duration, _ error) {
	b.mu.Lock()
	b.largest = max(b.largest, appends)
	b.mu.Unlock()
}

// TestGroupCommitIsolatesFailures sends many appends at once, so that they
// share transactions, with one wrong expected version and one duplicate
// event id among them: only those two fail.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := t.Context()
	tracer := &batchTracer{}
	s := mustOpen(t, newDatabase(t), postgres.Config{Tracer: tracer, Committers: 1})
	dup := uuid.New()
	if _, err := s.Append(ctx, "existing", eventstore.NoStream, []eventstore.EventData{{ID: dup, Type: "t"}}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			expected, evs := eventstore.NoStream, events(1+i%3)
			switch i {
			case 50:
				expected = eventstore.Exact(7)
			case 120:
				evs[0].ID = dup
			}
			_, errs[i] = s.Append(ctx, fmt.Sprintf("s-%d", i), expected, evs)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch i {
		case 50:
			var vc *eventstore.VersionConflictError
			if !errors.As(err, &vc) || vc.Actual != 0 {
				t.Errorf("append %d: got %v, want a version conflict at 0", i, err)
			}
		case 120:
			if !errors.Is(err, eventstore.ErrDuplicateEvent) {
				t.Errorf("append %d: got %v, want ErrDuplicateEvent", i, err)
			}
		default:
			if err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		}
	}
	if tracer.largest < 2 {
		t.Errorf("largest group commit held %d appends; concurrent appends should share transactions", tracer.largest)
	}
	for _, i := range []int{50, 120} {
		if _, err := s.ReadStream(ctx, fmt.Sprintf("s-%d", i), eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("stream s-%d: got %v, want nothing written", i, err)
		}
	}
}

// TestSchemasAreIsolated runs two stores in one database under different
// schemas.
func TestSchemasAreIsolated(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	pool := pgtest.NewPool(t, conn)
	if err := postgres.Migrate(ctx, pool, "other"); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool, "other"); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	a := mustOpen(t, conn, postgres.Config{})
	b := mustOpen(t, conn, postgres.Config{Schema: "other"})
	if _, err := a.Append(ctx, "s", eventstore.NoStream, events(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "s", eventstore.NoStream, events(1)); err != nil {
		t.Fatalf("same stream id in another schema: %v", err)
	}
	evs, err := b.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("other schema's $all: %d events, %v; want 1", len(evs), err)
	}
}

// TestMigrateConcurrently runs migrations from several processes at once.
func TestMigrateConcurrently(t *testing.T) {
	conn := pgtest.NewDatabase(t, pgtest.Empty())
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 4 {
		wg.Go(func() {
			pool := pgtest.NewPool(t, conn)
			if err := postgres.Migrate(t.Context(), pool, "cohort"); err != nil {
				t.Error(err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() == 0 {
		mustOpen(t, conn, postgres.Config{})
	}
}

// TestNewRefusesUnmigratedSchema checks the error when Migrate was not run.
func TestNewRefusesUnmigratedSchema(t *testing.T) {
	pool := pgtest.MustPool(t, pgtest.Empty())
	if _, err := postgres.New(t.Context(), pool, postgres.Config{}); err == nil {
		t.Fatal("New on an empty database succeeded")
	}
}

// TestSubscriptionSurvivesLostConnections terminates every connection of
// the store (as a PostgreSQL restart would) while a persistent subscription
// runs: it reconnects and delivers what follows.
func TestSubscriptionSurvivesLostConnections(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := s.Append(ctx, "a", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	storetest.Collect(t, sub, 1, 5*time.Second)

	admin := pgtest.NewPool(t, conn)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	var res eventstore.AppendResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The pool notices dead connections when it uses them.
		if res, err = s.Append(ctx, "a", eventstore.Any, events(1)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("append after the connections were cut: %v", err)
	}
	got := storetest.Collect(t, sub, 1, 10*time.Second)
	if got[len(got)-1].Position != res.LastPosition {
		t.Fatalf("delivered position %d, want %d", got[len(got)-1].Position, res.LastPosition)
	}
}

var _ = pgx.ErrNoRows

func TestAdmin(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	for _, id := range []string{"user-1", "user-2", "article-1"} {
		if _, err := s.Append(ctx, id, eventstore.NoStream, events(2)); err != nil {
			t.Fatal(err)
		}
	}
	streams, err := s.ListStreams(ctx, "user-", "", 10)
	if err != nil || len(streams) != 2 || streams[0].StreamID != "user-1" || streams[1].Version != 2 {
		t.Fatalf("ListStreams: %+v, %v", streams, err)
	}
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "projector", BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := storetest.Collect(t, sub, 2, 5*time.Second)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	infos, err := s.Subscriptions(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("Subscriptions: %+v, %v", infos, err)
	}
	info := infos[0]
	if info.Name != "projector" || info.Active || info.Checkpoint != got[len(got)-1].Position || info.Lag != 4 || info.Oldest.IsZero() {
		t.Fatalf("subscription info %+v; want projector, inactive, checkpoint %d, lag 4", info, got[len(got)-1].Position)
	}
	sub, err = s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "projector"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !info.Active && time.Now().Before(deadline) {
		infos, err = s.Subscriptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		info = infos[0]
	}
	if !info.Active {
		t.Fatal("an open subscription is not reported active")
	}
	head, err := s.Head(ctx)
	if err != nil || head == 0 {
		t.Fatalf("Head: %d, %v", head, err)
	}
	pool := pgtest.NewPool(t, conn)
	if err := postgres.Drop(ctx, pool, "other"); err != nil {
		t.Fatalf("dropping a schema that does not exist: %v", err)
	}
}

func TestReadSnapshotStream(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, newDatabase(t), postgres.Config{})
	if _, found, evs, err := s.ReadSnapshotStream(ctx, "agg", "agg", 100); err != nil || found || len(evs) != 0 {
		t.Fatalf("missing stream: found %v, %d events, %v", found, len(evs), err)
	}
	if _, err := s.Append(ctx, "agg", eventstore.NoStream, events(7)); err != nil {
		t.Fatal(err)
	}
	_, found, evs, err := s.ReadSnapshotStream(ctx, "agg", "agg", 5)
	if err != nil || found || len(evs) != 5 || evs[0].StreamVersion != 1 || evs[4].StreamVersion != 5 {
		t.Fatalf("without a snapshot: found %v, %d events, %v", found, len(evs), err)
	}
	if err := s.RecordSnapshot(ctx, eventstore.Snapshot{SourceID: "agg", SourceVersion: 4, SourceType: "t", SchemaVersion: 2, Data: []byte(`{"n":4}`)}); err != nil {
		t.Fatal(err)
	}
	snap, found, evs, err := s.ReadSnapshotStream(ctx, "agg", "agg", 100)
	if err != nil || !found || snap.SourceVersion != 4 || snap.SchemaVersion != 2 || len(evs) != 3 || evs[0].StreamVersion != 5 {
		t.Fatalf("with a snapshot at 4: %+v found %v, %d events, %v", snap, found, len(evs), err)
	}
	want, err := s.ReadStream(ctx, "agg", eventstore.ReadOptions{From: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i].ID != evs[i].ID || want[i].Position != evs[i].Position || string(want[i].Data) != string(evs[i].Data) || !want[i].CreatedAt.Equal(evs[i].CreatedAt) {
			t.Fatalf("event %d: %+v, ReadStream has %+v", i, evs[i], want[i])
		}
	}
	if err := s.DeleteStream(ctx, "agg", eventstore.Any, eventstore.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.ReadSnapshotStream(ctx, "agg", "agg", 100); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("deleted stream: %v", err)
	}
}

func TestReadCorrelated(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, newDatabase(t), postgres.Config{})
	corr := uuid.New()
	evs := events(3)
	for i := range evs {
		evs[i].CorrelationID = corr
	}
	if _, err := s.Append(ctx, "a", eventstore.NoStream, evs[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "b", eventstore.NoStream, append(events(1), evs[2])); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadCorrelated(ctx, corr, 10)
	if err != nil || len(got) != 3 || got[2].StreamID != "b" {
		t.Fatalf("ReadCorrelated: %d events, %v", len(got), err)
	}
}

// TestGroupCommitRepeatedStream sends many appends to one stream at once:
// in a shared batch they are written in rounds, each seeing the previous.
func TestGroupCommitRepeatedStream(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, newDatabase(t), postgres.Config{})
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			expected := eventstore.Any
			if i == 7 {
				expected = eventstore.NoStream // fails unless it comes first
			}
			_, errs[i] = s.Append(ctx, "same", expected, events(1))
		})
	}
	close(start)
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if i != 7 || !errors.Is(err, eventstore.ErrVersionConflict) {
				t.Errorf("append %d: %v", i, err)
			}
			failed++
		}
	}
	got, err := s.ReadStream(ctx, "same", eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n-failed {
		t.Fatalf("stream holds %d events, want %d", len(got), n-failed)
	}
	for i, e := range got {
		if e.StreamVersion != int64(i+1) {
			t.Fatalf("event %d at version %d", i, e.StreamVersion)
		}
	}
}

// TestHeadIsAnEvent: positions taken by rolled-back transactions or held
// by deleted events are not the head.
func TestHeadIsAnEvent(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, newDatabase(t), postgres.Config{})
	res, err := s.Append(ctx, "kept", eventstore.NoStream, events(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "gone", eventstore.NoStream, events(3)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "gone", eventstore.Any, eventstore.HardDelete); err != nil {
		t.Fatal(err)
	}
	if head, err := s.Head(ctx); err != nil || head != res.LastPosition {
		t.Fatalf("Head: %d, %v; want %d", head, err, res.LastPosition)
	}
}
