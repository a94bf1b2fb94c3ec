package postgres_test

import (
	"context"
	"testing"

	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestNewChecksMigrations: New refuses a schema that lacks a migration,
// even one below the highest applied, or records one without checksums;
// Migrate repairs both.
func TestNewChecksMigrations(t *testing.T) {
	tests := []struct {
		name     string
		breakSQL string
	}{
		// Migration 7 only alters functions: applying it again is harmless.
		{"a lower migration missing", `DELETE FROM cohort.schema_migrations WHERE version = 7`},
		{"recorded without checksums", `ALTER TABLE cohort.schema_migrations DROP COLUMN checksum`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			conn := newDatabase(t)
			pool := pgtest.NewPool(t, conn)
			if _, err := pool.Exec(ctx, tt.breakSQL); err != nil {
				t.Fatal(err)
			}
			if s, err := postgres.New(ctx, pool, postgres.Config{}); err == nil {
				s.Close()
				t.Fatal("New opened a schema that does not match its migrations")
			} else {
				t.Log(err)
			}
			if err := postgres.Migrate(ctx, pool, ""); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			mustOpen(t, conn, postgres.Config{})
		})
	}
}
