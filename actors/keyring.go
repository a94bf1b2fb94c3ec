package actors

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
)

// MasterKeySize is the size of Personal.MasterKey: 32 bytes (AES-256).
const MasterKeySize = 32

// Errors of personal data.
var (
	// ErrMasterKey: the master key is missing while personal data is
	// registered, or is not the key the stored data keys were wrapped
	// with. The error is a *MasterKeyError; the application does not start.
	ErrMasterKey = errors.New("actors: master key unusable")
	// ErrDataKey: a subject's data key could not be read or unwrapped, or
	// a personal field could not be decrypted with it. The value is not
	// decoded (a key is never replaced by a new one for it).
	ErrDataKey = errors.New("actors: data key unusable")
	// ErrNoSubject: a value with personal data to store has an empty
	// subject.
	ErrNoSubject = errors.New("actors: personal data without a subject")
)

// MasterKeyError says why the master key cannot be used.
type MasterKeyError struct {
	// Reason says what is wrong, e.g. "missing".
	Reason string
}

// Error returns a message naming ErrMasterKey and what is wrong with the key.
func (e *MasterKeyError) Error() string { return fmt.Sprintf("%v: %s", ErrMasterKey, e.Reason) }

// Unwrap returns ErrMasterKey.
func (e *MasterKeyError) Unwrap() error { return ErrMasterKey }

// DataKeyError reports a subject's data key that could not be used.
type DataKeyError struct {
	Subject string
	Err     error
}

// Error returns a message naming ErrDataKey, the subject and the cause.
func (e *DataKeyError) Error() string {
	return fmt.Sprintf("%v: subject %q: %v", ErrDataKey, e.Subject, e.Err)
}

// Unwrap returns ErrDataKey and the cause.
func (e *DataKeyError) Unwrap() []error { return []error{ErrDataKey, e.Err} }

// Personal configures the encryption of personal data (see personal.go).
type Personal struct {
	// MasterKey wraps every subject's data key: MasterKeySize random
	// bytes, from the application's configuration, the same in every
	// process on the store. Required when personal data is registered (an
	// event, aggregate state or process-manager state type with a field
	// tagged cohort:"personal"): without it Start fails with a
	// *MasterKeyError rather than store personal data in plaintext; so
	// does a key other than the one the stored data keys were wrapped
	// with.
	MasterKey []byte
	// Keys stores the wrapped data keys; default the application's store,
	// if it is an eventstore.KeyStore.
	Keys eventstore.KeyStore
	// CacheSize bounds the data keys kept in memory (default 10,000).
	CacheSize int
	// KeyTimeout bounds each call to Keys (default 5 s): decoding paths
	// that have no deadline of their own wait no longer for a key.
	KeyTimeout time.Duration
}

// Validate checks the configuration.
func (p Personal) Validate() error {
	switch {
	case len(p.MasterKey) != 0 && len(p.MasterKey) != MasterKeySize:
		return &MasterKeyError{Reason: fmt.Sprintf("%d bytes, want %d", len(p.MasterKey), MasterKeySize)}
	case p.CacheSize < 0 || p.KeyTimeout < 0:
		return errors.New("actors: Personal: negative setting")
	}
	return nil
}

func (p Personal) withDefaults(store EventStore) Personal {
	if p.Keys == nil {
		p.Keys, _ = store.(eventstore.KeyStore)
	}
	if p.CacheSize == 0 {
		p.CacheSize = 10_000
	}
	if p.KeyTimeout == 0 {
		p.KeyTimeout = 5 * time.Second
	}
	return p
}

// checkSubject is the subject under which the key ring stores a key
// wrapped with the master key, to check the master key at start-up. No
// data has an empty subject.
const checkSubject = ""

// keyring gives the data keys of subjects: from its cache, from the key
// store (unwrapped with the master key), or new.
type keyring struct {
	master  cipher.AEAD
	keys    eventstore.KeyStore
	size    int
	timeout time.Duration

	mu    sync.Mutex
	cache map[string]dataKey
	// gen counts the drops: a key read from the store while a drop
	// happened is not cached, since it may be the dropped one.
	gen uint64
}

// dataKey is a subject's key, or the fact that the subject is forgotten.
type dataKey struct {
	aead      cipher.AEAD
	forgotten bool
}

