package cluster_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestRequestFutureOptionsApplyToOneCall (COHORT): the options of one
// RequestFuture call apply to that call only; they used to be written
// into a configuration shared by every later call of every cluster of the
// process (and bound to the first cluster's root context).
func TestRequestFutureOptionsApplyToOneCall(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	echo := cluster.NewKind("echo", actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*emptypb.Empty); ok {
			ctx.Respond(&emptypb.Empty{})
		}
	}))
	c := cluster.New(system, cluster.Configure("options", test.NewTestProvider(test.NewInMemAgent()), disthash.New(),
		remote.Configure("127.0.0.1", 0), cluster.WithKinds(echo)))
	c.StartMember()
	defer c.Shutdown(false)

	if _, err := c.RequestFuture("a", "echo", &emptypb.Empty{}, cluster.WithTimeout(time.Nanosecond)); err == nil {
		t.Error("a request with a timeout of 1ns did not fail")
	}
	f, err := c.RequestFuture("a", "echo", &emptypb.Empty{})
	if err != nil {
		t.Fatalf("a request with the default timeout after one with 1ns: %v", err)
	}
	if _, err := f.Result(); err != nil {
		t.Fatalf("a request with the default timeout after one with 1ns: %v", err)
	}
}
