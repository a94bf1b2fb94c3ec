package conduit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/projectors"
)

// writeLoop registers and renames users until stop closes, checking that
// each write's next read shows it; it counts writes and failures (a
// failed request or a read that misses the write before it).
type writeLoop struct {
	writes, failures atomic.Int64
	mu               sync.Mutex
	first            []string
}

func (w *writeLoop) run(ctx context.Context, app *conduit.App, worker int, stop <-chan struct{}) {
	fail := func(format string, args ...any) {
		w.failures.Add(1)
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.first) < 5 {
			w.first = append(w.first, fmt.Sprintf(format, args...))
		}
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		name := fmt.Sprintf("w%d_%d", worker, i)
		u, err := app.RegisterUser(ctx, conduit.Registration{Username: name, Email: name + "@example.com", Password: "password"})
		if err != nil {
			fail("register %s: %v", name, err)
			continue
		}
		w.writes.Add(1)
		if got, err := app.User(ctx, u.ID); err != nil || got.Username != name {
			fail("read after registering %s: %q, %v", name, got.Username, err)
		}
		renamed := name + "_r"
		if _, err := app.UpdateUser(ctx, u.ID, conduit.UserUpdate{Username: &renamed, Bio: &name}); err != nil {
			fail("rename %s: %v", name, err)
			continue
		}
		w.writes.Add(1)
		if got, err := app.Profile(ctx, "", renamed); err != nil || got.Bio != name {
			fail("read after renaming %s: %+v, %v", name, got, err)
		}
	}
}

// generation returns the serving generation of a projection.
func generation(t *testing.T, db *pgxpool.Pool, name string) int64 {
	t.Helper()
	var g int64
	if err := db.QueryRow(context.Background(), "SELECT generation FROM conduit.projections WHERE name = $1", name).Scan(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

// catalog returns the read model's indexes and constraints with their
// definitions, for comparing.
func catalog(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := db.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT string_agg(indexdef, ';' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'conduit'),
		(SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), ';' ORDER BY k.conname)
			FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = 'conduit'))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRebuildOnline: while users register and rename themselves, the
