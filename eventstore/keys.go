package eventstore

import (
	"context"
	"errors"
)

// Key errors.
var (
	// ErrKeyNotFound: no key was ever stored for the subject.
	ErrKeyNotFound = errors.New("eventstore: key not found")
	// ErrKeyForgotten: the subject's key was deleted (DeleteKey); it is
	// never stored again.
	ErrKeyForgotten = errors.New("eventstore: key forgotten")
)

// MaxKeySubject bounds the bytes of a key's subject; a longer one fails
// with ErrInvalidArgument.
const MaxKeySubject = 1024

// KeyStore keeps the wrapped (encrypted) data keys of crypto-shredding,
// one per subject: the runtime encrypts a subject's personal data with
// the subject's key and forgets the data by deleting the key. The store
// sees only wrapped keys; wrapping and unwrapping are the caller's. A
// deleted key leaves a tombstone, so that a forgotten subject is never
// given a new key by mistake.
type KeyStore interface {
	// Key returns subject's wrapped key. It fails with ErrKeyNotFound if
	// none was stored, ErrKeyForgotten if it was deleted.
	Key(ctx context.Context, subject string) ([]byte, error)
	// CreateKey stores wrapped as subject's key unless the subject has one,
	// and returns the key stored: wrapped, or the one stored before (by
	// this process or another, whichever was first). It fails with
	// ErrKeyForgotten if the subject's key was deleted.
	CreateKey(ctx context.Context, subject string, wrapped []byte) ([]byte, error)
	// DeleteKey deletes subject's key, whether or not it has one, leaving a
	// tombstone, and tells the key watchers of every handle on the storage
	// (other processes included) once it is done. It is idempotent.
	DeleteKey(ctx context.Context, subject string) error
	// WatchKeys calls fn with the subject of each key deleted through any
	// handle on the storage, this one included, until stop is called (stop
	// is idempotent). fn is also called with the empty subject when
	// deletions may have been missed (a store's notification connection
	// was lost and is back): the watcher must then forget every key it
	// holds. fn must return quickly and not call the store.
	WatchKeys(fn func(subject string)) (stop func())
}

// ValidateKeySubject checks a subject given to a KeyStore, for the
// stores that implement it: a subject longer than MaxKeySubject is an
// *InvalidArgumentError.
func ValidateKeySubject(subject string) error {
	if len(subject) > MaxKeySubject {
		return &InvalidArgumentError{Arg: "subject", Reason: "longer than MaxKeySubject bytes"}
	}
	return nil
}
