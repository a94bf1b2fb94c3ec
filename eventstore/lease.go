package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLeaseLost reports that a persistent subscription's lease passed to
// another holder (its holder stopped renewing it in time, e.g. because
// its process was frozen), so a write made under it was refused. The
// error is a *LeaseLostError.
var ErrLeaseLost = errors.New("eventstore: subscription lease lost")

// Lease is one holding of a persistent subscription: a store that fences
// its subscriptions (see Leased) grants each holding a fencing token
// greater than any before it, and refuses a checkpoint, or a transaction
// checked against the lease, once the token has been superseded.
type Lease struct {
	// Store names where the lease is kept, so that a check finds it (for
	// PostgreSQL, the store's schema).
	Store string
	// Subscription is the persistent subscription's name.
	Subscription string
	// Token is the fencing token of this holding.
	Token int64
	// TTL is how long the lease lasts without renewal.
	TTL time.Duration
}

// Leased is implemented by subscriptions whose single-active hold is a
// lease with a fencing token. A transient subscription, or one of a store
// that needs no fencing (the memory store lives in one process), reports
// none.
type Leased interface {
	// Lease returns the subscription's latest lease: the one it holds, or
	// the one it lost last while it waits for the next (writes under it
	// are refused), so that a handler still at work on a batch delivered
	// under it is fenced; false before the first.
	Lease() (Lease, bool)
}

// LeaseLostError reports a write refused because its lease was lost.
type LeaseLostError struct {
	// Subscription is the persistent subscription's name.
	Subscription string
	// Token is the fencing token the write was made under.
	Token int64
}

// Error names the subscription and the superseded token.
func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("%v: subscription %q, token %d", ErrLeaseLost, e.Subscription, e.Token)
}

// Unwrap returns ErrLeaseLost.
func (e *LeaseLostError) Unwrap() error { return ErrLeaseLost }

type leaseKey struct{}

// WithLease returns a context carrying l, so that a handler's writes can
// be fenced by it (for PostgreSQL, postgres.CheckLease in the handler's
// transaction).
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFrom returns the lease ctx carries, if any.
func LeaseFrom(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}
