package conduit

import (
	"testing"

	"github.com/cohort-dev/cohort/actors"
)

// TestDomainErrorsRegistered: every domain error is registered once, under
// its own name, so that it crosses a cluster.
func TestDomainErrorsRegistered(t *testing.T) {
	r := actors.NewRegistry()
	if err := registerDomainErrors(r); err != nil {
		t.Fatal(err)
	}
	if err := registerDomainErrors(r); err == nil {
		t.Error("registering the domain errors twice succeeds: their names are not taken")
	}
}
