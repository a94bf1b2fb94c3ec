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
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(2)
	}
	pool, err := pgxpool.New(ctx, conn)
	if err != nil {
		fail(err)
	}
	s, err := postgres.New(ctx, pool, postgres.Config{})
	if err != nil {
		fail(err)
	}
	sub, err := s.Subscribe(ctx, eventstore.SubscribeOptions{Name: "failover"})
	if err != nil {
		fail(err)
	}
	<-sub.Events()
	fmt.Println("READY")
	select {}
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
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	holder := exec.Command(exe, "-test.run=^$")
	holder.Env = append(os.Environ(), holderEnv+"="+conn)
	holder.Stderr = os.Stderr
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "READY" {
			t.Fatalf("holder said %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("holder not ready")
	}

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
