package actors

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
)

// journalCommands and journalHandlings bound what the journal remembers.
const (
	journalCommands  = 2048
	journalHandlings = 8192
)

// CommandRecord is a dispatch, as the journal remembers it.
type CommandRecord struct {
	ID, CausationID, CorrelationID uuid.UUID
	Type                           string
	Aggregate                      string // type/id
	Start                          time.Time
	Duration                       time.Duration
	Position                       int64 // of the last event appended
	Err                            string
}

// HandlingRecord is an event handled by a handler or process manager.
type HandlingRecord struct {
	Handler                             string
	Kind                                string // KindEventHandler or KindProcessManager
	EventID, CausationID, CorrelationID uuid.UUID
	EventType, StreamID                 string
	Position                            int64
	Start                               time.Time
	Duration                            time.Duration
	Err                                 string
}

// journal keeps the latest commands and handlings, for inspection.
type journal struct {
	commands atomic.Int64 // dispatched in all

	mu        sync.Mutex
	cmds      ring[CommandRecord]
	handlings ring[HandlingRecord]
}

// newJournal returns an empty journal that keeps up to journalCommands
// commands and journalHandlings handlings.
func newJournal() *journal {
	return &journal{cmds: newRing[CommandRecord](journalCommands), handlings: newRing[HandlingRecord](journalHandlings)}
}

func (j *journal) command(r CommandRecord) {
	j.commands.Add(1)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cmds.add(r)
}

func (j *journal) handling(r HandlingRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.handlings.add(r)
}

// ActorInfo counts a group of actors.
type ActorInfo struct {
	Kind, Name   string
	Live         int64 // actors in memory
	Mailbox      int64 // messages waiting
	Passivations int64
	Restarts     int64
	Messages     int64 // messages received
}

// HandlerInfo is a handler's or process manager's progress.
type HandlerInfo struct {
	Name, Kind string
	// Position is the last position it processed, here or (through its
	// stored checkpoint) in another process; Head the last in $all.
	Position, Head int64
	LagEvents      int64
	// LagSeconds is the age of the last event it processed, while it lags.
	LagSeconds float64
	// Status is "running", or why an error policy stopped it.
	Status string
	// Placement, with Config.Placement, says where its persistent
	// subscription runs as this node sees it: "owned" (here, its owner),
	// "rescued" (here, taken over after it stayed without a holder for
	// Config.OrphanTimeout) or "elsewhere"; empty without a placement and
	// for a transient handler.
	Placement string
}

// Inspection is a picture of a running application.
type Inspection struct {
	Time     time.Time
	Commands int64 // dispatched since start
	Actors   []ActorInfo
	Handlers []HandlerInfo
	// Slowest are the slowest of the latest commands, slowest first.
	Slowest []CommandRecord
}

// headReader is implemented by stores that tell the last position of $all.
type headReader interface {
	Head(ctx context.Context) (int64, error)
}

// Inspect returns a picture of the application: its actors, handlers and
// slowest recent commands.
func (a *App) Inspect(ctx context.Context) Inspection {
	in := Inspection{Time: time.Now().UTC(), Commands: a.journal.commands.Load()}
	for _, s := range a.stats.all() {
		in.Actors = append(in.Actors, ActorInfo{
			Kind: s.kind, Name: s.name, Live: s.live.Load(), Mailbox: s.mailbox(),
			Passivations: s.passivations.Load(), Restarts: s.restarts.Load(), Messages: s.received.Load(),
		})
	}
	in.Handlers = a.handlerProgress(ctx)
	a.journal.mu.Lock()
	cmds := slices.Collect(a.journal.cmds.all())
	a.journal.mu.Unlock()
	slices.SortFunc(cmds, func(x, y CommandRecord) int { return cmp.Compare(y.Duration, x.Duration) })
	in.Slowest = cmds[:min(len(cmds), 10)]
	return in
}

// handlerProgress reports each handler's and process manager's progress.
func (a *App) handlerProgress(ctx context.Context) []HandlerInfo {
	var head int64
	if h, ok := a.store.(headReader); ok {
		head, _ = h.Head(ctx)
	}
	infos := make([]HandlerInfo, 0, len(a.handlerSeq))
	for _, r := range a.handlerSeq {
		p := a.tracker.snapshot(r.name())
		info := HandlerInfo{Name: r.name(), Kind: r.kind(), Position: p.position, Head: max(head, p.position), Status: "running"}
		if p.halted != nil {
			info.Status = "stopped: " + p.halted.Error()
		}
		if st, ok := a.placer.state(r.name()); ok {
			info.Placement = st.String()
		}
		info.LagEvents = info.Head - info.Position
		if info.LagEvents > 0 && !p.at.IsZero() {
			info.LagSeconds = time.Since(p.at).Seconds()
		}
		infos = append(infos, info)
	}
	return infos
}

// ChainItem is one step of a causal chain.
type ChainItem struct {
	// Kind is "command", "event", or the kind of the handler that handled
	// an event (KindEventHandler, KindProcessManager).
	Kind string
	// Name is the command's or event's type, or the handler's name.
	Name string
	// Detail locates it: the aggregate, the stream and version, the event
	// handled.
	Detail                         string
	ID, CausationID, CorrelationID uuid.UUID
	Start                          time.Time
	Duration                       time.Duration
	Err                            string
}

// correlationReader is implemented by stores that find events by
// correlation id.
type correlationReader interface {
	ReadCorrelated(ctx context.Context, correlationID uuid.UUID, limit int) ([]eventstore.RecordedEvent, error)
}

// Chain returns what is known of the conversation with a correlation id:
// the commands (from this process's recent journal), the events (from the
// store, when it can find them by correlation) and their handling, in
// order of time.
func (a *App) Chain(ctx context.Context, correlation uuid.UUID) ([]ChainItem, error) {
	var items []ChainItem
	a.journal.mu.Lock()
	for c := range a.journal.cmds.all() {
		if c.CorrelationID == correlation {
			items = append(items, ChainItem{Kind: "command", Name: c.Type, Detail: c.Aggregate, ID: c.ID,
				CausationID: c.CausationID, CorrelationID: c.CorrelationID, Start: c.Start, Duration: c.Duration, Err: c.Err})
		}
	}
	for h := range a.journal.handlings.all() {
		if h.CorrelationID == correlation {
			items = append(items, ChainItem{Kind: h.Kind, Name: h.Handler, Detail: fmt.Sprintf("%s @%d", h.EventType, h.Position),
				ID: h.EventID, CausationID: h.CausationID, CorrelationID: h.CorrelationID, Start: h.Start, Duration: h.Duration, Err: h.Err})
		}
	}
	a.journal.mu.Unlock()
	if r, ok := a.store.(correlationReader); ok {
		evs, err := r.ReadCorrelated(ctx, correlation, 1000)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			items = append(items, ChainItem{Kind: "event", Name: e.Type, Detail: fmt.Sprintf("%s@%d", e.StreamID, e.StreamVersion),
				ID: e.ID, CausationID: e.CausationID, CorrelationID: e.CorrelationID, Start: e.CreatedAt})
		}
	}
	slices.SortStableFunc(items, func(x, y ChainItem) int { return x.Start.Compare(y.Start) })
	return items, nil
}
