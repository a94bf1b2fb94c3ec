package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/cohort-dev/cohort/eventstore"
)

// RemoteError is the failure of a command that ran on another member of
// the cluster. Its message is the original error's. It unwraps to the
// errors the original one matched, as registered with
// Registry.RegisterError and RegisterErrorType (and the runtime's own
// errors, which are always known), so errors.Is and errors.As match it as
// they would the original; an error that matched none unwraps to
// ErrRemote.
type RemoteError struct {
	// Node is the address of the member that ran the command.
	Node string
	// Type is the Go type of the original error.
	Type string
	// Message is the original error's message.
	Message string

	matches []error
}

// Error returns the original error's message.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the errors the original error matched, or ErrRemote.
func (e *RemoteError) Unwrap() []error {
	if len(e.matches) == 0 {
		return []error{ErrRemote}
	}
	return e.matches
}

// errorCodec carries one kind of error across the cluster: match finds
// it in an error's chain and encodes it, decode gives it back.
type errorCodec struct {
	name   string
	match  func(err error) (json.RawMessage, bool)
	decode func(data json.RawMessage) (error, error)
}

// sentinelCodec carries a sentinel error value: it matches errors.Is and
// decodes to the value itself.
func sentinelCodec(name string, sentinel error) errorCodec {
	return errorCodec{
		name:   name,
		match:  func(err error) (json.RawMessage, bool) { return nil, errors.Is(err, sentinel) },
		decode: func(json.RawMessage) (error, error) { return sentinel, nil },
	}
}

