package ratelimit

import "fmt"

// Gate bounds how many operations run or wait at once; it refuses more
// at once rather than queue them. It is safe for concurrent use.
type Gate struct {
	slots chan struct{}
}

// NewGate returns a gate for at most n operations at once.
func NewGate(n int) (*Gate, error) {
	if n < 1 {
		return nil, fmt.Errorf("ratelimit: a gate of %d, want at least 1", n)
	}
	return &Gate{slots: make(chan struct{}, n)}, nil
}

// TryEnter reports whether the operation may start: true if the gate has
// room (call Leave when the operation ends), false at once if it is full.
func (g *Gate) TryEnter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Leave ends an operation TryEnter let in.
func (g *Gate) Leave() { <-g.slots }
