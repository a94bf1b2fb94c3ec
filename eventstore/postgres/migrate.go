package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultSchema is the schema a store uses when Config.Schema is empty.
const DefaultSchema = "cohort"

func migrations() ([]pgmigrate.Migration, error) {
	return pgmigrate.Load(migrationFiles, "migrations")
}

// SchemaVersion is the newest schema version Migrate installs.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Migrate creates or upgrades the event store's tables in schema (empty for
// DefaultSchema). It is idempotent and safe to run from several processes
// at once: they serialize on an advisory lock, and each migration is applied
// once, in its own transaction. It applies every migration the schema does
// not record, whatever its version, and refuses to run when a migration
// already applied has changed since.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if schema == "" {
		schema = DefaultSchema
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	if err := pgmigrate.Apply(ctx, pool, schema, ms); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}
