package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestConformance builds cmd/conduit, starts it on a fresh data directory
// (so it starts its own PostgreSQL), runs the RealWorld conformance suite
// of ../shared/realworld against it, and stops it with SIGTERM.
func TestConformance(t *testing.T) {
	runSh := realworldSuite(t)
	bin := buildConduit(t)

	dataDir, err := os.MkdirTemp("", "conduit-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	// Traversable by the PostgreSQL server user when the test runs as root.
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })

	srv := startConduit(t, bin, []string{"-data", dataDir, "-admin-addr", "127.0.0.1:0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", runSh, srv.api)
	out, err := cmd.CombinedOutput()
	if !bytes.Contains(out, []byte("CONDUIT-CONFORMANCE PASS")) {
		t.Fatalf("RealWorld suite failed (%v):\n%s\nserver log:\n%s", err, out, srv.log())
	}
	t.Logf("%s", lastLine(out))
	t.Run("metrics", func(t *testing.T) { checkMetrics(t, srv.admin) })
	t.Run("live actors page in a browser", func(t *testing.T) { checkLivePage(t, srv.admin) })
	srv.stop(t)
	t.Run("rebuild", func(t *testing.T) {
		cmd := exec.Command(bin, "rebuild", "-data", dataDir)
		cmd.Env = append(os.Environ(), "DATABASE_URL=", "JWT_SECRET=", "CLAIMS_KEY=", "PORT=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("conduit rebuild: %v\n%s", err, out)
		}
		if !bytes.HasPrefix(out, []byte("rebuilt users, blog, comments: ")) || !bytes.Contains(out, []byte("events/s")) {
			t.Fatalf("conduit rebuild printed %q", out)
		}
		t.Logf("%s", bytes.TrimSpace(out))
	})
}

// realworldSuite returns the suite's run.sh, which sits in shared/ beside
// the repository's clone, and checks that it can run.
func realworldSuite(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	runSh := filepath.Join(filepath.Dir(root), "shared", "realworld", "run.sh")
	if _, err := os.Stat(runSh); err != nil {
		t.Fatalf("the RealWorld suite is missing: %v (the clone must sit beside shared/, which holds realworld/run.sh)", err)
	}
	if _, err := exec.LookPath("newman"); err != nil {
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("the RealWorld suite needs newman, or node and npm to install it: %s not found (apt-get install -y nodejs npm)", tool)
			}
		}
	}
	return runSh
}

// buildConduit builds the command into a temporary directory.
func buildConduit(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "conduit")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// server is a running conduit process.
type server struct {
	cmd    *exec.Cmd
	api    string
	admin  string        // the operations listener's base URL
	exited chan struct{} // closed once the process was waited for
	err    error         // its exit error, once exited is closed

	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// startConduit starts bin with args (after -addr 127.0.0.1:0 -log-json)
// and env (after the test's environment without Conduit's settings) and
// waits until it logs where it serves. The server's admin field is set
// when it has an operations listener.
func startConduit(t *testing.T, bin string, args, env []string) *server {
	t.Helper()
	s := &server{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-log-json"}, args...)...)
	s.cmd.Env = append(append(os.Environ(), "DATABASE_URL=", "JWT_SECRET=", "CLAIMS_KEY=", "MASTER_KEY=", "PORT="), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	apiURL := make(chan string, 1)
	adminURL := make(chan string, 1) // logged before the API's address
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.buf.Write(sc.Bytes())
			s.buf.WriteByte('\n')
			s.mu.Unlock()
			var line struct {
				Msg        string `json:"msg"`
				API        string `json:"api"`
				LiveActors string `json:"live_actors"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				if line.LiveActors != "" {
					adminURL <- line.LiveActors
				}
				if line.API != "" {
					apiURL <- line.API
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case s.api = <-apiURL:
	case <-s.exited:
		t.Fatalf("conduit exited before serving (%v):\n%s", s.err, s.log())
	case <-time.After(3 * time.Minute):
		t.Fatalf("conduit did not start serving within 3 minutes:\n%s", s.log())
	}
	select {
	case s.admin = <-adminURL:
	default:
	}
	res, err := http.Get(s.api + "/tags")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/tags: %v %v\n%s", res, err, s.log())
	}
	res.Body.Close()
	return s
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.signal(t, syscall.SIGTERM)
}

// signal sends sig and expects a clean exit.
func (s *server) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	s.waitStopped(t)
}

// waitStopped expects a clean exit within a minute (of a signal sent).
func (s *server) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		if s.err != nil {
			t.Fatalf("conduit exited with %v:\n%s", s.err, s.log())
		}
	case <-time.After(time.Minute):
		t.Fatalf("conduit did not stop within a minute:\n%s", s.log())
	}
	if !strings.Contains(s.log(), `"msg":"stopped"`) {
		t.Fatalf("no clean shutdown in the log:\n%s", s.log())
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
