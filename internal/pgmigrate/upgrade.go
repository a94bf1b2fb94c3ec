package pgmigrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// upgrade converts a schema_migrations table of the earlier pgmigrate,
// which had no checksum column, in one transaction: the earlier pgmigrate
// skipped every migration up to the highest version recorded, so each of
// them counts as applied and gets a row with its file's checksum now. A
// table already converted is left alone. The caller holds the schema's
// advisory lock.
func upgrade(ctx context.Context, conn *pgxpool.Conn, schema string, ms []Migration) error {
	q := pgx.Identifier{schema}.Sanitize()
	var old bool
	err := conn.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attname = 'checksum' AND NOT attisdropped)`,
		q+".schema_migrations").Scan(&old)
	if err != nil {
		return fmt.Errorf("pgmigrate: upgrade: %w", err)
	}
	if !old {
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+q+".schema_migrations ADD COLUMN checksum text"); err != nil {
			return err
		}
		var highest int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+q+".schema_migrations").Scan(&highest); err != nil {
			return err
		}
		for _, m := range ms {
			if m.Version > highest {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+q+`.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)
				ON CONFLICT (version) DO UPDATE SET checksum = excluded.checksum`, m.Version, m.Name, m.Checksum()); err != nil {
				return err
			}
		}
		// A version recorded without a file here was applied by a newer
		// build: its checksum is unknown (empty) until a build with its
		// file applies the migrations.
		if _, err := tx.Exec(ctx, "UPDATE "+q+".schema_migrations SET checksum = '' WHERE checksum IS NULL"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "ALTER TABLE "+q+".schema_migrations ALTER COLUMN checksum SET NOT NULL")
		return err
	})
	if err != nil {
		return fmt.Errorf("pgmigrate: upgrade the migrations table of schema %q: %w", schema, err)
	}
	return nil
}
