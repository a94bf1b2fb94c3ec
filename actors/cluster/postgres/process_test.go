package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
)

// memberEnv, set to a database's connection string, makes the test binary
// run as a member process (runMemberProcess) instead of running tests.
const memberEnv = "COHORT_TEST_CLUSTER_MEMBER"

// memberTTLEnv is the member process's Config.TTL, as time.ParseDuration
// reads it.
const memberTTLEnv = "COHORT_TEST_CLUSTER_MEMBER_TTL"

// memberPort is the port a member process advertises; nothing listens on
// it, and no node of the test process advertises it (see fakePort).
const memberPort = 39001

// runMemberProcess joins the cluster on conn as a member (see mustJoin),
// prints "READY <member id>", and, once it is expelled, "EXPELLED
// <cause>"; it runs until killed.
func runMemberProcess(conn string) {
	ttl, err := time.ParseDuration(os.Getenv(memberTTLEnv))
	if err != nil {
		memberFail(err)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, conn)
	if err != nil {
		memberFail(err)
	}
	n, err := buildNode(ctx, pool, fast(ttl), memberPort)
	if err != nil {
		memberFail(err)
	}
	if err := n.join(memberPort); err != nil {
		memberFail(err)
	}
	fmt.Println("READY", n.id())
	<-n.provider.Expelled()
	var expelled *clusterpg.ExpelledError
	if !errors.As(n.provider.Err(), &expelled) {
		memberFail(fmt.Errorf("expelled with %v", n.provider.Err()))
	}
	fmt.Println("EXPELLED", expelled.Cause)
	select {}
}

// memberFail ends a member process with err.
func memberFail(err error) {
	fmt.Fprintln(os.Stderr, "member process:", err)
	os.Exit(2)
}

// memberProcess is a member process started by a test.
type memberProcess struct {
	cmd   *exec.Cmd
	id    string      // its member id
	lines chan string // what it prints after READY
}

// startMemberProcess runs the test binary as a member process on conn
// with ttl and waits until it has joined; it is killed at cleanup.
func startMemberProcess(t *testing.T, conn string, ttl time.Duration) *memberProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), memberEnv+"="+conn, memberTTLEnv+"="+ttl.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	p := &memberProcess{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- strings.TrimSpace(sc.Text())
		}
	}()
	select {
	case line := <-p.lines:
		id, ok := strings.CutPrefix(line, "READY ")
		if !ok {
			t.Fatalf("member process said %q", line)
		}
		p.id = id
	case <-time.After(slow):
		t.Fatal("member process did not join")
	}
	return p
}

// signal sends sig to the member process, and returns when.
func (p *memberProcess) signal(t *testing.T, sig syscall.Signal) time.Time {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// mustSay waits up to within for the member process to print want.
func (p *memberProcess) mustSay(t *testing.T, within time.Duration, want string) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("member process ended; want %q", want)
		}
		if line != want {
			t.Fatalf("member process said %q, want %q", line, want)
		}
	case <-time.After(within):
		t.Fatalf("member process did not say %q within %v", want, within)
	}
}
