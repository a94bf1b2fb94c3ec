package actors

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/anypb"
)

// retryBackoff is the pause before looking a shard up again, after the
// cluster had no member for it or the message provably did not reach it.
const retryBackoff = 20 * time.Millisecond

// deliverClustered hands a command to its shard wherever the cluster
// placed it and waits for the outcome, within ctx. A shard on this member
// gets the command as it is, without encoding; one on another member gets
// it encoded, in a request bounded by the dispatch's deadline and never
// repeated once it may have been delivered: only a dead letter (the shard
// has moved or its member is gone) sends it again, to the shard looked up
// anew. A timeout leaves the outcome unknown, as for a local dispatch.
func (a *App) deliverClustered(ctx context.Context, k *aggregateKind, cmd *Command) (commandReply, error) {
	kind, identity := clusterKind(k.typ.Name), strconv.Itoa(partition(cmd.AggregateID, k.n))
	hdr := k.traceHeader(ctx)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, retryBackoff); err != nil {
				return commandReply{}, dispatchTimeout(ctx)
			}
		}
		pid := a.cluster.pid(ctx, identity, kind)
		if pid == nil {
			continue // no member for it yet, or its member did not answer
		}
		if pid.Address == a.cluster.addr {
			if _, live := a.system.ProcessRegistry.GetLocal(pid.Id); !live {
				a.cluster.forget(identity, kind, pid) // stopped: it moved
				continue
			}
			msg := &commandMsg{ctx: ctx, cmd: cmd, reply: make(chan commandReply, 1)}
			a.system.Root.Send(pid, withHeader(hdr, msg))
			rep, taken, err := a.awaitLocalShard(ctx, pid, msg)
			if err != nil {
				return commandReply{}, err
			}
			if !taken {
				a.cluster.forget(identity, kind, pid) // it moved as the command arrived
				continue
			}
			return rep, nil
		}
		// Sent to another member, a command is idempotent under its id,
		// given or generated: if that member dies with the command under
		// way, it is sent again to the shard's next member, which answers
		// with the first outcome if the command was appended before the
		// death (or fences the dead member's append if it was not yet).
		cmd.idempotent = true
		m, err := a.encodeCommand(ctx, cmd, hdr)
		if err != nil {
			return commandReply{}, err
		}
		deadline, _ := ctx.Deadline() // dispatchCommand always sets one
		gone := a.cluster.members.goneCh(pid.Address)
		got, err := awaitFuture(ctx, gone, a.system.Root.RequestFuture(pid, m, time.Until(deadline)))
		switch {
		case errors.Is(err, actor.ErrDeadLetter), errors.Is(err, errMemberGone):
			a.cluster.forget(identity, kind, pid)
			continue
		case err != nil && ctx.Err() != nil:
			return commandReply{}, dispatchTimeout(ctx)
		case err != nil: // the future's own timeout, at the dispatch's deadline
			return commandReply{}, timeoutError{cause: context.DeadlineExceeded}
		}
		reply, ok := got.(*anypb.Any)
		if !ok {
			return commandReply{}, errors.New("actors: a shard answered with an unknown message")
		}
		res, err := a.decodeReply(k, reply)
		return commandReply{res: res, err: err}, nil
	}
}

// pid returns the PID of the cluster identity kind/identity: the one
// cached, else one looked up (activating it on its member if needed)
// within ctx; nil if no member answered for it.
func (n *clusterNode) pid(ctx context.Context, identity, kind string) *actor.PID {
	if pid, ok := n.c.PidCache.Get(identity, kind); ok {
		return pid
	}
	pid := lookup(ctx, n.c, identity, kind)
	if pid != nil {
		n.c.PidCache.Set(identity, kind, pid)
	}
	return pid
}

// forget drops pid, which did not take a message (it moved, or its
// member is gone), from the cache of kind/identity.
func (n *clusterNode) forget(identity, kind string, pid *actor.PID) {
	n.c.PidCache.RemoveByValue(identity, kind, pid)
}

// boundedLookup is an identity lookup whose wait for an activation can
// be bounded: the patched disthash of third_party/protoactor-go has it.
type boundedLookup interface {
	GetWithin(id *cluster.ClusterIdentity, timeout time.Duration) *actor.PID
}

// lookupAttempt bounds one lookup: the member that owns the identity as
// the lookup starts may be one that is leaving or dead, which never
// answers, while the next lookup, under the next topology, asks a live
// one.
const lookupAttempt = 2 * time.Second

// lookup finds the shard's PID, activating it on its member if needed,
// waiting no longer than ctx allows, nor lookupAttempt, where the
// identity lookup can bound its wait (upstream disthash waits up to the
// cluster's request timeout, 5 s by default, for a member that may be
// dead). The patched disthash also gives up, returning nil, once the
// member it asked leaves the topology: remote can lose a request to a
// member that is leaving, and the caller looks the shard up again, on its
// new member; lookupAttempt bounds what that does not catch.
func lookup(ctx context.Context, c *cluster.Cluster, identity, kind string) *actor.PID {
	if l, ok := c.IdentityLookup.(boundedLookup); ok {
		wait := lookupAttempt
		if deadline, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(deadline))
		}
		return l.GetWithin(cluster.NewClusterIdentity(identity, kind), wait)
	}
	return c.Get(identity, kind)
}

// shardCheckInterval is how often a dispatch waiting on a shard of this
// member checks that the shard still exists.
const shardCheckInterval = 50 * time.Millisecond

// awaitLocalShard waits for the reply to msg, sent to the shard pid on
// this member, within ctx. A shard stops when the cluster moves it (a
// member joined or left), and the messages left in its mailbox, or sent
// after, go to the dead letters, which answer no one for a command sent
// in process. So while it waits, it checks that the shard exists; once
// the shard is gone without a reply, the command never ran (a shard lets
// its children finish the commands they were given before it goes, and
// a child answers before it ends), and taken is false: the caller sends
// it again, to the shard's new place.
func (a *App) awaitLocalShard(ctx context.Context, pid *actor.PID, msg *commandMsg) (rep commandReply, taken bool, err error) {
	tick := time.NewTicker(shardCheckInterval)
	defer tick.Stop()
	for {
		select {
		case rep := <-msg.reply:
			return rep, true, nil
		case <-ctx.Done():
			return commandReply{}, true, dispatchTimeout(ctx)
		case <-tick.C:
			if _, live := a.system.ProcessRegistry.GetLocal(pid.Id); live {
				continue
			}
			select {
			case rep := <-msg.reply: // answered as it stopped
				return rep, true, nil
			default:
				return commandReply{}, false, nil
			}
		}
	}
}

// errMemberGone: the member a request was sent to left the topology
// before it answered.
var errMemberGone = errors.New("actors: the member left the cluster")

// awaitFuture waits for f, the end of ctx, or gone closing
// (errMemberGone). The goroutine that waits on f ends when f completes or
// times out.
func awaitFuture(ctx context.Context, gone <-chan struct{}, f actor.Future) (any, error) {
	var (
		res  any
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		res, err = f.Result()
	}()
	select {
	case <-done:
		return res, err
	case <-gone:
		return nil, errMemberGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
