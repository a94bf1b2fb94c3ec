// Package pgtest runs tests against PostgreSQL: one throwaway server per
// test binary and a fresh, migrated database per test. It is for the tests
// of applications built on Cohort as much as for Cohort's own.
//
// Call Main from the package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Main starts a local cluster before the tests run and removes it after:
// initdb on a fresh directory under os.TempDir, postgres on a free port
// of 127.0.0.1, as the unprivileged OS user "postgres" when the test runs
// as root (PostgreSQL refuses to run as root). The server is a child of
// the test binary and dies with it. It finds the server binaries on PATH
// or in /usr/lib/postgresql/*/bin; when there are none, it downloads a
// pinned PostgreSQL build once, checksum-verified, into the user's cache
// directory (see README.md). When that is not possible either (offline),
// Main fails the binary with instructions: tests are never skipped for
// lack of a database. Environment variables change this:
//
//   - COHORT_TEST_DATABASE_URL (EnvDatabaseURL), a connection string, uses
//     that server instead of starting one. Its role must be allowed to
//     create databases.
//   - COHORT_TEST_PG_BINDIR (EnvBinDir) names the directory of the server
//     binaries (initdb, postgres, pg_ctl).
//   - COHORT_TEST_PG_REPOSITORY (EnvRepository) is the Maven repository
//     to download the build from instead of Maven Central (a mirror).
//
// Each test then gets its own database, dropped at the test's cleanup. By
// default it holds the event store's schema, cloned from a template that
// postgres.Migrate fills once per test binary, which is much faster than
// migrating every database:
//
//	pool := pgtest.MustPool(t) // a pool on a fresh, migrated database
//	store, err := postgres.New(ctx, pool, postgres.Config{})
//
// NewDatabase returns the connection string instead, for tests that open
// several pools on one database (several processes sharing it). Empty asks
// for an empty database; an application with tables of its own registers
// a template of them in TestMain, before Main, and asks for it with
// FromTemplate:
//
//	func TestMain(m *testing.M) {
//		pgtest.RegisterTemplate("app", migrateApp)
//		pgtest.Main(m)
//	}
//
//	db := pgtest.NewDatabase(t, pgtest.FromTemplate("app"))
//
// Databases are independent, so tests that use their own database may run
// in parallel.
package pgtest