// typeCodec carries an error type E as JSON: it matches errors.As.
func typeCodec[E error](name string) errorCodec {
	return errorCodec{
		name: name,
		match: func(err error) (json.RawMessage, bool) {
			var e E
			if !errors.As(err, &e) {
				return nil, false
			}
			data, merr := json.Marshal(e)
			return data, merr == nil
		},
		decode: func(data json.RawMessage) (error, error) {
			var e E
			if t := reflect.TypeFor[E](); t.Kind() == reflect.Pointer {
				e = reflect.New(t.Elem()).Interface().(E)
			}
			if err := json.Unmarshal(data, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}

// panicCodec carries a *PanicError, its value as text.
var panicCodec = errorCodec{
	name: "cohort.PanicError",
	match: func(err error) (json.RawMessage, bool) {
		var p *PanicError
		if !errors.As(err, &p) {
			return nil, false
		}
		data, merr := json.Marshal(PanicError{Value: fmt.Sprint(p.Value), Stack: p.Stack})
		return data, merr == nil
	},
	decode: func(data json.RawMessage) (error, error) {
		p := &PanicError{}
		return p, json.Unmarshal(data, p)
	},
}

// runtimeErrors are the runtime's own errors, carried by every member.
var runtimeErrors = []errorCodec{
	typeCodec[*eventstore.VersionConflictError]("cohort.VersionConflictError"),
	typeCodec[*UnregisteredCommandError]("cohort.UnregisteredCommandError"),
	typeCodec[*UnregisteredEventError]("cohort.UnregisteredEventError"),
	panicCodec,
	sentinelCodec("cohort.ErrUnregisteredCommand", ErrUnregisteredCommand),
	sentinelCodec("cohort.ErrMissingIdentity", ErrMissingIdentity),
	sentinelCodec("cohort.ErrValidation", ErrValidation),
	sentinelCodec("cohort.ErrStreamWrite", ErrStreamWrite),
	sentinelCodec("cohort.ErrVersionConflict", ErrVersionConflict),
	sentinelCodec("cohort.ErrTimeout", ErrTimeout),
	sentinelCodec("cohort.ErrAggregateStopped", ErrAggregateStopped),
	sentinelCodec("cohort.ErrStopped", ErrStopped),
	sentinelCodec("cohort.ErrUnregisteredEvent", ErrUnregisteredEvent),
	sentinelCodec("cohort.ErrHandlerNotFound", ErrHandlerNotFound),
	sentinelCodec("cohort.ErrMasterKey", ErrMasterKey),
	sentinelCodec("context.DeadlineExceeded", context.DeadlineExceeded),
	sentinelCodec("context.Canceled", context.Canceled),
	sentinelCodec("eventstore.ErrStreamNotFound", eventstore.ErrStreamNotFound),
	sentinelCodec("eventstore.ErrStreamDeleted", eventstore.ErrStreamDeleted),
	sentinelCodec("eventstore.ErrDuplicateEvent", eventstore.ErrDuplicateEvent),
	sentinelCodec("eventstore.ErrEventNotFound", eventstore.ErrEventNotFound),
	sentinelCodec("eventstore.ErrInvalidArgument", eventstore.ErrInvalidArgument),
	sentinelCodec("eventstore.ErrClosed", eventstore.ErrClosed),
	sentinelCodec("eventstore.ErrUnavailable", eventstore.ErrUnavailable),
}

// RegisterError names a sentinel error value so that it crosses the
// cluster: a command that fails on another member with an error matching
// sentinel (errors.Is) fails on the caller with an error matching it too.
// Every member registers the same errors under the same names.
func (r *Registry) RegisterError(name string, sentinel error) error {
	if sentinel == nil {
		return fmt.Errorf("actors: error %q: nil sentinel", name)
	}
	return r.addError(sentinelCodec(name, sentinel))
}

// RegisterErrorType names an error type E, which must encode as JSON, so
// that it crosses the cluster: a command that fails on another member
// with an error whose chain holds an E (errors.As) fails on the caller
// with one holding an equal E. Every member registers the same types
// under the same names.
func RegisterErrorType[E error](r *Registry, name string) error {
	return r.addError(typeCodec[E](name))
}

// addError registers an error codec under its unique name.
func (r *Registry) addError(c errorCodec) error {
	if c.name == "" {
		return errors.New("actors: error registered without a name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errorNames == nil {
		r.errorNames = make(map[string]errorCodec)
		for _, rc := range runtimeErrors {
			r.errorNames[rc.name] = rc
		}
	}
	if _, dup := r.errorNames[c.name]; dup {
		return fmt.Errorf("actors: error name %q already taken", c.name)
	}
	r.errorNames[c.name] = c
	r.errorCodecs = append(r.errorCodecs, c)
	return nil
}

// errorCodec returns the codec registered, or built in, under name.
func (r *Registry) errorCodec(name string) (errorCodec, bool) {
	r.mu.RLock()
	c, ok := r.errorNames[name]
	r.mu.RUnlock()
	if ok {
		return c, true
	}
	for _, rc := range runtimeErrors {
		if rc.name == name {
			return rc, true
		}
	}
	return errorCodec{}, false
}

// wireError is an error as it crosses the cluster.
type wireError struct {
	Message string      `json:"message"`
	Type    string      `json:"type"`
	Node    string      `json:"node"`
	Matches []wireMatch `json:"matches,omitempty"`
	// Validation carries a *ValidationError, and StreamWrite a
	// *StreamWriteError, each with the error it holds.
	Validation  *wireWrapped `json:"validation,omitempty"`
	StreamWrite *wireWrapped `json:"stream_write,omitempty"`
}

// wireMatch is one registered or runtime error an error matched.
type wireMatch struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data,omitempty"`
}

// wireWrapped is a *ValidationError or a *StreamWriteError.
type wireWrapped struct {
	Aggregate string     `json:"aggregate"`
	ID        string     `json:"id"`
	Stream    string     `json:"stream,omitempty"`
	Err       *wireError `json:"err"`
}

// encodeError encodes err, which happened on node, with the errors it
// matches.
func (r *Registry) encodeError(err error, node string) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Message: err.Error(), Type: fmt.Sprintf("%T", err), Node: node}
	// The runtime's errors that hold another error, as the aggregate
	// actor returns them.
	switch e := err.(type) {
	case *ValidationError:
		w.Validation = &wireWrapped{Aggregate: e.Aggregate, ID: e.ID, Err: r.encodeError(e.Err, node)}
		return w
	case *StreamWriteError:
		w.StreamWrite = &wireWrapped{Aggregate: e.Aggregate, ID: e.ID, Stream: e.Stream, Err: r.encodeError(e.Err, node)}
		return w
	}
	r.mu.RLock()
	codecs := r.errorCodecs
	r.mu.RUnlock()
	for _, list := range [][]errorCodec{runtimeErrors, codecs} {
		for _, c := range list {
			if data, ok := c.match(err); ok {
				w.Matches = append(w.Matches, wireMatch{Name: c.name, Data: data})
			}
		}
	}
	return w
}

// decodeError gives back an error encodeError encoded. A match this
// member does not know is left out.
func (r *Registry) decodeError(w *wireError) error {
	if w == nil {
		return nil
	}
	if v := w.Validation; v != nil {
		return &ValidationError{Aggregate: v.Aggregate, ID: v.ID, Err: r.decodeError(v.Err)}
	}
	if v := w.StreamWrite; v != nil {
		return &StreamWriteError{Aggregate: v.Aggregate, ID: v.ID, Stream: v.Stream, Err: r.decodeError(v.Err)}
	}
	e := &RemoteError{Node: w.Node, Type: w.Type, Message: w.Message}
	for _, m := range w.Matches {
		c, ok := r.errorCodec(m.Name)
		if !ok {
			continue
		}
		if got, err := c.decode(m.Data); err == nil {
			e.matches = append(e.matches, got)
		}
	}
	return e
}
