package unique_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// TestClaimsHideValues: neither a claim's stream id nor its events hold
// the claimed value, made by Claim or by a ClaimWrite and released by a
// ReleaseWrite, in any spelling a grep finds.
func TestClaimsHideValues(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	streams := mustStreams(t, testKey)
	c := unique.New(store, streams)
	const email, other = "jake@jake.jake", "jacob@jake.jake"
	if _, err := c.Claim(ctx, "email", email, "u1"); err != nil {
		t.Fatal(err)
	}
	claim, err := streams.ClaimWrite("email", other, "u2", 0)
	if err != nil {
		t.Fatal(err)
	}
	release, err := streams.ReleaseWrite("email", other, "u2", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []actors.StreamWrite{claim, release} {
		data, err := json.Marshal(w.Events[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, w.Stream, w.Expected, []eventstore.EventData{{Type: "unique.Write", Data: data}}); err != nil {
			t.Fatal(err)
		}
	}
	assertNoTrace(t, store, email)
	assertNoTrace(t, store, other)
}

// assertNoTrace fails if a stream id or an event of store holds value.
func assertNoTrace(t *testing.T, store eventstore.AllReader, value string) {
	t.Helper()
	recs, err := store.ReadAll(context.Background(), eventstore.ReadOptions{Count: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("the store holds no events")
	}
	for _, r := range recs {
		for what, s := range map[string]string{"stream id": r.StreamID, "data": string(r.Data), "metadata": string(r.Metadata)} {
			if strings.Contains(strings.ToLower(s), strings.ToLower(value)) {
				t.Errorf("event %d's %s holds %q: %s", r.Position, what, value, s)
			}
		}
	}
}
