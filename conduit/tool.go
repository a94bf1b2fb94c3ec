package conduit

import (
	"fmt"
	"slices"
)

// ToolOptions are the settings of benchmarks and tools, which a server
// never sets: only NewTool takes them, and New runs with their zero value
// (every handler, every use case strongly consistent). cmd/conduit-bench
// studies handlers alone and loads users in bulk with them; the rebuild
// subcommand of cmd/conduit runs only the projections it rebuilds.
type ToolOptions struct {
	// Handlers selects the projections, process managers and handlers the
	// application runs, by name (see HandlerNames); empty runs them all,
	// as a server must. Those left out keep their subscriptions and
	// checkpoints and catch up when an application runs them again.
	Handlers []string
	// EventualAccounts makes RegisterUser and UpdateUser return once their
	// events are stored, without waiting for the read model and the
	// workflow, and return the user as their command left it: a bulk load
	// or a benchmark wants this. Their caller's next read may then miss
	// the write, which a server must never allow. Uniqueness still holds:
	// it rests on claims, not on the read model. The other use cases stay
	// strongly consistent.
	EventualAccounts bool
}

// validate reports a handler name that HandlerNames does not list.
func (o ToolOptions) validate() error {
	for _, n := range o.Handlers {
		if !slices.Contains(HandlerNames(), n) {
			return fmt.Errorf("conduit: ToolOptions.Handlers: no handler %q (handlers: %v)", n, HandlerNames())
		}
	}
	return nil
}

// runs reports whether the application runs the named handler.
func (o ToolOptions) runs(name string) bool {
	return len(o.Handlers) == 0 || slices.Contains(o.Handlers, name)
}

// running returns the handlers among names that the application runs.
func (o ToolOptions) running(names []string) []string {
	var run []string
	for _, n := range names {
		if o.runs(n) {
			run = append(run, n)
		}
	}
	return run
}
