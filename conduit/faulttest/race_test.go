//go:build race

package faulttest

// raceEnabled: the test runs with the race detector, and so does the
// Conduit binary it builds.
const raceEnabled = true
