package unique

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// KeyCheckedEvent is the type of the event Upgrade records once a store's
// claims are all named with a key: a check of the key, which tells a
// later Upgrade whether it is given the same one.
const KeyCheckedEvent = "unique.KeyChecked"

// KeyChecked is the event of KeyCheckedEvent.
type KeyChecked struct {
	// Check is a keyed digest of a fixed text: equal for equal keys, and
	// telling nothing about the key.
	Check string `json:"check"`
}

// keyCheckStream holds the KeyChecked event.
const keyCheckStream = "claim.key"

// legacyPrefix starts the ids of claim streams named before values were
// hashed: "unique-<namespace>-<value>", the value in plain (or a SHA-256
// of a long one), and in plain in their events.
const legacyPrefix = "unique-"

var (
	// ErrWrongKey reports that the store's claims were named with another
	// key; with this one every claimed value would read as free.
	ErrWrongKey = errors.New("unique: the claims in the store were made with another key")
	// ErrUpgradeConflict reports that a claim named in plain and its keyed
	// stream were both written to, so neither can be taken for the other.
	ErrUpgradeConflict = errors.New("unique: a plain claim and its keyed stream disagree")
)

// UpgradeStore is what Upgrade needs of an event store.
type UpgradeStore interface {
	Store
	eventstore.AllReader
}

// Upgrade readies store's claims for streams before any claim is made or
// read with them: run it at start-up, with no process running an older
// version, which names claims in plain. It returns the number of claims
// it moved.
//
// The first time, it moves every claim stream named in plain ("unique-
// <namespace>-<value>") to its keyed stream: it copies the stream's
// events, their values replaced by the keyed hash, so the keyed stream
// ends at the same version (the versions the owners' events recorded
// stay right), and then hard-deletes the plain stream, which removes the
// values from the store. A run that stops halfway is resumed by the next
// one: a keyed stream already at the plain one's version is taken as its
// copy; one at another version is an ErrUpgradeConflict and stays, with
// its plain stream, for an operator. Once every claim is moved it
// records a check of the key; later runs only compare the key with it,
// and fail with ErrWrongKey if it differs.
func Upgrade(ctx context.Context, store UpgradeStore, streams *Streams) (moved int, err error) {
	switch checked, err := keyChecked(ctx, store, streams); {
	case err != nil:
		return 0, err
	case checked:
		return 0, nil
	}
	plain, err := plainClaims(ctx, store)
	if err != nil {
		return 0, err
	}
	var conflicts []error
	for _, stream := range plain {
		err := moveClaim(ctx, store, streams, stream)
		switch {
		case errors.Is(err, ErrUpgradeConflict):
			conflicts = append(conflicts, err)
		case err != nil:
			return moved, err
		default:
			moved++
		}
	}
	if err := errors.Join(conflicts...); err != nil {
		return moved, err
	}
	return moved, recordKeyCheck(ctx, store, streams)
}

// keyChecked reports whether the store records a check of the key, and
// fails with ErrWrongKey if it is another key's.
func keyChecked(ctx context.Context, store Store, streams *Streams) (bool, error) {
	recs, err := store.ReadStream(ctx, keyCheckStream, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("unique: read the key check: %w", err)
	case len(recs) == 0:
		return false, nil
	}
	var kc KeyChecked
	if err := json.Unmarshal(recs[0].Data, &kc); err != nil || kc.Check == "" {
		return false, fmt.Errorf("unique: key check %s at version %d: undecodable: %q", keyCheckStream, recs[0].StreamVersion, recs[0].Data)
	}
	if kc.Check != streams.keyCheck() {
		return false, ErrWrongKey
	}
	return true, nil
}

// recordKeyCheck records the key's check, unless a concurrent upgrade did.
func recordKeyCheck(ctx context.Context, store Store, streams *Streams) error {
	data, err := json.Marshal(KeyChecked{Check: streams.keyCheck()})
	if err != nil {
		return fmt.Errorf("unique: encode the key check: %w", err)
	}
	_, err = store.Append(ctx, keyCheckStream, eventstore.NoStream, []eventstore.EventData{{
		ID: uuid.Must(uuid.NewV7()), Type: KeyCheckedEvent, Data: data}})
	if errors.Is(err, eventstore.ErrVersionConflict) {
		_, err = keyChecked(ctx, store, streams)
		return err
	}
	if err != nil {
		return fmt.Errorf("unique: record the key check: %w", err)
	}
	return nil
}

