// Package pgtest is the harness for tests that need PostgreSQL.
//
// Each test binary gets one server: call Main from TestMain, which starts a
// throwaway local cluster (package pglocal) or, when the environment
// variable COHORT_TEST_DATABASE_URL holds a connection string, uses that
// server instead. Main fails the binary, with instructions, when the
// PostgreSQL binaries are missing: tests are never skipped for lack of a
// database. COHORT_TEST_PG_BINDIR selects the binaries of the local
// cluster (by default, pglocal.FindBinDir finds them).
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Each test gets a fresh database, dropped at cleanup:
//
//	pool := pgtest.NewPool(t, pgtest.NewDatabase(t))
//
// A package whose tests all need the same schema migrates it once into a
// template and clones that for each test, which is much faster than
// migrating every database:
//
//	func TestMain(m *testing.M) {
//		pgtest.RegisterTemplate("schema", migrate)
//		pgtest.Main(m)
//	}
//
//	db := pgtest.NewDatabase(t, pgtest.FromTemplate("schema"))
//
// Databases are independent, so tests that use their own database may run
// in parallel.
package pgtest
