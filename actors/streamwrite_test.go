package actors_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A member claims a unique nickname in the same append as its own event.

type (
	TakeNick struct {
		Member, Nick string
		// ReleaseAt is the version of the old nick's claim stream.
		ReleaseAt int64
	}
	NickTaken    struct{ Member, Nick string }
	NickClaimed  struct{ Member string }
	NickReleased struct{ Member string }
)

type member struct {
	Nick     string
	executes *atomic.Int32
}

func (m *member) Execute(cmd any) ([]any, error) {
	c := cmd.(TakeNick)
	m.executes.Add(1)
	if c.Nick == "" { // writes without an event of its own
		return []any{actors.StreamWrite{Stream: "nick-none", Expected: eventstore.Any, Events: []any{NickClaimed{Member: c.Member}}}}, nil
	}
	evs := []any{
		NickTaken{Member: c.Member, Nick: c.Nick},
		actors.StreamWrite{Stream: "nick-" + c.Nick, Expected: eventstore.NoStream, Events: []any{NickClaimed{Member: c.Member}}},
	}
	if m.Nick != "" {
		evs = append(evs, actors.StreamWrite{Stream: "nick-" + m.Nick, Expected: eventstore.Exact(c.ReleaseAt),
			Events: []any{NickReleased{Member: c.Member}}})
	}
	return evs, nil
}

func (m *member) Apply(ev any) {
	switch e := ev.(type) {
	case NickTaken:
		m.Nick = e.Nick
	default:
		panic("Apply got a stream write's event")
	}
}

func startMembers(t *testing.T, store actors.EventStore) (*actors.App, *atomic.Int32) {
	t.Helper()
	app, err := actors.New(actors.Config{Store: store})
	must(t, err)
	r := app.Registry()
	must(t, actors.RegisterEvent[NickTaken](r, "test.NickTaken"))
	must(t, actors.RegisterEvent[NickClaimed](r, "test.NickClaimed"))
	must(t, actors.RegisterEvent[NickReleased](r, "test.NickReleased"))
	executes := new(atomic.Int32)
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "member",
		New: func() actors.Aggregate { return &member{executes: executes} }}))
	must(t, actors.Route(app, "member", func(c TakeNick) string { return c.Member }))
	must(t, app.Start(t.Context()))
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	return app, executes
}

func streamTypes(t *testing.T, store actors.EventStore, stream string) []string {
	t.Helper()
	evs, err := store.ReadStream(t.Context(), stream, eventstore.ReadOptions{})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil
	}
	must(t, err)
	types := make([]string, len(evs))
	for i, ev := range evs {
		types[i] = ev.Type
	}
	return types
}

// TestStreamWrites: a command's stream writes are appended with its
// events, all or nothing; a refused write is a *StreamWriteError, not the
// aggregate's version conflict, and is not retried.
func TestStreamWrites(t *testing.T) {
	store := memory.New()
	app, executes := startMembers(t, store)
	ctx := t.Context()

	res, err := app.Dispatch(ctx, TakeNick{Member: "ann", Nick: "red"})
	must(t, err)
	if res.Version != 1 || len(res.Writes) != 1 || res.Writes[0].Version != 1 || res.Position != res.Writes[0].LastPosition {
		t.Fatalf("result %+v: want version 1, one write at version 1, the position of the last event", res)
	}
	if got := streamTypes(t, store, "nick-red"); len(got) != 1 || got[0] != "test.NickClaimed" {
		t.Fatalf("nick-red holds %v", got)
	}

	// Bob wants red too: refused, nothing written, executed once.
	executes.Store(0)
	_, err = app.Dispatch(ctx, TakeNick{Member: "bob", Nick: "red"})
	var we *actors.StreamWriteError
	var vc *eventstore.VersionConflictError
	switch {
	case !errors.As(err, &we) || !errors.Is(err, actors.ErrStreamWrite):
		t.Fatalf("dispatch: %v, want a *StreamWriteError", err)
	case we.Stream != "nick-red" || !errors.As(we.Err, &vc) || vc.Actual != 1:
		t.Fatalf("refused write %+v, want nick-red's conflict at version 1", we)
	case errors.Is(err, actors.ErrVersionConflict):
		t.Fatalf("dispatch: %v matches the aggregate's own version conflict", err)
	case executes.Load() != 1:
		t.Fatalf("Execute ran %d times, want once: a refused write is not retried", executes.Load())
	}
	if got := streamTypes(t, store, "member-bob"); got != nil {
		t.Fatalf("bob's stream holds %v after a refused write", got)
	}
	// Bob's aggregate is still usable.
	res, err = app.Dispatch(ctx, TakeNick{Member: "bob", Nick: "blue"})
	must(t, err)
	if res.Version != 1 {
		t.Fatalf("bob at version %d, want 1", res.Version)
	}

	// Ann moves to green, releasing red at its version.
	_, err = app.Dispatch(ctx, TakeNick{Member: "ann", Nick: "green", ReleaseAt: 1})
	must(t, err)
	if got := streamTypes(t, store, "nick-red"); len(got) != 2 || got[1] != "test.NickReleased" {
		t.Fatalf("nick-red holds %v, want it released", got)
	}

	// Writes without an event of the aggregate's own are refused.
	if _, err := app.Dispatch(ctx, TakeNick{Member: "cid"}); err == nil || streamTypes(t, store, "nick-none") != nil {
		t.Fatalf("dispatch of writes alone: %v, want an error and nothing written", err)
	}
}

// TestStreamWritesRace: of many members claiming the same nick at once,
// exactly one wins; the others get a *StreamWriteError.
func TestStreamWritesRace(t *testing.T) {
	store := memory.New()
	app, _ := startMembers(t, store)
	const racers = 20
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = app.Dispatch(t.Context(), TakeNick{Member: string(rune('a' + i)), Nick: "gold"})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, actors.ErrStreamWrite):
			t.Fatalf("dispatch: %v, want a refused stream write", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d members took the nick, want 1", wins)
	}
}
