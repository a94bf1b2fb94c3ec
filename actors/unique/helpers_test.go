package unique_test

import (
	"testing"

	"github.com/cohort-dev/cohort/actors/unique"
)

// testKey is the key the tests name claim streams with.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// mustStreams returns claim streams named with key.
func mustStreams(tb testing.TB, key []byte) *unique.Streams {
	tb.Helper()
	s, err := unique.NewStreams(unique.Config{Key: key})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
