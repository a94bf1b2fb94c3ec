package conduit_test

import (
	"context"
	"testing"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore"
)

// TestConfigValidate: New refuses a configuration without the adapters
// the caller builds (the event store, the read model's pool) or with a
// negative setting, before it builds anything.
func TestConfigValidate(t *testing.T) {
	db := conduittest.NewDatabase(t)
	store := conduittest.NewStore(t, db)
	for _, tt := range []struct {
		name string
		cfg  conduit.Config
		ok   bool
	}{
		{"complete", conduit.Config{Store: store, DB: db, ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey}, true},
		{"no claims key", conduit.Config{Store: store, DB: db, MasterKey: conduittest.MasterKey}, false},
		{"no master key", conduit.Config{Store: store, DB: db, ClaimsKey: conduittest.ClaimsKey}, false},
		{"no store", conduit.Config{DB: db}, false},
		{"no pool", conduit.Config{Store: store}, false},
		{"negative max hashes", conduit.Config{Store: store, DB: db, MaxHashes: -1}, false},
		{"negative dispatch timeout", conduit.Config{Store: store, DB: db, DispatchTimeout: -1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
			app, err := conduit.New(t.Context(), tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New: %v, want ok %v", err, tt.ok)
			}
			if app != nil {
				if err := app.Close(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestStoreOwnedByCaller: the application runs on the event store its
// caller opened and leaves it open when it closes: the caller, which
// built it, closes it.
func TestStoreOwnedByCaller(t *testing.T) {
	ctx := t.Context()
	db := conduittest.NewDatabase(t)
	store := conduittest.NewStore(t, db)
	app, err := conduit.New(ctx, conduit.Config{Store: store, DB: db, ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey, Password: conduittest.FastPasswords})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	register(t, app, "jake")
	if err := app.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil || len(evs) == 0 {
		t.Fatalf("the caller's store after the application closed: %d events, %v", len(evs), err)
	}
}
