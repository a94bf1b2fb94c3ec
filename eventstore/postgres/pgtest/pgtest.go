package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/internal/pglocal"
)

// Environment variables that Main reads.
const (
	// EnvDatabaseURL holds the connection string of an existing server to
	// use instead of a throwaway local cluster. Its role must be allowed
	// to create databases; its database serves for maintenance.
	EnvDatabaseURL = "COHORT_TEST_DATABASE_URL"
	// EnvBinDir selects the directory of the PostgreSQL binaries for the
	// local cluster, overriding their discovery.
	EnvBinDir = "COHORT_TEST_PG_BINDIR"
	// EnvRepository is the Maven repository to download a pinned
	// PostgreSQL build from when no server binaries are installed. Empty
	// means Maven Central.
	EnvRepository = "COHORT_TEST_PG_REPOSITORY"
)

// Timeouts of the harness's own work, independent of any test's context.
const (
	startTimeout    = 5 * time.Minute // the first start may download PostgreSQL
	templateTimeout = 5 * time.Minute
	dropTimeout     = time.Minute
	poolCloseWait   = 10 * time.Second
)

// server is the database server of the test binary.
type server struct {
	admin   string           // connection string of the maintenance database
	cluster *pglocal.Cluster // nil when using EnvDatabaseURL
	pool    *pgxpool.Pool    // on the maintenance database
	runID   string           // distinguishes this binary's templates on a shared server
}

var (
	mu        sync.Mutex
	current   *server
	templates = map[string]*template{
		EventStoreTemplate: {name: EventStoreTemplate, setup: migrateEventStore},
	}
)

// Main runs the tests of a package that uses PostgreSQL; call it from
// TestMain. It starts the server (see the package documentation), runs m,
// stops the server and exits with m's code. If the server cannot be
// started, it prints why to stderr and exits with status 1.
func Main(m *testing.M) {
	os.Exit(run(m))
}

// run does Main's work and returns the exit code.
func run(m *testing.M) (code int) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	s, err := startServer(ctx)
	cancel()
	if err != nil {
		// Main is the binary's entry point: stderr is the only place to
		// say why nothing ran.
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	mu.Lock()
	current = s
	mu.Unlock()
	defer func() {
		mu.Lock()
		current = nil
		tmpls := templates
		mu.Unlock()
		if err := s.close(tmpls); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}()
	return m.Run()
}

// startServer starts a throwaway cluster, or connects to EnvDatabaseURL.
func startServer(ctx context.Context) (*server, error) {
	s := &server{runID: strings.ToLower(rand.Text()[:8])}
	if url := os.Getenv(EnvDatabaseURL); url != "" {
		s.admin = url
	} else {
		c, err := pglocal.Start(ctx, pglocal.Config{BinDir: os.Getenv(EnvBinDir),
			Download: pglocal.Download{Repository: os.Getenv(EnvRepository)}})
		if err != nil {
			if errors.Is(err, pglocal.ErrBinariesNotFound) {
				return nil, fmt.Errorf("%w\n(for tests, set %s instead of DATABASE_URL)", err, EnvDatabaseURL)
			}
			return nil, err
		}
		s.cluster = c
		s.admin = c.ConnString("postgres")
	}
	cfg, err := pgxpool.ParseConfig(s.admin)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("parse %s: %w", EnvDatabaseURL, err), s.close(nil))
	}
	cfg.MaxConns = 4
	// Every statement differs (database names); do not prepare them.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err == nil {
		err = s.pool.Ping(ctx)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect to the test server: %w", err), s.close(nil))
	}
	return s, nil
}

// close drops the templates this binary made and stops the cluster.
func (s *server) close(tmpls map[string]*template) error {
	var errs []error
	if s.pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		for _, t := range tmpls {
			if t.db != "" {
				errs = append(errs, s.drop(ctx, t.db))
			}
		}
		cancel()
		s.pool.Close()
	}
	if s.cluster != nil {
		errs = append(errs, s.cluster.Stop())
	}
	return errors.Join(errs...)
}

// exec runs one statement on the maintenance database.
func (s *server) exec(ctx context.Context, sql string, args ...any) error {
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}

// create creates database name, from template if not empty.
func (s *server) create(ctx context.Context, name, template string) error {
	if err := s.exec(ctx, pglocal.CreateDatabaseSQL(name, template)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// drop drops database name, disconnecting its sessions.
func (s *server) drop(ctx context.Context, name string) error {
	if err := s.exec(ctx, pglocal.DropDatabaseSQL(name)); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// connString returns the connection string of database name: the admin
// connection string with another database.
func (s *server) connString(name string) string {
	return withDatabase(s.admin, name)
}

// withDatabase replaces the database of a connection string, a URL or
// keyword/value pairs (where a later dbname overrides an earlier one).
func withDatabase(connString, name string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		if u, err := url.Parse(connString); err == nil {
			u.Path, u.RawPath = "/"+name, ""
			return u.String()
		}
	}
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name)
	return connString + " dbname='" + quoted + "'"
}

// serverFor returns the binary's server, failing tb if Main is not running.
func serverFor(tb testing.TB) *server {
	tb.Helper()
	mu.Lock()
	s := current
	mu.Unlock()
	if s == nil {
		tb.Fatal("pgtest: no server: call pgtest.Main from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	return s
}
