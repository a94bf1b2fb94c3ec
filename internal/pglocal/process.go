package pglocal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a process started by startLocked.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result; read it only after done is closed
}

// startLocked starts cmd from a goroutine locked to its OS thread and keeps
// that goroutine, and so the thread, blocked in Wait until the process has
// exited. Linux sends the parent-death signal (SysProcAttr.Pdeathsig) when
// the forking thread exits, so it now fires only when this whole process
// dies. The thread is never unlocked: the runtime terminates it when the
// goroutine returns, which is harmless once the child is gone.
func startLocked(cmd *exec.Cmd) (*child, error) {
	c := &child{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// waitDone waits up to d for c to exit and reports whether it did.
func (c *child) waitDone(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

// exited reports whether c has exited.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// signalNames maps signals to the names "pg_ctl kill" takes.
var signalNames = map[syscall.Signal]string{
	syscall.SIGINT:  "INT",
	syscall.SIGQUIT: "QUIT",
	syscall.SIGTERM: "TERM",
	syscall.SIGKILL: "KILL",
}

// signalServer sends sig to the postmaster pid (to its whole process group
// if group is set). When this process may not signal the server's user (a
// root without CAP_KILL), it runs "pg_ctl kill" as that user instead, which
// reaches the postmaster only; its children follow it.
func signalServer(pid int, sig syscall.Signal, group bool, a *account, binDir string) error {
	target := pid
	if group {
		target = -pid
	}
	err := syscall.Kill(target, sig)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if !errors.Is(err, syscall.EPERM) || a == nil || binDir == "" {
		return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
	}
	name, ok := signalNames[sig]
	if !ok {
		return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
	}
	cmd := exec.Command(filepath.Join(binDir, "pg_ctl"), "kill", name, strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.credential()}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	if out, perr := cmd.CombinedOutput(); perr != nil {
		return fmt.Errorf("signal %v to pid %d: %w (pg_ctl kill as %s: %v: %s)", sig, pid, err, a.name, perr, bytes.TrimSpace(out))
	}
	return nil
}

// logName is the server log's file name in the data directory.
const logName = "cohort-server.log"

// maxLogSize is the size above which Start moves the log to logName.1.
const maxLogSize = 16 << 20

// openLog opens the server log in dataDir for appending, rotating a large
// one, and returns it with its current size.
func openLog(dataDir string, a *account) (*os.File, int64, error) {
	path := filepath.Join(dataDir, logName)
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1") // best effort: appending to a big log is still fine
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	if err := a.chown(path); err != nil {
		f.Close()
		return nil, 0, err
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open server log: %w", err)
	}
	return f, off, nil
}

// logTail returns up to the last n lines written to path after offset.
func logTail(path string, offset int64, n int) string {
	const maxBytes = 16 << 10
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	offset = max(offset, fi.Size()-maxBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, offset, fi.Size()-offset))
	if err != nil {
		return ""
	}
	return lastLines(string(b), n)
}

// lastLines returns the last n non-empty-trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
