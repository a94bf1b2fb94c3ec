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
	c := a.cluster.c
	kind, identity := clusterKind(k.typ.Name), strconv.Itoa(partition(cmd.AggregateID, k.n))
	hdr := k.traceHeader(ctx)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, retryBackoff); err != nil {
				return commandReply{}, dispatchTimeout(ctx)
			}
		}
		pid, ok := c.PidCache.Get(identity, kind)
		if !ok {
			if pid = lookup(ctx, c, identity, kind); pid == nil {
				continue // no member for it yet, or its member did not answer
			}
			c.PidCache.Set(identity, kind, pid)
		}
		if pid.Address == a.cluster.addr {
			if _, live := a.system.ProcessRegistry.GetLocal(pid.Id); !live {
				c.PidCache.RemoveByValue(identity, kind, pid) // stopped: it moved
				continue
			}
			msg := &commandMsg{ctx: ctx, cmd: cmd, reply: make(chan commandReply, 1)}
			a.system.Root.Send(pid, withHeader(hdr, msg))
			select {
			case rep := <-msg.reply:
				return rep, nil
			case <-ctx.Done():
				return commandReply{}, dispatchTimeout(ctx)
			}
		}
		m, err := a.encodeCommand(ctx, cmd, hdr)
		if err != nil {
			return commandReply{}, err
		}
		deadline, _ := ctx.Deadline() // dispatchCommand always sets one
		got, err := awaitFuture(ctx, a.system.Root.RequestFuture(pid, m, time.Until(deadline)))
		switch {
		case errors.Is(err, actor.ErrDeadLetter):
			c.PidCache.RemoveByValue(identity, kind, pid)
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

// boundedLookup is an identity lookup whose wait for an activation can
// be bounded: the patched disthash of third_party/protoactor-go has it.
type boundedLookup interface {
	GetWithin(id *cluster.ClusterIdentity, timeout time.Duration) *actor.PID
}

// lookup finds the shard's PID, activating it on its member if needed,
// waiting no longer than ctx allows where the identity lookup can bound
// its wait (upstream disthash waits up to the cluster's request timeout,
// 5 s by default, for a member that may be dead).
func lookup(ctx context.Context, c *cluster.Cluster, identity, kind string) *actor.PID {
	if l, ok := c.IdentityLookup.(boundedLookup); ok {
		deadline, _ := ctx.Deadline() // dispatchCommand always sets one
		return l.GetWithin(cluster.NewClusterIdentity(identity, kind), time.Until(deadline))
	}
	return c.Get(identity, kind)
}

// awaitFuture waits for f or the end of ctx. The goroutine that waits on
// f ends when f completes or times out.
func awaitFuture(ctx context.Context, f actor.Future) (any, error) {
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
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
