// Package actorstest helps test applications built on the actors runtime:
// given/when/then cases for aggregates and process managers, waiting for
// an event, and running an application on the in-memory store and on a
// real PostgreSQL.
//
// Tests that use Postgres must run their package's TestMain through
// pgtest.Main, which starts one throwaway PostgreSQL cluster per test
// binary.
package actorstest
