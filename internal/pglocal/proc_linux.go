package pglocal

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procInfo is what the package needs to know about another process.
type procInfo struct {
	alive bool   // exists and is not a zombie
	start uint64 // start time in clock ticks after boot; 0 if unknown
	comm  string // executable name, truncated by the kernel; "" if unknown
}

// inspectProcess describes process pid. A zombie counts as dead: an orphan
// whose new parent does not reap it stays a zombie indefinitely.
func inspectProcess(pid int) procInfo {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return procInfo{}
	}
	if err != nil {
		return procInfo{alive: signalAlive(pid)}
	}
	// pid (comm) state ppid ... ; comm may contain spaces and parentheses.
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procInfo{alive: signalAlive(pid)}
	}
	info := procInfo{alive: true, comm: string(b[open+1 : closing])}
	fields := strings.Fields(string(b[closing+1:]))
	if len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X") {
		return procInfo{}
	}
	if len(fields) > 19 { // fields[19] is field 22, starttime
		info.start, _ = strconv.ParseUint(fields[19], 10, 64)
	}
	return info
}

// signalAlive reports whether pid exists, using the null signal.
func signalAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processCwd returns the working directory of process pid.
func processCwd(pid int) (string, error) {
	return os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
}

// setPdeathsig makes the kernel send sig to the child when the OS thread
// that forked it exits.
func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) {
	attr.Pdeathsig = sig
}

// pdeathsigSupported reports whether setPdeathsig has an effect.
const pdeathsigSupported = true

// capKill is CAP_KILL's bit in the capability sets.
const capKill = 5

// hasCapKill reports whether the process may signal processes of other
// users. Without it, the parent-death signal of a child running as another
// user is never delivered.
func hasCapKill() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<capKill) != 0
		}
	}
	return os.Geteuid() == 0
}

// bootID identifies the current boot: process ids from another boot mean
// nothing.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
