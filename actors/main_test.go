package actors_test

import (
	"testing"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestMain starts the throwaway PostgreSQL cluster that actorstest.Stores
// runs every test on, besides the in-memory store. A test binary re-run as
// a helper process (see TestHandlerFailoverWhenProcessDies) runs that
// instead.
func TestMain(m *testing.M) {
	if runHelperProcess() {
		return
	}
	pgtest.Main(m)
}
