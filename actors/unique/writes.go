package unique

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// ReleasedEvent is the type of the event that frees a value claimed by a
// StreamWrite: appended to the claim's stream, which keeps its history.
const ReleasedEvent = "unique.Released"

// Claimed is the event that claims a value: the first event of a claim's
// stream, or the one after a Released.
type Claimed struct {
	Namespace string `json:"namespace"`
	// Value is the value's keyed hash, as its stream id holds it, never
	// the value itself (which claims made before values were hashed
	// held; see Upgrade).
	Value string `json:"value"`
	Owner string `json:"owner"`
}

// Released is the event that frees a value its owner held. Value is as
// Claimed's.
type Released struct {
	Namespace string `json:"namespace"`
	Value     string `json:"value"`
	Owner     string `json:"owner"`
}

// RegisterEvents names the claims' events in r, for aggregates that claim
// values with ClaimWrite and ReleaseWrite, and Upgrade's key check, which
// handlers reading every event see.
func RegisterEvents(r *actors.Registry) error {
	return errors.Join(
		actors.RegisterEvent[Claimed](r, ClaimedEvent),
		actors.RegisterEvent[Released](r, ReleasedEvent),
		actors.RegisterEvent[KeyChecked](r, KeyCheckedEvent))
}

// ClaimWrite returns the StreamWrite that claims value in namespace for
// owner, in the same atomic append as the owner's event that uses it. at
// is the claim stream's version while the value is free: 0 when it was
// never claimed (or was released by Release, which removes the stream),
// else the version of its last Released event (see Claims.State). Of any
// number of racing writes at the same version, exactly one succeeds; a
// refused one is an *actors.StreamWriteError on the claim's stream.
func (s *Streams) ClaimWrite(namespace, value, owner string, at int64) (actors.StreamWrite, error) {
	return s.write(namespace, value, at, func(digest string) any { return Claimed{Namespace: namespace, Value: digest, Owner: owner} })
}

// ReleaseWrite returns the StreamWrite that frees value in namespace,
// which owner holds at version at of its claim stream (the version its
// ClaimWrite left: at+1 of that write's at; 1 for a claim made by Claim).
func (s *Streams) ReleaseWrite(namespace, value, owner string, at int64) (actors.StreamWrite, error) {
	return s.write(namespace, value, at, func(digest string) any { return Released{Namespace: namespace, Value: digest, Owner: owner} })
}

// write returns the StreamWrite of the event ev makes of value's digest
// to value's claim stream at version at.
func (s *Streams) write(namespace, value string, at int64, ev func(digest string) any) (actors.StreamWrite, error) {
	stream, digest, err := s.named(namespace, value)
	if err != nil {
		return actors.StreamWrite{}, err
	}
	if at < 0 {
		return actors.StreamWrite{}, fmt.Errorf("unique: negative claim version %d", at)
	}
	return actors.StreamWrite{Stream: stream, Expected: eventstore.Exact(at), Events: []any{ev(digest)}}, nil
}

// ClaimState is who holds a value, and its claim stream's version.
type ClaimState struct {
	// Owner holds the value; "" when it is free.
	Owner string
	// Version is the claim stream's version: 0 when it does not exist.
	// A ClaimWrite of a free value expects it.
	Version int64
}

// State reads who holds value in namespace.
func (c *Claims) State(ctx context.Context, namespace, value string) (ClaimState, error) {
	stream, err := c.streams.Stream(namespace, value)
	if err != nil {
		return ClaimState{}, err
	}
	return c.state(ctx, stream)
}

// state reads the last event of a claim's stream: a Claimed names the
// owner, a Released (or no stream) leaves the value free.
func (c *Claims) state(ctx context.Context, stream string) (ClaimState, error) {
	recs, err := c.store.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound) || errors.Is(err, eventstore.ErrStreamDeleted):
		return ClaimState{}, nil
	case err != nil:
		return ClaimState{}, fmt.Errorf("unique: read claim: %w", err)
	case len(recs) == 0:
		return ClaimState{}, nil
	}
	last := recs[0]
	switch last.Type {
	case ClaimedEvent:
		owner := decodeOwner(last)
		if owner == "" {
			return ClaimState{}, fmt.Errorf("unique: claim %q at version %d names no owner", stream, last.StreamVersion)
		}
		return ClaimState{Owner: owner, Version: last.StreamVersion}, nil
	case ReleasedEvent:
		return ClaimState{Version: last.StreamVersion}, nil
	}
	return ClaimState{}, fmt.Errorf("unique: claim %q at version %d: unknown event type %q", stream, last.StreamVersion, last.Type)
}
