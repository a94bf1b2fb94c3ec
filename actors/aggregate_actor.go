package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/cohort-dev/cohort/eventstore"
)

// loadTimeout bounds loading an aggregate when its command has no deadline.
const loadTimeout = 30 * time.Second

// maxRememberedCommands bounds the command ids an aggregate remembers for
// idempotency (and keeps in its snapshots). An older repeat is recognised
// by its events in the stream (see forgottenDuplicate).
const maxRememberedCommands = 1_000

// commandMetaKey is the event metadata key holding the id of an idempotent
// command that caused the event.
const commandMetaKey = "$command"

// aggregateActor is one aggregate instance. It loads its state lazily, on
// its first command, from its snapshot and the events after it.
type aggregateActor struct {
	k      *aggregateKind
	id     string
	stream string

	agg         Aggregate
	version     int64
	loaded      bool
	assumedNew  bool  // loaded by assumeNew, not yet confirmed by an append
	snapVersion int64 // version of the last snapshot taken or loaded
	commands    commandLog
	idleGen     uint64
	idleTimer   *time.Timer
}

// idleTick is the actor's own idle timer firing; stale generations are
// ignored. (protoactor's ReceiveTimeout races: upstream issue #1139.)
type idleTick struct{ gen uint64 }

func newAggregateActor(k *aggregateKind, id string) *aggregateActor {
	return &aggregateActor{k: k, id: id, stream: k.typ.StreamPrefix + id}
}

func (a *aggregateActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *commandMsg:
		a.handle(ctx, m)
	case idleTick:
		if m.gen == a.idleGen {
			ctx.Send(ctx.Parent(), passivateRequest{pid: ctx.Self()})
		}
	case *actor.Restarting:
		a.stopTimer()
		a.k.stats.restarts.Add(1)
		a.k.app.ins.restarts.Add(context.Background(), 1, metric.WithAttributes(
			AttrActorKind.String(KindAggregate), attribute.String("name", a.k.typ.Name)))
	case *actor.Stopping:
		a.stopTimer()
	}
}

// handle runs one command. A panic in aggregate code answers the caller
// with ErrAggregateStopped and is re-raised so that the shard restarts this
// actor, which then reloads its state.
func (a *aggregateActor) handle(ctx actor.Context, m *commandMsg) {
	defer func() {
		if r := recover(); r != nil {
			m.respond(Result{}, fmt.Errorf("%w: %s %s: %w", ErrAggregateStopped, a.k.typ.Name, a.id,
				&PanicError{Value: r, Stack: debug.Stack()}))
			panic(r)
		}
	}()
	cmd := m.cmd
	if m.ctx.Err() != nil {
		m.respond(Result{}, dispatchTimeout(m.ctx))
		return
	}
	opCtx := m.ctx
	if _, ok := opCtx.Deadline(); !ok {
		var cancel context.CancelFunc
		opCtx, cancel = context.WithTimeout(opCtx, loadTimeout)
		defer cancel()
	}
	span := trace.SpanFromContext(opCtx)
	if a.k.app.ins.tracing {
		// The dispatch's span, from the message header.
		if sc := trace.SpanContextFromContext(traceContext.Extract(context.Background(), readonlyHeader{ctx.MessageHeader()})); sc.IsValid() {
			opCtx = trace.ContextWithRemoteSpanContext(opCtx, sc)
		}
		opCtx, span = a.k.app.ins.tracer.Start(opCtx, "aggregate "+a.k.typ.Name+" "+typeName(cmd.Payload), trace.WithAttributes(
			AttrActorKind.String(KindAggregate), AttrAggregateType.String(a.k.typ.Name), AttrStreamID.String(a.stream),
			AttrCommandType.String(typeName(cmd.Payload)), AttrCommandID.String(cmd.ID.String()),
			AttrCausationID.String(cmd.CausationID.String()), AttrCorrelationID.String(cmd.CorrelationID.String())))
	}
	res, events, err := a.execute(opCtx, cmd)
	if a.k.app.ins.tracing {
		span.SetAttributes(AttrStreamVersion.Int64(a.version))
		endSpan(span, err)
	}
	m.respond(res, err)
	a.arm(ctx, a.k.typ.lifespan(cmd.Payload, events, err))
}

