package postgres

// Freeze stops p's loop between two turns, as if the process were frozen
// (no heartbeat, no read), until the returned function is called.
func Freeze(p *Provider) (thaw func()) {
	p.frozen.Lock()
	return p.frozen.Unlock
}
