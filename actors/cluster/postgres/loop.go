package postgres

import (
	"context"
	"time"
)

// loop is the goroutine of a started provider: every heartbeat interval it
// renews the member's row and feeds the live members to the cluster's
// member list. Its owner is the provider, whose Shutdown cancels its
// context and waits for it.
type loop struct {
	p *Provider
	// lastBeat is when the last heartbeat that succeeded began, by this
	// process's clock (the join, at first).
	lastBeat time.Time
}

// run takes turns until ctx ends, the node is expelled, or its actor
// system stops.
func (l *loop) run(ctx context.Context) {
	defer close(l.p.done)
	t := time.NewTicker(l.p.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if l.p.cluster.ActorSystem.IsStopped() {
			return
		}
		l.p.frozen.RLock()
		ok := l.turn(ctx)
		l.p.frozen.RUnlock()
		if !ok {
			return
		}
	}
}

// turn renews the member's row and reads the live members, then feeds them
// to the member list. A member whose renewal is refused, or whose last
// renewal began longer than the renew window ago by its own clock, is
// expelled; turn then returns false. A failed round trip is logged and
// changes nothing.
func (l *loop) turn(ctx context.Context) bool {
	p := l.p
	member := p.memberID != ""
	began := time.Now()
	if member && began.Sub(l.lastBeat) >= p.cfg.renewWindow() {
		p.expel(CauseMissedHeartbeats)
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.statementTimeout())
	r, members, err := p.table.beat(sctx, p.name, p.memberID)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("cluster membership round trip failed", "cluster", p.name, "member", p.memberID, "err", err)
		}
		return true
	}
	if member {
		if !r.renewed {
			p.expel(r.cause())
			return false
		}
		l.lastBeat = began
	}
	p.cluster.MemberList.UpdateClusterTopology(members)
	return true
}