// execute runs a command to completion: load, idempotency, version check,
// Execute, append (retrying after conflicts with other writers), Apply.
func (a *aggregateActor) execute(ctx context.Context, cmd *Command) (Result, []any, error) {
	if !a.loaded && cmd.creating && cmd.ExpectedVersion == NoExpectedVersion {
		a.assumeNew()
		defer func() {
			if a.assumedNew { // never confirmed: load on the next command
				a.assumedNew, a.loaded = false, false
			}
		}()
	}
	if !a.loaded {
		loadCtx, span := a.k.app.ins.tracer.Start(ctx, "load "+a.k.typ.Name, trace.WithAttributes(
			AttrActorKind.String(KindAggregate), AttrStreamID.String(a.stream)))
		err := a.load(loadCtx)
		span.SetAttributes(AttrStreamVersion.Int64(a.version))
		endSpan(span, err)
		if err != nil {
			return Result{}, nil, err
		}
	}
	if cmd.ExpectedVersion > a.version {
		// Another process may have written the versions the caller saw.
		if err := a.catchUp(ctx); err != nil {
			return Result{}, nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		// Checked on every attempt: catching up after a conflict may reveal
		// that another process already handled this command.
		if cmd.idempotent {
			if out, ok := a.commands.get(cmd.ID); ok {
				res, err := a.duplicate(ctx, cmd, out)
				return res, nil, err
			}
		}
		if cmd.ExpectedVersion != NoExpectedVersion && cmd.ExpectedVersion != a.version {
			return Result{}, nil, &eventstore.VersionConflictError{Stream: a.stream, Expected: eventstore.Exact(cmd.ExpectedVersion), Actual: a.version}
		}
		events, err := a.agg.Execute(cmd.Payload)
		events, writes := splitWrites(events)
		if err == nil && len(events) == 0 && len(writes) > 0 {
			return Result{}, nil, fmt.Errorf("actors: %s %s: %s returned stream writes without an event of the aggregate's own",
				a.k.typ.Name, a.id, typeName(cmd.Payload))
		}
		if a.assumedNew && (err != nil || len(events) == 0) {
			// Only an append tells a new aggregate from a stored one:
			// decide a refusal or a no-op on the stored state.
			if err := a.loadInstead(ctx); err != nil {
				return Result{}, nil, err
			}
			continue
		}
		if cmd.idempotent && (err != nil || len(events) == 0) && a.commands.full() {
			// Refused or a no-op today: perhaps a repeat of a command
			// handled before the oldest one the aggregate remembers.
			if res, ok, err := a.forgottenDuplicate(ctx, cmd); ok || err != nil {
				return res, nil, err
			}
		}
		if err != nil {
			return Result{}, nil, &ValidationError{Aggregate: a.k.typ.Name, ID: a.id, Err: err}
		}
		if len(events) == 0 {
			res, err := a.withState(cmd, a.result(Result{}))
			return res, nil, err
		}
		data, err := a.encode(ctx, cmd, writeEvents(events, writes))
		if err != nil {
			return Result{}, nil, err
		}
		appended, written, err := a.append(ctx, data, len(events), writes)
		if we := (*StreamWriteError)(nil); errors.As(err, &we) {
			// Nothing was written, and deciding again would make the same
			// write: the caller decides.
			return Result{}, nil, we
		}
		if a.assumedNew && (errors.Is(err, eventstore.ErrVersionConflict) || errors.Is(err, eventstore.ErrDuplicateEvent)) {
			// The stream exists after all, or holds this command's events:
			// load it and decide again.
			if err := a.loadInstead(ctx); err != nil {
				return Result{}, nil, err
			}
			continue
		}
		a.assumedNew = false // the append confirmed it, or failed otherwise
		if cmd.idempotent && errors.Is(err, eventstore.ErrDuplicateEvent) {
			// The store holds events with this command's ids: a repeat of a
			// command older than those the aggregate remembers.
			if res, ok, err := a.forgottenDuplicate(ctx, cmd); ok || err != nil {
				return res, nil, err
			}
		}
		if errors.Is(err, eventstore.ErrVersionConflict) && attempt < a.k.typ.ConflictRetries &&
			cmd.ExpectedVersion == NoExpectedVersion {
			// Another process wrote to the stream: catch up and decide again.
			if err := a.catchUp(ctx); err != nil {
				return Result{}, nil, err
			}
			if err := sleepCtx(ctx, conflictBackoff(attempt)); err != nil {
				return Result{}, nil, timeoutError{cause: err}
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, eventstore.ErrVersionConflict) {
				// The append may or may not have committed: reload before the
				// next command rather than guess.
				a.loaded = false
			}
			return Result{}, nil, fmt.Errorf("actors: %s %s: append: %w", a.k.typ.Name, a.id, err)
		}
		first := a.version + 1
		for _, e := range events {
			a.agg.Apply(e)
		}
		a.version = appended.Version
		last := appended.LastPosition
		for _, w := range written {
			last = max(last, w.LastPosition)
		}
		if cmd.idempotent {
			a.commands.add(cmd.ID, outcome{first: first, version: a.version, position: last})
		}
		a.maybeSnapshot(ctx)
		res := a.result(Result{Position: last, Writes: written})
		if cmd.Returning == ReturnEvents {
			evs, err := a.readEvents(ctx, first, len(events))
			if err != nil {
				return res, events, err
			}
			res.Events = evs
		}
		res, err = a.withState(cmd, res)
		return res, events, err
	}
}

func (a *aggregateActor) result(r Result) Result {
	r.AggregateID, r.StreamID, r.Version = a.id, a.stream, a.version
	return r
}

// withState adds a copy of the state when the command asks for it. A
// state that cannot be copied (through JSON) fails the dispatch, with the
// command's outcome in the result.
func (a *aggregateActor) withState(cmd *Command, r Result) (Result, error) {
	if cmd.Returning != ReturnState {
		return r, nil
	}
	data, err := json.Marshal(a.agg)
	if err == nil {
		c := a.k.typ.New()
		if err = json.Unmarshal(data, c); err == nil {
			r.State = stateOf(c)
			return r, nil
		}
	}
	return r, fmt.Errorf("actors: %s %s: copy the state to return: %w", a.k.typ.Name, a.id, err)
}

// duplicate answers a command id seen before with its first outcome.
func (a *aggregateActor) duplicate(ctx context.Context, cmd *Command, out outcome) (Result, error) {
	res := Result{AggregateID: a.id, StreamID: a.stream, Version: out.version, Position: out.position, Duplicate: true}
	if cmd.Returning == ReturnEvents && out.version >= out.first {
		evs, err := a.readEvents(ctx, out.first, int(out.version-out.first+1))
		if err != nil {
			return Result{}, err
		}
		res.Events = evs
	}
	return a.withState(cmd, res)
}

// forgottenDuplicate looks in the stream for the events of a command the
// aggregate no longer remembers (maxRememberedCommands): found, it answers
// the command as a duplicate, as a remembered one is answered, and
// remembers it again. ok is false when the stream holds no event of the
// command. It reads the whole stream, which only commands repeated past
// the window, or refused or no-ops on an aggregate whose window is full,
// pay.
func (a *aggregateActor) forgottenDuplicate(ctx context.Context, cmd *Command) (res Result, ok bool, err error) {
	var out outcome
	for ev, err := range eventstore.StreamEvents(ctx, a.k.app.store, a.stream, 1, loadPage) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return Result{}, false, fmt.Errorf("actors: %s %s: look for command %s: %w", a.k.typ.Name, a.id, cmd.ID, err)
		}
		if id, isCmd := commandOf(ev); !isCmd || id != cmd.ID {
			if ok {
				break // the command's events are consecutive
			}
			continue
		}
		if !ok {
			ok, out.first = true, ev.StreamVersion
		}
		out.version, out.position = ev.StreamVersion, ev.Position
	}
	if !ok {
		return Result{}, false, nil
	}
	a.commands.add(cmd.ID, out)
	res, err = a.duplicate(ctx, cmd, out)
	return res, true, err
}

