package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// Opener opens a handle on one storage; each call is like another process
// connecting to the same database.
type Opener func(tb testing.TB) eventstore.Store

// Run runs the whole suite; newStorage returns an Opener over a fresh, empty
// storage for each subtest.
func Run(t *testing.T, newStorage func(t *testing.T) Opener) {
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, newStorage) })
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, newStorage func(*testing.T) Opener)
}

var groups = []struct {
	name  string
	tests []test
}{
	{"Append", []test{
		{"ExpectedVersion", testAppendExpectedVersion},
		{"RoundTrip", testAppendRoundTrip},
		{"DuplicateEventID", testAppendDuplicateID},
		{"CancelledContext", testAppendCancelled},
		{"RacingClose", testAppendRacingClose},
	}},
	{"AppendStreams", []test{
		{"RoundTrip", testAppendStreamsRoundTrip},
		{"AllOrNothing", testAppendStreamsAllOrNothing},
		{"MixedWithOthers", testAppendStreamsMixed},
		{"Race", testAppendStreamsRace},
		{"InvalidArgument", testAppendStreamsInvalid},
	}},
	{"InvalidArgument", []test{
		{"Rejected", testInvalidArgument},
	}},
	{"Read", []test{
		{"Stream", testReadStream},
		{"StreamNotFound", testReadStreamNotFound},
		{"All", testReadAll},
		{"DefaultCount", testReadDefaultCount},
		{"Iterators", testIterators},
	}},
	{"Link", []test{
		{"ReadThroughLinks", testLinkRead},
		{"ExpectedVersion", testLinkExpectedVersion},
		{"EventNotFound", testLinkEventNotFound},
		{"Duplicate", testLinkDuplicate},
	}},
	{"Delete", []test{
		{"Soft", testSoftDelete},
		{"Hard", testHardDelete},
		{"HardRemovesSnapshot", testHardDeleteSnapshot},
		{"ExpectedVersion", testDeleteExpectedVersion},
		{"NotFound", testDeleteNotFound},
	}},
	{"StreamInfo", []test{
		{"Info", testStreamInfo},
		{"Metadata", testStreamMetadata},
	}},
	{"Snapshot", []test{
		{"RoundTrip", testSnapshotRoundTrip},
		{"Versions", testSnapshotVersions},
		{"Delete", testSnapshotDelete},
		{"WithStream", testSnapshotStream},
		{"SaveMany", testSaveSnapshots},
	}},
	{"Subscribe", []test{
		{"StartFrom", testSubscribeStartFrom},
		{"CatchUpThenLive", testSubscribeCatchUpThenLive},
		{"Links", testSubscribeLinks},
		{"BatchSize", testSubscribeBatchSize},
		{"MaxInFlight", testSubscribeMaxInFlight},
		{"InvalidAck", testSubscribeInvalidAck},
		{"Close", testSubscribeClose},
		{"StoreClose", testSubscribeStoreClose},
	}},
	{"Persistent", []test{
		{"Resume", testPersistentResume},
		{"StartFromIgnoredWhenExists", testPersistentStartFromIgnored},
		{"Delete", testPersistentDelete},
		{"OneActiveSubscriber", testPersistentExclusive},
		{"CheckpointBatching", testPersistentCheckpointBatching},
	}},
	{"Keys", []test{
		{"Lifecycle", testKeysLifecycle},
		{"CreateRace", testKeysCreateRace},
		{"WatchAcrossHandles", testKeysWatch},
	}},
	{"Concurrency", []test{
		{"GlobalOrder", testGlobalOrder},
		{"OptimisticConcurrency", testOptimisticConcurrency},
	}},
}

// Timing. Deliveries get eventually to arrive; the absence of a delivery
// is checked for quiet.
const (
	eventually = 5 * time.Second
	quiet      = 150 * time.Millisecond
	takeover   = 2 * time.Second
	clockSkew  = 30 * time.Second
)

// Collect reads batches from sub, acknowledging the last event of each,
// until it holds at least n events, and returns them. It fails tb if the
// subscription ends or timeout passes first.
func Collect(tb testing.TB, sub eventstore.Subscription, n int, timeout time.Duration) []eventstore.RecordedEvent {
	tb.Helper()
	got, err := collect(sub, n, timeout)
	if err != nil {
		tb.Fatalf("collect %d events: %v", n, err)
	}
	return got
}

func collect(sub eventstore.Subscription, n int, timeout time.Duration) ([]eventstore.RecordedEvent, error) {
	var got []eventstore.RecordedEvent
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(got) < n {
		select {
		case batch, ok := <-sub.Events():
			if !ok {
				return got, fmt.Errorf("subscription ended after %d events: %v", len(got), sub.Close())
			}
			if len(batch) == 0 {
				return got, errors.New("empty batch")
			}
			got = append(got, batch...)
			if err := sub.Ack(batch[len(batch)-1]); err != nil {
				return got, fmt.Errorf("ack: %w", err)
			}
		case <-deadline.C:
			return got, fmt.Errorf("timed out after %v with %d events", timeout, len(got))
		}
	}
	return got, nil
}

