package unique

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// Store is what claims need of an event store.
type Store interface {
	eventstore.Appender
	eventstore.StreamReader
	eventstore.StreamAdmin
}

// ClaimedEvent is the type of the one event in a claim's stream.
const ClaimedEvent = "unique.Claimed"

var (
	// ErrTaken reports that another owner holds the value. Errors that wrap
	// it are *TakenError.
	ErrTaken = errors.New("unique: value already claimed")
	// ErrNotClaimed reports that nobody holds the value.
	ErrNotClaimed = errors.New("unique: value not claimed")
)

// TakenError names the value and the owner holding it.
type TakenError struct {
	Namespace string
	Value     string
	Owner     string
}

// Error returns a message naming the namespace and the value.
func (e *TakenError) Error() string {
	return fmt.Sprintf("unique: %s %q already claimed", e.Namespace, e.Value)
}

// Unwrap returns ErrTaken.
func (e *TakenError) Unwrap() error { return ErrTaken }

// Claims claims and releases unique values in a store. It holds no state
// of its own and is safe for concurrent use.
type Claims struct {
	store   Store
	streams *Streams
}

// New returns claims kept in store, in the streams streams names.
func New(store Store, streams *Streams) *Claims { return &Claims{store: store, streams: streams} }

// Claim reserves value in namespace for owner. It reports created when
// this call made the claim, and false when owner already held it (a
// retry); it fails with a *TakenError when another owner holds it.
// Namespaces must be non-empty and free of '-'; values are compared
// exactly, so callers normalize them first (case, Unicode form).
func (c *Claims) Claim(ctx context.Context, namespace, value, owner string) (created bool, err error) {
	stream, digest, err := c.streams.named(namespace, value)
	if err != nil {
		return false, err
	}
	data, err := json.Marshal(Claimed{Namespace: namespace, Value: digest, Owner: owner})
	if err != nil {
		return false, fmt.Errorf("unique: encode claim: %w", err)
	}
	// A value is free when its stream does not exist, or ends with a
	// Released (see ReleaseWrite): then it is claimed at that version. A
	// claim released between our failed append and our read of its owner
	// is tried again, a few times.
	at := eventstore.NoStream
	for range 3 {
		_, err = c.store.Append(ctx, stream, at, []eventstore.EventData{{
			ID:   uuid.Must(uuid.NewV7()),
			Type: ClaimedEvent,
			Data: data,
		}})
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, eventstore.ErrVersionConflict) {
			return false, fmt.Errorf("unique: claim %s: %w", namespace, err)
		}
		st, err := c.state(ctx, stream)
		switch {
		case err != nil:
			return false, err
		case st.Owner == "":
			at = eventstore.Exact(st.Version)
			continue
		case st.Owner == owner:
			return false, nil
		}
		return false, &TakenError{Namespace: namespace, Value: value, Owner: st.Owner}
	}
	return false, &TakenError{Namespace: namespace, Value: value}
}

// Release frees value in namespace if owner holds it, by removing its
// claim's stream; releasing a value that is free or held by another owner
// does nothing.
func (c *Claims) Release(ctx context.Context, namespace, value, owner string) error {
	return c.release(ctx, namespace, value, owner, 0)
}

// ReleaseAt is Release of a claim only while its stream is at version at.
func (c *Claims) ReleaseAt(ctx context.Context, namespace, value, owner string, at int64) error {
	return c.release(ctx, namespace, value, owner, at)
}

// release releases a claim owner holds at version at (0: any version).
func (c *Claims) release(ctx context.Context, namespace, value, owner string, at int64) error {
	stream, err := c.streams.Stream(namespace, value)
	if err != nil {
		return err
	}
	st, err := c.state(ctx, stream)
	if err != nil {
		return fmt.Errorf("unique: release %s: %w", namespace, err)
	}
	if st.Owner != owner || (at != 0 && st.Version != at) {
		return nil
	}
	err = c.store.DeleteStream(ctx, stream, eventstore.Exact(st.Version), eventstore.HardDelete)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("unique: release %s: %w", namespace, err)
	}
	return nil
}

// Owner returns the owner holding value in namespace, or ErrNotClaimed.
func (c *Claims) Owner(ctx context.Context, namespace, value string) (string, error) {
	stream, err := c.streams.Stream(namespace, value)
	if err != nil {
		return "", err
	}
	return c.owner(ctx, stream)
}

func (c *Claims) owner(ctx context.Context, stream string) (string, error) {
	st, err := c.state(ctx, stream)
	if err != nil {
		return "", err
	}
	if st.Owner == "" {
		return "", ErrNotClaimed
	}
	return st.Owner, nil
}

func decodeOwner(rec eventstore.RecordedEvent) string {
	var d Claimed
	if json.Unmarshal(rec.Data, &d) != nil {
		return ""
	}
	return d.Owner
}
