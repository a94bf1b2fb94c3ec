package ratelimit

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ErrLimited: the key spent its burst; see LimitedError.
var ErrLimited = errors.New("ratelimit: limited")

// LimitedError is the error of a refused Take: it says when the key has a
// token again. It wraps ErrLimited.
type LimitedError struct {
	// RetryAfter is how long until the key has a token again.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("ratelimit: limited; retry after %v", e.RetryAfter)
}

// Unwrap returns ErrLimited.
func (e *LimitedError) Unwrap() error { return ErrLimited }

// DefaultMaxKeys is how many keys a Limiter keeps when Config.MaxKeys is
// zero.
const DefaultMaxKeys = 100_000

// Config configures a Limiter.
type Config struct {
	// Burst is how many tokens a key may spend at once. Required.
	Burst int
	// Every is how long a key takes to get one token back. Required.
	Every time.Duration
	// MaxKeys bounds the keys kept (default DefaultMaxKeys); beyond it,
	// the least recently used key is forgotten, as if its burst were full.
	MaxKeys int
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Burst < 1:
		return fmt.Errorf("ratelimit: Burst %d, want at least 1", c.Burst)
	case c.Every <= 0:
		return fmt.Errorf("ratelimit: Every %v, want a positive interval", c.Every)
	case int64(c.Burst-1) > math.MaxInt64/int64(c.Every):
		return fmt.Errorf("ratelimit: a burst of %d every %v overflows", c.Burst, c.Every)
	case c.MaxKeys < 0:
		return fmt.Errorf("ratelimit: MaxKeys %d, want 0 (the default) or more", c.MaxKeys)
	}
	return nil
}

// Limiter is a set of token buckets by key. It is safe for concurrent
// use.
type Limiter struct {
	burst   time.Duration // Burst-1 intervals: how far ahead of now a key's arrival time may be
	every   time.Duration
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *bucket
	lru  *list.List               // most recently used first
}

// bucket is a key's state: the time at which its burst is full again
// (the theoretical arrival time of its next token).
type bucket struct {
	key  string
	full time.Time
}

// New returns a limiter, or an error if cfg is invalid.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{burst: time.Duration(cfg.Burst-1) * cfg.Every, every: cfg.Every, maxKeys: cfg.MaxKeys,
		now: cfg.Now, keys: make(map[string]*list.Element), lru: list.New()}, nil
}

// Take spends one of key's tokens, or returns a *LimitedError if key has
// none; a refused Take spends nothing.
func (l *Limiter) Take(key string) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e, ok := l.keys[key]
	if ok {
		l.lru.MoveToFront(e)
	} else {
		e = l.lru.PushFront(&bucket{key: key, full: now})
		l.keys[key] = e
		for len(l.keys) > l.maxKeys {
			l.forget(l.lru.Back())
		}
	}
	b := e.Value.(*bucket)
	full := b.full
	if full.Before(now) {
		full = now
	}
	if ahead := full.Sub(now); ahead > l.burst {
		return &LimitedError{RetryAfter: ahead - l.burst}
	}
	b.full = full.Add(l.every)
	return nil
}

// GiveBack returns a token Take spent (for an attempt that turned out not
// to count): a key whose burst is full again is forgotten.
func (l *Limiter) GiveBack(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.keys[key]
	if !ok {
		return
	}
	b := e.Value.(*bucket)
	b.full = b.full.Add(-l.every)
	if !b.full.After(now) {
		l.forget(e)
	}
}

// Len returns how many keys the limiter keeps.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// sweep forgets a couple of the least recently used keys if their burst
// is full again, so that idle keys go even when the limiter is not full.
func (l *Limiter) sweep(now time.Time) {
	for range 2 {
		e := l.lru.Back()
		if e == nil || e.Value.(*bucket).full.After(now) {
			return
		}
		l.forget(e)
	}
}

// forget removes e's key.
func (l *Limiter) forget(e *list.Element) {
	l.lru.Remove(e)
	delete(l.keys, e.Value.(*bucket).key)
}