// commandOf returns the id of the idempotent command that caused ev.
func commandOf(ev eventstore.RecordedEvent) (uuid.UUID, bool) {
	if !bytes.Contains(ev.Metadata, []byte(commandMetaKey)) {
		return uuid.Nil, false
	}
	var md Metadata
	if json.Unmarshal(ev.Metadata, &md) != nil {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(md[commandMetaKey])
	return id, err == nil
}

// append appends events at the version the actor holds, with the
// command's stream writes if any (data holds the own events first, then
// the writes'), in a span.
func (a *aggregateActor) append(ctx context.Context, data []eventstore.EventData, own int, writes []StreamWrite) (eventstore.AppendResult, []eventstore.AppendResult, error) {
	do := func(ctx context.Context) (eventstore.AppendResult, []eventstore.AppendResult, error) {
		if len(writes) > 0 {
			return a.appendWrites(ctx, data, own, writes)
		}
		res, err := a.k.app.store.Append(ctx, a.stream, eventstore.Exact(a.version), data)
		return res, nil, err
	}
	if !a.k.app.ins.tracing {
		return do(ctx)
	}
	ctx, span := a.k.app.ins.tracer.Start(ctx, "eventstore.append", trace.WithAttributes(
		AttrStreamID.String(a.stream), attribute.Int64("cohort.expected_version", a.version),
		attribute.Int("cohort.events", len(data)), attribute.Int("cohort.stream_writes", len(writes))))
	res, written, err := do(ctx)
	span.SetAttributes(AttrStreamVersion.Int64(res.Version), attribute.Int64("cohort.position", res.LastPosition))
	endSpan(span, err)
	return res, written, err
}

// traceKeys are the metadata keys of the W3C trace context.
var traceKeys = []string{"traceparent", "tracestate"}

func (a *aggregateActor) encode(ctx context.Context, cmd *Command, events []any) ([]eventstore.EventData, error) {
	md := cmd.Metadata.clone()
	// Metadata copied from an event may name the command that caused it, or
	// carry its trace context; only this command's own may be recorded.
	delete(md, commandMetaKey)
	for _, k := range traceKeys {
		delete(md, k)
	}
	if cmd.idempotent {
		if md == nil {
			md = Metadata{}
		}
		md[commandMetaKey] = cmd.ID.String()
	}
	if a.k.app.ins.tracing {
		// Handlers, later or in another process, continue this trace.
		if md == nil {
			md = Metadata{}
		}
		traceContext.Inject(ctx, metadataCarrier(md))
	}
	var mdJSON []byte
	if len(md) > 0 {
		var err error
		if mdJSON, err = json.Marshal(md); err != nil {
			return nil, err
		}
	}
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		name, payload, err := a.k.app.registry.encode(ctx, e)
		if err != nil {
			return nil, err
		}
		data[i] = eventstore.EventData{
			ID:            eventID(cmd, i),
			Type:          name,
			Data:          payload,
			Metadata:      mdJSON,
			CausationID:   cmd.ID,
			CorrelationID: cmd.CorrelationID,
		}
	}
	return data, nil
}

