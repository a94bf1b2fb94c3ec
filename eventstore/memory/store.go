package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/internal/watch"
)

// Store is a handle on an in-memory storage. It is safe for concurrent use.
type Store struct {
	db *storage

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ eventstore.Store = (*Store)(nil)

// New returns a handle on a new, empty storage.
func New() *Store { return newHandle(newStorage()) }

// Connect returns another handle on s's storage, like a second process
// connected to the same database. Each handle is closed on its own.
func (s *Store) Connect() *Store { return newHandle(s.db) }

func newHandle(db *storage) *Store {
	return &Store{db: db, subs: make(map[*subscription]struct{})}
}

// Close closes the subscriptions opened through this handle, which stores
// their checkpoints and releases their locks. Later calls on the handle fail
// with eventstore.ErrClosed; other handles are unaffected. Close always
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Close() // the error belongs to the subscription's owner
	}
	return nil
}

// check fails when the call's context is done or the handle is closed.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	return nil
}

// storage is the state every handle of one store shares.
type storage struct {
	mu        sync.RWMutex
	all       []*event // in position order
	byID      map[uuid.UUID]*event
	streams   map[string]*stream
	lastPos   int64
	snapshots map[string]eventstore.Snapshot
	// subs holds persistent subscriptions' checkpoints by name, holders the
	// subscription that holds each name's lock.
	subs    map[string]*checkpoint
	holders map[string]*subscription
	// changed is closed and replaced whenever events or streams change,
	// released whenever a subscription lock is released.
	changed  chan struct{}
	released chan struct{}
	// watchers are told about every checkpoint stored.
	watchers watch.Set[progress]
	// keys holds the wrapped data keys by subject, nil for a deleted one;
	// keyWatchers are told about every key deleted (see keys.go).
	keys        map[string][]byte
	keyWatchers watch.Set[string]
}

type event struct {
	rec   eventstore.RecordedEvent // as appended, in its origin stream
	links []*stream                // streams that link the event
}

type entry struct {
	version int64
	ev      *event
}

type stream struct {
	id        string
	version   int64
	createdAt time.Time
	deleted   bool
	metadata  json.RawMessage
	entries   []entry // in version order
}

// checkpoint is a persistent subscription's stored state.
type checkpoint struct {
	stream string
	cursor int64
}

func newStorage() *storage {
	return &storage{
		byID:      make(map[uuid.UUID]*event),
		streams:   make(map[string]*stream),
		snapshots: make(map[string]eventstore.Snapshot),
		keys:      make(map[string][]byte),
		subs:      make(map[string]*checkpoint),
		holders:   make(map[string]*subscription),
		changed:   make(chan struct{}),
		released:  make(chan struct{}),
	}
}

// notify wakes the subscriptions waiting for changes. The caller holds
// db.mu for writing.
func (db *storage) notify() {
	close(db.changed)
	db.changed = make(chan struct{})
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func streamErr(stream string, err error) error {
	return &eventstore.StreamError{Stream: stream, Err: err}
}

// writable returns the stream to write to if it satisfies expected; st is
// nil when the stream does not exist. The caller holds db.mu.
func (db *storage) writable(id string, expected eventstore.ExpectedVersion) (*stream, error) {
	st := db.streams[id]
	var actual int64
	if st != nil {
		if st.deleted {
			return nil, streamErr(id, eventstore.ErrStreamDeleted)
		}
		actual = st.version
	}
	if expected == eventstore.StreamExists && st == nil {
		return nil, streamErr(id, eventstore.ErrStreamNotFound)
	}
	if !expected.Check(actual) {
		return nil, &eventstore.VersionConflictError{Stream: id, Expected: expected, Actual: actual}
	}
	return st, nil
}

// create adds a new stream. The caller holds db.mu for writing.
func (db *storage) create(id string, t time.Time) *stream {
	st := &stream{id: id, createdAt: t}
	db.streams[id] = st
	return st
}

// Append implements [eventstore.Appender].
func (s *Store) Append(ctx context.Context, id string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(id, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.appendStreams(ctx, []eventstore.StreamAppend{{Stream: id, Expected: expected, Events: events}})
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return res[0], nil
}

// AppendStreams implements [eventstore.MultiAppender].
func (s *Store) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppendStreams(parts); err != nil {
		return nil, err
	}
	return s.appendStreams(ctx, parts)
}

// appendStreams writes validated parts, all or nothing.
func (s *Store) appendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	db := s.db
	db.mu.Lock()
	defer db.mu.Unlock()
	sts := make([]*stream, len(parts))
	for i, p := range parts {
		st, err := db.writable(p.Stream, p.Expected)
		if err != nil {
			return nil, err
		}
		sts[i] = st
		for _, e := range p.Events {
			if _, dup := db.byID[e.ID]; dup {
				return nil, fmt.Errorf("memory: event %s: %w", e.ID, eventstore.ErrDuplicateEvent)
			}
		}
	}
	if err := ctx.Err(); err != nil { // last chance to give up: nothing is written yet
		return nil, err
	}
	t := now()
	res := make([]eventstore.AppendResult, len(parts))
	for i, p := range parts {
		res[i] = db.write(sts[i], p, t)
	}
	db.notify()
	return res, nil
}