// closeOnce lets the suite close a handle explicitly and again in cleanup.
type closeOnce struct {
	eventstore.Store
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.Store.Close() })
	return c.err
}

// mustOpen opens a handle and closes it when the test ends.
func mustOpen(tb testing.TB, open Opener) eventstore.Store {
	tb.Helper()
	s := &closeOnce{Store: open(tb)}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// newStore opens one handle on a fresh storage.
func newStore(t *testing.T, newStorage func(*testing.T) Opener) eventstore.Store {
	t.Helper()
	return mustOpen(t, newStorage(t))
}

// newEvents returns n events of type typ with fresh ids and distinct data.
func newEvents(n int, typ string) []eventstore.EventData {
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{
			ID:   uuid.New(),
			Type: typ,
			Data: json.RawMessage(fmt.Sprintf(`{"type": %q, "n": %d}`, typ, i)),
		}
	}
	return evs
}

func mustAppend(tb testing.TB, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData) eventstore.AppendResult {
	tb.Helper()
	res, err := s.Append(tb.Context(), stream, expected, evs)
	if err != nil {
		tb.Fatalf("append %d events to %q (expected %v): %v", len(evs), stream, expected, err)
	}
	return res
}

func mustLink(tb testing.TB, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, ids ...uuid.UUID) eventstore.AppendResult {
	tb.Helper()
	res, err := s.Link(tb.Context(), stream, expected, ids)
	if err != nil {
		tb.Fatalf("link %d events to %q (expected %v): %v", len(ids), stream, expected, err)
	}
	return res
}

func mustReadStream(tb testing.TB, s eventstore.Store, stream string, opts eventstore.ReadOptions) []eventstore.RecordedEvent {
	tb.Helper()
	evs, err := s.ReadStream(tb.Context(), stream, opts)
	if err != nil {
		tb.Fatalf("read stream %q %+v: %v", stream, opts, err)
	}
	return evs
}

func mustReadAll(tb testing.TB, s eventstore.Store, opts eventstore.ReadOptions) []eventstore.RecordedEvent {
	tb.Helper()
	evs, err := s.ReadAll(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("read $all %+v: %v", opts, err)
	}
	return evs
}

// mustReadWholeAll reads every event of $all forward.
func mustReadWholeAll(tb testing.TB, s eventstore.Store) []eventstore.RecordedEvent {
	tb.Helper()
	var all []eventstore.RecordedEvent
	for ev, err := range eventstore.AllEvents(tb.Context(), s, 0, eventstore.MaxReadCount) {
		if err != nil {
			tb.Fatalf("read $all: %v", err)
		}
		all = append(all, ev)
	}
	return all
}

func mustStreamInfo(tb testing.TB, s eventstore.Store, stream string) eventstore.StreamInfo {
	tb.Helper()
	info, err := s.StreamInfo(tb.Context(), stream)
	if err != nil {
		tb.Fatalf("stream info %q: %v", stream, err)
	}
	return info
}

func mustSubscribe(tb testing.TB, s eventstore.Store, opts eventstore.SubscribeOptions) eventstore.Subscription {
	tb.Helper()
	sub, err := s.Subscribe(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("subscribe %+v: %v", opts, err)
	}
	tb.Cleanup(func() {
		if err := sub.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
			tb.Errorf("close subscription: %v", err)
		}
	})
	return sub
}

// wantErr fails unless errors.Is(err, target).
func wantErr(tb testing.TB, err, target error, what string) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantConflict fails unless err is a *VersionConflictError with these
// details.
func wantConflict(tb testing.TB, err error, stream string, expected eventstore.ExpectedVersion, actual int64, what string) {
	tb.Helper()
	wantErr(tb, err, eventstore.ErrVersionConflict, what)
	var vc *eventstore.VersionConflictError
	if !errors.As(err, &vc) {
		tb.Fatalf("%s: error %v (%T) is not a *VersionConflictError", what, err, err)
	}
	if vc.Stream != stream || vc.Expected != expected || vc.Actual != actual {
		tb.Fatalf("%s: conflict {Stream %q, Expected %v, Actual %d}, want {%q, %v, %d}",
			what, vc.Stream, vc.Expected, vc.Actual, stream, expected, actual)
	}
}

// expName names an expected version in subtest names.
func expName(v eventstore.ExpectedVersion) string {
	switch v {
	case eventstore.Any:
		return "Any"
	case eventstore.NoStream:
		return "NoStream"
	case eventstore.StreamExists:
		return "StreamExists"
	}
	return fmt.Sprintf("Exact(%d)", v)
}

