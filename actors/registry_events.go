package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Events registers the types of the given values, each under its type's
// name as reflect.Type.String gives it (package.Type, e.g.
// "bank.AccountOpened"), unless the type is already registered (under
// any name). Values of each type are decoded back into that type. The
// values must be non-nil and not pointers. Events checks every value
// before it registers any, and returns every conflict, joined.
func (r *Registry) Events(events ...any) error {
	if err := r.canRegister(events); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range events {
		t := reflect.TypeOf(ev)
		if _, ok := r.names[t]; ok {
			continue
		}
		plan, _ := planOf(t, false) // checked by canRegister
		r.names[t] = t.String()
		r.gen++
		r.setPlan(t.String(), plan)
		r.decoders[t.String()] = func(data []byte) (any, error) {
			v := reflect.New(t)
			if err := json.Unmarshal(data, v.Interface()); err != nil {
				return nil, err
			}
			return v.Elem().Interface(), nil
		}
	}
	return nil
}

// canRegister reports why Events(events...) would fail, or nil.
func (r *Registry) canRegister(events []any) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	batch := make(map[string]reflect.Type) // names this call would take
	for _, ev := range events {
		t := reflect.TypeOf(ev)
		switch {
		case t == nil:
			errs = append(errs, errors.New("actors: register a nil event"))
			continue
		case t.Kind() == reflect.Pointer:
			errs = append(errs, fmt.Errorf("actors: register event %v: a pointer; register the value", t))
			continue
		}
		if _, ok := r.names[t]; ok {
			continue
		}
		if _, err := planOf(t, false); err != nil {
			errs = append(errs, err)
		}
		_, taken := r.decoders[t.String()]
		if other, ok := batch[t.String()]; taken || ok && other != t {
			errs = append(errs, fmt.Errorf("actors: event name %q already taken", t.String()))
		}
		batch[t.String()] = t
	}
	return errors.Join(errs...)
}
