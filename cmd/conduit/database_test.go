package main

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

// fastPasswords keep registrations quick in tests.
var fastPasswords = password.Params{Memory: 64, Time: 1, Threads: 1}

// testMasterKey is the master key of the Conduits the tests create.
var testMasterKey = []byte("cmd/conduit tests' master key...")

// TestDataDirIsPrivate: the data directory, which holds the secrets, is
// created readable by its owner alone.
func TestDataDirIsPrivate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "conduit-data")
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: dataDir, PostgresBinDir: t.TempDir(), Password: fastPasswords}, io.Discard)
	_ = m.Run(context.Background()) // fails for want of PostgreSQL binaries, after making the data directory
	_ = m.Close(context.Background())
	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %04o, want 0700", fi.Mode().Perm())
	}
}

// TestLocalDatabaseRole: on its local cluster Conduit connects as the
// role conduit, no superuser, which owns its database and schemas; a data
// directory made before that role existed (everything owned by the
// superuser) is upgraded in place. The rebuild counts the events of the
// configured schema.
func TestLocalDatabaseRole(t *testing.T) {
	ctx := context.Background()
	dataDir, err := os.MkdirTemp("", "conduit-role-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil { // traversable by the server user when run as root
		t.Fatal(err)
	}

	// A data directory as earlier versions left it: Conduit's database,
	// migrated by the superuser.
	pass, err := secretFile(filepath.Join(dataDir, "postgres-password"), 24)
	if err != nil {
		t.Fatal(err)
	}
	old, err := pglocal.Start(ctx, pglocal.Config{DataDir: filepath.Join(dataDir, "postgres"), Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.CreateDatabase(ctx, databaseName, ""); err != nil {
		t.Fatal(err)
	}
	migrateAs(t, old.ConnString(databaseName))
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}

	m := NewMain(Config{DataDir: dataDir, Password: fastPasswords}, io.Discard)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	connString, err := m.startLocalDatabase(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	var super bool
	if err := conn.QueryRow(ctx, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &super); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT n.nspname || ' ' || pg_get_userbyid(n.nspowner) FROM pg_namespace n
		WHERE n.nspname IN ('cohort', 'conduit')
		UNION ALL SELECT c.oid::regclass::text || ' ' || pg_get_userbyid(c.relowner) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('cohort', 'conduit') AND c.relkind IN ('r', 'S', 'v')
		UNION ALL SELECT p.oid::regprocedure::text || ' ' || pg_get_userbyid(p.proowner) FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('cohort', 'conduit')`)
	if err != nil {
		t.Fatal(err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if user != "conduit" || super {
		t.Fatalf("connected as %q (superuser: %v), want the role conduit, no superuser", user, super)
	}
	for _, o := range owners {
		if !strings.HasSuffix(o, " conduit") {
			t.Errorf("%s: not owned by conduit", o)
		}
	}

	// The role can do what Conduit does: migrate, serve, rebuild.
	pool := migrateAs(t, connString)
	store, err := postgres.New(ctx, pool, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	app, err := conduit.New(ctx, conduit.Config{Store: store, DB: pool, Password: fastPasswords,
		ClaimsKey: []byte("cmd/conduit tests' claims key..."), MasterKey: testMasterKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild as conduit: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := app.RegisterUser(ctx, conduit.Registration{Username: "owner", Email: "owner@example.com", Password: "password1"}); err != nil {
		t.Fatalf("register as conduit: %v", err)
	}
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("rebuild counts the configured schema", func(t *testing.T) {
		other := NewMain(Config{DatabaseURL: connString, DataDir: t.TempDir(), Password: fastPasswords, EventSchema: "other_events", ReadSchema: "other_read",
			MasterKey: hex.EncodeToString(testMasterKey)}, io.Discard)
		t.Cleanup(func() { _ = other.Close(context.Background()) })
		sum, err := other.Rebuild(ctx, nil, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Events != 0 {
			t.Fatalf("rebuild of an empty store in other_events counted %d events (those of the default schema?)", sum.Events)
		}
	})
}

// migrateAs migrates Conduit's database as the user of connString and
// returns a pool, closed at t's cleanup.
func migrateAs(t *testing.T, connString string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := migrate(context.Background(), pool, "", ""); err != nil {
		t.Fatal(err)
	}
	return pool
}
