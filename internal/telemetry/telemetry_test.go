package telemetry

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestSetupOffByDefault(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	tel, err := Setup(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close(context.Background())
	if tel.Tracing {
		t.Fatal("tracing on without OTEL_TRACES_EXPORTER")
	}
	_, span := tel.TracerProvider.Tracer("t").Start(t.Context(), "x")
	if span.SpanContext().IsValid() {
		t.Fatal("a no-op provider made a valid span")
	}
	counter, _ := tel.MeterProvider.Meter("t").Int64Counter("cohort_test_total")
	counter.Add(t.Context(), 3)
	rec := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{"cohort_test_total", "go_goroutines", `service_name="test"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestSetupConsoleAndRejectsUnknown(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	tel, err := Setup(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing {
		t.Fatal("console exporter did not turn tracing on")
	}
	tel.Close(context.Background())
	t.Setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
	if _, err := Setup(t.Context(), "test"); err == nil {
		t.Fatal("an unknown exporter was accepted")
	}
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("k", "v")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "trace_id="+span.SpanContext().TraceID().String()) || !strings.Contains(lines[0], "span_id=") {
		t.Errorf("record in a span lacks its ids: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("record without a span has a trace id: %s", lines[1])
	}
}
