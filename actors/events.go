package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/eventstore"
)

// decodeEvent is DecodeEvent for the App's subscriptions, which share
// each event's decoding (see decodeCache).
func (a *App) decodeEvent(rec eventstore.RecordedEvent) (Event, error) {
	evs, err := a.decoded.decode(a.registry, rec)
	return oneEvent(rec, evs, err)
}

// DecodeEvent decodes a stored event with the registry's types and
// upcasters, for a stored event that gives one event. An unregistered type
// leaves Payload nil, and so does an upcaster that drops the event; an
// upcaster that splits it into several is an error here (DecodeEvents
// gives them all). Any other decoding failure is returned with the event.
func DecodeEvent(r *Registry, rec eventstore.RecordedEvent) (Event, error) {
	evs, err := DecodeEvents(r, rec)
	return oneEvent(rec, evs, err)
}

// oneEvent is DecodeEvent's answer from what DecodeEvents gave for rec.
func oneEvent(rec eventstore.RecordedEvent, evs []Event, err error) (Event, error) {
	switch {
	case err != nil:
		return evs[0], err
	case len(evs) == 0:
		return baseEvent(rec), nil
	case len(evs) > 1:
		return evs[0], fmt.Errorf("actors: upcast %s gives %d events, not one", rec.Type, len(evs))
	}
	return evs[0], nil
}

// DecodeEvents decodes a stored event with the registry's types and
// upcasters into the events it gives: none if an upcaster drops it,
// several if one splits it. An unregistered type leaves Payload nil. On
// any other decoding failure it returns one event, undecoded, and the
// error.
func DecodeEvents(r *Registry, rec eventstore.RecordedEvent) ([]Event, error) {
	evs, err := decodeRecord(r, rec)
	var unknown *UnregisteredEventError
	if errors.As(err, &unknown) {
		return evs, nil
	}
	return evs, err
}

// decodeRecord is the one place stored events are upcast and decoded. An
// unregistered type leaves Payload nil and is an *UnregisteredEventError;
// on any other failure it returns one event, undecoded, and the error.
// Its key lookups, for personal fields, are bounded by
// Personal.KeyTimeout.
func decodeRecord(r *Registry, rec eventstore.RecordedEvent) ([]Event, error) {
	base := baseEvent(rec)
	outs, err := r.upcastStored(context.Background(), StoredEvent{
		Type: rec.Type, Data: rec.Data, Metadata: base.Metadata.clone(),
		StreamID: rec.StreamID, StreamVersion: rec.StreamVersion, Position: rec.Position,
	})
	if err != nil {
		return []Event{base}, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	evs := make([]Event, len(outs))
	var errs []error
	for i, out := range outs {
		ev := base
		ev.Metadata = out.Metadata // Type stays the stored name
		ev.Payload, err = r.decodeLocked(out.Type, out.Data)
		var unknown *UnregisteredEventError
		if err != nil && !errors.As(err, &unknown) {
			return []Event{base}, err
		}
		errs = append(errs, err)
		ev.more = i < len(outs)-1
		evs[i] = ev
	}
	return evs, errors.Join(errs...)
}

// baseEvent is rec as an Event, without its payload.
func baseEvent(rec eventstore.RecordedEvent) Event {
	ev := Event{
		Type:          rec.Type,
		ID:            rec.ID,
		StreamID:      rec.StreamID,
		StreamVersion: rec.StreamVersion,
		Position:      rec.Position,
		CreatedAt:     rec.CreatedAt,
		CausationID:   rec.CausationID,
		CorrelationID: rec.CorrelationID,
	}
	if len(rec.Metadata) > 0 {
		// Metadata written by other tools may hold other JSON; it is then
		// left out rather than failing the event.
		_ = json.Unmarshal(rec.Metadata, &ev.Metadata)
	}
	return ev
}

// decodeEvents decodes events for a result, leaving Payload nil where
// decoding fails.
func (a *App) decodeEvents(recs []eventstore.RecordedEvent) []Event {
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		got, _ := DecodeEvents(a.registry, r)
		evs = append(evs, got...)
	}
	return evs
}
