package postgres

import (
	"context"
	"time"
)

// loop is the goroutine of a started provider: every heartbeat interval it
// renews the member's row and feeds the live members to the cluster's
// member list. Its owner is the provider, whose Shutdown cancels its
// context and waits for it; the loop owns the member's session and ends
// it when it ends.
type loop struct {
	p    *Provider
	sess *session // the member's session; nil for a client
	// lastBeat is when the last heartbeat that succeeded began, by this
	// process's clock (the join, at first).
	lastBeat time.Time
}

// run takes turns until ctx ends, the node is expelled, or its actor
// system stops.
func (l *loop) run(ctx context.Context) {
	defer l.end()
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

// end closes the member's session, so that the other nodes drop the
// member at their next read, and marks the loop done.
func (l *loop) end() {
	if l.sess != nil {
		l.sess.close(l.p.cfg.statementTimeout())
	}
	close(l.p.done)
}

// turn renews the member's row and reads the live members, then feeds them
// to the member list. A member whose renewal is refused, whose session is
// lost, or whose last renewal began longer than the renew window ago by
// its own clock, is expelled; turn then returns false. Any other failed
// round trip is logged and changes nothing.
func (l *loop) turn(ctx context.Context) bool {
	p := l.p
	member := l.sess != nil
	began := time.Now()
	if member && began.Sub(l.lastBeat) >= p.cfg.renewWindow() {
		p.expel(CauseMissedHeartbeats)
		return false
	}
	var db batcher = p.table.pool
	if member {
		db = l.sess.conn
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.statementTimeout())
	r, members, err := p.table.beat(sctx, db, p.name, p.memberID)
	cancel()
	if err != nil {
		if member && l.sess.lost() {
			p.expel(CauseConnectionLost)
			return false
		}
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
