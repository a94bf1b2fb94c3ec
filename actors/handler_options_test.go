package actors_test

import (
	"context"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// TestHandlerTransient: an in-memory read model, built by a transient
// handler, has the whole history again after the application restarts
// (with a persistent handler its checkpoint survived the restart and its
// memory did not: the new model missed every earlier event). A transient
// handler stores no checkpoint.
func TestHandlerTransient(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		run := func(model *recorder) *actors.App {
			app := newBank(t, store)
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: "model", Handler: model.handler(),
				Consistency: actors.Strong, Transient: true}))
			return actorstest.Start(t, app)
		}
		var first recorder
		app := run(&first)
		waitFor(t, app, "model", deposits(t, app, "a1", 2)) // 3 events
		must(t, app.Close(context.Background()))

		var second recorder
		app = run(&second)
		last := dispatch(t, app, OpenAccount{ID: "a2"}, actors.WithConsistency(actors.Strong)).Position
		waitFor(t, app, "model", last)
		if n := second.len(); n != 4 {
			t.Errorf("after a restart the model has %d events, want 4", n)
		}
		if _, err := store.Checkpoint(context.Background(), actors.HandlerSubscription("model")); err == nil {
			t.Error("a transient handler stored a checkpoint")
		}
	})
}
