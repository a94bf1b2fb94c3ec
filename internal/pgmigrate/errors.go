package pgmigrate

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrChecksumMismatch: a migration the schema records as applied
	// differs from the file of the same version. The error is a
	// *ChecksumMismatchError.
	ErrChecksumMismatch = errors.New("pgmigrate: applied migration changed")
	// ErrSchemaMismatch: the schema's applied migrations are not those of
	// this build. The error is a *SchemaMismatchError.
	ErrSchemaMismatch = errors.New("pgmigrate: schema does not match the migrations")
)

// ChecksumMismatchError reports an applied migration whose file changed.
type ChecksumMismatchError struct {
	Schema  string
	Version int
	Name    string // the file's name now
	// Recorded and Current are the hex SHA-256 of the SQL when it was
	// applied and of the file now.
	Recorded, Current string
}

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("pgmigrate: schema %q: migration %d (%s) was applied with checksum %s, its file now has %s",
		e.Schema, e.Version, e.Name, e.Recorded, e.Current)
}

// Unwrap returns ErrChecksumMismatch.
func (e *ChecksumMismatchError) Unwrap() error { return ErrChecksumMismatch }

// SchemaMismatchError reports a schema whose applied migrations are not
// the ones expected.
type SchemaMismatchError struct {
	Schema string
	// Missing are the versions not applied yet; Unknown those applied
	// without a file here (by a newer build).
	Missing, Unknown []int
	// OldFormat: the schema records its migrations as an earlier pgmigrate
	// did, without checksums; Apply upgrades it.
	OldFormat bool
}

func (e *SchemaMismatchError) Error() string {
	if e.OldFormat {
		return fmt.Sprintf("pgmigrate: schema %q records its migrations without checksums (apply the migrations to upgrade it)", e.Schema)
	}
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("migrations %v not applied", e.Missing))
	}
	if len(e.Unknown) > 0 {
		parts = append(parts, fmt.Sprintf("migrations %v applied but unknown to this build", e.Unknown))
	}
	return fmt.Sprintf("pgmigrate: schema %q: %s", e.Schema, strings.Join(parts, ", "))
}

// Unwrap returns ErrSchemaMismatch.
func (e *SchemaMismatchError) Unwrap() error { return ErrSchemaMismatch }
