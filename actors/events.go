package actors

import (
	"encoding/json"
	"errors"

	"github.com/cohort-dev/cohort/eventstore"
)

func (a *App) decodeEvent(rec eventstore.RecordedEvent) (Event, error) {
	return DecodeEvent(a.registry, rec)
}

// DecodeEvent decodes a stored event with the registry's types and
// upcasters. An unregistered type leaves Payload nil; any other decoding
// failure is returned with the event.
func DecodeEvent(r *Registry, rec eventstore.RecordedEvent) (Event, error) {
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
	payload, err := r.Decode(rec.Type, rec.Data)
	if err != nil {
		var unknown *UnregisteredEventError
		if errors.As(err, &unknown) {
			return ev, nil
		}
		return ev, err
	}
	ev.Payload = payload
	return ev, nil
}

// decodeEvents decodes events for a result, leaving Payload nil where
// decoding fails.
func (a *App) decodeEvents(recs []eventstore.RecordedEvent) []Event {
	evs := make([]Event, len(recs))
	for i, r := range recs {
		evs[i], _ = a.decodeEvent(r)
	}
	return evs
}