// projections are rebuilt online (users twice): no request fails, every
// write shows in the read that follows it, each rebuild serves the next
// generation with the same indexes and constraints and leaves no schema
// behind, and the rebuilt read model equals one rebuilt offline from
// scratch.
func TestRebuildOnline(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	jake, celeb := register(t, app, "jake"), register(t, app, "celeb")
	art, err := app.PublishArticle(ctx, jake.ID, conduit.NewArticle{Title: "T", Description: "d", Body: "b", TagList: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.FavoriteArticle(ctx, celeb.ID, art.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Follow(ctx, celeb.ID, "jake"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddComment(ctx, celeb.ID, art.Slug, "nice"); err != nil {
		t.Fatal(err)
	}

	tables := catalog(t, db)
	var w writeLoop
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { w.run(ctx, app, i, stop) })
	}
	waitWrites := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for w.writes.Load() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitWrites(60)
	for _, name := range []string{projectors.UsersName, projectors.BlogName, projectors.CommentsName, projectors.UsersName} {
		before := generation(t, db, name)
		var batches int
		gen, err := app.RebuildOnline(ctx, name, func(projectors.Progress) { batches++ })
		if err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
		if gen != before+1 || generation(t, db, name) != gen || batches == 0 {
			t.Fatalf("rebuild %s: generation %d (was %d, stored %d), %d batches", name, gen, before, generation(t, db, name), batches)
		}
		waitWrites(w.writes.Load() + 20) // writes go on after the switch
	}
	close(stop)
	wg.Wait()
	if n := w.failures.Load(); n > 0 {
		t.Fatalf("%d of %d writes failed or were not read back, first: %v", n, w.writes.Load(), w.first)
	}
	t.Logf("%d writes during the rebuilds", w.writes.Load())
	var left int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'conduit\\_%\\_g%'").Scan(&left); err != nil || left != 0 {
		t.Fatalf("generation schemas left: %d, %v", left, err)
	}
	if got := catalog(t, db); got != tables {
		t.Fatalf("indexes and constraints after the rebuilds:\n %s\nbefore:\n %s", got, tables)
	}

	caughtUp(t, db, app)
	online := dumpReadModel(t, db)
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	offline := conduittest.Start(t, db, func(a *conduit.App) error { return a.Rebuild(ctx) })
	caughtUp(t, db, offline)
	if got := dumpReadModel(t, db); got != online {
		t.Fatalf("online rebuild differs from a rebuild from scratch:\n online  %s\n offline %s", online, got)
	}
}

// TestStaleVersionRebuildsAtStart: a projection whose stored version
// differs from the declared one is rebuilt online when the application
// starts, instead of serving its stale rows; one rebuilt offline before
// the start is not rebuilt again.
func TestStaleVersionRebuildsAtStart(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	register(t, app, "jake")
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "UPDATE conduit.projections SET version = 0 WHERE name = 'users'"); err != nil {
		t.Fatal(err)
	}
	// Rows an older projection code left: the rebuild must replace them.
	if _, err := db.Exec(ctx, "UPDATE conduit.users SET bio = 'stale'"); err != nil {
		t.Fatal(err)
	}
	restarted := conduittest.Start(t, db, nil)
	deadline := time.Now().Add(time.Minute)
	for generation(t, db, projectors.UsersName) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("users not rebuilt at start-up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := restarted.Profile(ctx, "", "jake")
	if err != nil || p.Bio != "" {
		t.Fatalf("profile after the rebuild: %+v, %v", p, err)
	}
	var version int64
	if err := db.QueryRow(ctx, "SELECT version FROM conduit.projections WHERE name = 'users'").Scan(&version); err != nil || version != 1 {
		t.Fatalf("stored version %d, %v; want 1", version, err)
	}
	if err := restarted.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Exec(ctx, "UPDATE conduit.projections SET version = 0 WHERE name = 'users'"); err != nil {
		t.Fatal(err)
	}
	offline := conduittest.Start(t, db, func(a *conduit.App) error { return a.Rebuild(ctx, projectors.UsersName) })
	caughtUp(t, db, offline)
	time.Sleep(1500 * time.Millisecond) // past a poll of the rebuild requests
	var requested bool
	err = db.QueryRow(ctx, "SELECT version, rebuild_requested_at IS NOT NULL OR building_generation IS NOT NULL FROM conduit.projections WHERE name = 'users'").
		Scan(&version, &requested)
	if err != nil || version != 1 || requested || generation(t, db, projectors.UsersName) != 2 {
		t.Fatalf("after an offline rebuild: version %d, rebuild requested or running %v, generation %d, %v",
			version, requested, generation(t, db, projectors.UsersName), err)
	}
}

// TestRebuildOnlineInterrupted: a rebuild stopped before its switch leaves
// the serving generation serving, drops what it built and says why it
// stopped; the next rebuild starts over and switches.
func TestRebuildOnlineInterrupted(t *testing.T) {
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	register(t, app, "jake")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := app.RebuildOnline(ctx, projectors.UsersName, func(projectors.Progress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: %v, want context.Canceled", err)
	}
	var building *int64
	var failure *string
	var left int
	err = db.QueryRow(context.Background(), `SELECT building_generation, build_error,
		(SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'conduit\_users\_g%')
		FROM conduit.projections WHERE name = 'users'`).Scan(&building, &failure, &left)
	if err != nil || building != nil || failure == nil || left != 0 || generation(t, db, projectors.UsersName) != 1 {
		t.Fatalf("after the interrupted rebuild: building %v, error %v, schemas left %d, generation %d, %v",
			building, failure, left, generation(t, db, projectors.UsersName), err)
	}
	if _, err := app.Profile(context.Background(), "", "jake"); err != nil {
		t.Fatal(err)
	}
	if gen, err := app.RebuildOnline(context.Background(), projectors.UsersName, nil); err != nil || gen != 2 {
		t.Fatalf("rebuild after the interrupted one: generation %d, %v", gen, err)
	}
}

// TestRebuildOnlineLongReader: a switch does not hold up reads behind a
// long reader of the serving tables: it gives up its lock after a moment
// and tries again, and switches once the reader is done.
func TestRebuildOnlineLongReader(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	register(t, app, "jake")
	reader, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx)
	if _, err := reader.Exec(ctx, "SELECT count(*) FROM conduit.users"); err != nil {
		t.Fatal(err)
	}
	filled := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := app.RebuildOnline(ctx, projectors.UsersName, func(projectors.Progress) { once.Do(func() { close(filled) }) })
		done <- err
	}()
	<-filled
	time.Sleep(700 * time.Millisecond) // the switch is trying to lock the tables
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := app.Profile(rctx, "", "jake"); err != nil {
		t.Fatalf("read while the switch waits for a long reader: %v", err)
	}
	if generation(t, db, projectors.UsersName) != 1 {
		t.Fatal("switched while a reader held the serving tables")
	}
	if err := reader.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || generation(t, db, projectors.UsersName) != 2 {
		t.Fatalf("rebuild after the reader: %v, generation %d", err, generation(t, db, projectors.UsersName))
	}
}
