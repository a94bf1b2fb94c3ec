package pglocal

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// account is the OS user the server runs as when this process is root.
type account struct {
	name     string
	uid, gid uint32
	groups   []uint32 // supplementary groups, including gid
	home     string
}

// serverAccount returns the account to run the server as: nil when the
// process is not root (the server then runs as the current user).
func serverAccount(name string) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		name = DefaultUser
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up server user %q (PostgreSQL refuses to run as root; the postgresql package creates the user %q, or set Config.User): %w",
			name, DefaultUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("server user %q: uid %q: %w", name, u.Uid, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("server user %q is root, which PostgreSQL refuses to run as: set Config.User to an unprivileged user", name)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("server user %q: gid %q: %w", name, u.Gid, err)
	}
	a := &account{name: name, uid: uint32(uid), gid: uint32(gid), home: u.HomeDir}
	ids, err := u.GroupIds()
	if err != nil {
		ids = nil // supplementary groups are a nicety; the primary group suffices
	}
	a.groups = []uint32{a.gid}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil && !slices.Contains(a.groups, uint32(g)) {
			a.groups = append(a.groups, uint32(g))
		}
	}
	return a, nil
}

// credential returns the credential for child processes; nil for a nil
// account.
func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
}

// canSearch reports whether a may traverse a directory with the given
// owner, group and permission bits (ACLs aside).
func (a *account) canSearch(st *syscall.Stat_t, perm fs.FileMode) bool {
	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case slices.Contains(a.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chown gives path to a; no-op for a nil account.
func (a *account) chown(path string) error {
	if a == nil {
		return nil
	}
	if err := os.Chown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, a.name, err)
	}
	return nil
}

// checkTraversable returns a *DataDirError if a cannot traverse every
// ancestor of dataDir.
func checkTraversable(dataDir string, a *account) error {
	parent, err := filepath.EvalSymlinks(filepath.Dir(dataDir))
	if err != nil {
		return fmt.Errorf("resolve %s: %w", filepath.Dir(dataDir), err)
	}
	for dir := parent; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("check access to data directory: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && !a.canSearch(st, fi.Mode().Perm()) {
			return &DataDirError{
				DataDir: dataDir,
				User:    a.name,
				Dir:     dir,
				Reason: fmt.Sprintf("user %q cannot traverse %s (mode %04o, owner uid %d, group gid %d)",
					a.name, dir, fi.Mode().Perm(), st.Uid, st.Gid),
			}
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// prepareDataDir creates dataDir if needed, checks that a can use it and
// hands a fresh one to a with mode 0700. It reports whether dataDir
// already holds a cluster.
func prepareDataDir(dataDir string, a *account) (initialized bool, err error) {
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return false, fmt.Errorf("create parent of data directory: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("data directory %s is not a directory", dataDir)
	}
	if a != nil {
		if err := checkTraversable(dataDir, a); err != nil {
			return false, err
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && a != nil && st.Uid != a.uid {
			return false, &DataDirError{
				DataDir: dataDir,
				User:    a.name,
				Dir:     dataDir,
				Reason: fmt.Sprintf("the cluster belongs to uid %d, not to user %q (uid %d): chown -R it or set Config.User",
					st.Uid, a.name, a.uid),
			}
		}
		return true, nil
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("data directory %s is not empty but holds no cluster (no PG_VERSION): empty it or choose another directory", dataDir)
	}
	if err := a.chown(dataDir); err != nil {
		return false, err
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	return false, nil
}

// majorVersion returns the contents of dataDir/PG_VERSION, or "".
func majorVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// postmasterPID returns the pid and port recorded in dataDir's
// postmaster.pid; pid 0 if there is none.
func postmasterPID(dataDir string) (pid int, port string, err error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return 0, "", nil // torn or garbled: postgres deals with it
	}
	if pid < 0 {
		pid = -pid // a standalone backend records its pid negated
	}
	if len(lines) > 3 {
		port = strings.TrimSpace(lines[3])
	}
	return pid, port, nil
}

// checkNotRunning returns an error wrapping ErrAlreadyRunning if a server
// is running on dataDir. A postmaster.pid left by a dead server is fine:
// postgres replaces it. One whose pid now belongs to an unrelated process
// is removed, since postgres would refuse to start.
func checkNotRunning(dataDir string, log *slog.Logger) error {
	pid, port, err := postmasterPID(dataDir)
	if err != nil || pid == 0 {
		return err
	}
	info := inspectProcess(pid)
	switch {
	case !info.alive:
		log.Info("stale postmaster.pid from a server that is gone; PostgreSQL will recover", "data_dir", dataDir, "pid", pid)
		return nil
	case info.comm == "" || ((info.comm == "postgres" || info.comm == "postmaster") && !otherCwd(pid, dataDir)):
		return fmt.Errorf("%w: %s is used by pid %d (port %s); stop that server or choose another data directory",
			ErrAlreadyRunning, dataDir, pid, port)
	default:
		log.Warn("removing postmaster.pid whose pid now belongs to another program", "data_dir", dataDir, "pid", pid, "program", info.comm)
		if err := os.Remove(filepath.Join(dataDir, "postmaster.pid")); err != nil {
			return fmt.Errorf("remove stale postmaster.pid: %w", err)
		}
		return nil
	}
}

// otherCwd reports whether process pid demonstrably works in a directory
// other than dir. A postmaster and its children work in their data
// directory, so another PostgreSQL process that got a recycled pid has a
// different one.
func otherCwd(pid int, dir string) bool {
	cwd, err := processCwd(pid)
	if err != nil {
		return false
	}
	return !sameDir(cwd, dir)
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// emptyDir removes everything in dir, but not dir itself.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}
