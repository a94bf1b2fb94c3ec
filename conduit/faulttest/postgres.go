package faulttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cohort-dev/cohort/internal/pglocal"
)

// dirPrefix names the temporary directories of this package's clusters.
const dirPrefix = "cohort-fault-"

// Postgres is a local PostgreSQL cluster that can be crashed and started
// again on the same data directory and port, so that its clients see the
// same server come back.
//
// pglocal runs the server as a direct child process (for its parent-death
// signal), and "pg_ctl restart" would start the new server detached from
// it; so RestartImmediate does what "pg_ctl restart -m immediate" does in
// two steps: "pg_ctl stop -m immediate" (SIGQUIT to the postmaster: no
// checkpoint, crash recovery at the next start), then pglocal.Start on the
// same data directory and port.
type Postgres struct {
	root   string // removed by Close
	binDir string
	cfg    pglocal.Config

	mu      sync.Mutex
	cluster *pglocal.Cluster
}

// StartPostgres initializes and starts a cluster in a fresh temporary
// directory, on a fixed free port outside the ephemeral range (so that no
// outgoing connection takes it while the server is down). binDir may be
// empty (pglocal.FindBinDir).
func StartPostgres(ctx context.Context, binDir string, log *slog.Logger) (*Postgres, error) {
	if binDir == "" {
		var err error
		if binDir, err = pglocal.FindBinDir(); err != nil {
			return nil, err
		}
	}
	removeStaleDirs(log)
	root, err := os.MkdirTemp("", dirPrefix+"*")
	if err != nil {
		return nil, err
	}
	// The server user must reach the data directory when we run as root.
	if err := os.Chmod(root, 0o755); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	p := &Postgres{root: root, binDir: binDir, cfg: pglocal.Config{
		DataDir: filepath.Join(root, "data"),
		Port:    port,
		BinDir:  binDir,
		Logger:  log,
	}}
	if p.cluster, err = pglocal.Start(ctx, p.cfg); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return p, nil
}

// ConnString returns the URL of database on the cluster.
func (p *Postgres) ConnString(database string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cluster.ConnString(database)
}

// Port returns the server's port, the same across restarts.
func (p *Postgres) Port() int { return p.cfg.Port }

// CreateDatabase creates database name.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	p.mu.Lock()
	c := p.cluster
	p.mu.Unlock()
	return c.CreateDatabase(ctx, name, "")
}

// LogPath returns the server log's path.
func (p *Postgres) LogPath() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cluster.LogPath()
}

// Restart is the timing of one RestartImmediate.
type Restart struct {
	Stopping time.Time // pg_ctl stop -m immediate began
	Down     time.Time // the postmaster had exited
	Up       time.Time // the server accepted connections again
}

// RestartImmediate stops the server with "pg_ctl stop -m immediate" and,
// after downtime, starts it again on the same data directory and port.
func (p *Postgres) RestartImmediate(ctx context.Context, downtime time.Duration) (Restart, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r Restart
	r.Stopping = time.Now()
	if err := p.pgCtl(ctx, "stop", "-D", p.cfg.DataDir, "-m", "immediate", "-w", "-t", "60"); err != nil {
		return r, err
	}
	select {
	case <-p.cluster.Done():
	case <-time.After(30 * time.Second):
		return r, errors.New("faulttest: the postmaster did not exit after pg_ctl stop -m immediate")
	}
	r.Down = time.Now()
	if err := p.cluster.Stop(); err != nil && !errors.Is(err, pglocal.ErrServerExited) {
		return r, err
	}
	if err := sleepCtx(ctx, downtime); err != nil {
		return r, err
	}
	c, err := pglocal.Start(ctx, p.cfg)
	if err != nil {
		return r, fmt.Errorf("faulttest: start PostgreSQL again: %w", err)
	}
	p.cluster = c
	r.Up = time.Now()
	return r, nil
}

// pgCtl runs pg_ctl, as the server's OS user when we run as root.
func (p *Postgres) pgCtl(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, "pg_ctl"), args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
	if os.Geteuid() == 0 {
		name := p.cfg.User
		if name == "" {
			name = pglocal.DefaultUser
		}
		u, err := user.Lookup(name)
		if err != nil {
			return fmt.Errorf("faulttest: server user: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("faulttest: pg_ctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// Close stops the server and removes its directory.
func (p *Postgres) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.cluster.Stop()
	if errors.Is(err, pglocal.ErrServerExited) {
		err = nil
	}
	return errors.Join(err, os.RemoveAll(p.root))
}

// removeStaleDirs removes the directories of clusters whose owner process
// is gone and whose server has stopped (a persistent cluster's server
// gets a fast shutdown when its parent dies).
func removeStaleDirs(log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*")) // the pattern is valid
	for _, dir := range dirs {
		if alive(pidIn(filepath.Join(dir, "owner"), 0)) || alive(pidIn(filepath.Join(dir, "data", "postmaster.pid"), 0)) {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue // maybe being created right now
		}
		if err := os.RemoveAll(dir); err == nil && log != nil {
			log.Info("removed the cluster of an exited fault suite", "dir", dir)
		}
	}
}

// pidIn returns the number on the first line of path, or def.
func pidIn(path string, def int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return def
	}
	return pid
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
