package bank_test

import (
	"testing"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestMain runs the tests through pgtest.Main, which starts a throwaway
// PostgreSQL server for actorstest.Stores' PostgreSQL cases.
func TestMain(m *testing.M) { pgtest.Main(m) }
