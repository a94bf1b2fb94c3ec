package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// queued is an event waiting to be handled, or the error decoding it;
// skip: the handler does not want it (HandlerConfig.Events), so it counts
// as handled without a call.
type queued struct {
	ev   Event
	err  error
	skip bool
}

// retryTick is an actor's own retry timer firing; stale generations are
// ignored.
type retryTick struct{ gen uint64 }

// eventQueue handles events in order, one call per event or per batch,
// applying an error policy. It lives inside one actor and is driven by its
// messages: drain after events arrive and after a retryTick.
type eventQueue struct {
	name    string
	policy  ErrorPolicy
	timeout time.Duration
	batch   int // events per call
	handle  func(ctx context.Context, evs []Event, at attempt) error
	log     func(msg string, args ...any)
	obs     handlingObserver
	// describe, if set, adds what the owner knows to a failure (a process
	// instance's id and state).
	describe func(*Failure)

	items []queued
	// attempt is the next call's: its number, and the first item's
	// failures so far.
	attempt attempt
	gen     uint64
	timer   *time.Timer
}

func (q *eventQueue) push(items ...queued) { q.items = append(q.items, items...) }

func (q *eventQueue) waiting() bool { return q.timer != nil }

// tick handles a retryTick; it reports whether the tick is current.
func (q *eventQueue) tick(t retryTick) bool {
	if t.gen != q.gen || q.timer == nil {
		return false
	}
	q.timer = nil
	return true
}

// stop cancels a pending retry.
func (q *eventQueue) stop() {
	q.gen++
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
}

// drain handles queued events until the queue is empty or a retry is
// pending. done is called, in order, once per call handled or skipped, with
// its last event (so once per batch, and once per event when batch is 1),
// and once per run of unwanted events not in a batch.
// It returns a *HandlerStoppedError when the policy says stop.
func (q *eventQueue) drain(ctx actor.Context, done func(Event)) error {
	for len(q.items) > 0 && !q.waiting() {
		if q.items[0].skip {
			n := 1
			for n < len(q.items) && q.items[n].skip {
				n++
			}
			last := q.items[n-1].ev
			q.items = q.items[n:]
			done(last)
			continue
		}
		// A batch is up to q.batch wanted events, with the unwanted ones
		// among them; it ends before an event that failed to decode.
		n, evs := 1, []Event{q.items[0].ev}
		err := q.items[0].err
		if err == nil {
			for n < len(q.items) && len(evs) < q.batch && q.items[n].err == nil {
				if !q.items[n].skip {
					evs = append(evs, q.items[n].ev)
				}
				n++
			}
		}
		last := q.items[n-1].ev
		at := q.attempt
		at.n++
		if err == nil {
			err = q.call(evs, at)
		}
		if err == nil {
			q.attempt = attempt{}
			q.items = q.items[n:]
			done(last)
			continue
		}
		f, d, ok := decidedBy(err)
		if !ok {
			f = at.failure(q.name, err, evs[0])
			if q.batch > 1 {
				f.Batch = evs
			}
			if q.describe != nil {
				q.describe(&f)
			}
			d = q.policy.decide(f)
		}
		q.attempt = attempt{n: at.n, firstFailed: f.FirstFailed}
		q.log("event handling failed", "handler", q.name, "position", evs[0].Position,
			"type", evs[0].Type, "attempt", at.n, "decision", d.String(), "err", err)
		switch d.kind {
		case decideRetry:
			q.attempt.lastDelay = d.delay
			q.gen++
			gen, self, root := q.gen, ctx.Self(), ctx.ActorSystem().Root
			q.timer = time.AfterFunc(d.delay, func() { root.Send(self, retryTick{gen: gen}) })
			return nil
		case decideSkip:
			q.attempt = attempt{}
			q.items = q.items[n:]
			done(last)
		default:
			return &HandlerStoppedError{Name: q.name, Err: err}
		}
	}
	return nil
}

// call runs the handler with a timeout, turning a panic into an error.
func (q *eventQueue) call(evs []Event, at attempt) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	ctx, end := q.obs.begin(ctx, evs)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w", q.name, &PanicError{Value: r, Stack: debug.Stack()})
		}
		end(err)
	}()
	return q.handle(ctx, evs, at)
}

// handlingObserver traces, counts and journals the handling of events.
type handlingObserver struct {
	app      *App
	name     string // the handler's or process manager's
	kind     string // KindEventHandler or KindProcessManager
	instance string // a process instance's id
}

// begin starts a span per event, each continuing the trace stored in its
// event's metadata, and returns a context holding the first one's span;
// end ends them with the outcome, records them in the journal and counts
// them.
func (o handlingObserver) begin(ctx context.Context, evs []Event) (context.Context, func(error)) {
	start := time.Now()
	ins := o.app.ins
	spans := make([]trace.Span, len(evs))
	first := ctx
	verb := "handle "
	if o.kind == KindProcessManager {
		verb = "process "
	}
	for i, ev := range evs {
		if !ins.tracing {
			break
		}
		parent := traceContext.Extract(ctx, propagation.MapCarrier(ev.Metadata))
		attrs := []attribute.KeyValue{
			AttrActorKind.String(o.kind), AttrHandlerName.String(o.name), AttrEventType.String(ev.Type),
			AttrEventID.String(ev.ID.String()), AttrStreamID.String(ev.StreamID), AttrStreamVersion.Int64(ev.StreamVersion),
			AttrCausationID.String(ev.CausationID.String()), AttrCorrelationID.String(ev.CorrelationID.String()),
		}
		if o.instance != "" {
			attrs = append(attrs, attribute.String("cohort.process.id", o.instance))
		}
		spanCtx, span := ins.tracer.Start(parent, verb+o.name+" "+ev.Type, trace.WithAttributes(attrs...))
		spans[i] = span
		if i == 0 {
			first = spanCtx
		}
	}
	return first, func(err error) {
		took := time.Since(start)
		outcome, errText := "ok", ""
		if err != nil {
			outcome, errText = "error", err.Error()
		}
		for i, ev := range evs {
			if spans[i] != nil {
				endSpan(spans[i], err)
			}
			o.app.journal.handling(HandlingRecord{Handler: o.name, Kind: o.kind, EventID: ev.ID, CausationID: ev.CausationID,
				CorrelationID: ev.CorrelationID, EventType: ev.Type, StreamID: ev.StreamID, Position: ev.Position,
				Start: start, Duration: took, Err: errText})
		}
		ins.handled.Add(context.Background(), int64(len(evs)),
			ins.options(attrKey{instrument: instHandled, name: o.name, kind: o.kind, outcome: outcome}))
		if err == nil && len(evs) > 0 {
			o.app.tracker.processed(o.name, evs[len(evs)-1].CreatedAt)
		}
	}
}

// decided is an error whose policy decision was already taken (by a
// process manager about one of its commands), with the failure decided.
type decided struct {
	d       Decision
	failure Failure
	err     error
}

func (e *decided) Error() string { return e.err.Error() }
func (e *decided) Unwrap() error { return e.err }

// decidedBy returns the failure and decision that err carries, if it is
// a *decided.
func decidedBy(err error) (Failure, Decision, bool) {
	var d *decided
	if errors.As(err, &d) {
		return d.failure, d.d, true
	}
	return Failure{}, Decision{}, false
}
