package pglocal

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestValidate(t *testing.T) {
	valid := []Config{
		{},
		{Port: 5433, DataDir: "rel/dir", Password: "pw", Settings: map[string]string{"work_mem": "8MB", "auto_explain.log_min_duration": "0"}},
	}
	for _, cfg := range valid {
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", cfg, err)
		}
	}
	invalid := map[string]Config{
		"negative port":    {Port: -1},
		"port too large":   {Port: 70000},
		"password newline": {Password: "a\nb"},
		"setting name":     {Settings: map[string]string{"work mem": "1"}},
		"empty setting":    {Settings: map[string]string{"": "1"}},
		"reserved setting": {Settings: map[string]string{"Port": "1"}},
		"user":             {User: "a:b"},
		"repository":       {Download: Download{Repository: "repo1.maven.org/maven2"}},
	}
	for name, cfg := range invalid {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestServerArgs(t *testing.T) {
	args := strings.Join(serverArgs("/d", 5000, map[string]string{"FSYNC": "off", "work_mem": "1MB"}), " ")
	for _, want := range []string{"-D /d -p 5000", "-c fsync=off", "-c work_mem=1MB", "-c unix_socket_directories=/d", "-c max_connections=300"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "fsync=on") {
		t.Errorf("args %q keep the overridden default", args)
	}
	long := "/" + strings.Repeat("x", 100)
	if args := strings.Join(serverArgs(long, 5000, nil), " "); !strings.HasSuffix(args, "-c unix_socket_directories=") {
		t.Errorf("a data directory too long for a socket path should disable Unix sockets: %q", args)
	}
}

func TestFindBinDir(t *testing.T) {
	dir, err := FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Config{BinDir: t.TempDir(), Logger: testLogger(t)})
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Fatalf("Start = %v, want ErrBinariesNotFound", err)
	}
	for _, want := range []string{"apt-get install -y postgresql", "DATABASE_URL", "initdb"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestThrowawayCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Config{})
	root, dataDir, pid := c.tempRoot, c.DataDir(), c.PID()
	if filepath.Dir(root) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(root), tempPrefix) {
		t.Errorf("throwaway directory %s is not %s* in %s", root, tempPrefix, os.TempDir())
	}
	o, err := readOwner(root)
	if err != nil || o.pid != os.Getpid() {
		t.Errorf("owner file: %+v, %v", o, err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || int(fi.Sys().(*syscall.Stat_t).Uid) != serverUID(t) {
		t.Errorf("data directory mode %v uid %d, want 0700 and uid %d", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, serverUID(t))
	}
	if uid := processUID(t, pid); uid != serverUID(t) {
		t.Errorf("server runs as uid %d, want %d", uid, serverUID(t))
	}

	ctx := t.Context()
	if err := c.CreateDatabase(ctx, "My DB", ""); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.ConnString("My DB"))
	if err != nil {
		t.Fatal(err)
	}
	var fsync, db string
	if err := conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_database()").Scan(&fsync, &db); err != nil {
		t.Fatal(err)
	}
	if fsync != "on" || db != "My DB" {
		t.Errorf("fsync=%s database=%q", fsync, db)
	}
	if err := c.DropDatabase(ctx, "My DB"); err != nil { // disconnects conn
		t.Fatal(err)
	}
	conn.Close(ctx)

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	waitGone(t, pid, 5*time.Second)
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stop left %s (stat: %v)", root, err)
	}
}

// reachableDir returns a fresh directory that the server user can
// traverse, removed at cleanup. t.TempDir's directories are mode 0700 and
// owned by the current user, so a server running as another user could
// not reach a data directory inside them.
func reachableDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPersistentCluster(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(reachableDir(t), "nested", "pg")
	const password = "s3cret p@ss/word?"
	cfg := Config{DataDir: dataDir, Password: password, Logger: testLogger(t)}
	ctx := t.Context()

	c := startCluster(t, cfg)
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	mustExec(t, c, "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('hello')")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Fatalf("Stop removed the persistent cluster: %v", err)
	}

	c = startCluster(t, cfg)
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "hello" {
		t.Errorf("after restart: %q, %v", v, err)
	}
	conn.Close(ctx)

	t.Run("already running", func(t *testing.T) {
		_, err := Start(ctx, cfg)
		if !errors.Is(err, ErrAlreadyRunning) {
			t.Errorf("second Start on %s = %v, want ErrAlreadyRunning", dataDir, err)
		}
	})
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong password", func(t *testing.T) {
		bad := cfg
		bad.Password = "wrong"
		start := time.Now()
		_, err := Start(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("Start with a wrong password = %v", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("Start took %v to notice a wrong password", d)
		}
		if pid, _, _ := postmasterPID(dataDir); pid != 0 && inspectProcess(pid).alive {
			t.Errorf("server %d still running after the failed Start", pid)
		}
	})
}

// mustExec runs statements on c's postgres database.
func mustExec(t testing.TB, c *Cluster, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	for _, s := range stmts {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestDataDirNotAccessible(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server only runs as another user when the tests run as root")
	}
	blocked := filepath.Join(reachableDir(t), "private")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Config{DataDir: filepath.Join(blocked, "pg"), Logger: testLogger(t)})
	var dde *DataDirError
	if !errors.As(err, &dde) || !errors.Is(err, ErrDataDirNotAccessible) {
		t.Fatalf("Start = %v, want a *DataDirError", err)
	}
	if dde.Dir != blocked || !strings.Contains(err.Error(), blocked) {
		t.Errorf("error names %q, want %q: %v", dde.Dir, blocked, err)
	}
}

func TestDataDirNotEmpty(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(reachableDir(t), "pg")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "stray"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Config{DataDir: dataDir, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Start = %v, want a not-empty error", err)
	}
}

// listen occupies a loopback port for the rest of the test.
func listen(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortRetry(t *testing.T) {
	t.Parallel()
	taken := listen(t)
	calls := 0
	c := startCluster(t, Config{freePort: func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return freePort()
	}})
	if c.Port() == taken || calls != 2 {
		t.Errorf("port %d after %d picks; %d was taken", c.Port(), calls, taken)
	}
}

func TestExplicitPortTaken(t *testing.T) {
	t.Parallel()
	taken := listen(t)
	_, err := Start(t.Context(), Config{Port: taken, Logger: testLogger(t)})
	if !errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("Start on a taken port = %v", err)
	}
}

func TestEarlyExitShowsLog(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Config{Settings: map[string]string{"shared_buffers": "lots"}, Logger: testLogger(t)})
	if !errors.Is(err, ErrServerExited) || !strings.Contains(err.Error(), `invalid value for parameter "shared_buffers"`) {
		t.Errorf("Start with a bad setting = %v", err)
	}
}

func TestInterruptedInitdbLeavesNoHalfCluster(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(reachableDir(t), "pg")
	cfg := Config{DataDir: dataDir, Logger: testLogger(t)}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err == nil {
		t.Log("initdb and startup beat the deadline")
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		return
	}
	entries, rerr := os.ReadDir(dataDir)
	if rerr != nil || len(entries) != 0 {
		t.Fatalf("after %v, the data directory holds %d entries (%v)", err, len(entries), rerr)
	}
	startCluster(t, cfg)
}