func eventIDs(evs []eventstore.RecordedEvent) []uuid.UUID {
	ids := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

func dataIDs(evs ...[]eventstore.EventData) []uuid.UUID {
	var ids []uuid.UUID
	for _, batch := range evs {
		for _, e := range batch {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func versions(evs []eventstore.RecordedEvent) []int64 {
	vs := make([]int64, len(evs))
	for i, e := range evs {
		vs[i] = e.StreamVersion
	}
	return vs
}

// span returns the versions from..to, counting down if to < from.
func span(from, to int64) []int64 {
	vs := []int64{}
	for v := from; ; {
		vs = append(vs, v)
		if v == to {
			return vs
		}
		if to > from {
			v++
		} else {
			v--
		}
	}
}

func wantIDs(tb testing.TB, got []eventstore.RecordedEvent, want []uuid.UUID, what string) {
	tb.Helper()
	if g := eventIDs(got); !reflect.DeepEqual(g, want) && (len(g) > 0 || len(want) > 0) {
		tb.Fatalf("%s: got %d events %v, want %d %v", what, len(g), g, len(want), want)
	}
}

func wantVersions(tb testing.TB, got []eventstore.RecordedEvent, want []int64, what string) {
	tb.Helper()
	if g := versions(got); !reflect.DeepEqual(g, want) && (len(g) > 0 || len(want) > 0) {
		tb.Fatalf("%s: got versions %v, want %v", what, g, want)
	}
}

// wantIncreasing fails unless positions strictly increase.
func wantIncreasing(tb testing.TB, evs []eventstore.RecordedEvent, what string) {
	tb.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Position <= evs[i-1].Position {
			tb.Fatalf("%s: position %d at index %d follows %d", what, evs[i].Position, i, evs[i-1].Position)
		}
	}
}

// jsonEqual compares JSON documents by meaning; two empty documents are
// equal.
func jsonEqual(a, b []byte) bool {
	if len(bytes.TrimSpace(a)) == 0 || len(bytes.TrimSpace(b)) == 0 {
		return len(bytes.TrimSpace(a)) == len(bytes.TrimSpace(b))
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func wantJSON(tb testing.TB, got, want []byte, what string) {
	tb.Helper()
	if !jsonEqual(got, want) {
		tb.Fatalf("%s: got JSON %q, want %q", what, got, want)
	}
}

// wantTime fails unless t was set by a store between before and after: UTC,
// microsecond precision, within the clock skew allowed.
func wantTime(tb testing.TB, t, before, after time.Time, what string) {
	tb.Helper()
	switch {
	case t.Location() != time.UTC:
		tb.Fatalf("%s: time %v is in %v, want UTC", what, t, t.Location())
	case t.Nanosecond()%1000 != 0:
		tb.Fatalf("%s: time %v is finer than a microsecond", what, t)
	case t.Before(before.Add(-clockSkew)) || t.After(after.Add(clockSkew)):
		tb.Fatalf("%s: time %v is not between %v and %v", what, t, before, after)
	}
}

// wantUnchanged fails unless $all holds exactly before.
func wantUnchanged(tb testing.TB, s eventstore.Store, before []eventstore.RecordedEvent, what string) {
	tb.Helper()
	wantIDs(tb, mustReadWholeAll(tb, s), eventIDs(before), what+": $all changed")
}

// wantNoStream fails unless stream does not exist.
func wantNoStream(tb testing.TB, s eventstore.Store, stream, what string) {
	tb.Helper()
	_, err := s.ReadStream(tb.Context(), stream, eventstore.ReadOptions{})
	wantErr(tb, err, eventstore.ErrStreamNotFound, what+": read "+stream)
}

// receive returns the next batch, failing after timeout.
func receive(tb testing.TB, sub eventstore.Subscription, timeout time.Duration) []eventstore.RecordedEvent {
	tb.Helper()
	select {
	case batch, ok := <-sub.Events():
		if !ok {
			tb.Fatalf("subscription ended: %v", sub.Close())
		}
		if len(batch) == 0 {
			tb.Fatal("empty batch")
		}
		return batch
	case <-time.After(timeout):
		tb.Fatalf("no batch within %v", timeout)
	}
	return nil
}

// wantNothing fails if a batch arrives within quiet.
func wantNothing(tb testing.TB, sub eventstore.Subscription, what string) {
	tb.Helper()
	select {
	case batch, ok := <-sub.Events():
		if !ok {
			tb.Fatalf("%s: subscription ended: %v", what, sub.Close())
		}
		tb.Fatalf("%s: unexpected batch of %d events %v", what, len(batch), eventIDs(batch))
	case <-time.After(quiet):
	}
}

// wantEnded fails unless the subscription's channel closes within timeout;
// batches already on their way are drained.
func wantEnded(tb testing.TB, sub eventstore.Subscription, timeout time.Duration, what string) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return
			}
		case <-deadline:
			tb.Fatalf("%s: subscription channel still open after %v", what, timeout)
		}
	}
}
