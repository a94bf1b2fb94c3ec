package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestProgressNotifiedAcrossStores: a checkpoint stored through one store
// reaches the progress watchers of another store on the same schema (as in
// another process), and of no store on another schema; a stream
// subscription's checkpoint (a version) is not notified; a schema name too
// long or unusual for a channel name still works.
func TestProgressNotifiedAcrossStores(t *testing.T) {
	for _, schema := range []string{"", "plain", "Schema-with spaces and a long name " + strings.Repeat("x", 20)} {
		t.Run(schema, func(t *testing.T) {
			ctx := t.Context()
			conn := newDatabase(t)
			if schema != "" {
				if err := postgres.Migrate(ctx, pgtest.NewPool(t, conn), schema); err != nil {
					t.Fatal(err)
				}
			}
			if err := postgres.Migrate(ctx, pgtest.NewPool(t, conn), "unrelated"); err != nil {
				t.Fatal(err)
			}
			writer := mustOpen(t, conn, postgres.Config{Schema: schema})
			watcher := mustOpen(t, conn, postgres.Config{Schema: schema})
			unrelated := mustOpen(t, conn, postgres.Config{Schema: "unrelated"})
			type progress struct {
				name       string
				checkpoint int64
			}
			got := make(chan progress, 100)
			stop := watcher.WatchProgress(func(name string, cp int64) { got <- progress{name, cp} })
			defer stop()
			stray := make(chan progress, 100)
			defer unrelated.WatchProgress(func(name string, cp int64) { stray <- progress{name, cp} })()

			if _, err := writer.Append(ctx, "s", eventstore.NoStream, events(3)); err != nil {
				t.Fatal(err)
			}
			var last eventstore.RecordedEvent
			// The stream subscription first: its checkpoint (a version) is
			// not notified, so the first notification is the projection's.
			for _, opts := range []eventstore.SubscribeOptions{
				{Name: "stream", Stream: "s", CheckpointThreshold: 3},
				{Name: "projection", CheckpointThreshold: 3},
			} {
				sub, err := writer.Subscribe(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer sub.Close()
				for n := 0; n < 3; {
					batch := <-sub.Events()
					n += len(batch)
					last = batch[len(batch)-1]
				}
				if err := sub.Ack(last); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case p := <-got:
				if p != (progress{"projection", last.Position}) {
					t.Fatalf("notified %+v, want projection at %d", p, last.Position)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no progress notification")
			}
			select {
			case p := <-stray:
				t.Fatalf("a store on another schema was notified of %+v", p)
			case p := <-got:
				t.Fatalf("notified %+v after the projection's checkpoint", p)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}
