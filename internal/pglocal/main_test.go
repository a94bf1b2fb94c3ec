package pglocal

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a helper process instead of
// running tests.
const helperEnv = "PGLOCAL_TEST_HELPER"

func init() {
	// Keep the main goroutine on the main thread, so that no test
	// goroutine runs there: a locked goroutine that exits on the main
	// thread wedges it instead of ending it, and thread-exit tests would
	// then see no parent-death signal.
	runtime.LockOSThread()
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper runs a helper mode and returns the exit code.
func runHelper(mode string) int {
	switch mode {
	case "throwaway":
		// Start a throwaway cluster, report it, and wait to be killed.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := Start(ctx, Config{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("READY %s %d\n", c.tempRoot, c.PID())
		time.Sleep(time.Hour)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
}

// testLogger returns a logger that writes to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startCluster starts a cluster and stops it at cleanup.
func startCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// waitGone waits up to d for process pid to exit.
func waitGone(t testing.TB, pid int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !inspectProcess(pid).alive {
			return
		}
	}
	t.Fatalf("process %d still alive after %v", pid, d)
}

// serverUID returns the uid the server runs as.
func serverUID(t testing.TB) int {
	t.Helper()
	a, err := serverAccount("")
	if err != nil {
		t.Fatal(err)
	}
	if a == nil {
		return os.Geteuid()
	}
	return int(a.uid)
}

// TestParentDeathStopsServer kills a process that runs a throwaway
// cluster and checks that the parent-death signal stops its server (as
// another user when running as root) and that the next Start removes the
// directory it left. It must not run in parallel with tests that start
// throwaway clusters, which might remove that directory first.
func TestParentDeathStopsServer(t *testing.T) {
	if os.Geteuid() == 0 && !hasCapKill() {
		t.Skip("root without CAP_KILL cannot deliver a parent-death signal to another user")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=throwaway")
	cmd.Stderr = t.Output()
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
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	var root string
	var pid int
	select {
	case line := <-lines:
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != "READY" {
			t.Fatalf("helper said %q", line)
		}
		root = fields[1]
		if pid, err = strconv.Atoi(fields[2]); err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("helper did not start its cluster")
	}
	if uid := processUID(t, pid); uid != serverUID(t) {
		t.Errorf("server runs as uid %d, want %d", uid, serverUID(t))
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid, 10*time.Second)
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("the killed helper's directory should still be there: %v", err)
	}

	startCluster(t, Config{})
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("Start left the stale directory %s (stat: %v)", root, err)
	}
}

// processUID returns the real uid of process pid.
func processUID(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return 0
}

// TestPdeathsigWithCredential checks, without PostgreSQL, the two facts
// the process model rests on: the parent-death signal fires when the
// forking thread exits (not only the process), and it survives
// SysProcAttr.Credential, which Go applies before PR_SET_PDEATHSIG.
func TestPdeathsigWithCredential(t *testing.T) {
	t.Parallel()
	if !pdeathsigSupported {
		t.Skip("no parent-death signal on " + runtime.GOOS)
	}
	a, err := serverAccount("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cred      *syscall.Credential
		pdeathsig syscall.Signal
		wantDeath bool
	}{
		{"pdeathsig", nil, syscall.SIGKILL, true},
		{"no pdeathsig", nil, 0, false},
	}
	if a != nil {
		if !hasCapKill() {
			t.Log("root without CAP_KILL: a parent-death signal to another user is not delivered")
		}
		cases = append(cases,
			struct {
				name      string
				cred      *syscall.Credential
				pdeathsig syscall.Signal
				wantDeath bool
			}{"pdeathsig and credential", a.credential(), syscall.SIGKILL, hasCapKill()})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("sleep", "60")
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tc.cred}
			if tc.pdeathsig != 0 {
				setPdeathsig(cmd.SysProcAttr, tc.pdeathsig)
			}
			started := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				started <- cmd.Start()
				// Returning while locked terminates this OS thread.
			}()
			if err := <-started; err != nil {
				t.Fatal(err)
			}
			if tc.cred != nil {
				if uid := processUID(t, cmd.Process.Pid); uid != int(tc.cred.Uid) {
					t.Errorf("child runs as uid %d, want %d", uid, tc.cred.Uid)
				}
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if !tc.wantDeath {
					t.Fatalf("child exited (%v) although it has no parent-death signal", err)
				}
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != tc.pdeathsig {
					t.Errorf("child exited with %v, want signal %v", err, tc.pdeathsig)
				}
			case <-time.After(time.Second):
				binDir, _ := FindBinDir()
				_ = signalServer(cmd.Process.Pid, syscall.SIGKILL, false, a, binDir)
				<-exited
				if tc.wantDeath {
					t.Fatal("child survived the exit of the thread that started it")
				}
			}
		})
	}
}
