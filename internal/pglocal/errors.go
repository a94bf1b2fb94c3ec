package pglocal

import (
	"errors"
	"fmt"
)

// InstallHint tells a user how to get the PostgreSQL server binaries or do
// without them.
const InstallHint = "install with `apt-get install -y postgresql` (Debian/Ubuntu) or set DATABASE_URL to use an existing server"

var (
	// ErrBinariesNotFound reports that initdb and postgres could not be
	// found, nor the pinned build downloaded (Config.Download). Its message
	// says how to install them.
	ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, postgres) not found: " + InstallHint)

	// ErrDataDirNotAccessible reports a data directory the server user
	// cannot use. Errors that wrap it are of type *DataDirError.
	ErrDataDirNotAccessible = errors.New("data directory not accessible to the server user")

	// ErrAlreadyRunning reports that another server is running on the data
	// directory.
	ErrAlreadyRunning = errors.New("another PostgreSQL server is running on the data directory")

	// ErrServerExited reports that the server process exited on its own:
	// during Start before it accepted connections, or later before Stop.
	ErrServerExited = errors.New("PostgreSQL server exited")

	// ErrChecksumMismatch reports a downloaded build whose SHA-256 is not
	// the pinned one. Errors that wrap it are of type *ChecksumError.
	ErrChecksumMismatch = errors.New("downloaded PostgreSQL build has the wrong checksum")

	// ErrInvalidConfig reports a Config that fails Validate.
	ErrInvalidConfig = errors.New("invalid pglocal config")
)

// DataDirError describes why the server user cannot use a data directory.
// It wraps ErrDataDirNotAccessible.
type DataDirError struct {
	DataDir string // the data directory
	User    string // the OS user the server runs as
	Dir     string // the directory that blocks access: DataDir or one of its ancestors
	Reason  string // what is wrong with Dir
}

// Error implements error.
func (e *DataDirError) Error() string {
	return fmt.Sprintf("%v: %s: %s; use a data directory the server user %q can reach (for example under /var/lib or %s) or fix the permissions",
		ErrDataDirNotAccessible, e.DataDir, e.Reason, e.User, "/tmp")
}

// Unwrap returns ErrDataDirNotAccessible.
func (e *DataDirError) Unwrap() error { return ErrDataDirNotAccessible }

// ChecksumError describes a downloaded build whose checksum differs from
// the pinned one. It wraps ErrChecksumMismatch.
type ChecksumError struct {
	URL       string // where the build came from
	Want, Got string // the SHA-256 digests, in hex
}

// Error implements error.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%v: SHA-256 %s, want %s", ErrChecksumMismatch, e.Got, e.Want)
}

// Unwrap returns ErrChecksumMismatch.
func (e *ChecksumError) Unwrap() error { return ErrChecksumMismatch }