func newKeyring(cfg Personal) (*keyring, error) {
	master, err := newAEAD(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	return &keyring{master: master, keys: cfg.Keys, size: cfg.CacheSize, timeout: cfg.KeyTimeout,
		cache: make(map[string]dataKey)}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// check verifies the master key against the key stored to check it (it
// stores one the first time).
func (k *keyring) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	wrapped, err := k.keys.Key(ctx, checkSubject)
	if errors.Is(err, eventstore.ErrKeyNotFound) {
		wrapped, err = k.keys.CreateKey(ctx, checkSubject, k.wrap(checkSubject, randomKey()))
	}
	if err != nil {
		return fmt.Errorf("actors: check the master key: %w", err)
	}
	if _, err := k.unwrap(checkSubject, wrapped); err != nil {
		return &MasterKeyError{Reason: "not the key the stored data keys are wrapped with"}
	}
	return nil
}

// key returns subject's data key. Without create, a subject without a key
// is a *DataKeyError; with it, the subject gets a new key. A forgotten
// subject's key says so.
func (k *keyring) key(ctx context.Context, subject string, create bool) (dataKey, error) {
	k.mu.Lock()
	dk, ok := k.cache[subject]
	gen := k.gen
	k.mu.Unlock()
	if ok {
		return dk, nil
	}
	dk, err := k.load(ctx, subject, create)
	if err != nil {
		return dataKey{}, &DataKeyError{Subject: subject, Err: err}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen == gen {
		if len(k.cache) >= k.size {
			for s := range k.cache { // evict one, any
				delete(k.cache, s)
				break
			}
		}
		k.cache[subject] = dk
	}
	return dk, nil
}

// load reads subject's key from the store, or creates it.
func (k *keyring) load(ctx context.Context, subject string, create bool) (dataKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	// To encrypt, one statement: CreateKey returns the key stored before,
	// if any (the fresh one is then thrown away).
	var wrapped []byte
	var err error
	if create {
		wrapped, err = k.keys.CreateKey(ctx, subject, k.wrap(subject, randomKey()))
	} else {
		wrapped, err = k.keys.Key(ctx, subject)
	}
	switch {
	case errors.Is(err, eventstore.ErrKeyForgotten):
		return dataKey{forgotten: true}, nil
	case err != nil:
		return dataKey{}, err
	}
	raw, err := k.unwrap(subject, wrapped)
	if err != nil {
		return dataKey{}, fmt.Errorf("unwrap with the master key: %w", err)
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return dataKey{}, err
	}
	return dataKey{aead: aead}, nil
}

// drop forgets subject's cached key; the empty subject drops them all.
func (k *keyring) drop(subject string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	if subject == checkSubject {
		clear(k.cache)
		return
	}
	delete(k.cache, subject)
}

// forget deletes subject's key for good.
func (k *keyring) forget(ctx context.Context, subject string) error {
	if subject == checkSubject {
		return fmt.Errorf("%w: forget", ErrNoSubject)
	}
	err := k.keys.DeleteKey(ctx, subject)
	k.drop(subject)
	if err != nil {
		return fmt.Errorf("actors: forget %q: %w", subject, err)
	}
	return nil
}

// watch drops the keys that any process deletes, until stop is called.
func (k *keyring) watch() (stop func()) { return k.keys.WatchKeys(k.drop) }

// keyVersion prefixes a wrapped key: the format of what follows (the
// nonce, then the sealed key).
const keyVersion = 1

// wrap seals a data key with the master key, bound to its subject.
func (k *keyring) wrap(subject string, key []byte) []byte {
	nonce := make([]byte, k.master.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out := append([]byte{keyVersion}, nonce...)
	return k.master.Seal(out, nonce, key, keyAAD(subject))
}

// unwrap opens a key wrap sealed.
func (k *keyring) unwrap(subject string, wrapped []byte) ([]byte, error) {
	n := k.master.NonceSize()
	if len(wrapped) < 1+n || wrapped[0] != keyVersion {
		return nil, errors.New("not a wrapped key of this version")
	}
	return k.master.Open(nil, wrapped[1:1+n], wrapped[1+n:], keyAAD(subject))
}

func keyAAD(subject string) []byte { return append([]byte("cohort/key/v1\x00"), subject...) }

// randomKey returns a new data key.
func randomKey() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return key
}
