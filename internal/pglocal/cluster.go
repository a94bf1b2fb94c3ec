package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxPortAttempts bounds how many free ports Start tries when Config.Port
// is zero.
const maxPortAttempts = 5

// errPortInUse reports that the server could not listen on its port.
var errPortInUse = errors.New("port already in use")

// Cluster is a running PostgreSQL server started by Start. Its methods are
// safe for concurrent use.
type Cluster struct {
	log      *slog.Logger
	binDir   string
	dataDir  string
	tempRoot string // the throwaway directory Stop removes; "" when persistent
	port     int
	password string
	account  *account // the server's OS user; nil when not running as root
	logPath  string
	logFile  *os.File
	child    *child // the postmaster; nil until launched

	stopOnce sync.Once
	stopErr  error
}

// Start starts a cluster as described by cfg and returns once it accepts
// connections. It initializes the data directory first if it holds no
// cluster. If ctx has no deadline, Start gives up after DefaultStartTimeout.
// The caller must call Stop.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	c := &Cluster{log: cfg.Logger, password: cfg.Password}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.start(ctx, cfg); err != nil {
		_ = c.Stop() // the start error is the one worth reporting
		return nil, fmt.Errorf("pglocal: start PostgreSQL: %w", err)
	}
	return c, nil
}

// start does Start's work; on error, Stop cleans up what it left.
func (c *Cluster) start(ctx context.Context, cfg Config) error {
	var err error
	if c.account, err = serverAccount(cfg.User); err != nil {
		return err
	}
	throwaway := cfg.DataDir == ""
	if !throwaway {
		if c.dataDir, err = filepath.Abs(cfg.DataDir); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	if c.binDir, err = c.resolveBinDir(ctx, cfg, majorVersion(c.dataDir)); err != nil {
		return err
	}
	if c.account != nil && pdeathsigSupported && !hasCapKill() {
		c.log.Warn("running as root without CAP_KILL: the server cannot be stopped automatically if this process dies",
			"server_user", c.account.name)
	}

	if throwaway {
		if err := c.makeThrowaway(); err != nil {
			return err
		}
	}
	initialized, err := prepareDataDir(c.dataDir, c.account)
	if err != nil {
		return err
	}
	if err := checkNotRunning(c.dataDir, c.log); err != nil {
		return err
	}
	if !initialized {
		if err := c.initdb(ctx, throwaway); err != nil {
			return err
		}
	}
	var offset int64
	if c.logFile, offset, err = openLog(c.dataDir, c.account); err != nil {
		return err
	}
	c.logPath = c.logFile.Name()

	pdeath := syscall.SIGINT // fast shutdown keeps a persistent cluster tidy
	if throwaway {
		pdeath = syscall.SIGQUIT // immediate shutdown: the data is thrown away
	}
	for attempt := 1; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			pick := freePort
			if cfg.freePort != nil {
				pick = cfg.freePort
			}
			if port, err = pick(); err != nil {
				return err
			}
		}
		err = c.launch(ctx, port, cfg.Settings, pdeath, offset)
		if err == nil {
			break
		}
		if cfg.Port != 0 || !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return err
		}
		c.log.Debug("port taken, trying another", "port", port, "err", err)
		if fi, serr := c.logFile.Stat(); serr == nil {
			offset = fi.Size()
		}
	}
	c.log.Info("PostgreSQL ready", "data_dir", c.dataDir, "port", c.port, "pid", c.PID(),
		"log", c.logPath, "throwaway", throwaway)
	return nil
}

// resolveBinDir checks cfg.BinDir, or, if it is empty, finds the installed
// binaries, preferring major (the version of an existing data directory),
// and failing that gets the build that cfg.Download describes.
func (c *Cluster) resolveBinDir(ctx context.Context, cfg Config, major string) (string, error) {
	dir := cfg.BinDir
	if dir == "" {
		find := findBinDir
		if cfg.findBinDir != nil {
			find = cfg.findBinDir
		}
		found, err := find(major)
		if err == nil || !errors.Is(err, ErrBinariesNotFound) {
			return found, err
		}
		downloaded, derr := cfg.Download.binDir(ctx, c.account, c.log)
		if derr != nil {
			return "", fmt.Errorf("%w; %w", err, derr)
		}
		return downloaded, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("binary directory: %w", err)
	}
	return dir, checkBinDir(dir)
}

