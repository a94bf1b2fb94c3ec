package postgres

import (
	"cmp"
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

// DefaultSchema is the schema of the members table when Config.Schema is
// empty. It is not the event store's: each keeps its own migrations.
const DefaultSchema = "cohort_cluster"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate creates or upgrades the members table in schema (empty for
// DefaultSchema). It is idempotent and safe to run from several processes
// at once: they serialize on an advisory lock, and each migration is
// applied once, in its own transaction.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	ms, err := migrations()
	if err == nil {
		err = pgmigrate.Apply(ctx, pool, cmp.Or(schema, DefaultSchema), ms)
	}
	if err != nil {
		return fmt.Errorf("cluster/postgres: migrate: %w", err)
	}
	return nil
}

// migrations returns the members table's migrations, in version order.
func migrations() ([]pgmigrate.Migration, error) {
	return pgmigrate.Load(migrationFiles, "migrations")
}
