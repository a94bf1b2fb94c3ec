package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/httpapi"
)

// serve starts the API on a fresh database with cfg (App and Tokens
// filled in) and returns its base URL.
func serve(t *testing.T, cfg httpapi.Config) *api {
	t.Helper()
	cfg.App = conduittest.Start(t, conduittest.NewDatabase(t), nil)
	tokens, err := httpapi.NewTokens(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tokens = tokens
	h, err := httpapi.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{t: t, url: srv.URL + "/api", tokens: tokens}
}

// send sends a request with headers and returns the response, its body
// read and closed.
func (a *api) send(method, path string, header http.Header) *http.Response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestNosniff: every response, success or error, tells browsers not to
// guess its content type.
func TestNosniff(t *testing.T) {
	a := serve(t, httpapi.Config{})
	for _, c := range []struct {
		method, path string
		header       http.Header
	}{
		{"GET", "/tags", nil},
		{"GET", "/articles/no-such-article", nil},
		{"GET", "/no-such-endpoint", nil},
		{"PATCH", "/tags", nil},
		{"GET", "/user", nil},
		{"GET", "/user", http.Header{"Authorization": {"Token nonsense"}}},
		{"OPTIONS", "/tags", http.Header{"Origin": {"https://x.example"}, "Access-Control-Request-Method": {"GET"}}},
	} {
		res := a.send(c.method, c.path, c.header)
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, want nosniff", c.method, c.path, res.StatusCode, got)
		}
	}
}

// TestRequestID: a well-formed X-Request-Id from the client is kept (in
// the log and echoed in the response); anything else (too long, odd
// characters that would forge log lines) is replaced by a generated id.
func TestRequestID(t *testing.T) {
	var log syncBuffer
	a := serve(t, httpapi.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	generated := regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,64}$`)
	for _, c := range []struct {
		sent string
		keep bool
	}{
		{"abc-123", true},
		{"0f8e2c1a-5b7d-4c3e-9a1f-2b3c4d5e6f70", true},
		{strings.Repeat("a", 65), false},
		{"evil\" status=200", false},
		{"line\u2028break", false},
		{"<script>", false},
	} {
		res := a.send("GET", "/tags", http.Header{"X-Request-Id": {c.sent}})
		got := res.Header.Get("X-Request-Id")
		switch {
		case c.keep && got != c.sent:
			t.Errorf("sent %q: request id %q, want it kept", c.sent, got)
		case !c.keep && (got == c.sent || strings.Contains(got, c.sent)):
			t.Errorf("sent %q: request id %q, want a generated one", c.sent, got)
		case !generated.MatchString(got):
			t.Errorf("sent %q: request id %q is not well-formed", c.sent, got)
		}
		if !c.keep && strings.Contains(log.String(), c.sent) {
			t.Errorf("the log carries the rejected request id %q", c.sent)
		}
	}
}

// TestCommentsPaged: an article's comments come newest first in pages
// (limit and offset, as for articles), in RealWorld's shape.
func TestCommentsPaged(t *testing.T) {
	a := newAPI(t)
	u := a.register("commenter")
	slug := a.publish(u, "Talked about")
	for _, body := range []string{"one", "two", "three"} {
		a.must(http.StatusOK, "POST", "/articles/"+slug+"/comments", u.token, map[string]any{"comment": map[string]any{"body": body}})
	}
	bodies := func(query string) []string {
		r := a.must(http.StatusOK, "GET", "/articles/"+slug+"/comments"+query, "", nil)
		var out []string
		for _, c := range field[[]any](t, r.doc, "comments") {
			out = append(out, field[string](t, c, "body"))
		}
		return out
	}
	for query, want := range map[string]string{
		"":                  "three two one",
		"?limit=2":          "three two",
		"?limit=2&offset=2": "one",
		"?offset=5":         "",
	} {
		if got := strings.Join(bodies(query), " "); got != want {
			t.Errorf("comments%s: %q, want %q", query, got, want)
		}
	}
	a.must(http.StatusUnprocessableEntity, "GET", "/articles/"+slug+"/comments?limit=0", "", nil)
}

// TestIncomingTraceContext: by default the API is a public endpoint: an
// incoming traceparent is only linked, so a client can neither join a
// trace nor decide sampling (here it asks for none); with
// TrustTraceContext the request continues the client's trace.
func TestIncomingTraceContext(t *testing.T) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" // not sampled
	incoming := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier{"Traceparent": {traceparent}}))
	for _, trust := range []bool{false, true} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		a := serve(t, httpapi.Config{TracerProvider: tp, TrustTraceContext: trust})
		a.send("GET", "/tags", http.Header{"Traceparent": {traceparent}})
		var span sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "GET /api/tags" {
				span = s
			}
		}
		switch {
		case !trust && span == nil:
			t.Error("public endpoint: the client's unsampled traceparent suppressed the request's span")
		case !trust && span.SpanContext().TraceID() == incoming.TraceID():
			t.Error("public endpoint: the request joined the client's trace")
		case !trust && (len(span.Links()) != 1 || span.Links()[0].SpanContext.TraceID() != incoming.TraceID()):
			t.Errorf("public endpoint: links %v, want one to the client's span", span.Links())
		case trust && span != nil:
			t.Errorf("trusted trace context: the client asked for no sampling, yet trace %s was recorded", span.SpanContext().TraceID())
		}
	}
}