// makeThrowaway removes stale throwaway clusters, then creates this one's
// directory with an owner file and chooses its data directory.
func (c *Cluster) makeThrowaway() error {
	removeStale(os.TempDir(), c.account, c.binDir, c.log)
	root, err := os.MkdirTemp("", tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("create throwaway cluster directory: %w", err)
	}
	c.tempRoot = root
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(currentOwner().String()), 0o644); err != nil {
		return fmt.Errorf("write owner file: %w", err)
	}
	if err := c.account.chown(root); err != nil {
		return err
	}
	c.dataDir = filepath.Join(root, "data")
	if c.account != nil {
		if err := checkTraversable(c.dataDir, c.account); err != nil {
			return fmt.Errorf("%w (throwaway clusters live in the temporary directory %s: set TMPDIR to one that user %s can reach, such as /tmp)",
				err, os.TempDir(), c.account.name)
		}
	}
	return nil
}

// initdb initializes the empty data directory. A throwaway cluster skips
// fsync; a persistent one pays it once so that its files survive a crash.
func (c *Cluster) initdb(ctx context.Context, throwaway bool) error {
	args := []string{"-D", c.dataDir, "--username=" + Superuser, "--encoding=UTF8", "--locale=C"}
	if throwaway {
		args = append(args, "--no-sync")
	}
	if c.password == "" {
		args = append(args, "--auth=trust")
	} else {
		pwfile, err := c.writePwfile()
		if err != nil {
			return err
		}
		defer os.Remove(pwfile)
		args = append(args, "--auth=scram-sha-256", "--pwfile="+pwfile)
	}
	c.log.Info("initializing PostgreSQL data directory", "data_dir", c.dataDir, "bin_dir", c.binDir)
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.dataDir
	cmd.Env = c.env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.account.credential()}
	setPdeathsig(cmd.SysProcAttr, syscall.SIGKILL)
	begin := time.Now()
	ch, err := startLocked(cmd)
	if err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	<-ch.done
	if ch.err != nil {
		// The directory was empty: empty it again, so that a half-made
		// cluster (initdb killed, say) does not pass for a real one later.
		if err := emptyDir(c.dataDir); err != nil {
			c.log.Warn("cannot clean up after initdb", "data_dir", c.dataDir, "err", err)
		}
		return fmt.Errorf("initdb %s: %w\n%s", c.dataDir, ch.err, lastLines(out.String(), 20))
	}
	c.log.Debug("initdb done", "data_dir", c.dataDir, "took", time.Since(begin))
	return nil
}

// writePwfile writes the superuser password to a temporary file that the
// server user can read, for initdb --pwfile.
func (c *Cluster) writePwfile() (string, error) {
	f, err := os.CreateTemp("", "cohort-pwfile-*")
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	_, werr := f.WriteString(c.password + "\n")
	if err := errors.Join(werr, f.Close(), c.account.chown(f.Name())); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("password file: %w", err)
	}
	return f.Name(), nil
}

