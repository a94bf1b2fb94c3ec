package eventstore

import "strconv"

// ExpectedVersion is the optimistic-concurrency condition of an append, a
// link or a delete.
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version, creating it if needed.
	Any ExpectedVersion = -1
	// NoStream requires that the stream does not exist.
	NoStream ExpectedVersion = 0
	// StreamExists requires that the stream exists, at any version.
	StreamExists ExpectedVersion = -2
)

// Exact requires the stream to be at version v; Exact(0) is NoStream.
func Exact(v int64) ExpectedVersion { return ExpectedVersion(v) }

// String returns "any", "no stream", "stream exists" or the version.
func (v ExpectedVersion) String() string {
	switch v {
	case Any:
		return "any"
	case NoStream:
		return "no stream"
	case StreamExists:
		return "stream exists"
	}
	return strconv.FormatInt(int64(v), 10)
}

// Check reports whether a stream at version actual (0 when it does not
// exist) satisfies v.
func (v ExpectedVersion) Check(actual int64) bool {
	switch v {
	case Any:
		return true
	case StreamExists:
		return actual > 0
	}
	return int64(v) == actual
}
