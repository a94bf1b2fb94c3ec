package unique_test

import (
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/eventstore"
)

// FuzzStreamID: a claim's stream is a valid stream id, and two different
// values never share one, or one owner would hold both.
func FuzzStreamID(f *testing.F) {
	long := strings.Repeat("v", 300)
	for _, seed := range [][3]string{
		{"username", "jake", "Jake"},
		{"email", "jake@jake.jake", "jake@jake.jake "},
		{"slug", "how-to-train-your-dragon", "how-to-train-your-dragon-2"},
		{"username", long, long + "v"},
		{"username", "a\x00b", "a"},
		{"username", "\xff", "\ufffd"},
		{"email", strings.Repeat("é", 101), strings.Repeat("é", 100)},
		{"bad-namespace", "x", "y"},
		{"", "x", "y"},
		{"slug", "", "x"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	streams := mustStreams(f, testKey)
	f.Fuzz(func(t *testing.T, namespace, a, b string) {
		idA, errA := streams.Stream(namespace, a)
		idB, errB := streams.Stream(namespace, b)
		if errA != nil || errB != nil {
			return
		}
		for _, id := range []string{idA, idB} {
			if err := eventstore.ValidateStreamID(id); err != nil {
				t.Fatalf("Stream(%q, …) = %q: %v", namespace, id, err)
			}
		}
		if a != b && idA == idB {
			t.Fatalf("values %q and %q share the stream %q", a, b, idA)
		}
	})
}
