package actors

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Span and metric attributes the runtime sets.
const (
	AttrActorKind     = attribute.Key("cohort.actor.kind")
	AttrCommandType   = attribute.Key("cohort.command.type")
	AttrCommandID     = attribute.Key("cohort.command.id")
	AttrEventType     = attribute.Key("cohort.event.type")
	AttrEventID       = attribute.Key("cohort.event.id")
	AttrStreamID      = attribute.Key("cohort.stream.id")
	AttrStreamVersion = attribute.Key("cohort.stream.version")
	AttrHandlerName   = attribute.Key("cohort.handler.name")
	AttrCausationID   = attribute.Key("cohort.causation.id")
	AttrCorrelationID = attribute.Key("cohort.correlation.id")
	AttrAggregateType = attribute.Key("cohort.aggregate.type")
	// AttrPlacement says where a placed handler runs, as this node sees
	// it (HandlerInfo.Placement).
	AttrPlacement = attribute.Key("cohort.placement")
)

// Actor kinds, the values of AttrActorKind.
const (
	KindRouter         = "router"
	KindAggregate      = "aggregate"
	KindEventHandler   = "event_handler"
	KindProcessManager = "process_manager"
)

// instrumentationName names the runtime's tracer and meter.
const instrumentationName = "github.com/cohort-dev/cohort/actors"

// traceContext is the W3C trace-context propagator the runtime uses for
// message headers and event metadata, independent of the global one.
var traceContext = propagation.TraceContext{}

// instruments are the runtime's tracer and metric instruments.
type instruments struct {
	tracer           trace.Tracer
	tracing          bool // spans are recorded: worth propagating
	dispatched       metric.Int64Counter
	dispatchDuration metric.Float64Histogram
	passivations     metric.Int64Counter
	restarts         metric.Int64Counter
	snapshots        metric.Int64Counter
	handled          metric.Int64Counter
	conflicts        metric.Int64Counter

	// Attribute sets of the per-command and per-batch measurements, by
	// what they describe: building a set allocates, and the command types
	// and handlers are few.
	attrMu sync.RWMutex
	attrs  map[attrKey]metric.MeasurementOption
}

// attrKey identifies a measurement's attributes.
type attrKey struct {
	instrument instrument
	name       string // command type, or handler name
	kind       string // handler kind
	outcome    string
}

// instrument is a measurement with cached attribute sets.
type instrument int8

const (
	instDispatched instrument = iota
	instDispatchDuration
	instHandled
)

// options returns the measurement option for key, made once.
func (in *instruments) options(key attrKey) metric.MeasurementOption {
	in.attrMu.RLock()
	o, ok := in.attrs[key]
	in.attrMu.RUnlock()
	if ok {
		return o
	}
	var kv []attribute.KeyValue
	switch key.instrument {
	case instDispatched:
		kv = []attribute.KeyValue{AttrCommandType.String(key.name), attribute.String("outcome", key.outcome)}
	case instDispatchDuration:
		kv = []attribute.KeyValue{AttrCommandType.String(key.name)}
	case instHandled:
		kv = []attribute.KeyValue{AttrHandlerName.String(key.name), AttrActorKind.String(key.kind), attribute.String("outcome", key.outcome)}
	}
	o = metric.WithAttributeSet(attribute.NewSet(kv...))
	in.attrMu.Lock()
	if in.attrs == nil {
		in.attrs = make(map[attrKey]metric.MeasurementOption)
	}
	in.attrs[key] = o
	in.attrMu.Unlock()
	return o
}