// eventID derives the ids of an idempotent command's events from the
// command id, so that the store refuses a second copy of them even from
// another process; other events get time-ordered random ids.
func eventID(cmd *Command, i int) uuid.UUID {
	if cmd.idempotent {
		return uuid.NewSHA1(cmd.ID, fmt.Appendf(nil, "event/%d", i))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// loadPage is how many events a load reads per round trip.
const loadPage = 1000

// assumeNew takes the aggregate for a new one, not yet stored, for a
// command routed with Creating; the first append finds out (see execute).
func (a *aggregateActor) assumeNew() {
	a.reset()
	a.loaded, a.assumedNew = true, true
}

// loadInstead drops the state assumeNew assumed and loads the stored one.
func (a *aggregateActor) loadInstead(ctx context.Context) error {
	a.assumedNew = false
	return a.load(ctx)
}

// reset gives the actor a new aggregate at version 0.
func (a *aggregateActor) reset() {
	a.agg, a.version, a.snapVersion, a.commands = a.k.typ.New(), 0, 0, commandLog{}
}

// load rebuilds the state from the latest usable snapshot and the events
// after it.
func (a *aggregateActor) load(ctx context.Context) error {
	a.reset()
	a.loaded = false
	snap, found, evs, err := a.k.app.store.ReadSnapshotStream(ctx, a.stream, a.stream, loadPage)
	if err != nil {
		return fmt.Errorf("actors: %s %s: load: %w", a.k.typ.Name, a.id, err)
	}
	if !found || a.restore(ctx, snap) {
		if err := a.applyRecorded(evs); err != nil {
			return err
		}
		if len(evs) < loadPage {
			a.loaded = true
			return nil
		}
	}
	// More events, or a snapshot of another shape: read on.
	if err := a.catchUp(ctx); err != nil {
		return err
	}
	a.loaded = true
	return nil
}

// restore adopts a snapshot of this aggregate type's current shape; it
// reports whether it did.
func (a *aggregateActor) restore(ctx context.Context, snap eventstore.Snapshot) bool {
	if snap.SchemaVersion != a.k.typ.SnapshotVersion || snap.SourceType != a.k.typ.Name {
		return false
	}
	agg := a.k.typ.New()
	data, err := a.k.app.openState(ctx, agg, snap.Data, a.id)
	if err != nil || json.Unmarshal(data, agg) != nil {
		return false
	}
	a.agg, a.version, a.snapVersion = agg, snap.SourceVersion, snap.SourceVersion
	a.commands = decodeCommandLog(snap.Metadata)
	return true
}

// catchUp applies the events stored after the current version.
func (a *aggregateActor) catchUp(ctx context.Context) error {
	for ev, err := range eventstore.StreamEvents(ctx, a.k.app.store, a.stream, a.version+1, loadPage) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			a.loaded = false
			return fmt.Errorf("actors: %s %s: load: %w", a.k.typ.Name, a.id, err)
		}
		if err := a.applyRecorded([]eventstore.RecordedEvent{ev}); err != nil {
			return err
		}
	}
	return nil
}

