package unique_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/eventstore"
)

// FuzzStreamID: a claim's stream is a valid stream id, and two different
// values never share one — a value spelled like another value's hashed
// form included — or one owner would hold both.
func FuzzStreamID(f *testing.F) {
	long := strings.Repeat("v", 300)
	sum := sha256.Sum256([]byte(long))
	for _, seed := range [][3]string{
		{"username", "jake", "Jake"},
		{"email", "jake@jake.jake", "jake@jake.jake "},
		{"slug", "how-to-train-your-dragon", "how-to-train-your-dragon-2"},
		{"username", long, "sha256:" + hex.EncodeToString(sum[:])},
		{"username", "a\x00b", "a"},
		{"username", "\xff", "\ufffd"},
		{"email", strings.Repeat("é", 101), strings.Repeat("é", 100)},
		{"bad-namespace", "x", "y"},
		{"", "x", "y"},
		{"slug", "", "x"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, namespace, a, b string) {
		idA, errA := unique.StreamID(namespace, a)
		idB, errB := unique.StreamID(namespace, b)
		if errA != nil || errB != nil {
			return
		}
		for _, id := range []string{idA, idB} {
			if err := eventstore.ValidateStreamID(id); err != nil {
				t.Fatalf("StreamID(%q, …) = %q: %v", namespace, id, err)
			}
		}
		if a != b && idA == idB {
			t.Fatalf("values %q and %q share the stream %q", a, b, idA)
		}
		// The hashed spelling of a, claimed as a plain value.
		s := sha256.Sum256([]byte(a))
		if h := "sha256:" + hex.EncodeToString(s[:]); h != a {
			if idH, err := unique.StreamID(namespace, h); err == nil && idH == idA {
				t.Fatalf("values %.40q and %q share the stream %q", a, h, idA)
			}
		}
	})
}