// write appends a part's events to st, creating the stream when st is
// nil. The caller holds db.mu for writing and has checked the part.
func (db *storage) write(st *stream, p eventstore.StreamAppend, t time.Time) eventstore.AppendResult {
	id := p.Stream
	if st == nil {
		st = db.create(id, t)
	}
	res := eventstore.AppendResult{FirstPosition: db.lastPos + 1}
	for _, e := range p.Events {
		db.lastPos++
		st.version++
		ev := &event{rec: eventstore.RecordedEvent{
			ID:                  e.ID,
			Type:                e.Type,
			Data:                bytes.Clone(e.Data),
			Metadata:            bytes.Clone(e.Metadata),
			CausationID:         e.CausationID,
			CorrelationID:       e.CorrelationID,
			CreatedAt:           t,
			StreamID:            id,
			StreamVersion:       st.version,
			OriginStreamID:      id,
			OriginStreamVersion: st.version,
			Position:            db.lastPos,
		}}
		if ev.rec.ID == uuid.Nil {
			ev.rec.ID = uuid.New()
		}
		if len(ev.rec.Data) == 0 {
			ev.rec.Data = json.RawMessage("null")
		}
		if len(ev.rec.Metadata) == 0 {
			ev.rec.Metadata = nil
		}
		db.byID[ev.rec.ID] = ev
		db.all = append(db.all, ev)
		st.entries = append(st.entries, entry{version: st.version, ev: ev})
	}
	res.Version = st.version
	res.LastPosition = db.lastPos
	return res
}

// Link implements [eventstore.Linker].
func (s *Store) Link(ctx context.Context, id string, expected eventstore.ExpectedVersion, eventIDs []uuid.UUID) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateLink(id, expected, eventIDs); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.check(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	db := s.db
	db.mu.Lock()
	defer db.mu.Unlock()
	st, err := db.writable(id, expected)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	evs := make([]*event, len(eventIDs))
	for i, eid := range eventIDs {
		ev := db.byID[eid]
		switch {
		case ev == nil:
			return eventstore.AppendResult{}, fmt.Errorf("memory: event %s: %w", eid, eventstore.ErrEventNotFound)
		case ev.rec.StreamID == id || (st != nil && slices.Contains(ev.links, st)):
			return eventstore.AppendResult{}, fmt.Errorf("memory: event %s already in stream %q: %w", eid, id, eventstore.ErrDuplicateEvent)
		}
		evs[i] = ev
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}

	if st == nil {
		st = db.create(id, now())
	}
	for _, ev := range evs {
		st.version++
		st.entries = append(st.entries, entry{version: st.version, ev: ev})
		ev.links = append(ev.links, st)
	}
	db.notify()
	return eventstore.AppendResult{Version: st.version}, nil
}

// ReadStream implements [eventstore.StreamReader].
func (s *Store) ReadStream(ctx context.Context, id string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := eventstore.ValidateStreamID(id); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	st := s.db.streams[id]
	switch {
	case st == nil:
		return nil, streamErr(id, eventstore.ErrStreamNotFound)
	case st.deleted:
		return nil, streamErr(id, eventstore.ErrStreamDeleted)
	}
	return st.read(opts.Direction, opts.From, opts.Limit()), nil
}

// read returns up to limit events from version from on in direction d. The
// caller holds db.mu.
func (st *stream) read(d eventstore.Direction, from int64, limit int) []eventstore.RecordedEvent {
	return readWindow(st.entries, d, from, limit, func(e entry) int64 { return e.version }, st.record)
}

