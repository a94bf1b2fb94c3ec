package main

import (
	"testing"

	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestMain gives the tests that build a Conduit in process (the live
// page's rebuild button) a throwaway PostgreSQL; the others start their
// own Conduit binaries and clusters.
func TestMain(m *testing.M) {
	conduittest.RegisterTemplate()
	pgtest.Main(m)
}