// env returns the environment of initdb and postgres: a clean one, so that
// PG* variables and the caller's locale do not leak into the server.
func (c *Cluster) env() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	home, name := os.Getenv("HOME"), os.Getenv("USER")
	if c.account != nil {
		home, name = c.dataDir, c.account.name
		if fi, err := os.Stat(c.account.home); err == nil && fi.IsDir() {
			home = c.account.home
		}
	}
	if home == "" {
		home = c.dataDir
	}
	env := []string{"PATH=" + path, "HOME=" + home, "USER=" + name, "LOGNAME=" + name, "LC_ALL=C", "LANG=C"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts the postmaster on port and waits until it accepts
// connections. On failure it stops the postmaster again. The log from
// offset on belongs to this launch.
func (c *Cluster) launch(ctx context.Context, port int, settings map[string]string, pdeath syscall.Signal, offset int64) (err error) {
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), serverArgs(c.dataDir, port, settings)...)
	cmd.Stdout, cmd.Stderr = c.logFile, c.logFile
	cmd.Dir = c.dataDir
	cmd.Env = c.env()
	// A process group of its own keeps a terminal's Ctrl-C away from the
	// server: the application shuts it down after draining its own work.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.account.credential()}
	setPdeathsig(cmd.SysProcAttr, pdeath)
	begin := time.Now()
	ch, err := startLocked(cmd)
	if err != nil {
		return fmt.Errorf("run postgres: %w", err)
	}
	defer func() { c.log.Debug("postgres launch", "port", port, "took", time.Since(begin), "err", err) }()
	c.child, c.port = ch, port
	err = c.waitReady(ctx)
	if err == nil {
		return nil
	}
	if c.terminate(c.shutdownSteps()) {
		c.child = nil
	}
	tail := logTail(c.logPath, offset, 30)
	if portTaken(tail) {
		err = fmt.Errorf("%w: %w", errPortInUse, err)
	}
	if tail != "" {
		return fmt.Errorf("%w\nserver log (%s):\n%s", err, c.logPath, tail)
	}
	return err
}

// portTaken reports whether a server log says that the port was taken.
func portTaken(log string) bool {
	return strings.Contains(log, "Address already in use") ||
		strings.Contains(log, "could not create any TCP/IP sockets")
}

