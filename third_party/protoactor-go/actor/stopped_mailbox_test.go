package actor

import (
	"errors"
	"testing"
	"time"
)

// TestRequestLeftInMailboxOfStoppedActor: a request still in the mailbox
// of an actor when it stops is never received; its sender gets a dead
// letter at once instead of waiting for its timeout (Cohort: a command
// sent to a cluster identity as the cluster moved it).
func TestRequestLeftInMailboxOfStoppedActor(t *testing.T) {
	system := NewActorSystem()
	defer system.Shutdown()
	holding, release := make(chan struct{}), make(chan struct{})
	pid := system.Root.Spawn(PropsFromFunc(func(ctx Context) {
		switch ctx.Message().(type) {
		case string:
			close(holding)
			<-release
		case int:
			ctx.Respond(1)
		}
	}))
	system.Root.Send(pid, "hold")
	<-holding
	system.Root.Stop(pid) // a system message: handled before the request below
	f := system.Root.RequestFuture(pid, 1, 5*time.Second)
	close(release)
	began := time.Now()
	_, err := f.Result()
	if !errors.Is(err, ErrDeadLetter) {
		t.Fatalf("the request left in the stopped actor's mailbox: %v after %v, want ErrDeadLetter", err, time.Since(began))
	}
}
