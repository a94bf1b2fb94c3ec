package memory

import (
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
)

// TestWatchProgress: the checkpoint of a persistent subscription to $all,
// stored through one handle, reaches the watchers of every handle on the
// storage; a stream subscription's (a version, not a position) does not,
// and a stopped watcher hears nothing more.
func TestWatchProgress(t *testing.T) {
	writer := New()
	defer writer.Close()
	other := writer.Connect()
	defer other.Close()
	var mu sync.Mutex
	got := map[string]int64{}
	stop := other.WatchProgress(func(name string, cp int64) {
		mu.Lock()
		defer mu.Unlock()
		got[name] = cp
	})
	appendN(t, writer, "s", 3)
	for _, opts := range []eventstore.SubscribeOptions{
		{Name: "all", CheckpointThreshold: 1},
		{Name: "stream", Stream: "s", CheckpointThreshold: 1},
	} {
		sub, err := writer.Subscribe(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		var last eventstore.RecordedEvent
		for n := 0; n < 3; {
			batch := <-sub.Events()
			n += len(batch)
			last = batch[len(batch)-1]
		}
		if err := sub.Ack(last); err != nil {
			t.Fatal(err)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	stop()
	appendN(t, writer, "s", 1)
	sub, err := writer.Subscribe(t.Context(), eventstore.SubscribeOptions{Name: "late", CheckpointThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 4; {
		batch := <-sub.Events()
		n += len(batch)
		if err := sub.Ack(batch[len(batch)-1]); err != nil {
			t.Fatal(err)
		}
	}
	sub.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got["all"] != 3 {
		t.Fatalf("watched %v, want only all at 3", got)
	}
}
