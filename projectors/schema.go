package projectors

import (
	"context"
	"embed"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

// DefaultSchema is the schema of the read model when none is given.
const DefaultSchema = "conduit"

//go:embed migrations/*.sql
var migrationFiles embed.FS

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Migrate creates or upgrades the read model's tables in schema (empty for
// DefaultSchema). It is idempotent and safe to run from several processes.
func Migrate(ctx context.Context, db *pgxpool.Pool, schema string) error {
	schema, err := checkSchema(schema)
	if err != nil {
		return err
	}
	ms, err := pgmigrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return pgmigrate.Apply(ctx, db, schema, ms)
}

func checkSchema(schema string) (string, error) {
	if schema == "" {
		return DefaultSchema, nil
	}
	if !schemaName.MatchString(schema) {
		return "", fmt.Errorf("projectors: invalid schema name %q (lower-case letters, digits, underscores)", schema)
	}
	return schema, nil
}

// sqlIn replaces {{schema}} in each query with the quoted schema name.
func sqlIn(schema string, queries ...*string) {
	q := pgx.Identifier{schema}.Sanitize()
	for _, s := range queries {
		*s = strings.ReplaceAll(*s, "{{schema}}", q)
	}
}

// All returns Conduit's projections writing into schema.
func All(schema string) []Projection {
	return []Projection{NewUsersProjection(schema), NewBlogProjection(schema), NewCommentsProjection(schema)}
}
