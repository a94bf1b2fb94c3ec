package actors_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// Handles are unique: a profile claims its handle in the same atomic
// append as its own event, by appending to the handle's claim stream, and
// releases the handle it gives up in the same append.

type (
	SetHandle struct {
		Profile, Handle string
		// ClaimAt is the version of the handle's claim stream while it is
		// free: 0 (no stream) if it was never claimed.
		ClaimAt int64
	}
	HandleSet struct {
		Profile, Handle string
		ClaimVersion    int64 // the claim stream's version once claimed
	}
	HandleClaimed  struct{ Profile string }
	HandleReleased struct{ Profile string }
)

type Profile struct {
	Handle       string
	ClaimVersion int64
}

func (p *Profile) Execute(cmd any) ([]any, error) {
	c := cmd.(SetHandle)
	if c.Handle == p.Handle {
		return nil, nil
	}
	evs := []any{
		HandleSet{Profile: c.Profile, Handle: c.Handle, ClaimVersion: c.ClaimAt + 1},
		// Of any number of racing commands, exactly one appends at ClaimAt.
		actors.StreamWrite{Stream: "handle-" + c.Handle, Expected: eventstore.Exact(c.ClaimAt),
			Events: []any{HandleClaimed{Profile: c.Profile}}},
	}
	if p.Handle != "" {
		evs = append(evs, actors.StreamWrite{Stream: "handle-" + p.Handle, Expected: eventstore.Exact(p.ClaimVersion),
			Events: []any{HandleReleased{Profile: c.Profile}}})
	}
	return evs, nil
}

func (p *Profile) Apply(ev any) {
	if e, ok := ev.(HandleSet); ok {
		p.Handle, p.ClaimVersion = e.Handle, e.ClaimVersion
	}
}

// A command's StreamWrites are appended with its events, all or nothing;
// a refused one is a *StreamWriteError naming the stream and the store's
// reason, for the caller to decide: here, a handle released since can be
// claimed at the version its stream has now.
func ExampleStreamWrite() {
	ctx := context.Background()
	store := memory.New()
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		panic(err)
	}
	actors.MustRegisterEvent[HandleSet](app.Registry(), "profiles.HandleSet")
	actors.MustRegisterEvent[HandleClaimed](app.Registry(), "profiles.HandleClaimed")
	actors.MustRegisterEvent[HandleReleased](app.Registry(), "profiles.HandleReleased")
	app.RegisterAggregate(actors.AggregateType{Name: "profile", New: func() actors.Aggregate { return &Profile{} }})
	actors.Route(app, "profile", func(c SetHandle) string { return c.Profile })
	if err := app.Start(ctx); err != nil {
		panic(err)
	}
	defer app.Close(ctx)

	// setHandle claims a handle, at the claim stream's version if the
	// handle was released.
	setHandle := func(profile, handle string) error {
		cmd := SetHandle{Profile: profile, Handle: handle}
		for {
			res, err := app.Dispatch(ctx, cmd)
			var refused *actors.StreamWriteError
			var conflict *eventstore.VersionConflictError
			if !errors.As(err, &refused) || !errors.As(refused.Err, &conflict) || conflict.Actual == cmd.ClaimAt {
				fmt.Println(profile, handle, "version", res.Version, "writes", len(res.Writes), "err", err)
				return err
			}
			last, err := store.ReadStream(ctx, refused.Stream, eventstore.ReadOptions{Direction: eventstore.Backward, Count: 1})
			if err != nil {
				return err
			}
			if last[0].Type != "profiles.HandleReleased" {
				fmt.Println(profile, handle, "taken")
				return refused
			}
			cmd.ClaimAt = last[0].StreamVersion
		}
	}
	_ = setHandle("ann", "ada")
	_ = setHandle("bob", "ada")
	_ = setHandle("ann", "grace")
	_ = setHandle("bob", "ada")
	// Output:
	// ann ada version 1 writes 1 err <nil>
	// bob ada taken
	// ann grace version 2 writes 2 err <nil>
	// bob ada version 1 writes 1 err <nil>
}