// waitReady waits until the postmaster reports itself ready in
// postmaster.pid (so the port is its own, not another server's) and a real
// connection succeeds, the server exits, or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	connString := c.ConnString("postgres")
	delay := 5 * time.Millisecond
	started := false
	for {
		if c.child.exited() {
			return fmt.Errorf("%w during startup: %v", ErrServerExited, c.child.err)
		}
		err := errStarting
		if started = started || c.pidFileReady(); started {
			if err = c.probe(ctx, connString); err == nil {
				return nil
			}
			if permanent(err) {
				return err
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-c.child.done:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("server not ready: %w (last attempt: %v)", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// errStarting says that the postmaster has not reported ready yet.
var errStarting = errors.New("postmaster.pid does not say ready yet")

// pidFileReady reports whether postmaster.pid names the child and says
// "ready": the postmaster then listens and has finished recovery.
func (c *Cluster) pidFileReady() bool {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) > 7 &&
		strings.TrimSpace(lines[0]) == strconv.Itoa(c.child.cmd.Process.Pid) &&
		strings.TrimSpace(lines[7]) == "ready"
}

// probe connects once and checks that the server on the port is this one.
func (c *Cluster) probe(ctx context.Context, connString string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dir string
	if err := conn.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dir); err != nil {
		return err
	}
	if !sameDir(dir, c.dataDir) {
		return fmt.Errorf("%w: port %d is served by another PostgreSQL (data directory %s)", errPortInUse, c.port, dir)
	}
	return nil
}

// permanent reports whether a failed probe will not succeed by retrying.
func permanent(err error) bool {
	if errors.Is(err, errPortInUse) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 28: invalid authorization (wrong password); 3D000: no such database.
		return strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000"
	}
	return false
}

// shutdownStep is one signal of a shutdown and how long to wait for it to
// work.
type shutdownStep struct {
	sig  syscall.Signal
	wait time.Duration
}

// shutdownSteps returns how to shut the server down: an immediate
// shutdown (SIGQUIT) for a throwaway cluster, whose data is discarded; a
// fast shutdown (SIGINT), which writes a checkpoint, for a persistent one,
// then an immediate one. A server that survives them is killed.
func (c *Cluster) shutdownSteps() []shutdownStep {
	if c.tempRoot != "" {
		return []shutdownStep{{syscall.SIGQUIT, 10 * time.Second}}
	}
	return []shutdownStep{{syscall.SIGINT, time.Minute}, {syscall.SIGQUIT, 10 * time.Second}}
}

// terminate takes the postmaster through steps, then kills its process
// group. It reports whether the server has exited.
func (c *Cluster) terminate(steps []shutdownStep) bool {
	pid := c.child.cmd.Process.Pid
	for _, step := range steps {
		if err := signalServer(pid, step.sig, false, c.account, c.binDir); err != nil {
			c.log.Warn("cannot signal PostgreSQL", "pid", pid, "err", err)
		}
		if c.child.waitDone(step.wait) {
			return true
		}
		c.log.Warn("PostgreSQL did not exit in time", "pid", pid, "signal", step.sig, "waited", step.wait)
	}
	if err := signalServer(pid, syscall.SIGKILL, true, c.account, c.binDir); err != nil {
		c.log.Warn("cannot kill PostgreSQL", "pid", pid, "err", err)
	}
	return c.child.waitDone(5 * time.Second)
}

// Port returns the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DataDir returns the absolute path of the data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// LogPath returns the server log's path.
func (c *Cluster) LogPath() string { return c.logPath }

// PID returns the postmaster's process id.
func (c *Cluster) PID() int {
	if c.child == nil {
		return 0
	}
	return c.child.cmd.Process.Pid
}

// Done returns a channel closed when the server process has exited, after
// Stop or on its own.
func (c *Cluster) Done() <-chan struct{} { return c.child.done }

// ConnString returns a URL connecting to database on the cluster as the
// superuser over TCP.
func (c *Cluster) ConnString(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	if c.password != "" {
		u.User = url.UserPassword(Superuser, c.password)
	}
	return u.String()
}

// ConnStringAs returns a URL connecting to database on the cluster as
// role with password over TCP.
func (c *Cluster) ConnStringAs(role, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(role, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name, cloned from template if it is not
// empty (PostgreSQL's default, template1, otherwise).
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	if err := c.exec(ctx, CreateDatabaseSQL(name, template)); err != nil {
		return fmt.Errorf("pglocal: create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name if it exists, disconnecting its
// sessions.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if err := c.exec(ctx, DropDatabaseSQL(name)); err != nil {
		return fmt.Errorf("pglocal: drop database %q: %w", name, err)
	}
	return nil
}

// CreateDatabaseSQL returns the statement that creates database name,
// cloned from template if it is not empty.
func CreateDatabaseSQL(name, template string) string {
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	return sql
}

// DropDatabaseSQL returns the statement that drops database name if it
// exists, disconnecting its sessions.
func DropDatabaseSQL(name string) string {
	return "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
}

// exec runs one statement in the postgres database.
func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop shuts the server down and, for a throwaway cluster, removes its
// directory. A throwaway server gets an immediate shutdown (SIGQUIT); a
// persistent one gets a fast shutdown (SIGINT) with up to a minute to
// write its checkpoint, then an immediate one; a server that still does
// not exit is killed. Stop reports a server that had exited before Stop.
// Later calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

// stop does Stop's work once.
func (c *Cluster) stop() error {
	var errs []error
	if c.child != nil {
		pid := c.child.cmd.Process.Pid
		if c.child.exited() {
			errs = append(errs, fmt.Errorf("%w before Stop: %v", ErrServerExited, c.child.err))
		} else {
			if !c.terminate(c.shutdownSteps()) {
				errs = append(errs, fmt.Errorf("PostgreSQL (pid %d) did not exit", pid))
			} else {
				c.log.Info("PostgreSQL stopped", "data_dir", c.dataDir, "pid", pid)
			}
		}
	}
	if c.logFile != nil {
		if err := c.logFile.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close server log: %w", err))
		}
	}
	if c.tempRoot != "" && (c.child == nil || c.child.exited()) {
		if err := os.RemoveAll(c.tempRoot); err != nil {
			errs = append(errs, fmt.Errorf("remove throwaway cluster: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pglocal: stop PostgreSQL: %w", err)
	}
	return nil
}
