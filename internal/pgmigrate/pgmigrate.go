package pgmigrate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration is one numbered SQL script.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations in dir of fsys, sorted by version. Files that
// do not end in ".sql" are ignored; duplicate or malformed versions are
// errors.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("pgmigrate: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgmigrate: %s: name must be <version>_<name>.sql", name)
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("pgmigrate: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(data)})
	}
	ms = sorted(ms)
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("pgmigrate: %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Checksum returns the hex SHA-256 of the migration's SQL, as recorded
// when it is applied.
func (m Migration) Checksum() string {
	sum := sha256.Sum256([]byte(m.SQL))
	return hex.EncodeToString(sum[:])
}

// Apply creates schema if needed and applies, in version order, every
// migration the schema does not record as applied, whatever its version:
// a migration added later with a lower version than those applied is
// applied too. Before it applies anything it compares each recorded
// migration's checksum with ms, and refuses with a *ChecksumMismatchError
// if one changed. A schema recorded by an earlier pgmigrate, without
// checksums, is upgraded in place: every migration up to its highest
// version counts as applied, as it did then, with the checksum of its file
// now.
func Apply(ctx context.Context, pool *pgxpool.Pool, schema string, ms []Migration) error {
	if schema == "" {
		return fmt.Errorf("pgmigrate: empty schema name")
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgmigrate: %w", err)
	}
	defer conn.Release()

	key := lockKey(schema)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("pgmigrate: lock: %w", err)
	}
	defer func() {
		// Unlock even if ctx is done, or the pooled connection keeps the lock.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	}()

	q := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+q); err != nil {
		return fmt.Errorf("pgmigrate: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+q+`.schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
		checksum text NOT NULL)`); err != nil {
		return fmt.Errorf("pgmigrate: %w", err)
	}
	if err := upgrade(ctx, conn, schema, ms); err != nil {
		return err
	}
	applied, err := recorded(ctx, conn, schema)
	if err != nil {
		return err
	}
	if err := verify(schema, ms, applied); err != nil {
		return err
	}
	for _, m := range sorted(ms) {
		if sum, ok := applied[m.Version]; ok {
			if sum == "" { // recorded by an earlier pgmigrate beyond its files
				_, err := conn.Exec(ctx, "UPDATE "+q+".schema_migrations SET checksum = $2 WHERE version = $1", m.Version, m.Checksum())
				if err != nil {
					return fmt.Errorf("pgmigrate: %w", err)
				}
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.SQL, "{{schema}}", q)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+q+".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
				m.Version, m.Name, m.Checksum())
			return err
		})
		if err != nil {
			return fmt.Errorf("pgmigrate: %s: %w", m.Name, err)
		}
	}
	return nil
}

// recorded returns the checksums of the migrations the schema records as
// applied, by version.
func recorded(ctx context.Context, db Querier, schema string) (map[int]string, error) {
	rows, err := db.Query(ctx, "SELECT version, checksum FROM "+pgx.Identifier{schema}.Sanitize()+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("pgmigrate: %w", err)
	}
	applied := make(map[int]string)
	var (
		v   int
		sum string
	)
	if _, err := pgx.ForEachRow(rows, []any{&v, &sum}, func() error {
		applied[v] = sum
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pgmigrate: %w", err)
	}
	return applied, nil
}

// verify fails with a *ChecksumMismatchError, for the lowest version, if
// a migration of ms is recorded with another checksum than its own. An
// empty checksum is unknown (see upgrade) and matches.
func verify(schema string, ms []Migration, applied map[int]string) error {
	for _, m := range sorted(ms) {
		if sum, ok := applied[m.Version]; ok && sum != "" && sum != m.Checksum() {
			return &ChecksumMismatchError{Schema: schema, Version: m.Version, Name: m.Name, Recorded: sum, Current: m.Checksum()}
		}
	}
	return nil
}

// sorted returns ms in version order.
func sorted(ms []Migration) []Migration {
	return slices.SortedFunc(slices.Values(ms), func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
}

// lockKey derives the advisory lock key of a schema's migrations.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("pgmigrate\x00"))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}