// record returns e as read from st.
func (st *stream) record(e entry) eventstore.RecordedEvent {
	r := e.ev.record()
	r.StreamID = st.id
	r.StreamVersion = e.version
	return r
}

// record returns a copy of ev the caller may keep.
func (ev *event) record() eventstore.RecordedEvent {
	r := ev.rec
	r.Data = bytes.Clone(r.Data)
	r.Metadata = bytes.Clone(r.Metadata)
	return r
}

// readWindow reads up to limit of items, sorted by increasing key,
// starting at key from (0: the first item forward, the last backward) in
// direction d, each as record returns it.
func readWindow[T any](items []T, d eventstore.Direction, from int64, limit int, key func(T) int64, record func(T) eventstore.RecordedEvent) []eventstore.RecordedEvent {
	n := len(items)
	var lo, hi int
	if d == eventstore.Backward {
		hi = n
		if from > 0 {
			hi = sort.Search(n, func(i int) bool { return key(items[i]) > from })
		}
		lo = max(0, hi-limit)
	} else {
		lo = sort.Search(n, func(i int) bool { return key(items[i]) >= from })
		hi = min(n, lo+limit)
	}
	out := make([]eventstore.RecordedEvent, 0, hi-lo)
	for i := range hi - lo {
		if d == eventstore.Backward {
			i = hi - 1 - i
		} else {
			i += lo
		}
		out = append(out, record(items[i]))
	}
	return out
}

// ReadAll implements [eventstore.AllReader].
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	return s.db.readAll(opts.Direction, opts.From, opts.Limit()), nil
}

// readAll reads $all. The caller holds db.mu.
func (db *storage) readAll(d eventstore.Direction, from int64, limit int) []eventstore.RecordedEvent {
	return readWindow(db.all, d, from, limit, func(ev *event) int64 { return ev.rec.Position }, (*event).record)
}

