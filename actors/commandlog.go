package actors

import (
	"encoding/json"

	"github.com/google/uuid"
)

// outcome is what an idempotent command did: the versions it appended and
// the global position of its last event.
type outcome struct {
	first    int64
	version  int64
	position int64
}

// commandLog remembers the last maxRememberedCommands idempotent commands
// of one aggregate. The zero value is empty and allocates on first use, so
// aggregates that never see an idempotent command pay nothing.
type commandLog struct {
	byID  map[uuid.UUID]outcome
	order []uuid.UUID
}

func (l *commandLog) get(id uuid.UUID) (outcome, bool) {
	o, ok := l.byID[id]
	return o, ok
}

// full reports whether the log holds as many commands as it remembers:
// older ones may have been forgotten.
func (l *commandLog) full() bool { return len(l.order) >= maxRememberedCommands }

func (l *commandLog) add(id uuid.UUID, o outcome) {
	if l.byID == nil {
		l.byID = make(map[uuid.UUID]outcome)
	}
	if _, ok := l.byID[id]; !ok {
		l.order = append(l.order, id)
	}
	l.byID[id] = o
	if len(l.order) > maxRememberedCommands {
		delete(l.byID, l.order[0])
		l.order = l.order[1:]
	}
}

// extend records that version (at position) was appended by command id,
// while replaying events.
func (l *commandLog) extend(id uuid.UUID, version, position int64) {
	o, ok := l.byID[id]
	if !ok {
		o.first = version
	}
	o.version, o.position = version, position
	l.add(id, o)
}

type commandLogEntry struct {
	ID       uuid.UUID `json:"id"`
	First    int64     `json:"first"`
	Version  int64     `json:"version"`
	Position int64     `json:"position"`
}

type snapshotMeta struct {
	Commands []commandLogEntry `json:"commands,omitempty"`
}

// encode returns the log as snapshot metadata (nil when empty).
func (l *commandLog) encode() []byte {
	if len(l.order) == 0 {
		return nil
	}
	m := snapshotMeta{Commands: make([]commandLogEntry, 0, len(l.order))}
	for _, id := range l.order {
		o := l.byID[id]
		m.Commands = append(m.Commands, commandLogEntry{ID: id, First: o.first, Version: o.version, Position: o.position})
	}
	b, _ := json.Marshal(m)
	return b
}

// decodeCommandLog reads a log from snapshot metadata.
func decodeCommandLog(md []byte) commandLog {
	var l commandLog
	var m snapshotMeta
	if len(md) == 0 || json.Unmarshal(md, &m) != nil {
		return l
	}
	for _, e := range m.Commands {
		l.add(e.ID, outcome{first: e.First, version: e.Version, position: e.Position})
	}
	return l
}
