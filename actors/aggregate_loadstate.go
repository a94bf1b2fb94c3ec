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
	// loaded: the stored state, at the actor's version, read or appended
	// to during the current command.
	loaded
	// kept: the stored state as of an earlier command, kept in memory;
	// another process may have written since. An append finds out (a
	// version conflict); a refusal or a no-op reads the store first.
	kept
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
	case kept:
		return "kept"
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

// next is the state after e: an append confirms a state assumed new, and
// brings a kept one up to date; a state assumed new and not confirmed by
// the end of its command is read on the next command, a loaded one is
// kept.
func (s loadState) next(e loadEvent) loadState {
	switch e {
	case assumed:
		return assumedNew
	case read:
		return loaded
	case failed:
		return unloaded
	case appendedEvents:
		if s == assumedNew || s == kept {
			return loaded
		}
	case commandDone:
		switch s {
		case assumedNew:
			return unloaded
		case loaded:
			return kept
		}
	}
	return s
}

// to moves the actor's load state on e.
func (a *aggregateActor) to(e loadEvent) { a.status = a.status.next(e) }
