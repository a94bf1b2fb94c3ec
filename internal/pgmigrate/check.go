package pgmigrate

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Querier runs queries: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Check reports whether schema records exactly the migrations ms, each
// with its checksum, as a program that needs that schema checks at start.
// It fails with a *SchemaMismatchError when migrations are missing (Apply
// them) or the schema records ones ms lacks (a newer build applied them),
// and with a *ChecksumMismatchError when an applied migration's file
// changed. It changes nothing.
func Check(ctx context.Context, db Querier, schema string, ms []Migration) error {
	q := pgx.Identifier{schema}.Sanitize()
	var table, checksums bool
	err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attname = 'checksum' AND NOT attisdropped)`,
		q+".schema_migrations").Scan(&table, &checksums)
	if err != nil {
		return fmt.Errorf("pgmigrate: check schema %q: %w", schema, err)
	}
	e := &SchemaMismatchError{Schema: schema}
	if table && !checksums {
		e.OldFormat = true
		return e
	}
	applied := map[int]string{}
	if table {
		if applied, err = recorded(ctx, db, schema); err != nil {
			return err
		}
	}
	if err := verify(schema, ms, applied); err != nil {
		return err
	}
	for _, m := range sorted(ms) {
		if _, ok := applied[m.Version]; !ok {
			e.Missing = append(e.Missing, m.Version)
		}
		delete(applied, m.Version)
	}
	for v := range applied {
		e.Unknown = append(e.Unknown, v)
	}
	slices.Sort(e.Unknown)
	if len(e.Missing) > 0 || len(e.Unknown) > 0 {
		return e
	}
	return nil
}
