package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// schemaSetups counts runs of the "schema" template's setup.
var schemaSetups atomic.Int32

func TestMain(m *testing.M) {
	pgtest.RegisterTemplate("schema", func(ctx context.Context, connString string) error {
		schemaSetups.Add(1)
		conn, err := pgx.Connect(ctx, connString)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `CREATE TABLE greetings (id int PRIMARY KEY, text text NOT NULL);
			INSERT INTO greetings VALUES (1, 'hello')`)
		return err
	})
	pgtest.RegisterTemplate("broken", func(context.Context, string) error {
		return errors.New("migration 3 failed")
	})
	pgtest.Main(m)
}

// databaseExists reports whether database name exists, asking through
// the connection string of another database.
func databaseExists(t *testing.T, connString, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), connString)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestNewDatabase(t *testing.T) {
	observer := pgtest.NewDatabase(t, pgtest.Empty())
	var name string
	t.Run("sub", func(t *testing.T) {
		pool := pgtest.MustPool(t, pgtest.Empty())
		var tables int
		err := pool.QueryRow(t.Context(),
			"SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&name, &tables)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "t_testnewdatabase_sub_") || tables != 0 {
			t.Errorf("database %q with %d tables, want a fresh t_testnewdatabase_sub_* one", name, tables)
		}
		if !databaseExists(t, observer, name) {
			t.Errorf("database %q does not exist", name)
		}
	})
	if databaseExists(t, observer, name) {
		t.Errorf("database %q still exists after its test's cleanup", name)
	}
}

// TestMustPoolMigrated checks that a database holds the event store's
// schema by default: postgres.New accepts it and an append works.
func TestMustPoolMigrated(t *testing.T) {
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			store, err := postgres.New(t.Context(), pgtest.MustPool(t), postgres.Config{})
			if err != nil {
				t.Fatalf("postgres.New on a default database: %v", err)
			}
			defer store.Close()
			if _, err := store.Append(t.Context(), "greeting-1", eventstore.NoStream,
				[]eventstore.EventData{{Type: "Greeted", Data: []byte(`{}`)}}); err != nil {
				t.Fatalf("append: %v", err)
			}
		})
	}
}

func TestNewDatabaseDropsWithOpenConnections(t *testing.T) {
	observer := pgtest.NewDatabase(t, pgtest.Empty())
	var name string
	t.Run("leaky", func(t *testing.T) {
		connString := pgtest.NewDatabase(t, pgtest.Empty())
		conn, err := pgx.Connect(t.Context(), connString)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // deliberately left open
		cfg, err := pgconn.ParseConfig(connString)
		if err != nil {
			t.Fatal(err)
		}
		name = cfg.Database
	})
	if databaseExists(t, observer, name) {
		t.Errorf("database %q survived its cleanup", name)
	}
}

func TestTemplate(t *testing.T) {
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewPool(t, pgtest.NewDatabase(t, pgtest.FromTemplate("schema")))
			ctx := t.Context()
			if _, err := pool.Exec(ctx, "INSERT INTO greetings VALUES ($1, 'mine')", 100+i); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM greetings").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("%d greetings, want the template's one and this test's one", n)
			}
		})
	}
	t.Cleanup(func() {
		if n := schemaSetups.Load(); n != 1 {
			t.Errorf("template setup ran %d times, want once", n)
		}
	})
}

func TestParallelDatabases(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := pgtest.MustPool(t, pgtest.Empty())
			if _, err := pool.Exec(t.Context(), "CREATE TABLE t (id int)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMissingBinariesFailLoudly runs this test binary with the binaries
// pointed at an empty directory and checks that it fails with the install
// hint instead of skipping.
func TestMissingBinariesFailLoudly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewDatabase$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pgtest.EnvDatabaseURL+"=") && !strings.HasPrefix(kv, pgtest.EnvBinDir+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, pgtest.EnvBinDir+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("test binary without PostgreSQL: %v, want exit status 1; output:\n%s", err, out)
	}
	for _, want := range []string{"apt-get install -y postgresql", pgtest.EnvDatabaseURL} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SKIP") || strings.Contains(string(out), "PASS") {
		t.Errorf("output reports skipped or passing tests:\n%s", out)
	}
}

// TestExample runs the test that Example shows.
func TestExample(t *testing.T) { testOpenAccount(t) }
