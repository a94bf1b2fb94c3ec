package actors_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// helperEnv, set to a database's connection string, makes the test binary
// run as a helper process (runHandlerHolder) instead of running tests.
const helperEnv = "COHORT_ACTORS_HOLDER_DB"

// runHelperProcess runs the helper process a test asked for, if this binary
// was started as one, and reports whether it was.
func runHelperProcess() bool {
	if conn := os.Getenv(placedNodeEnv); conn != "" {
		runPlacedNode(conn)
		return true
	}
	if conn := os.Getenv(benchMemberEnv); conn != "" {
		runBenchMember(conn)
		return true
	}
	conn := os.Getenv(helperEnv)
	if conn == "" {
		return false
	}
	runHandlerHolder(conn)
	return true
}

// exitTB fails a helper process: it has no testing.T.
type exitTB struct{ testing.TB }

func (exitTB) Helper()                      {}
func (exitTB) Fatal(args ...any)            { fmt.Fprintln(os.Stderr, args...); os.Exit(2) }
func (exitTB) Fatalf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...); os.Exit(2) }

// runHandlerHolder runs a bank whose handler "h" holds its subscription,
// prints "ready" once it does, and runs until killed.
func runHandlerHolder(conn string) {
	tb := exitTB{}
	ctx := context.Background()
	app := newBank(tb, helperStore(tb, conn))
	must(tb, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })}))
	must(tb, app.Start(ctx))
	r, err := app.Dispatch(ctx, OpenAccount{ID: "holder"})
	must(tb, err)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(tb, app.WaitFor(ctx, "h", r.Position))
	fmt.Println("ready")
	select {}
}

// helperStore opens a helper process's store on the database of conn.
func helperStore(tb testing.TB, conn string) *postgres.Store {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, conn)
	must(tb, err)
	store, err := postgres.New(ctx, pool, postgres.Config{})
	must(tb, err)
	return store
}

// startHelper runs this test binary as a helper process, with env set to
// conn, and waits for it to print "ready"; the scanner reads the lines it
// prints after that. The process is killed (and thawed first, if frozen)
// at cleanup.
func startHelper(t testing.TB, env, conn string) (*os.Process, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+conn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s := bufio.NewScanner(out)
	ready := make(chan bool, 1)
	go func() { ready <- s.Scan() && s.Text() == "ready" }()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the helper process failed")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the helper process is not ready")
	}
	return cmd.Process, s
}

// TestHandlerFailoverWhenProcessDies: another process holds a handler's
// subscription; when it is killed, this one takes over from its
// checkpoint and handles what follows.
func TestHandlerFailoverWhenProcessDies(t *testing.T) {
	conn := actorstest.PostgresDatabase(t)
	holder, _ := startHelper(t, helperEnv, conn)

	var rec recorder
	app := newBank(t, actorstest.PostgresStore(t, conn))
	must(t, app.RegisterHandler(actors.HandlerConfig{Name: "h", Handler: rec.handler()}))
	actorstest.Start(t, app)
	open(t, app, "a1", "a2")
	if rec.len() != 0 {
		t.Fatal("two processes ran the handler")
	}
	must(t, holder.Kill())
	killed := time.Now()
	var after []int64
	for i := range 3 {
		after = append(after, dispatch(t, app, OpenAccount{ID: fmt.Sprintf("b%d", i)}).Position)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, app.WaitFor(ctx, "h", after[2]))
	t.Logf("took over %v after the holder was killed", time.Since(killed).Round(time.Millisecond))
	seen := rec.positions()
	for _, p := range after {
		if seen[p] == 0 {
			t.Errorf("position %d not handled", p)
		}
	}
}
