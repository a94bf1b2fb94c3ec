package actorstest_test

import (
	"testing"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestMain runs the tests through pgtest.Main, as actorstest.Stores needs.
func TestMain(m *testing.M) { pgtest.Main(m) }
