package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/cohort-dev/cohort/eventstore"
)

// ClusterProtocol names the shape of the messages members exchange (the
// command and reply encodings below, and process managers' deliveries and
// reports, process_wire.go). Members of one cluster must speak
// the same: give it to a membership provider that checks it, such as
// actors/cluster/postgres's Config.Protocol. It changes when a change of
// those shapes makes members of different releases unable to talk.
//
// Version 2: process-manager instances are cluster identities, fed by
// deliveries (a member of version 1 does not host them).
const ClusterProtocol = "cohort-cluster/2"

// The type URLs of the protobuf messages (anypb.Any holding JSON) that
// carry a command to another member and its outcome back.
const (
	commandTypeURL = "type.cohort.dev/cohort.Command"
	replyTypeURL   = "type.cohort.dev/cohort.Reply"
)

// wireCommand is a command as it crosses the cluster.
type wireCommand struct {
	Type            string            `json:"type"` // the command type's name (commandNames)
	Payload         json.RawMessage   `json:"payload"`
	ID              uuid.UUID         `json:"id"`
	Idempotent      bool              `json:"idempotent,omitempty"`
	CausationID     uuid.UUID         `json:"causation_id"`
	CorrelationID   uuid.UUID         `json:"correlation_id"`
	Metadata        Metadata          `json:"metadata,omitempty"`
	AggregateType   string            `json:"aggregate_type"`
	AggregateID     string            `json:"aggregate_id"`
	ExpectedVersion int64             `json:"expected_version"`
	Returning       Returning         `json:"returning,omitempty"`
	Creating        bool              `json:"creating,omitempty"`
	Remaining       time.Duration     `json:"remaining"` // until the dispatch's deadline
	HasDeadline     bool              `json:"has_deadline,omitempty"`
	Trace           map[string]string `json:"trace,omitempty"`
}

// wireReply is a command's outcome as it crosses the cluster.
type wireReply struct {
	Result *wireResult `json:"result,omitempty"`
	Err    *wireError  `json:"err,omitempty"`
}

// wireResult is a Result as it crosses the cluster: events by their
// registered names, the state as JSON.
type wireResult struct {
	AggregateID string                    `json:"aggregate_id"`
	StreamID    string                    `json:"stream_id"`
	Version     int64                     `json:"version"`
	Position    int64                     `json:"position"`
	Events      []wireEvent               `json:"events,omitempty"`
	Writes      []eventstore.AppendResult `json:"writes,omitempty"`
	State       json.RawMessage           `json:"state,omitempty"`
	Duplicate   bool                      `json:"duplicate,omitempty"`
}

