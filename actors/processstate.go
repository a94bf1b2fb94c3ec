package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
)

// ErrProcessState reports that a process instance's state could not be
// decoded (or was stored with another schema version and no
// UpgradeState), or could not be encoded. The error is a
// *ProcessStateError.
var ErrProcessState = errors.New("actors: process state unusable")

// ProcessStateError reports an instance state that could not be decoded
// or encoded; the process manager's error policy decides about it.
type ProcessStateError struct {
	ProcessManager string
	ID             string // the instance
	// Op is "decode" or "encode".
	Op string
	// Version is the schema version of the state.
	Version int
	Err     error
}

// Error returns a message naming the instance, what failed and the cause.
func (e *ProcessStateError) Error() string {
	return fmt.Sprintf("actors: process manager %s, instance %s: %s state of schema version %d: %v",
		e.ProcessManager, e.ID, e.Op, e.Version, e.Err)
}

// Unwrap returns ErrProcessState and the cause.
func (e *ProcessStateError) Unwrap() []error { return []error{ErrProcessState, e.Err} }

// pmState is an instance's persisted form. Last is the position of the
// last event that changed the state (or that started it): an instance
// persists its state only when an event changes it, so events after Last
// may have been handled already. Delivered again after a restart (those
// after the subscription's checkpoint), they find the state they found
// the first time, leave it unchanged again and dispatch the same commands
// with the same ids, which their aggregates recognise.
type pmState struct {
	Last  int64           `json:"last"`
	State json.RawMessage `json:"state"`
}

// marshalState returns instance id's state pm as JSON, the form that
// tells whether an event changed it.
func (r *pmRunner) marshalState(id string, pm ProcessManager) ([]byte, error) {
	state, err := json.Marshal(pm)
	if err != nil {
		return nil, &ProcessStateError{ProcessManager: r.cfg.Name, ID: id, Op: "encode", Version: r.cfg.StateVersion, Err: err}
	}
	return state, nil
}

// stateSnapshot returns instance id's state pm, marshalled by
// marshalState as state, after the event at last, in its persisted form:
// its personal fields sealed (see Personal).
func (r *pmRunner) stateSnapshot(ctx context.Context, id string, pm ProcessManager, state []byte, last int64) (*eventstore.Snapshot, error) {
	state, err := r.app.sealMarshalled(ctx, pm, state, "")
	var data []byte
	if err == nil {
		data, err = json.Marshal(pmState{Last: last, State: state})
	}
	if err != nil {
		return nil, &ProcessStateError{ProcessManager: r.cfg.Name, ID: id, Op: "encode", Version: r.cfg.StateVersion, Err: err}
	}
	return &eventstore.Snapshot{
		SourceID:      r.stateID(id),
		SourceVersion: last,
		SourceType:    r.cfg.Name,
		SchemaVersion: r.cfg.StateVersion,
		Data:          data,
	}, nil
}

// decodeState returns the state that snap persists, upgraded to the
// declared schema version, and the position of the last event it handled.
func (r *pmRunner) decodeState(ctx context.Context, id string, snap eventstore.Snapshot) (ProcessManager, int64, error) {
	fail := func(err error) (ProcessManager, int64, error) {
		return nil, 0, &ProcessStateError{ProcessManager: r.cfg.Name, ID: id, Op: "decode", Version: snap.SchemaVersion, Err: err}
	}
	var st pmState
	if err := json.Unmarshal(snap.Data, &st); err != nil {
		return fail(err)
	}
	// Decrypted first, with the current type's personal fields, so that
	// UpgradeState sees the values.
	pm := r.cfg.New()
	state, err := r.app.openState(ctx, pm, st.State, "")
	if err != nil {
		return fail(err)
	}
	if snap.SchemaVersion != r.cfg.StateVersion {
		if r.cfg.UpgradeState == nil {
			return fail(fmt.Errorf("the process manager declares schema version %d and has no UpgradeState", r.cfg.StateVersion))
		}
		if state, err = r.cfg.UpgradeState(snap.SchemaVersion, state); err != nil {
			return fail(fmt.Errorf("upgrade: %w", err))
		}
	}
	if err := json.Unmarshal(state, pm); err != nil {
		return fail(err)
	}
	return pm, st.Last, nil
}

// copyState returns a copy of pm, made through its JSON as its persisted
// state is, for an error policy (which may keep it while the instance goes
// on); nil if pm is nil or does not round-trip.
func (r *pmRunner) copyState(pm ProcessManager) ProcessManager {
	if pm == nil {
		return nil
	}
	data, err := json.Marshal(pm)
	if err != nil {
		return nil
	}
	c := r.cfg.New()
	if json.Unmarshal(data, c) != nil {
		return nil
	}
	return c
}
