package pglocal

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianBinGlob matches the server binary directories of Debian's
// postgresql-N packages, which are not on PATH by default.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinDir returns the directory holding the PostgreSQL server binaries:
// that of initdb on PATH (symbolic links resolved) if postgres and pg_ctl
// sit next to it, else the newest /usr/lib/postgresql/*/bin that has all
// three. The error wraps ErrBinariesNotFound.
func FindBinDir() (string, error) {
	return findBinDir("")
}

// findBinDir is FindBinDir, but prefers /usr/lib/postgresql/<major>/bin
// when major is set and that directory is complete: an existing data
// directory can only be served by its own major version.
func findBinDir(major string) (string, error) {
	if major != "" {
		if dir := filepath.Join("/usr/lib/postgresql", major, "bin"); checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if dir := filepath.Dir(real); checkBinDir(dir) == nil {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob) // the pattern is valid
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked on PATH and in %s)", ErrBinariesNotFound, debianBinGlob)
}

// versionOf returns the major version in /usr/lib/postgresql/<major>/bin,
// or -1.
func versionOf(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return v
}

// checkBinDir reports whether dir holds executable initdb, postgres and
// pg_ctl. The error wraps ErrBinariesNotFound.
func checkBinDir(dir string) error {
	var missing []string
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (no %s in %s)", ErrBinariesNotFound, strings.Join(missing, ", "), dir)
	}
	return nil
}