// applyRecorded applies stored events, remembering the idempotent commands
// that caused them.
func (a *aggregateActor) applyRecorded(evs []eventstore.RecordedEvent) error {
	for _, ev := range evs {
		decoded, err := decodeRecord(a.k.app.registry, ev)
		if err != nil {
			a.loaded = false
			return fmt.Errorf("actors: %s %s: load version %d: %w", a.k.typ.Name, a.id, ev.StreamVersion, err)
		}
		for _, d := range decoded {
			a.agg.Apply(d.Payload)
		}
		a.version = ev.StreamVersion
		if id, ok := commandOf(ev); ok {
			a.commands.extend(id, ev.StreamVersion, ev.Position)
		}
	}
	return nil
}

// readEvents reads n events of the stream from version first.
func (a *aggregateActor) readEvents(ctx context.Context, first int64, n int) ([]Event, error) {
	recs, err := a.k.app.store.ReadStream(ctx, a.stream, eventstore.ReadOptions{From: first, Count: n})
	if err != nil {
		return nil, fmt.Errorf("actors: %s %s: read events: %w", a.k.typ.Name, a.id, err)
	}
	return a.k.app.decodeEvents(recs), nil
}

func (a *aggregateActor) maybeSnapshot(ctx context.Context) {
	every := int64(a.k.typ.SnapshotEvery)
	if every == 0 || a.version-a.snapVersion < every {
		return
	}
	data, err := a.k.app.sealState(ctx, a.agg, a.id)
	if err != nil {
		a.k.app.log.Warn("snapshot encode failed", "aggregate", a.k.typ.Name, "id", a.id, "err", err)
		return
	}
	a.snapVersion = a.version
	a.k.app.snapshots.record(eventstore.Snapshot{
		SourceID:      a.stream,
		SourceVersion: a.version,
		SourceType:    a.k.typ.Name,
		SchemaVersion: a.k.typ.SnapshotVersion,
		Data:          data,
		Metadata:      a.commands.encode(),
	})
}

// arm applies a lifespan: stop now, keep forever, or stop after d idle.
func (a *aggregateActor) arm(ctx actor.Context, d time.Duration) {
	a.stopTimer()
	switch {
	case d == Forever || d < 0:
		return
	case d == StopNow:
		ctx.Send(ctx.Parent(), passivateRequest{pid: ctx.Self()})
		return
	}
	a.idleGen++
	gen, self, root := a.idleGen, ctx.Self(), a.k.app.system.Root
	a.idleTimer = time.AfterFunc(d, func() { root.Send(self, idleTick{gen: gen}) })
}

func (a *aggregateActor) stopTimer() {
	a.idleGen++
	if a.idleTimer != nil {
		a.idleTimer.Stop()
		a.idleTimer = nil
	}
}

func conflictBackoff(attempt int) time.Duration {
	base := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	return base/2 + rand.N(base)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
