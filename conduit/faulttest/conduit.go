package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildConduit builds cmd/conduit into dir and returns the binary's path;
// with race, the binary has the race detector.
func BuildConduit(ctx context.Context, dir string, race bool) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("faulttest: the go command is not on PATH: %w", err)
	}
	bin := filepath.Join(dir, "conduit")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, goTool, append(args, "github.com/cohort-dev/cohort/cmd/conduit")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("faulttest: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// FreePort returns a free TCP port on 127.0.0.1 below the ephemeral port
// range, so that no outgoing connection takes it while its server is down
// and the server can listen on it again.
func FreePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				low = n
			}
		}
	}
	base := max(1024, low/2)
	for range 200 {
		port := base + rand.IntN(low-base)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("faulttest: no free port below the ephemeral range")
}

// ConduitConfig describes a Conduit process.
type ConduitConfig struct {
	Binary      string   // built by BuildConduit
	DatabaseURL string   // its database
	Addr        string   // listen address, e.g. 127.0.0.1:20000; the same across restarts
	DataDir     string   // -data (holds only the generated master key with DATABASE_URL, JWT_SECRET and CLAIMS_KEY set)
	JWTSecret   string   // the same across restarts, so that tokens stay valid
	ClaimsKey   string   // the same across restarts and processes, or Conduit refuses to start
	Args        []string // more flags
}

// Conduit is a running Conduit process.
type Conduit struct {
	API     string    // http://addr/api
	Admin   string    // the operations listener: http://addr
	Started time.Time // the process started
	Serving time.Time // it logged that it serves

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // its exit status, once done is closed
}

// StartConduit starts Conduit and waits until it serves, logging its
// output to log.
func StartConduit(ctx context.Context, cfg ConduitConfig, log *ServerLog) (*Conduit, error) {
	adminPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	admin := net.JoinHostPort("127.0.0.1", strconv.Itoa(adminPort))
	args := append([]string{"-addr", cfg.Addr, "-admin-addr", admin, "-data", cfg.DataDir, "-log-json"}, cfg.Args...)
	cmd := exec.Command(cfg.Binary, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+cfg.DatabaseURL, "JWT_SECRET="+cfg.JWTSecret, "CLAIMS_KEY="+cfg.ClaimsKey, "PORT=")
	serving := make(chan string, 1)
	w := log.process(func(line []byte) {
		var l struct {
			API string `json:"api"`
		}
		if bytes.Contains(line, []byte(`"api"`)) && json.Unmarshal(line, &l) == nil && l.API != "" {
			select {
			case serving <- l.API:
			default:
			}
		}
	})
	cmd.Stdout, cmd.Stderr = w, w
	// Killed with this process, even by a test timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c := &Conduit{cmd: cmd, done: make(chan struct{}), Admin: "http://" + admin}
	if err := startLocked(cmd, &c.err, c.done); err != nil {
		return nil, fmt.Errorf("faulttest: start conduit: %w", err)
	}
	c.Started = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	select {
	case api := <-serving:
		c.Serving = time.Now()
		c.API = strings.Replace(api, "localhost", "127.0.0.1", 1)
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("faulttest: conduit exited before serving: %v", c.err)
	case <-ctx.Done():
		_ = c.Kill()
		return nil, fmt.Errorf("faulttest: conduit not serving: %w", ctx.Err())
	}
}

// startLocked starts cmd from a goroutine locked to its OS thread, which
// stays blocked in Wait until the process exits: Linux sends the
// parent-death signal when the thread that forked the child exits.
func startLocked(cmd *exec.Cmd, exitErr *error, done chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		*exitErr = cmd.Wait()
		close(done)
	}()
	return <-started
}

// Pid returns the process id.
func (c *Conduit) Pid() int { return c.cmd.Process.Pid }

// Exited returns a channel closed once the process has exited.
func (c *Conduit) Exited() <-chan struct{} { return c.done }

// Kill kills the process with SIGKILL and waits for it.
func (c *Conduit) Kill() error {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("faulttest: conduit still running 30 s after SIGKILL")
	}
}

// Stop shuts the process down with SIGTERM and expects a clean exit.
func (c *Conduit) Stop() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("faulttest: conduit exited with %v after SIGTERM", c.err)
		}
		return nil
	case <-time.After(2 * time.Minute):
		_ = c.Kill()
		return errors.New("faulttest: conduit did not stop within 2 minutes of SIGTERM")
	}
}

// ServerLog collects the output of every Conduit process of a run in one
// file, and notices data race reports.
type ServerLog struct {
	mu    sync.Mutex
	f     *os.File
	path  string
	runs  int
	races int
	tail  []string
}

// NewServerLog creates the log at path.
func NewServerLog(path string) (*ServerLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &ServerLog{f: f, path: path}, nil
}

// Path returns the log's path.
func (l *ServerLog) Path() string { return l.path }

// Races returns how many data race reports the processes printed.
func (l *ServerLog) Races() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.races
}

// Tail returns the last n lines.
func (l *ServerLog) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail[max(0, len(l.tail)-n):], "\n")
}

// Close closes the file.
func (l *ServerLog) Close() error { return l.f.Close() }

const tailLines = 400

// process returns the writer of one process's output; onLine sees each
// line.
func (l *ServerLog) process(onLine func([]byte)) *lineWriter {
	l.mu.Lock()
	l.runs++
	run := l.runs
	l.mu.Unlock()
	return &lineWriter{log: l, run: run, onLine: onLine}
}

func (l *ServerLog) add(run int, line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("[%d] %s", run, line)
	fmt.Fprintln(l.f, s)
	if bytes.Contains(line, []byte("WARNING: DATA RACE")) {
		l.races++
	}
	l.tail = append(l.tail, s)
	if len(l.tail) > 2*tailLines {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailLines:]...)
	}
}

// lineWriter splits a process's output into lines.
type lineWriter struct {
	log    *ServerLog
	run    int
	onLine func([]byte)
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := w.buf[:i]
		w.log.add(w.run, line)
		w.onLine(line)
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
