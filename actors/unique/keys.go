package unique

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinKeyLength is the shortest key Config accepts, in bytes.
const MinKeyLength = 32

// streamPrefix starts the id of every claim stream named by Streams:
// "claim-<namespace>-<digest>". Claims named before values were hashed
// are "unique-<namespace>-<value>" (see Upgrade).
const streamPrefix = "claim-"

// ErrNoKey reports that Config.Key is missing or too short.
var ErrNoKey = errors.New("unique: a key of at least 32 bytes is required")

// Config configures how claim streams are named.
type Config struct {
	// Key keys the hash (HMAC-SHA256) of a namespace and a value that
	// names the value's claim stream, so that stream ids and claim events
	// never hold the value (an email, say) and nobody without the key can
	// test a guess against them. At least MinKeyLength bytes, secret, and
	// the same in every process of an application for as long as its
	// claims live: under another key every value is free again (Upgrade
	// refuses a key other than the one the store's claims were made
	// with). Required: there is no unkeyed mode.
	Key []byte
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Key) < MinKeyLength {
		return fmt.Errorf("%w (Config.Key has %d)", ErrNoKey, len(c.Key))
	}
	return nil
}

// Streams names claim streams, and writes claims and releases in them as
// an aggregate's stream writes. It does no I/O and is safe for concurrent
// use.
type Streams struct {
	key  []byte
	macs sync.Pool // of hash.Hash keyed with key
}

// NewStreams returns the claim streams named with cfg's key.
func NewStreams(cfg Config) (*Streams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Streams{key: append([]byte(nil), cfg.Key...)}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s, nil
}

// Stream returns the stream that holds the claims on value in namespace:
// "claim-<namespace>-<hex of HMAC-SHA256(key, namespace NUL value)>".
// Namespaces must be non-empty, valid UTF-8 and free of '-' and NUL;
// values are any non-empty strings, compared exactly.
func (s *Streams) Stream(namespace, value string) (string, error) {
	stream, _, err := s.named(namespace, value)
	return stream, err
}

// named returns value's claim stream in namespace and the digest in it.
func (s *Streams) named(namespace, value string) (stream, digest string, err error) {
	if digest, err = s.digest(namespace, value); err != nil {
		return "", "", err
	}
	return streamPrefix + namespace + "-" + digest, digest, nil
}

// digest returns the hex HMAC naming value's claim in namespace: what
// the claim's stream id and events hold instead of the value.
func (s *Streams) digest(namespace, value string) (string, error) {
	if namespace == "" || strings.ContainsAny(namespace, "-\x00") || !utf8.ValidString(namespace) {
		return "", fmt.Errorf("unique: invalid namespace %q", namespace)
	}
	if value == "" {
		return "", errors.New("unique: empty value")
	}
	mac := s.macs.Get().(hash.Hash)
	defer s.macs.Put(mac)
	mac.Reset()
	// The namespace cannot hold a NUL, so no two pairs hash the same
	// bytes.
	mac.Write([]byte(namespace))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// keyCheck returns a digest that tells whether a key is this one without
// telling anything about it.
func (s *Streams) keyCheck() string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("cohort unique key check\x00"))
	return hex.EncodeToString(mac.Sum(nil))
}
