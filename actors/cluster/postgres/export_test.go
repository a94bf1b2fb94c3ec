package postgres

import "sync"

// Freeze stops p's loop between two turns, as if the process were frozen
// (no heartbeat, no read), until the returned function is called (once or
// more).
func Freeze(p *Provider) (thaw func()) {
	p.frozen.Lock()
	return sync.OnceFunc(p.frozen.Unlock)
}
