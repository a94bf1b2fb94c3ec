package httpapi_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/httpapi"
)

// TestOneTracePerRequest: a registration over HTTP makes one trace, from
// the request through the command, the aggregate and its append, to the
// projector, the author workflow, the command the workflow dispatches,
// and the projection of what that command caused.
func TestOneTracePerRequest(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app, err := conduit.New(ctx, conduit.Config{Store: conduittest.NewStore(t, db), DB: db, ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey, Password: conduittest.FastPasswords, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	tokens, err := httpapi.NewTokens(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Config{App: app, Tokens: tokens, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &api{t: t, url: srv.URL + "/api", tokens: tokens}
	a.register("traced")

	want := []string{
		"POST /api/users",
		"dispatch accounts.RegisterUser",
		"aggregate accounts.User accounts.RegisterUser",
		"eventstore.append",
		"handle users accounts.UserRegistered",
		"process blog.AuthorFromUser accounts.UserRegistered",
		"dispatch blog.CreateAuthor",
		"aggregate blog.Author blog.CreateAuthor",
		"handle blog blog.AuthorCreated",
	}
	var in []sdktrace.ReadOnlySpan
	deadline := time.Now().Add(10 * time.Second)
	for {
		var root sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "POST /api/users" {
				root = s
			}
		}
		in = in[:0]
		if root != nil {
			for _, s := range rec.Ended() {
				if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
					in = append(in, s)
				}
			}
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool {
			return slices.ContainsFunc(in, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == w })
		})
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range in {
				names = append(names, s.Name())
			}
			t.Fatalf("the request's trace lacks %q; it has %q", missing, names)
		}
		time.Sleep(20 * time.Millisecond)
	}

	span := func(name string) sdktrace.ReadOnlySpan {
		for _, s := range in {
			if s.Name() == name {
				return s
			}
		}
		t.Fatalf("no span %q", name)
		return nil
	}
	attr := func(s sdktrace.ReadOnlySpan, k attribute.Key) string {
		for _, kv := range s.Attributes() {
			if kv.Key == k {
				return kv.Value.String()
			}
		}
		return ""
	}
	for _, c := range []struct {
		span      string
		key       attribute.Key
		want      string
		wantExact bool
	}{
		{"dispatch accounts.RegisterUser", actors.AttrActorKind, "router", true},
		{"dispatch accounts.RegisterUser", actors.AttrCommandType, "accounts.RegisterUser", true},
		{"aggregate accounts.User accounts.RegisterUser", actors.AttrActorKind, "aggregate", true},
		{"aggregate accounts.User accounts.RegisterUser", actors.AttrStreamID, "accounts.User-", false},
		{"aggregate accounts.User accounts.RegisterUser", actors.AttrStreamVersion, "1", true},
		{"handle users accounts.UserRegistered", actors.AttrActorKind, "event_handler", true},
		{"handle users accounts.UserRegistered", actors.AttrHandlerName, "users", true},
		{"handle users accounts.UserRegistered", actors.AttrEventType, "accounts.UserRegistered", true},
		{"process blog.AuthorFromUser accounts.UserRegistered", actors.AttrActorKind, "process_manager", true},
		{"dispatch blog.CreateAuthor", actors.AttrCommandType, "blog.CreateAuthor", true},
	} {
		got := attr(span(c.span), c.key)
		if c.wantExact && got != c.want || !c.wantExact && !strings.HasPrefix(got, c.want) {
			t.Errorf("span %q: %s = %q, want %q", c.span, c.key, got, c.want)
		}
	}
	// The causal chain in attributes: one correlation id throughout, and
	// the workflow's command caused by the registration's event.
	corr := attr(span("dispatch accounts.RegisterUser"), actors.AttrCorrelationID)
	for _, s := range in {
		if c := attr(s, actors.AttrCorrelationID); c != "" && c != corr {
			t.Errorf("span %q: correlation id %s, want %s", s.Name(), c, corr)
		}
	}
	process, follow := span("process blog.AuthorFromUser accounts.UserRegistered"), span("dispatch blog.CreateAuthor")
	if follow.Parent().SpanID() != process.SpanContext().SpanID() {
		t.Error("the workflow's command is not a child of the workflow's span")
	}
	if attr(follow, actors.AttrCausationID) != attr(process, actors.AttrEventID) {
		t.Errorf("the workflow's command has causation %s, want the event %s", attr(follow, actors.AttrCausationID), attr(process, actors.AttrEventID))
	}
	if got := span("POST /api/users").Parent(); got.IsValid() {
		t.Error("the request's span has a parent")
	}
}
