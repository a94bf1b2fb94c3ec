//go:build !linux

package pglocal

import (
	"errors"
	"os"
	"syscall"
)

// procInfo is what the package needs to know about another process.
type procInfo struct {
	alive bool   // exists and is not a zombie
	start uint64 // start time; 0 if unknown
	comm  string // executable name; "" if unknown
}

// inspectProcess describes process pid as far as the null signal tells.
func inspectProcess(pid int) procInfo {
	return procInfo{alive: signalAlive(pid)}
}

// signalAlive reports whether pid exists, using the null signal.
func signalAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processCwd is not supported without /proc.
func processCwd(int) (string, error) {
	return "", errors.ErrUnsupported
}

// setPdeathsig does nothing: only Linux has a parent-death signal.
func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}

// pdeathsigSupported reports whether setPdeathsig has an effect.
const pdeathsigSupported = false

// hasCapKill approximates CAP_KILL by being root.
func hasCapKill() bool { return os.Geteuid() == 0 }

// bootID is unknown without /proc.
func bootID() string { return "" }