func newInstruments(tp trace.TracerProvider, mp metric.MeterProvider, a *App) (*instruments, error) {
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	in := &instruments{tracer: tp.Tracer(instrumentationName)}
	_, probe := in.tracer.Start(context.Background(), "probe")
	in.tracing = probe.SpanContext().IsValid()
	probe.End()

	m := mp.Meter(instrumentationName)
	var err error
	counter := func(name, desc string) metric.Int64Counter {
		c, e := m.Int64Counter(name, metric.WithDescription(desc))
		err = firstErr(err, e)
		return c
	}
	in.dispatched = counter("cohort.commands.dispatched", "Commands dispatched, by type and outcome.")
	in.passivations = counter("cohort.actors.passivations", "Actors passivated, by kind and name.")
	in.restarts = counter("cohort.actors.restarts", "Actors restarted after a panic, by kind and name.")
	in.snapshots = counter("cohort.snapshots.written", "Snapshots written, by source type.")
	in.handled = counter("cohort.events.handled", "Events handled by handlers and process managers, by name and outcome.")
	in.conflicts = counter("cohort.aggregate.version_conflicts",
		"Appends of an aggregate refused because another writer had appended to its stream (another process, or a second activation in a cluster), by aggregate type.")
	if err != nil {
		return nil, err
	}
	in.dispatchDuration, err = m.Float64Histogram("cohort.dispatch.duration", metric.WithUnit("s"),
		metric.WithDescription("Dispatch latency, by command type."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	if err != nil {
		return nil, err
	}
	live, e1 := m.Int64ObservableGauge("cohort.actors.live", metric.WithDescription("Actors in memory, by kind and name."))
	mailbox, e2 := m.Int64ObservableGauge("cohort.actors.mailbox", metric.WithDescription("Messages waiting in mailboxes, by kind and name."))
	lagEvents, e3 := m.Int64ObservableGauge("cohort.subscription.lag.events", metric.WithDescription("Events a handler has yet to process."))
	lagSeconds, e4 := m.Float64ObservableGauge("cohort.subscription.lag.seconds", metric.WithUnit("s"),
		metric.WithDescription("Age of the last event a handler processed while it lags."))
	placed, e5 := m.Int64ObservableGauge("cohort.subscription.placed",
		metric.WithDescription("Whether this node runs a placed handler's subscription (1) or not (0), by cohort.placement."))
	if err := firstErr(firstErr(e1, e2), firstErr(firstErr(e3, e4), e5)); err != nil {
		return nil, err
	}
	_, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		for _, s := range a.stats.all() {
			attrs := metric.WithAttributes(AttrActorKind.String(s.kind), attribute.String("name", s.name))
			o.ObserveInt64(live, s.live.Load(), attrs)
			o.ObserveInt64(mailbox, s.mailbox(), attrs)
		}
		for _, h := range a.handlerProgress(ctx) {
			attrs := metric.WithAttributes(AttrHandlerName.String(h.Name), AttrActorKind.String(h.Kind))
			o.ObserveInt64(lagEvents, h.LagEvents, attrs)
			o.ObserveFloat64(lagSeconds, h.LagSeconds, attrs)
			if h.Placement != "" {
				here := int64(0)
				if h.Placement != placedElsewhere.String() {
					here = 1
				}
				o.ObserveInt64(placed, here, metric.WithAttributes(AttrHandlerName.String(h.Name),
					AttrActorKind.String(h.Kind), AttrPlacement.String(h.Placement)))
			}
		}
		return nil
	}, live, mailbox, lagEvents, lagSeconds, placed)
	if err != nil {
		return nil, err
	}
	return in, nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// endSpan records err on span and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// readonlyHeader adapts a received message's header.
type readonlyHeader struct{ actor.ReadonlyMessageHeader }

func (h readonlyHeader) Get(key string) string {
	if h.ReadonlyMessageHeader == nil {
		return ""
	}
	return h.ReadonlyMessageHeader.Get(key)
}
func (h readonlyHeader) Set(string, string) {}
func (h readonlyHeader) Keys() []string {
	if h.ReadonlyMessageHeader == nil {
		return nil
	}
	return h.ReadonlyMessageHeader.Keys()
}

// actorStats counts a group of actors: one aggregate type, one handler,
// one process manager. Its mailbox middleware counts messages posted and
// received, whose difference is the messages waiting.
type actorStats struct {
	kind, name   string
	live         atomic.Int64
	posted       atomic.Int64
	received     atomic.Int64
	passivations atomic.Int64
	restarts     atomic.Int64
}

func (s *actorStats) MailboxStarted()     {}
func (s *actorStats) MessagePosted(any)   { s.posted.Add(1) }
func (s *actorStats) MessageReceived(any) { s.received.Add(1) }
func (s *actorStats) MailboxEmpty()       {}
func (s *actorStats) mailbox() int64      { return max(0, s.posted.Load()-s.received.Load()) }
func (s *actorStats) mailboxProps() actor.PropsOption {
	return actor.WithMailbox(actor.Unbounded(s))
}

// statsRegistry holds the groups, in registration order.
type statsRegistry struct {
	mu     sync.Mutex
	groups []*actorStats
}

func (r *statsRegistry) add(kind, name string) *actorStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &actorStats{kind: kind, name: name}
	r.groups = append(r.groups, s)
	return s
}

func (r *statsRegistry) all() []*actorStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*actorStats(nil), r.groups...)
}

// countConflict records an append of an aggregate of type typ refused
// because another writer had appended to its stream.
func (a *App) countConflict(typ string) {
	a.conflicts.Add(1)
	a.ins.conflicts.Add(context.Background(), 1, metric.WithAttributes(AttrAggregateType.String(typ)))
}
