package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/admin"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

type (
	Ping   struct{ ID string }
	Pinged struct{ ID string }
)

type pinger struct{ N int }

func (p *pinger) Execute(cmd any) ([]any, error) { return []any{Pinged{ID: cmd.(Ping).ID}}, nil }
func (p *pinger) Apply(any)                      { p.N++ }

func TestHandler(t *testing.T) {
	store := memory.New()
	defer store.Close()
	app, err := actors.New(actors.Config{Store: store, Placement: actors.NewRendezvousPlacement("n1", "n1")})
	if err != nil {
		t.Fatal(err)
	}
	actors.MustRegisterEvent[Pinged](app.Registry(), "test.Pinged")
	if err := app.RegisterAggregate(actors.AggregateType{Name: "pinger", New: func() actors.Aggregate { return &pinger{} }}); err != nil {
		t.Fatal(err)
	}
	if err := actors.Route(app, "pinger", func(p Ping) string { return p.ID }); err != nil {
		t.Fatal(err)
	}
	if err := app.RegisterHandler(actors.HandlerConfig{Name: "counter", Consistency: actors.Strong,
		Handler: actors.HandlerFunc(func(context.Context, actors.Event) error { return nil })}); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	if _, err := app.Dispatch(t.Context(), Ping{ID: "p1"}, actors.WithConsistency(actors.Strong)); err != nil {
		t.Fatal(err)
	}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "cohort_up 1\n") })
	srv := httptest.NewServer(admin.Handler(app, nil, metrics, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/", 200, "live actors"},
		{"/app.js", 200, "api/state"},
		{"/style.css", 200, "font"},
		{"/metrics", 200, "cohort_up 1"},
		{"/debug/pprof/", 200, "goroutine"},
		{"/api/chain?correlation=nope", 400, "UUID"},
		{"/api/projections", 404, ""}, // no Rebuilder
		{"/nope", 404, ""},
	} {
		code, body := get(tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d %.80q, want %d containing %q", tt.path, code, body, tt.code, tt.want)
		}
	}

	_, body := get("/api/state")
	var state struct {
		Commands int64 `json:"commands"`
		Actors   []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
			Live int64  `json:"live"`
		} `json:"actors"`
		Handlers []struct {
			Name      string `json:"name"`
			Position  int64  `json:"position"`
			Status    string `json:"status"`
			Placement string `json:"placement"`
		} `json:"handlers"`
		Slowest []struct {
			Command       string `json:"command"`
			CorrelationID string `json:"correlation_id"`
		} `json:"slowest"`
	}
	if err := json.Unmarshal([]byte(body), &state); err != nil {
		t.Fatalf("state: %v: %s", err, body)
	}
	if state.Commands != 1 || len(state.Slowest) != 1 || state.Slowest[0].Command != "admin_test.Ping" {
		t.Errorf("state commands: %+v", state)
	}
	if len(state.Handlers) != 1 || state.Handlers[0].Name != "counter" || state.Handlers[0].Position == 0 || state.Handlers[0].Status != "running" ||
		state.Handlers[0].Placement != "owned" {
		t.Errorf("state handlers: %+v", state.Handlers)
	}
	found := false
	for _, a := range state.Actors {
		found = found || (a.Kind == "aggregate" && a.Name == "pinger" && a.Live == 1)
	}
	if !found {
		t.Errorf("state actors lack the live pinger: %+v", state.Actors)
	}

	code, body := get("/api/chain?correlation=" + state.Slowest[0].CorrelationID)
	if code != 200 || !strings.Contains(body, `"kind":"command"`) || !strings.Contains(body, `"name":"test.Pinged"`) ||
		!strings.Contains(body, `"kind":"event_handler"`) {
		t.Errorf("chain: %d %s", code, body)
	}
}
