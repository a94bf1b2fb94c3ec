package actors

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/cohort-dev/cohort/eventstore"
)

// The type URLs of the messages (anypb.Any holding JSON) that carry an
// event to a process instance on another member and its report back.
const (
	processEventTypeURL = "type.cohort.dev/cohort.ProcessEvent"
	processDoneTypeURL  = "type.cohort.dev/cohort.ProcessDone"
)

// pmToken names one delivery attempt of a coordinator: its session (a
// random number per coordinator), the delivery's sequence number and the
// attempt. The zero token is "none".
type pmToken struct {
	Session uint64 `json:"s"`
	Seq     uint64 `json:"q"`
	Attempt uint64 `json:"a"`
}

// pmDelivery is events for a process instance that is a cluster
// identity (see remoteInstances), handled in order and reported once,
// after the last: what the instance's shard receives on this member as it
// is, and, encoded as a wireProcessEvent, on another.
type pmDelivery struct {
	instance string
	items    []pmItem
	// token names this attempt; prev is the token of the last delivery to
	// the instance that its coordinator accepted (zero: none). An
	// instance whose last delivery was not prev reloads its state first:
	// state, when hasState (nil: deleted), else the stored one.
	token, prev pmToken
	hasState    bool
	state       *eventstore.Snapshot
}

// pmItem is one event of a delivery.
type pmItem struct {
	ev       Event
	rec      eventstore.RecordedEvent // ev as stored: what crosses members
	interest Interest
	// err is ev's decoding error on this member, for the instance's error
	// policy.
	err error
}

// pmReport is an instance's report of a delivery: handled (with the state
// to persist after its last event, nil if unchanged, or its deletion),
// the error that halted the process manager, or, from an instance that
// stopped before handling it, that the delivery must be made again. It
// answers the delivery's request, as it is on this member and encoded as
// a wireProcessDone to another.
type pmReport struct {
	token   pmToken // the delivery's
	state   *eventstore.Snapshot
	deleted bool
	halt    error
	again   bool
}

// wireProcessEvent is a pmDelivery as it crosses the cluster.
type wireProcessEvent struct {
	Instance string               `json:"instance"`
	Items    []wireProcessItem    `json:"items"`
	Token    pmToken              `json:"token"`
	Prev     pmToken              `json:"prev"`
	HasState bool                 `json:"has_state,omitempty"`
	State    *eventstore.Snapshot `json:"state,omitempty"`
}

// wireProcessItem is a pmItem as it crosses the cluster: the event as
// stored (its personal fields sealed), decoded by the receiving member.
type wireProcessItem struct {
	Interest interestKind             `json:"interest"`
	Record   eventstore.RecordedEvent `json:"record"`
}

// wireProcessDone is a pmReport as it crosses the cluster.
type wireProcessDone struct {
	Token   pmToken              `json:"token"`
	State   *eventstore.Snapshot `json:"state,omitempty"`
	Deleted bool                 `json:"deleted,omitempty"`
	Halt    *wireError           `json:"halt,omitempty"`
	Again   bool                 `json:"again,omitempty"`
}

// encodeDelivery encodes d for an instance shard on another member.
func encodeDelivery(d *pmDelivery) (*anypb.Any, error) {
	w := wireProcessEvent{Instance: d.instance, Token: d.token, Prev: d.prev, HasState: d.hasState, State: d.state}
	for _, it := range d.items {
		w.Items = append(w.Items, wireProcessItem{Interest: it.interest.kind, Record: it.rec})
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("actors: encode events for process %s: %w", d.instance, err)
	}
	return &anypb.Any{TypeUrl: processEventTypeURL, Value: data}, nil
}

// decodeDelivery gives back a delivery from another member, its event
// decoded with this member's registry (an event that fails to decode here
// keeps the error, for the instance's error policy).
func (r *pmRunner) decodeDelivery(m *anypb.Any) (*pmDelivery, error) {
	if m.TypeUrl != processEventTypeURL {
		return nil, fmt.Errorf("actors: process event of type %q", m.TypeUrl)
	}
	var w wireProcessEvent
	if err := json.Unmarshal(m.Value, &w); err != nil {
		return nil, fmt.Errorf("actors: decode process event: %w", err)
	}
	if len(w.Items) == 0 {
		return nil, fmt.Errorf("actors: process event for %s without events", w.Instance)
	}
	d := &pmDelivery{instance: w.Instance, token: w.Token, prev: w.Prev, hasState: w.HasState, state: w.State}
	for _, wi := range w.Items {
		it := pmItem{rec: wi.Record, interest: Interest{kind: wi.Interest, ID: w.Instance}}
		it.ev, it.err = r.app.decodeEvent(wi.Record)
		d.items = append(d.items, it)
	}
	return d, nil
}

// encodeReport encodes a report for its coordinator on another member.
func (a *App) encodeReport(rep *pmReport) *anypb.Any {
	w := wireProcessDone{Token: rep.token, State: rep.state, Deleted: rep.deleted, Again: rep.again}
	if rep.halt != nil {
		w.Halt = a.registry.encodeError(rep.halt, a.cluster.addr)
	}
	data, err := json.Marshal(w)
	if err != nil { // a Snapshot always encodes; kept for a change that breaks it
		w.State, w.Halt = nil, a.registry.encodeError(fmt.Errorf("actors: encode process report: %w", err), a.cluster.addr)
		data, _ = json.Marshal(w)
	}
	return &anypb.Any{TypeUrl: processDoneTypeURL, Value: data}
}

// decodeReport gives back a report from another member.
func (a *App) decodeReport(m *anypb.Any) (*pmReport, error) {
	if m.TypeUrl != processDoneTypeURL {
		return nil, fmt.Errorf("actors: process report of type %q", m.TypeUrl)
	}
	var w wireProcessDone
	if err := json.Unmarshal(m.Value, &w); err != nil {
		return nil, fmt.Errorf("actors: decode process report: %w", err)
	}
	rep := &pmReport{token: w.Token, state: w.State, deleted: w.Deleted, again: w.Again}
	if w.Halt != nil {
		rep.halt = a.registry.decodeError(w.Halt)
	}
	return rep, nil
}
