// Package watch holds the functions that watchers registered to be told
// about events of some kind, such as the event stores' stored checkpoints.
package watch