// wireEvent is an Event as it crosses the cluster: Name is its payload's
// registered name ("" for none), which may differ from the stored Type
// after an upcast.
type wireEvent struct {
	Event
	Name string          `json:"name,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// commandNames names the routed command types for the wire: the name an
// event type has in the registry, else the Go package path and type name.
type commandNames struct {
	byType map[reflect.Type]string
	byName map[string]reflect.Type
}

// newCommandNames names the routed types; two with one name are an error.
func newCommandNames(r *Registry, routes map[reflect.Type]route) (commandNames, error) {
	n := commandNames{byType: make(map[reflect.Type]string), byName: make(map[string]reflect.Type)}
	for t := range routes {
		name := goTypeName(t)
		r.mu.RLock()
		if registered, ok := r.names[t]; ok {
			name = registered
		}
		r.mu.RUnlock()
		if other, dup := n.byName[name]; dup {
			return commandNames{}, fmt.Errorf("actors: commands %v and %v have the same name %q", t, other, name)
		}
		n.byType[t], n.byName[name] = name, t
	}
	return n, nil
}

// goTypeName is t's package path and name.
func goTypeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return "*" + goTypeName(t.Elem())
	}
	if t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

// decode gives back a command payload of the named type.
func (n commandNames) decode(name string, data []byte) (any, error) {
	t, ok := n.byName[name]
	if !ok {
		return nil, &UnregisteredCommandError{Type: name}
	}
	if t.Kind() == reflect.Pointer {
		v := reflect.New(t.Elem())
		if err := json.Unmarshal(data, v.Interface()); err != nil {
			return nil, fmt.Errorf("actors: decode command %s: %w", name, err)
		}
		return v.Interface(), nil
	}
	v := reflect.New(t)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return nil, fmt.Errorf("actors: decode command %s: %w", name, err)
	}
	return v.Elem().Interface(), nil
}

// encodeCommand encodes a command for its shard on another member, with
// the time left until ctx's deadline and the trace context hdr.
func (a *App) encodeCommand(ctx context.Context, cmd *Command, hdr map[string]string) (*anypb.Any, error) {
	name, ok := a.cluster.names.byType[reflect.TypeOf(cmd.Payload)]
	if !ok {
		return nil, &UnregisteredCommandError{Type: fmt.Sprintf("%T", cmd.Payload)}
	}
	payload, err := json.Marshal(cmd.Payload)
	if err != nil {
		return nil, fmt.Errorf("actors: encode command %s: %w", name, err)
	}
	w := wireCommand{
		Type: name, Payload: payload, ID: cmd.ID, Idempotent: cmd.idempotent,
		CausationID: cmd.CausationID, CorrelationID: cmd.CorrelationID, Metadata: cmd.Metadata,
		AggregateType: cmd.AggregateType, AggregateID: cmd.AggregateID,
		ExpectedVersion: cmd.ExpectedVersion, Returning: cmd.Returning, Creating: cmd.creating,
		Trace: hdr,
	}
	if d, ok := ctx.Deadline(); ok {
		w.Remaining, w.HasDeadline = time.Until(d), true
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("actors: encode command %s: %w", name, err)
	}
	return &anypb.Any{TypeUrl: commandTypeURL, Value: data}, nil
}

// decodeCommand gives back a command from another member, with a context
// bounded by its caller's deadline (cancel releases it) and its trace
// context.
func (a *App) decodeCommand(m *anypb.Any) (ctx context.Context, cancel context.CancelFunc, cmd *Command, hdr map[string]string, err error) {
	var w wireCommand
	if err := json.Unmarshal(m.Value, &w); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("actors: decode command: %w", err)
	}
	payload, err := a.cluster.names.decode(w.Type, w.Payload)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cmd = &Command{
		Payload: payload, ID: w.ID, CausationID: w.CausationID, CorrelationID: w.CorrelationID,
		Metadata: w.Metadata, AggregateType: w.AggregateType, AggregateID: w.AggregateID,
		Returning: w.Returning, ExpectedVersion: w.ExpectedVersion, Timeout: w.Remaining,
		idempotent: w.Idempotent, creating: w.Creating,
	}
	if !w.Idempotent {
		cmd.generated = w.ID
	}
	bound := w.Remaining // past already when the caller's deadline passed on the way
	if !w.HasDeadline {
		bound = loadTimeout
	}
	ctx, cancel = context.WithTimeout(context.Background(), bound)
	return ctx, cancel, cmd, w.Trace, nil
}

// encodeReply encodes a command's outcome for its caller on another
// member.
func (a *App) encodeReply(res Result, err error) *anypb.Any {
	w := wireReply{Err: a.registry.encodeError(err, a.cluster.addr)}
	if res.AggregateID != "" || res.Version != 0 || res.Position != 0 {
		wr := &wireResult{AggregateID: res.AggregateID, StreamID: res.StreamID, Version: res.Version,
			Position: res.Position, Writes: res.Writes, Duplicate: res.Duplicate}
		for _, ev := range res.Events {
			we := wireEvent{Event: ev}
			we.Payload = nil
			if ev.Payload != nil {
				if name, nerr := a.registry.Name(ev.Payload); nerr == nil {
					if data, merr := json.Marshal(ev.Payload); merr == nil {
						we.Name, we.Data = name, data
					}
				}
			}
			wr.Events = append(wr.Events, we)
		}
		if res.State != nil {
			if data, merr := json.Marshal(res.State); merr == nil {
				wr.State = data
			} else if w.Err == nil {
				w.Err = a.registry.encodeError(fmt.Errorf("actors: encode the state to return: %w", merr), a.cluster.addr)
			}
		}
		w.Result = wr
	}
	data, merr := json.Marshal(w)
	if merr != nil {
		data, _ = json.Marshal(wireReply{Err: a.registry.encodeError(fmt.Errorf("actors: encode reply: %w", merr), a.cluster.addr)})
	}
	return &anypb.Any{TypeUrl: replyTypeURL, Value: data}
}

// decodeReply gives back a command's outcome from another member: its
// events decoded with this member's registry, its state into the
// aggregate type's own state type.
func (a *App) decodeReply(k *aggregateKind, m *anypb.Any) (Result, error) {
	var w wireReply
	if m.TypeUrl != replyTypeURL {
		return Result{}, fmt.Errorf("actors: reply of type %q", m.TypeUrl)
	}
	if err := json.Unmarshal(m.Value, &w); err != nil {
		return Result{}, fmt.Errorf("actors: decode reply: %w", err)
	}
	err := a.registry.decodeError(w.Err)
	if w.Result == nil {
		return Result{}, err
	}
	wr := w.Result
	res := Result{AggregateID: wr.AggregateID, StreamID: wr.StreamID, Version: wr.Version,
		Position: wr.Position, Writes: wr.Writes, Duplicate: wr.Duplicate}
	for _, we := range wr.Events {
		ev := we.Event
		if we.Name != "" {
			a.registry.mu.RLock()
			ev.Payload, _ = a.registry.decodeLocked(we.Name, we.Data) // nil when it fails, as locally
			a.registry.mu.RUnlock()
		}
		res.Events = append(res.Events, ev)
	}
	if len(wr.State) > 0 {
		c := k.typ.New()
		if uerr := json.Unmarshal(wr.State, c); uerr != nil && err == nil {
			err = fmt.Errorf("actors: %s %s: decode the state returned: %w", k.typ.Name, res.AggregateID, uerr)
		} else if uerr == nil {
			res.State = stateOf(c)
		}
	}
	return res, err
}
