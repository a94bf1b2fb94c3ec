package pgmigrate_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/internal/pgmigrate"
)

// migration returns migration v, which records its version in the
// schema's table t (created by migration 1).
func migration(v int) pgmigrate.Migration {
	if v == 1 {
		return pgmigrate.Migration{Version: 1, Name: "1_t.sql", SQL: "CREATE TABLE {{schema}}.t (n int PRIMARY KEY)"}
	}
	return pgmigrate.Migration{Version: v, Name: "n_row.sql", SQL: "INSERT INTO {{schema}}.t VALUES (" + strconv.Itoa(v) + ")"}
}

func migrations(vs ...int) []pgmigrate.Migration {
	ms := make([]pgmigrate.Migration, len(vs))
	for i, v := range vs {
		ms[i] = migration(v)
	}
	return ms
}

// oldFormat sets the schema up as the previous pgmigrate left it: a
// schema_migrations table without checksums, holding rows for versions.
func oldFormat(tb testing.TB, pool *pgxpool.Pool, schema string, versions ...int) {
	tb.Helper()
	q := pgx.Identifier{schema}.Sanitize()
	mustExec(tb, pool, "CREATE SCHEMA "+q)
	mustExec(tb, pool, `CREATE TABLE `+q+`.schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, m := range migrations(versions...) {
		mustExec(tb, pool, strings.ReplaceAll(m.SQL, "{{schema}}", q))
		mustExec(tb, pool, "INSERT INTO "+q+".schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
	}
}

func mustExec(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// rows returns the versions migrations wrote into t.
func rows(tb testing.TB, pool *pgxpool.Pool, schema string) []int {
	tb.Helper()
	rs, err := pool.Query(context.Background(), "SELECT n FROM "+pgx.Identifier{schema}.Sanitize()+".t ORDER BY n")
	if err != nil {
		tb.Fatal(err)
	}
	ns, err := pgx.CollectRows(rs, pgx.RowTo[int])
	if err != nil {
		tb.Fatal(err)
	}
	return ns
}

func TestApply(t *testing.T) {
	changed := migration(2)
	changed.SQL += " -- edited"
	tests := []struct {
		name    string
		setup   func(tb testing.TB, pool *pgxpool.Pool, schema string)
		apply   [][]pgmigrate.Migration // in turn; the last one's error is wantErr
		callers int                     // applying each at once (default 1)
		rows    []int                   // in t afterwards
		wantErr error
	}{
		{name: "fresh", apply: [][]pgmigrate.Migration{migrations(1, 2, 3)}, rows: []int{2, 3}},
		{name: "again", apply: [][]pgmigrate.Migration{migrations(1, 2), migrations(1, 2, 3), migrations(1, 2, 3)}, rows: []int{2, 3}},
		{name: "gap filled later", apply: [][]pgmigrate.Migration{migrations(1, 3), migrations(1, 2, 3, 4)}, rows: []int{2, 3, 4}},
		{name: "upgrade from old format", setup: func(tb testing.TB, pool *pgxpool.Pool, schema string) {
			oldFormat(tb, pool, schema, 1, 2, 3)
		}, apply: [][]pgmigrate.Migration{migrations(1, 2, 3, 4)}, rows: []int{2, 3, 4}},
		{name: "old format trusted up to its version", setup: func(tb testing.TB, pool *pgxpool.Pool, schema string) {
			oldFormat(tb, pool, schema, 1, 3) // the old code skipped 2 for ever
		}, apply: [][]pgmigrate.Migration{migrations(1, 2, 3, 4), migrations(1, 2, 3, 4, 5)}, rows: []int{3, 4, 5}},
		{name: "old format beyond the files", setup: func(tb testing.TB, pool *pgxpool.Pool, schema string) {
			oldFormat(tb, pool, schema, 1, 2, 3) // 3 by a newer build
		}, apply: [][]pgmigrate.Migration{migrations(1, 2), migrations(1, 2, 3, 4)}, rows: []int{2, 3, 4}},
		{name: "concurrent", callers: 4, apply: [][]pgmigrate.Migration{migrations(1, 3), migrations(1, 2, 3, 4)}, rows: []int{2, 3, 4}},
		{name: "concurrent upgrade", callers: 4, setup: func(tb testing.TB, pool *pgxpool.Pool, schema string) {
			oldFormat(tb, pool, schema, 1, 2)
		}, apply: [][]pgmigrate.Migration{migrations(1, 2, 3)}, rows: []int{2, 3}},
		{name: "changed file refused", apply: [][]pgmigrate.Migration{migrations(1, 2),
			{migration(1), changed, migration(3)}}, rows: []int{2}, wantErr: pgmigrate.ErrChecksumMismatch},
		{name: "changed file refused after upgrade", setup: func(tb testing.TB, pool *pgxpool.Pool, schema string) {
			oldFormat(tb, pool, schema, 1, 2)
		}, apply: [][]pgmigrate.Migration{migrations(1, 2), {migration(1), changed}}, rows: []int{2}, wantErr: pgmigrate.ErrChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			pool := pgtest.MustPool(t, pgtest.Empty())
			const schema = "My Schema"
			if tt.setup != nil {
				tt.setup(t, pool, schema)
			}
			for i, ms := range tt.apply {
				errs := make([]error, max(tt.callers, 1))
				var wg sync.WaitGroup
				for c := range errs {
					wg.Go(func() { errs[c] = pgmigrate.Apply(ctx, pool, schema, ms) })
				}
				wg.Wait()
				want := tt.wantErr
				if i < len(tt.apply)-1 {
					want = nil
				}
				for _, err := range errs {
					if !errors.Is(err, want) || (want == nil) != (err == nil) {
						t.Fatalf("apply %d: got %v, want %v", i, err, want)
					}
				}
			}
			if err := pgmigrate.Check(ctx, pool, schema, tt.apply[len(tt.apply)-1]); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("check after apply: got %v, want %v", err, tt.wantErr)
			}
			if got := rows(t, pool, schema); !slices.Equal(got, tt.rows) {
				t.Fatalf("migrations wrote %v, want %v", got, tt.rows)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.MustPool(t, pgtest.Empty())
	changed := migration(2)
	changed.SQL += " -- edited"
	tests := []struct {
		name    string
		schema  string
		setup   func(schema string)
		check   []pgmigrate.Migration
		wantErr error
		want    *pgmigrate.SchemaMismatchError
	}{
		{name: "match", schema: "match", setup: func(s string) { mustApply(t, pool, s, migrations(1, 2)) }, check: migrations(1, 2)},
		{name: "no table", schema: "none", check: migrations(1, 2),
			want: &pgmigrate.SchemaMismatchError{Schema: "none", Missing: []int{1, 2}}},
		{name: "missing", schema: "missing", setup: func(s string) { mustApply(t, pool, s, migrations(1, 3)) }, check: migrations(1, 2, 3),
			want: &pgmigrate.SchemaMismatchError{Schema: "missing", Missing: []int{2}}},
		{name: "unknown", schema: "unknown", setup: func(s string) { mustApply(t, pool, s, migrations(1, 2, 3)) }, check: migrations(1, 2),
			want: &pgmigrate.SchemaMismatchError{Schema: "unknown", Unknown: []int{3}}},
		{name: "old format", schema: "old", setup: func(s string) { oldFormat(t, pool, s, 1, 2) }, check: migrations(1, 2),
			want: &pgmigrate.SchemaMismatchError{Schema: "old", OldFormat: true}},
		{name: "changed", schema: "changed", setup: func(s string) { mustApply(t, pool, s, migrations(1, 2)) },
			check: []pgmigrate.Migration{migration(1), changed}, wantErr: pgmigrate.ErrChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(tt.schema)
			}
			err := pgmigrate.Check(ctx, pool, tt.schema, tt.check)
			if tt.want != nil {
				var got *pgmigrate.SchemaMismatchError
				if !errors.As(err, &got) || !errors.Is(err, pgmigrate.ErrSchemaMismatch) ||
					!slices.Equal(got.Missing, tt.want.Missing) || !slices.Equal(got.Unknown, tt.want.Unknown) || got.OldFormat != tt.want.OldFormat {
					t.Fatalf("check: got %#v, want %#v", err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("check: got %v, want %v", err, tt.wantErr)
			}
			var mismatch *pgmigrate.ChecksumMismatchError
			if errors.As(err, &mismatch) && (mismatch.Version != 2 || mismatch.Current != changed.Checksum() || mismatch.Recorded != migration(2).Checksum()) {
				t.Fatalf("check: %+v", mismatch)
			}
		})
	}
}

func mustApply(tb testing.TB, pool *pgxpool.Pool, schema string, ms []pgmigrate.Migration) {
	tb.Helper()
	if err := pgmigrate.Apply(context.Background(), pool, schema, ms); err != nil {
		tb.Fatalf("apply to %s: %v", schema, err)
	}
}