// StreamInfo implements [eventstore.StreamAdmin].
func (s *Store) StreamInfo(ctx context.Context, id string) (eventstore.StreamInfo, error) {
	if err := eventstore.ValidateStreamID(id); err != nil {
		return eventstore.StreamInfo{}, err
	}
	if err := s.check(ctx); err != nil {
		return eventstore.StreamInfo{}, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	st := s.db.streams[id]
	if st == nil {
		return eventstore.StreamInfo{}, streamErr(id, eventstore.ErrStreamNotFound)
	}
	return eventstore.StreamInfo{
		StreamID:  st.id,
		Version:   st.version,
		CreatedAt: st.createdAt,
		Deleted:   st.deleted,
		Metadata:  bytes.Clone(st.metadata),
	}, nil
}

// SetStreamMetadata implements [eventstore.StreamAdmin]. It fails with
// eventstore.ErrStreamDeleted on a soft-deleted stream.
func (s *Store) SetStreamMetadata(ctx context.Context, id string, metadata json.RawMessage) error {
	if err := eventstore.ValidateMetadata(id, metadata); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	st := s.db.streams[id]
	switch {
	case st == nil:
		return streamErr(id, eventstore.ErrStreamNotFound)
	case st.deleted:
		return streamErr(id, eventstore.ErrStreamDeleted)
	}
	st.metadata = nil
	if len(metadata) > 0 {
		st.metadata = bytes.Clone(metadata)
	}
	return nil
}

// DeleteStream implements [eventstore.StreamAdmin]. Deleting a stream
// already soft-deleted fails with eventstore.ErrStreamDeleted.
func (s *Store) DeleteStream(ctx context.Context, id string, expected eventstore.ExpectedVersion, mode eventstore.DeleteMode) error {
	if err := eventstore.ValidateDelete(id, expected, mode); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	db := s.db
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.streams[id] == nil {
		return streamErr(id, eventstore.ErrStreamNotFound)
	}
	st, err := db.writable(id, expected)
	if err != nil {
		return err
	}
	if mode == eventstore.SoftDelete {
		st.deleted = true
	} else {
		db.hardDelete(st)
	}
	db.notify()
	return nil
}

// hardDelete removes st, its events, every link to them and the snapshot
// whose source is st. The caller holds db.mu for writing.
func (db *storage) hardDelete(st *stream) {
	delete(db.streams, st.id)
	delete(db.snapshots, st.id)
	gone := make(map[*event]bool)
	linking := make(map[*stream]bool)
	for _, e := range st.entries {
		ev := e.ev
		if ev.rec.StreamID != st.id { // a link: forget it on the event's side
			ev.links = slices.DeleteFunc(ev.links, func(l *stream) bool { return l == st })
			continue
		}
		gone[ev] = true
		delete(db.byID, ev.rec.ID)
		for _, l := range ev.links {
			linking[l] = true
		}
	}
	for l := range linking {
		l.entries = slices.DeleteFunc(l.entries, func(e entry) bool { return gone[e.ev] })
	}
	db.all = slices.DeleteFunc(db.all, func(ev *event) bool { return gone[ev] })
}

// RecordSnapshot implements [eventstore.Snapshotter].
func (s *Store) RecordSnapshot(ctx context.Context, snap eventstore.Snapshot) error {
	return s.SaveSnapshots(ctx, []eventstore.Snapshot{snap}, nil)
}

// putSnapshot stores a copy of a valid snapshot unless a newer one of the
// same source is stored. The caller holds db.mu for writing.
func (db *storage) putSnapshot(snap eventstore.Snapshot) {
	if old, ok := db.snapshots[snap.SourceID]; ok && old.SourceVersion > snap.SourceVersion {
		return
	}
	snap.Data = bytes.Clone(snap.Data)
	snap.Metadata = bytes.Clone(snap.Metadata)
	if len(snap.Data) == 0 {
		snap.Data = json.RawMessage("null")
	}
	if len(snap.Metadata) == 0 {
		snap.Metadata = nil
	}
	snap.CreatedAt = now()
	db.snapshots[snap.SourceID] = snap
}

// ReadSnapshot implements [eventstore.Snapshotter].
func (s *Store) ReadSnapshot(ctx context.Context, sourceID string) (eventstore.Snapshot, error) {
	if err := s.check(ctx); err != nil {
		return eventstore.Snapshot{}, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	snap, ok := s.db.snapshots[sourceID]
	if !ok {
		return eventstore.Snapshot{}, fmt.Errorf("memory: source %q: %w", sourceID, eventstore.ErrSnapshotNotFound)
	}
	snap.Data = bytes.Clone(snap.Data)
	snap.Metadata = bytes.Clone(snap.Metadata)
	return snap, nil
}

// DeleteSnapshot implements [eventstore.Snapshotter].
func (s *Store) DeleteSnapshot(ctx context.Context, sourceID string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	delete(s.db.snapshots, sourceID)
	return nil
}

// ReadSnapshotStream implements [eventstore.SnapshotStreamReader]: the
// snapshot and the events after it are read under one lock.
func (s *Store) ReadSnapshotStream(ctx context.Context, sourceID, stream string, count int) (eventstore.Snapshot, bool, []eventstore.RecordedEvent, error) {
	if err := eventstore.ValidateStreamID(stream); err != nil {
		return eventstore.Snapshot{}, false, nil, err
	}
	if count <= 0 || count > eventstore.MaxReadCount {
		return eventstore.Snapshot{}, false, nil, &eventstore.InvalidArgumentError{Arg: "count", Reason: "out of range"}
	}
	if err := s.check(ctx); err != nil {
		return eventstore.Snapshot{}, false, nil, err
	}
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	st := s.db.streams[stream]
	if st != nil && st.deleted {
		return eventstore.Snapshot{}, false, nil, streamErr(stream, eventstore.ErrStreamDeleted)
	}
	snap, found := s.db.snapshots[sourceID]
	if found {
		snap.Data = bytes.Clone(snap.Data)
		snap.Metadata = bytes.Clone(snap.Metadata)
	}
	var evs []eventstore.RecordedEvent
	if st != nil {
		evs = st.read(eventstore.Forward, snap.SourceVersion+1, count)
	}
	return snap, found, evs, nil
}

// SaveSnapshots implements [eventstore.SnapshotSaver]: every snapshot is
// validated first, then all are written under one lock.
func (s *Store) SaveSnapshots(ctx context.Context, record []eventstore.Snapshot, del []string) error {
	for _, snap := range record {
		if err := snap.Validate(); err != nil {
			return err
		}
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	for _, snap := range record {
		s.db.putSnapshot(snap)
	}
	for _, id := range del {
		delete(s.db.snapshots, id)
	}
	return nil
}
