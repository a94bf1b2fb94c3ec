// Package outside is a module of its own that tests on PostgreSQL with
// Cohort's public test harness, as an application's module does.
// pgtest's TestOutsideModule runs its tests.
package outside
