package pglocal

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// tempPrefix starts the names of throwaway cluster directories in
	// os.TempDir.
	tempPrefix = "cohort-pg-"
	// ownerFile, in a throwaway cluster's directory, identifies the
	// process that owns it.
	ownerFile = "owner"
	// ownerlessGrace is how long a throwaway directory without an owner
	// file is left alone: its creator may be about to write it.
	ownerlessGrace = 10 * time.Minute
)

// owner identifies the process that owns a throwaway cluster.
type owner struct {
	pid   int
	start uint64 // process start time, guards against pid reuse; 0 if unknown
	host  string // hostname: another machine's processes are invisible here
	boot  string // boot id: pids from an earlier boot are all gone
}

// currentOwner describes this process.
func currentOwner() owner {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return owner{pid: pid, start: inspectProcess(pid).start, host: host, boot: bootID()}
}

// String encodes o as the owner file's contents.
func (o owner) String() string {
	return fmt.Sprintf("pid=%d\nstart=%d\nhost=%s\nboot=%s\n", o.pid, o.start, o.host, o.boot)
}

// errBadOwner reports an owner file without a pid.
var errBadOwner = errors.New("owner file has no pid")

// readOwner reads the owner file of the throwaway directory dir.
func readOwner(dir string) (owner, error) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return owner{}, err
	}
	return parseOwner(b)
}

// parseOwner decodes an owner file.
func parseOwner(b []byte) (owner, error) {
	var o owner
	for line := range strings.Lines(string(b)) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch key {
		case "pid":
			o.pid, _ = strconv.Atoi(value)
		case "start":
			o.start, _ = strconv.ParseUint(value, 10, 64)
		case "host":
			o.host = value
		case "boot":
			o.boot = value
		}
	}
	if o.pid <= 0 {
		return owner{}, errBadOwner
	}
	return o, nil
}

// gone reports whether o's process has certainly exited. Owners on other
// hosts (a temporary directory shared between machines or containers) are
// never considered gone.
func (o owner) gone() bool {
	if b := bootID(); o.boot != "" && b != "" && o.boot != b {
		return true
	}
	if host, _ := os.Hostname(); o.host != host {
		return false
	}
	info := inspectProcess(o.pid)
	if !info.alive {
		return true
	}
	return o.start != 0 && info.start != 0 && o.start != info.start
}

// removeStale removes the throwaway cluster directories in tempDir whose
// owner process has exited, first killing a server still running in one
// (its parent-death signal could not be delivered). It never touches the
// directories of live owners, nor those of other OS users (a shared
// temporary directory holds other users' clusters): only directories owned
// by this process's user or, when it runs as root, by the server user a.
func removeStale(tempDir string, a *account, binDir string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(tempDir, tempPrefix+"*")) // the pattern is valid
	for _, dir := range dirs {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !ownedByUs(fi, a) {
			continue
		}
		o, err := readOwner(dir)
		switch {
		case err == nil:
			if !o.gone() {
				continue
			}
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, errBadOwner):
			if time.Since(fi.ModTime()) < ownerlessGrace {
				continue // maybe being created right now
			}
		default:
			continue // unreadable: not ours to judge
		}
		dataDir := filepath.Join(dir, "data")
		if err := killOrphan(dataDir, a, binDir, log); err != nil {
			log.Warn("leaving stale throwaway cluster: its server is still running", "dir", dir, "err", err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("cannot remove stale throwaway cluster", "dir", dir, "err", err)
			continue
		}
		log.Info("removed stale throwaway cluster of an exited process", "dir", dir, "owner_pid", o.pid)
	}
}

// ownedByUs reports whether fi belongs to this process's user or to the
// server user a (which owns the throwaway directories a root process
// makes).
func ownedByUs(fi fs.FileInfo, a *account) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return int(st.Uid) == os.Geteuid() || (a != nil && st.Uid == a.uid)
}

// killOrphan kills the server running on dataDir, if any, and waits for it
// to exit.
func killOrphan(dataDir string, a *account, binDir string, log *slog.Logger) error {
	pid, _, err := postmasterPID(dataDir)
	if err != nil || pid == 0 {
		return err
	}
	info := inspectProcess(pid)
	switch {
	case !info.alive:
		return nil
	case info.comm == "":
		return fmt.Errorf("cannot tell whether pid %d is its server", pid)
	case info.comm != "postgres" || otherCwd(pid, dataDir):
		return nil // the pid now belongs to another process
	}
	log.Warn("killing orphaned throwaway server", "data_dir", dataDir, "pid", pid)
	if err := signalServer(pid, syscall.SIGKILL, true, a, binDir); err != nil {
		return err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !inspectProcess(pid).alive {
			return nil
		}
	}
	return fmt.Errorf("pid %d still alive after SIGKILL", pid)
}
