package pglocal

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultUser is the OS user the server runs as when the current process
// runs as root and Config.User is empty.
const DefaultUser = "postgres"

// Superuser is the database superuser that initdb creates; connection
// strings from ConnString log in as this role.
const Superuser = "postgres"

// DefaultStartTimeout bounds Start when its context has no deadline.
const DefaultStartTimeout = 2 * time.Minute

// maxSocketPath is the longest Unix-domain socket path PostgreSQL accepts
// (sizeof(sun_path) - 1 on Linux).
const maxSocketPath = 107

// Config describes a local cluster. The zero value is a throwaway cluster
// on a free loopback port with trust authentication.
type Config struct {
	// DataDir is the data directory of a persistent cluster, initialized on
	// first use and reused afterwards. Empty means a throwaway cluster in a
	// fresh directory under os.TempDir, removed by Stop.
	DataDir string

	// Port is the TCP port on 127.0.0.1. Zero picks a free port, and picks
	// another one if the server cannot bind it.
	Port int

	// User is the OS user that runs initdb and postgres when the current
	// process runs as root (PostgreSQL refuses to run as root). Empty means
	// DefaultUser. Ignored when not running as root.
	User string

	// Password is the superuser's password. Empty means trust
	// authentication (anyone who can reach the port connects); otherwise
	// initdb sets up scram-sha-256 with this password. It only takes effect
	// when the data directory is initialized.
	Password string

	// Settings are extra server settings, passed as "-c name=value". They
	// override the defaults: fsync=on, synchronous_commit=on,
	// max_connections=300, shared_buffers=128MB, listen_addresses=127.0.0.1,
	// unix_socket_directories=<data dir> ('' if that path is too long for a
	// socket) and logging_collector=off.
	Settings map[string]string

	// BinDir is the directory holding initdb and postgres. Empty means
	// FindBinDir (preferring the major version of an existing data
	// directory) and, when no binaries are installed, the pinned build that
	// Download describes.
	BinDir string

	// Download says where to get the pinned PostgreSQL build (PinnedVersion)
	// when BinDir is empty and no server binaries are installed. The zero
	// value downloads it once from Maven Central into the user's cache
	// directory.
	Download Download

	// Logger receives progress and diagnostics. Nil discards them.
	Logger *slog.Logger

	// freePort, if set, replaces freePort (for tests).
	freePort func() (int, error)

	// findBinDir, if set, replaces findBinDir (for tests).
	findBinDir func(major string) (string, error)
}

// reservedSettings are settings that Config controls by other fields.
var reservedSettings = map[string]string{
	"port":           "set Config.Port instead",
	"data_directory": "set Config.DataDir instead",
}

// Validate reports whether c is usable. Errors wrap ErrInvalidConfig.
func (c Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%w: port %d out of range 0..65535", ErrInvalidConfig, c.Port)
	}
	if strings.ContainsAny(c.Password, "\n\r\x00") {
		return fmt.Errorf("%w: password contains a newline or NUL", ErrInvalidConfig)
	}
	if strings.ContainsRune(c.DataDir, 0) || strings.ContainsRune(c.BinDir, 0) || strings.ContainsRune(c.Download.CacheDir, 0) {
		return fmt.Errorf("%w: path contains NUL", ErrInvalidConfig)
	}
	if r := c.Download.Repository; r != "" {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: download repository %q is not an http(s) URL", ErrInvalidConfig, r)
		}
	}
	if strings.ContainsAny(c.User, ":/\n\x00") {
		return fmt.Errorf("%w: invalid user name %q", ErrInvalidConfig, c.User)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Settings)) {
		if !validSettingName(name) {
			return fmt.Errorf("%w: invalid setting name %q", ErrInvalidConfig, name)
		}
		if hint, ok := reservedSettings[strings.ToLower(name)]; ok {
			return fmt.Errorf("%w: setting %q: %s", ErrInvalidConfig, name, hint)
		}
		if strings.ContainsRune(c.Settings[name], 0) {
			return fmt.Errorf("%w: setting %q: value contains NUL", ErrInvalidConfig, name)
		}
	}
	return nil
}

// validSettingName reports whether name looks like a GUC name
// (letters, digits, underscores; dots for extension settings).
func validSettingName(name string) bool {
	if name == "" || name[0] == '.' || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// serverArgs returns the postgres command-line arguments for dataDir and
// port: defaults, overridden by settings, in a stable order.
func serverArgs(dataDir string, port int, settings map[string]string) []string {
	socketDir := dataDir
	if len(filepath.Join(dataDir, ".s.PGSQL."+strconv.Itoa(port)+".lock")) > maxSocketPath {
		socketDir = ""
	}
	all := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": socketDir,
		"fsync":                   "on",
		"synchronous_commit":      "on",
		"max_connections":         "300",
		"shared_buffers":          "128MB",
		"logging_collector":       "off",
	}
	for name, value := range settings {
		all[strings.ToLower(name)] = value // setting names are case-insensitive
	}
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port)}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		args = append(args, "-c", name+"="+all[name])
	}
	return args
}