// plainClaims returns the ids of the claim streams named in plain, from
// a read of every event in the store.
func plainClaims(ctx context.Context, store eventstore.AllReader) ([]string, error) {
	const batch = 1000
	seen := make(map[string]bool)
	var from int64
	for {
		recs, err := store.ReadAll(ctx, eventstore.ReadOptions{From: from, Count: batch})
		if err != nil {
			return nil, fmt.Errorf("unique: find claims named in plain: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if strings.HasPrefix(r.StreamID, legacyPrefix) {
				seen[r.StreamID] = true
			}
		}
		from = recs[len(recs)-1].Position + 1
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// moveClaim copies the plain claim stream to its keyed stream and removes
// it (see Upgrade).
func moveClaim(ctx context.Context, store Store, streams *Streams, plain string) error {
	recs, err := store.ReadStream(ctx, plain, eventstore.ReadOptions{Count: eventstore.MaxEventsPerAppend})
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound) || errors.Is(err, eventstore.ErrStreamDeleted):
		return nil // moved by a concurrent upgrade
	case err != nil:
		return fmt.Errorf("unique: read %s: %w", plain, err)
	case len(recs) == 0:
		return nil
	case len(recs) == eventstore.MaxEventsPerAppend:
		return fmt.Errorf("unique: %s has %d events or more: too many to move in one append", plain, len(recs))
	}
	keyed, evs, err := keyedCopy(streams, plain, recs)
	if err != nil {
		return err
	}
	last := recs[len(recs)-1].StreamVersion
	_, err = store.Append(ctx, keyed, eventstore.NoStream, evs)
	if errors.Is(err, eventstore.ErrVersionConflict) {
		// Copied by an earlier run that stopped, or claimed since.
		var info eventstore.StreamInfo
		if info, err = store.StreamInfo(ctx, keyed); err != nil {
			return fmt.Errorf("unique: read %s: %w", keyed, err)
		}
		if info.Version != last {
			return fmt.Errorf("%w: %s is at version %d, %s at %d", ErrUpgradeConflict, plain, last, keyed, info.Version)
		}
	} else if err != nil {
		return fmt.Errorf("unique: copy %s: %w", plain, err)
	}
	err = store.DeleteStream(ctx, plain, eventstore.Exact(last), eventstore.HardDelete)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("unique: remove %s: %w", plain, err)
	}
	return nil
}

// keyedCopy returns the keyed stream of a plain claim stream's events,
// and the events with their values replaced by their digest.
func keyedCopy(streams *Streams, plain string, recs []eventstore.RecordedEvent) (string, []eventstore.EventData, error) {
	keyed := ""
	evs := make([]eventstore.EventData, 0, len(recs))
	for _, r := range recs {
		if r.Type != ClaimedEvent && r.Type != ReleasedEvent {
			return "", nil, fmt.Errorf("unique: %s at version %d: unknown event type %q", plain, r.StreamVersion, r.Type)
		}
		var c Claimed // the same fields as Released
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return "", nil, fmt.Errorf("unique: %s at version %d: %w", plain, r.StreamVersion, err)
		}
		stream, digest, err := streams.named(c.Namespace, c.Value)
		if err != nil {
			return "", nil, fmt.Errorf("unique: %s at version %d: %w", plain, r.StreamVersion, err)
		}
		if keyed != "" && stream != keyed {
			return "", nil, fmt.Errorf("unique: %s at version %d claims another value than its first event", plain, r.StreamVersion)
		}
		keyed, c.Value = stream, digest
		data, err := json.Marshal(c)
		if err != nil {
			return "", nil, fmt.Errorf("unique: encode %s: %w", plain, err)
		}
		evs = append(evs, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: r.Type, Data: data, Metadata: r.Metadata})
	}
	return keyed, evs, nil
}
