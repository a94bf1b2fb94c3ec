package memory_test

import (
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		root := memory.New()
		t.Cleanup(func() { root.Close() })
		return func(testing.TB) eventstore.Store { return root.Connect() }
	})
}
