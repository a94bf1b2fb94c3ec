package actors

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
)

// personalKeys is an App's key ring (nil without a master key) and its
// watch of key deletions while the App runs.
type personalKeys struct {
	ring    *keyring
	unwatch func()
}

func newPersonalKeys(cfg Personal) (*personalKeys, error) {
	if len(cfg.MasterKey) == 0 {
		return &personalKeys{}, nil
	}
	if cfg.Keys == nil {
		return nil, errors.New("actors: Config.Personal.MasterKey is set, but the store keeps no keys (it is no eventstore.KeyStore) and Personal.Keys is nil")
	}
	ring, err := newKeyring(cfg)
	if err != nil {
		return nil, err
	}
	return &personalKeys{ring: ring}, nil
}

// start checks the master key, if personal data is registered or a key
// is given, gives the key ring to the registry and watches key deletions.
func (p *personalKeys) start(ctx context.Context, a *App) error {
	if p.ring == nil {
		if a.registersPersonal() {
			return &MasterKeyError{Reason: "missing (Config.Personal.MasterKey), and personal data is registered"}
		}
		return nil
	}
	if err := p.ring.check(ctx); err != nil {
		return err
	}
	a.registry.useKeys(p.ring)
	p.unwatch = p.ring.watch()
	return nil
}

// stop ends the watch of key deletions; it is idempotent.
func (p *personalKeys) stop() {
	if p.unwatch != nil {
		p.unwatch()
	}
}

// registersPersonal reports whether an event type, an aggregate state or
// a process-manager state with personal fields is registered.
func (a *App) registersPersonal() bool {
	if a.registry.hasPersonal() {
		return true
	}
	for _, k := range a.aggregates {
		if p, _ := planOf(stateType(k.typ.New()), true); p != nil {
			return true
		}
	}
	for _, r := range a.handlers {
		if pm, ok := r.(*pmRunner); ok {
			if p, _ := planOf(reflect.TypeOf(pm.cfg.New()), false); p != nil {
				return true
			}
		}
	}
	return false
}

// Forget crypto-shreds subject's personal data: it deletes the subject's
// data key, in every process on the store (their cached copies are
// dropped at once through the store's notifications). From then on,
// everything stored with the subject's personal fields (events,
// snapshots, process-manager states) decodes with those fields replaced
// by ForgottenPlaceholder (strings) or the zero value (other kinds), for
// aggregates, handlers, process managers and rebuilds alike, and new
// values for the subject are stored with the placeholders: the subject
// never gets a key again. State already decoded into memory (a live
// aggregate, a process instance) keeps its values until it is loaded
// again. Forget is idempotent; it needs Config.Personal.MasterKey.
func (a *App) Forget(ctx context.Context, subject string) error {
	if a.keys.ring == nil {
		return &MasterKeyError{Reason: "missing (Config.Personal.MasterKey): nothing was encrypted to forget"}
	}
	return a.keys.ring.forget(ctx, subject)
}

// sealState encodes state, an aggregate's or a process instance's, as
// JSON with its personal fields encrypted; subject is the subject of a
// state without a subject field.
func (a *App) sealState(ctx context.Context, state any, subject string) ([]byte, error) {
	data, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	return a.sealMarshalled(ctx, state, data, subject)
}

// sealMarshalled encrypts the personal fields of data, state as
// json.Marshal encoded it, for a caller that has that encoding already.
func (a *App) sealMarshalled(ctx context.Context, state any, data []byte, subject string) ([]byte, error) {
	plan, err := planOf(stateType(state), true)
	if err != nil {
		return nil, err
	}
	return a.keys.ring.seal(ctx, plan, data, subject)
}

// openState decrypts the personal fields of data, a state of state's type
// that sealState encoded, for decoding into state.
func (a *App) openState(ctx context.Context, state any, data []byte, subject string) ([]byte, error) {
	plan, err := planOf(stateType(state), true)
	if err != nil {
		return nil, err
	}
	return a.keys.ring.open(ctx, plan, data, subject)
}

// stateType is the type whose tags mark a state's personal fields: a
// defined aggregate's state type, else the state's own.
func stateType(state any) reflect.Type {
	if i, ok := state.(interface{ aggregateState() any }); ok {
		state = i.aggregateState()
	}
	return reflect.TypeOf(state)
}
