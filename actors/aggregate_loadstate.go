package actors

// loadState is what an aggregate actor's state is: to be read, assumed
// new, or the stored one.
type loadState uint8

const (
	// unloaded: the state must be read from the store before the next
	// command (never read, a read failed, or an append may or may not
	// have committed).
	unloaded loadState = iota
	// assumedNew: the aggregate is taken for a new one, not yet stored,
	// for a command routed with Creating; only an append tells it from a
	// stored one.
	assumedNew
	// loaded: the stored state, at the actor's version.
	loaded
)

// String names the state, for logs and test failures.
func (s loadState) String() string {
	switch s {
	case unloaded:
		return "unloaded"
	case assumedNew:
		return "assumed new"
	case loaded:
		return "loaded"
	}
	return "invalid"
}

// loadEvent is what changes an aggregate actor's loadState.
type loadEvent uint8

const (
	assumed        loadEvent = iota // taken for a new aggregate
	read                            // the stored state read
	appendedEvents                  // an append succeeded
	failed                          // a read failed, or an append may have committed
	commandDone                     // a command was answered
)

// next is the state after e: an append confirms a state assumed new; one
// not confirmed by the end of its command is read on the next command.
func (s loadState) next(e loadEvent) loadState {
	switch e {
	case assumed:
		return assumedNew
	case read:
		return loaded
	case failed:
		return unloaded
	case appendedEvents:
		if s == assumedNew {
			return loaded
		}
	case commandDone:
		if s == assumedNew {
			return unloaded
		}
	}
	return s
}

// to moves the actor's load state on e.
func (a *aggregateActor) to(e loadEvent) { a.status = a.status.next(e) }
