package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// holderEnv makes the test binary run as a subscription holder process
// (see TestMain) instead of running tests.
const holderEnv = "COHORT_TEST_SUBSCRIPTION_HOLDER"

// runHolder subscribes persistently on conn, prints READY once it receives
// its first event (so it surely holds the subscription), then waits to be
// killed.
func runHolder(conn string) {
	sub := holderSubscribe(conn, postgres.Config{}, eventstore.SubscribeOptions{Name: "failover"})
	<-sub.Events()
	fmt.Println("READY")
	select {}
}

// holderSubscribe opens a store on conn and subscribes, for a holder
// process; it exits the process when it fails.
func holderSubscribe(conn string, cfg postgres.Config, opts eventstore.SubscribeOptions) eventstore.Subscription {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, conn)
	if err != nil {
		holderFail(err)
	}
	s, err := postgres.New(ctx, pool, cfg)
	if err != nil {
		holderFail(err)
	}
	sub, err := s.Subscribe(ctx, opts)
	if err != nil {
		holderFail(err)
	}
	return sub
}

// holderFail ends a holder process with err.
func holderFail(err error) {
	fmt.Fprintln(os.Stderr, "holder:", err)
	os.Exit(2)
}

// startHolder runs the test binary as a holder process (env set to conn)
// and waits for it to print READY; the process is killed at cleanup. lines
// carries what it prints after that.
func startHolder(t *testing.T, env, conn string) (holder *exec.Cmd, lines <-chan string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	holder = exec.Command(exe, "-test.run=^$")
	holder.Env = append(os.Environ(), env+"="+conn)
	holder.Stderr = os.Stderr
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
	})
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- strings.TrimSpace(sc.Text())
		}
	}()
	select {
	case line := <-ch:
		if line != "READY" {
			t.Fatalf("holder said %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("holder not ready")
	}
	return holder, ch
}

// TestFailoverWhenHolderDies kills the process holding a persistent
// subscription with SIGKILL: a waiting process takes over within 2 s.
func TestFailoverWhenHolderDies(t *testing.T) {
	ctx := t.Context()
	conn := newDatabase(t)
	s := mustOpen(t, conn, postgres.Config{})
	if _, err := s.Append(ctx, "before", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	holder, _ := startHolder(t, holderEnv, conn)

	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "failover"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := s.Append(ctx, "after", eventstore.Any, events(1)); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-sub.Events():
		t.Fatalf("a second subscriber received %d events while the holder was alive", len(b))
	case <-time.After(time.Second):
	}
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = holder.Wait()
	select {
	case b := <-sub.Events():
		took := time.Since(killed)
		t.Logf("took over %v after the holder was killed", took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("took over after %v, want within 2s", took)
		}
		// It resumes from the holder's checkpoint: at least the event the
		// holder never acknowledged, in order.
		if b[len(b)-1].StreamID != "after" && len(b) < 2 {
			t.Errorf("first batch after takeover: %d events ending in %q", len(b), b[len(b)-1].StreamID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no takeover within 5s of the holder's death")
	}
}
