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
	"go.opentelemetry.io/otel/propagation"
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
	status      loadState // what agg and version are
	snapVersion int64     // version of the last snapshot taken or loaded
	commands    commandLog
	idle        idleTimer
}

func newAggregateActor(k *aggregateKind, id string) *aggregateActor {
	return &aggregateActor{k: k, id: id, stream: k.typ.StreamPrefix + id}
}

func (a *aggregateActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *commandMsg:
		a.handle(ctx, m)
	case idleTick:
		if a.idle.current(m) {
			requestPassivation(ctx)
		}
	case *actor.Restarting:
		a.idle.stop()
		a.k.stats.restarts.Add(1)
		a.k.app.ins.restarts.Add(context.Background(), 1, metric.WithAttributes(
			AttrActorKind.String(KindAggregate), attribute.String("name", a.k.typ.Name)))
	case *actor.Stopping:
		a.idle.stop()
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

// execute runs a command to completion, in steps: load the state, decide
// (idempotency, version check, Execute), append (catching up and deciding
// again after a conflict with another writer), apply, reply.
func (a *aggregateActor) execute(ctx context.Context, cmd *Command) (Result, []any, error) {
	// A state assumed new and never confirmed is read on the next command.
	defer a.to(commandDone)
	if err := a.loadFor(ctx, cmd); err != nil {
		return Result{}, nil, err
	}
	for attempt := 0; ; attempt++ {
		d, end := a.decide(ctx, cmd)
		switch end.then {
		case again:
			continue
		case answered:
			return end.res, nil, end.err
		}
		appended, written, end := a.appendDecision(ctx, cmd, d, attempt)
		switch end.then {
		case again:
			continue
		case answered:
			return end.res, nil, end.err
		}
		first, last := a.apply(ctx, cmd, d, appended, written)
		return a.reply(ctx, cmd, d, first, last, written)
	}
}

// decision is what the aggregate decided to do with a command: its own
// events, and the events it writes to other streams.
type decision struct {
	events []any
	writes []StreamWrite
}

// stepEnd is how a step of execute ended, and what comes next.
type stepEnd struct {
	then stepThen
	res  Result // answered
	err  error  // answered
}

// stepThen is what execute does after a step.
type stepThen uint8

const (
	proceed  stepThen = iota // the next step
	again                    // the state changed: decide the command again
	answered                 // answer the command: execute ends
)

// answer ends execute with res and err.
func answer(res Result, err error) stepEnd { return stepEnd{then: answered, res: res, err: err} }

// loadFor is execute's first step: it makes the state current enough for
// cmd. A command routed with Creating takes an unloaded aggregate for a
// new one (the append finds out); others load it, then catch up to the
// version the caller expects.
func (a *aggregateActor) loadFor(ctx context.Context, cmd *Command) error {
	if a.status == unloaded && cmd.creating && cmd.ExpectedVersion == NoExpectedVersion {
		a.assumeNew()
	}
	if a.status == unloaded {
		loadCtx, span := a.k.app.ins.tracer.Start(ctx, "load "+a.k.typ.Name, trace.WithAttributes(
			AttrActorKind.String(KindAggregate), AttrStreamID.String(a.stream)))
		err := a.load(loadCtx)
		span.SetAttributes(AttrStreamVersion.Int64(a.version))
		endSpan(span, err)
		if err != nil {
			return err
		}
	}
	if cmd.ExpectedVersion > a.version {
		// Another process may have written the versions the caller saw.
		return a.catchUp(ctx)
	}
	return nil
}

// decide is execute's second step: it answers a repeated command or one
// expecting another version, else runs Execute. A refusal or a no-op is
// the answer, unless it is decided on a state assumed new (decided again
// on the stored state) or perhaps a repeat of a command the aggregate no
// longer remembers.
func (a *aggregateActor) decide(ctx context.Context, cmd *Command) (decision, stepEnd) {
	// Checked on every attempt: catching up after a conflict may reveal
	// that another process already handled this command.
	if cmd.idempotent {
		if out, ok := a.commands.get(cmd.ID); ok {
			return decision{}, answer(a.duplicate(ctx, cmd, out))
		}
	}
	if cmd.ExpectedVersion != NoExpectedVersion && cmd.ExpectedVersion != a.version {
		return decision{}, answer(Result{}, &eventstore.VersionConflictError{Stream: a.stream, Expected: eventstore.Exact(cmd.ExpectedVersion), Actual: a.version})
	}
	events, err := a.agg.Execute(cmd.Payload)
	events, writes := splitWrites(events)
	if err == nil && len(events) == 0 && len(writes) > 0 {
		return decision{}, answer(Result{}, fmt.Errorf("actors: %s %s: %s returned stream writes without an event of the aggregate's own",
			a.k.typ.Name, a.id, typeName(cmd.Payload)))
	}
	if a.status == assumedNew && (err != nil || len(events) == 0) {
		// Only an append tells a new aggregate from a stored one: decide a
		// refusal or a no-op on the stored state.
		return decision{}, a.loadInstead(ctx)
	}
	if a.status == kept && (err != nil || len(events) == 0) {
		// No append will check the version: decide a refusal or a no-op
		// again if another process wrote since the state was kept.
		if end, ok := a.confirmKept(ctx); !ok {
			return decision{}, end
		}
	}
	if cmd.idempotent && (err != nil || len(events) == 0) && a.commands.full() {
		// Refused or a no-op today: perhaps a repeat of a command handled
		// before the oldest one the aggregate remembers.
		if res, ok, err := a.forgottenDuplicate(ctx, cmd); ok || err != nil {
			return decision{}, answer(res, err)
		}
	}
	if err != nil {
		return decision{}, answer(Result{}, &ValidationError{Aggregate: a.k.typ.Name, ID: a.id, Err: err})
	}
	if len(events) == 0 {
		return decision{}, answer(a.withState(cmd, a.result(Result{})))
	}
	return decision{events: events, writes: writes}, stepEnd{then: proceed}
}

// appendDecision is execute's third step: it appends the decided events
// at the version the actor holds. A conflict with a state assumed new
// loads the stored state; one with another writer catches up; both decide
// again. An append that may or may not have committed makes the actor
// read its state before the next command rather than guess.
func (a *aggregateActor) appendDecision(ctx context.Context, cmd *Command, d decision, attempt int) (eventstore.AppendResult, []eventstore.AppendResult, stepEnd) {
	data, err := a.encode(ctx, cmd, writeEvents(d.events, d.writes))
	if err != nil {
		return eventstore.AppendResult{}, nil, answer(Result{}, err)
	}
	appended, written, err := a.append(ctx, data, len(d.events), d.writes)
	if we := (*StreamWriteError)(nil); errors.As(err, &we) {
		// Nothing was written, and deciding again would make the same
		// write: the caller decides.
		return appended, written, answer(Result{}, we)
	}
	conflict := errors.Is(err, eventstore.ErrVersionConflict)
	if a.status == assumedNew && (conflict || errors.Is(err, eventstore.ErrDuplicateEvent)) {
		// The stream exists after all, or holds this command's events:
		// load it and decide again.
		return appended, written, a.loadInstead(ctx)
	}
	if err == nil {
		a.to(appendedEvents) // confirms a state assumed new
		return appended, written, stepEnd{then: proceed}
	}
	if conflict {
		a.k.app.countConflict(a.k.typ.Name)
	}
	if cmd.idempotent && errors.Is(err, eventstore.ErrDuplicateEvent) {
		// The store holds events with this command's ids: a repeat of a
		// command older than those the aggregate remembers.
		if res, ok, err := a.forgottenDuplicate(ctx, cmd); ok || err != nil {
			return appended, written, answer(res, err)
		}
	}
	if conflict && attempt < a.k.typ.ConflictRetries && cmd.ExpectedVersion == NoExpectedVersion {
		// Another process wrote to the stream: catch up and decide again.
		if err := a.catchUp(ctx); err != nil {
			return appended, written, answer(Result{}, err)
		}
		if err := sleepCtx(ctx, conflictBackoff(attempt)); err != nil {
			return appended, written, answer(Result{}, timeoutError{cause: err})
		}
		return appended, written, stepEnd{then: again}
	}
	if !conflict {
		a.to(failed) // the append may or may not have committed
	}
	return appended, written, answer(Result{}, fmt.Errorf("actors: %s %s: append: %w", a.k.typ.Name, a.id, err))
}

// apply is execute's fourth step: it applies the appended events to the
// state, remembers the command, and takes a snapshot when one is due. It
// returns the version of the first event and the position of the last
// one written.
func (a *aggregateActor) apply(ctx context.Context, cmd *Command, d decision, appended eventstore.AppendResult, written []eventstore.AppendResult) (first, last int64) {
	first = a.version + 1
	for _, e := range d.events {
		a.agg.Apply(e)
	}
	a.version = appended.Version
	last = appended.LastPosition
	for _, w := range written {
		last = max(last, w.LastPosition)
	}
	if cmd.idempotent {
		a.commands.add(cmd.ID, outcome{first: first, version: a.version, position: last})
	}
	a.maybeSnapshot(ctx)
	return first, last
}

// reply is execute's last step: the result of an applied command, with
// its events or a copy of the state if it asks for them.
func (a *aggregateActor) reply(ctx context.Context, cmd *Command, d decision, first, last int64, written []eventstore.AppendResult) (Result, []any, error) {
	res := a.result(Result{Position: last, Writes: written})
	if cmd.Returning == ReturnEvents {
		evs, err := a.readEvents(ctx, first, len(d.events))
		if err != nil {
			return res, d.events, err
		}
		res.Events = evs
	}
	res, err := a.withState(cmd, res)
	return res, d.events, err
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
		traceContext.Inject(ctx, propagation.MapCarrier(md))
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
	a.to(assumed)
}

// loadInstead drops the state assumeNew assumed and loads the stored one,
// for the command to be decided again.
func (a *aggregateActor) loadInstead(ctx context.Context) stepEnd {
	if err := a.load(ctx); err != nil {
		return answer(Result{}, err)
	}
	return stepEnd{then: again}
}

// confirmKept reads what other processes appended to the stream since
// the state was kept. It reports whether there was nothing: the decision
// on the kept state stands. Otherwise execute decides again, on the newer
// state (or answers the read's error).
func (a *aggregateActor) confirmKept(ctx context.Context) (stepEnd, bool) {
	kept := a.version
	if err := a.catchUp(ctx); err != nil {
		return answer(Result{}, err), false
	}
	a.to(read)
	if a.version != kept {
		return stepEnd{then: again}, false
	}
	return stepEnd{}, true
}

// reset gives the actor a new aggregate at version 0.
func (a *aggregateActor) reset() {
	a.agg, a.version, a.snapVersion, a.commands = a.k.typ.New(), 0, 0, commandLog{}
}

// load rebuilds the state from the latest usable snapshot and the events
// after it.
func (a *aggregateActor) load(ctx context.Context) error {
	a.reset()
	a.to(failed) // until read
	snap, found, evs, err := a.k.app.store.ReadSnapshotStream(ctx, a.stream, a.stream, loadPage)
	if err != nil {
		return fmt.Errorf("actors: %s %s: load: %w", a.k.typ.Name, a.id, err)
	}
	if !found || a.restore(ctx, snap) {
		if err := a.applyRecorded(evs); err != nil {
			return err
		}
		if len(evs) < loadPage {
			a.to(read)
			return nil
		}
	}
	// More events, or a snapshot of another shape: read on.
	if err := a.catchUp(ctx); err != nil {
		return err
	}
	a.to(read)
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
			a.to(failed)
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
			a.to(failed)
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
	switch {
	case d == Forever || d < 0:
		a.idle.stop()
	case d == StopNow:
		a.idle.stop()
		requestPassivation(ctx)
	default:
		a.idle.arm(ctx, d)
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
