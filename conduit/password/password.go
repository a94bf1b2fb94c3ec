package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

var (
	// ErrMismatch: the password does not match the hash.
	ErrMismatch = errors.New("password: mismatch")
	// ErrMalformedHash: the encoded hash cannot be parsed, or its
	// parameters are out of the accepted range.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Params are Argon2id's cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultParams are OWASP's recommended minimum for Argon2id (19 MiB,
// 2 passes, 1 thread): tens of milliseconds per hash on a server core.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Bounds on parameters, for new hashes and for hashes being verified.
const (
	maxMemory  = 4 << 20 // KiB (4 GiB)
	maxTime    = 100
	saltLength = 16
	keyLength  = 32
)

// Validate checks the parameters.
func (p Params) Validate() error {
	switch {
	case p.Threads == 0:
		return errors.New("password: Threads must be at least 1")
	case p.Time == 0 || p.Time > maxTime:
		return fmt.Errorf("password: Time must be within 1..%d", maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: Memory must be within %d..%d KiB", 8*uint32(p.Threads), maxMemory)
	}
	return nil
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a hasher that makes new hashes with p and runs at most
// runtime.NumCPU hashes at once.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Hasher{params: p, slots: make(chan struct{}, runtime.NumCPU())}, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the encoded Argon2id hash of password with a random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params, keyLength)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded: nil, ErrMismatch or
// ErrMalformedHash (or the context's error while waiting for a slot).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) error {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return err
	}
	got, err := h.derive(ctx, password, salt, p, uint32(len(key)))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// VerifyNothing spends the time of one verification and returns
// ErrMismatch. Call it when there is no hash to verify against (an unknown
// user), so that the answer takes as long as for a wrong password.
func (h *Hasher) VerifyNothing(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt := make([]byte, saltLength)
		h.dummy = encode(h.params, salt, make([]byte, keyLength))
	})
	if err := h.Verify(ctx, password, h.dummy); err != nil && !errors.Is(err, ErrMismatch) {
		return err
	}
	return ErrMismatch
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params, n uint32) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, n), nil
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Validate() != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
