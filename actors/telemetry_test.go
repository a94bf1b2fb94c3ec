package actors_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
)

// TestOneTracePerCommand: a command, its events, the handler and process
// manager handling them, the command the process manager dispatches and
// what that causes are all spans of one trace, with the runtime's
// attributes.
func TestOneTracePerCommand(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		var proj recorder
		app := newBank(t, store, withConfig(func(c *actors.Config) { c.TracerProvider, c.MeterProvider = tp, mp }))
		must(t, app.RegisterHandler(actors.HandlerConfig{Name: "projection", Handler: proj.handler(), Consistency: actors.Strong}))
		must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name: "welcome", New: func() actors.ProcessManager { return &welcome{} }, Interested: welcomeRoutes,
			Consistency: actors.Strong, DispatchConsistency: actors.Strong,
		}))
		actorstest.Start(t, app)

		// A dispatch without a span in its context starts its own trace.
		dispatch(t, app, OpenAccount{ID: "other"}, actors.WithConsistency(actors.Strong))

		// Dispatch with the request's context: everything joins its trace.
		ctx, root := tp.Tracer("test").Start(context.Background(), "request")
		_, err := app.Dispatch(ctx, OpenAccount{ID: "joined"}, actors.WithConsistency(actors.Strong))
		must(t, err)
		root.End()
		eventually(t, patience, "the process manager's deposit is projected", func() bool {
			for _, ev := range proj.all() {
				if d, ok := ev.Payload.(Deposited); ok && d.ID == "joined" {
					return true
				}
			}
			return false
		})
		tp.ForceFlush(context.Background())

		trace := root.SpanContext().TraceID()
		var in []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() == trace {
				in = append(in, s)
			}
		}
		names := make([]string, len(in))
		for i, s := range in {
			names[i] = s.Name()
		}
		want := []string{
			"dispatch actors_test.OpenAccount",
			"aggregate account actors_test.OpenAccount",
			"eventstore.append",
			"handle projection bank.AccountOpened",
			"process welcome bank.AccountOpened",
			"dispatch actors_test.Deposit",
			"aggregate account actors_test.Deposit",
			"handle projection bank.Deposited",
		}
		for _, w := range want {
			if !slices.ContainsFunc(names, func(n string) bool { return n == w }) {
				t.Errorf("trace lacks span %q; it has %q", w, names)
			}
		}
		byName := func(name string) sdktrace.ReadOnlySpan {
			for _, s := range in {
				if s.Name() == name {
					return s
				}
			}
			t.Fatalf("no span %q", name)
			return nil
		}
		attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
			m := map[attribute.Key]string{}
			for _, kv := range s.Attributes() {
				m[kv.Key] = kv.Value.String()
			}
			return m
		}
		checks := []struct {
			span string
			want map[attribute.Key]string
		}{
			{"dispatch actors_test.OpenAccount", map[attribute.Key]string{actors.AttrActorKind: "router", actors.AttrCommandType: "actors_test.OpenAccount"}},
			{"aggregate account actors_test.OpenAccount", map[attribute.Key]string{actors.AttrActorKind: "aggregate", actors.AttrStreamID: "account-joined", actors.AttrStreamVersion: "1"}},
			{"handle projection bank.AccountOpened", map[attribute.Key]string{actors.AttrActorKind: "event_handler", actors.AttrHandlerName: "projection", actors.AttrEventType: "bank.AccountOpened", actors.AttrStreamID: "account-joined"}},
			{"process welcome bank.AccountOpened", map[attribute.Key]string{actors.AttrActorKind: "process_manager", actors.AttrHandlerName: "welcome"}},
		}
		for _, c := range checks {
			got := attrs(byName(c.span))
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("span %q: %s = %q, want %q", c.span, k, got[k], v)
				}
			}
			if got[actors.AttrCorrelationID] == "" {
				t.Errorf("span %q has no correlation id", c.span)
			}
		}
		// The process manager's command is a child of its handling span.
		pm, deposit := byName("process welcome bank.AccountOpened"), byName("dispatch actors_test.Deposit")
		if deposit.Parent().SpanID() != pm.SpanContext().SpanID() {
			t.Error("the process manager's command is not a child of its handling span")
		}
		corr := attrs(byName("dispatch actors_test.OpenAccount"))[actors.AttrCorrelationID]
		for _, s := range in {
			if c := attrs(s)[actors.AttrCorrelationID]; c != "" && c != corr {
				t.Errorf("span %q has correlation id %s, want %s", s.Name(), c, corr)
			}
		}

		// Metrics.
		var rm metricdata.ResourceMetrics
		must(t, reader.Collect(context.Background(), &rm))
		seen := map[string]bool{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				seen[m.Name] = true
			}
		}
		for _, name := range []string{"cohort.commands.dispatched", "cohort.dispatch.duration", "cohort.actors.live",
			"cohort.actors.mailbox", "cohort.events.handled", "cohort.subscription.lag.events", "cohort.subscription.lag.seconds"} {
			if !seen[name] {
				t.Errorf("metric %s not reported", name)
			}
		}

		// Inspection and the causal chain.
		insp := app.Inspect(context.Background())
		if insp.Commands < 3 || len(insp.Slowest) == 0 {
			t.Errorf("inspection: %d commands, %d slowest", insp.Commands, len(insp.Slowest))
		}
		kinds := map[string]bool{}
		for _, a := range insp.Actors {
			kinds[a.Kind] = true
		}
		for _, k := range []string{"router", "aggregate", "event_handler", "process_manager"} {
			if !kinds[k] {
				t.Errorf("inspection lacks actors of kind %s: %+v", k, insp.Actors)
			}
		}
		if len(insp.Handlers) != 2 || insp.Handlers[0].Status != "running" {
			t.Errorf("inspection handlers: %+v", insp.Handlers)
		}
		chain, err := app.Chain(context.Background(), mustParseUUID(t, corr))
		must(t, err)
		var steps []string
		for _, c := range chain {
			steps = append(steps, c.Kind+" "+c.Name)
		}
		joined := strings.Join(steps, ", ")
		for _, w := range []string{"command actors_test.OpenAccount", "event bank.AccountOpened", "event_handler projection",
			"process_manager welcome", "command actors_test.Deposit", "event bank.Deposited"} {
			if !strings.Contains(joined, w) {
				t.Errorf("causal chain lacks %q: %s", w, joined)
			}
		}
	})
}

func mustParseUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
