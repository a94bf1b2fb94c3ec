package admin

import (
	"context"
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
)

//go:embed assets
var assets embed.FS

// Inspector is what the page shows: an actors.App satisfies it.
type Inspector interface {
	Inspect(ctx context.Context) actors.Inspection
	Chain(ctx context.Context, correlation uuid.UUID) ([]actors.ChainItem, error)
}

// Handler returns the operations endpoints of app; projections lists
// and rebuilds its projections (nil: none), metrics serves /metrics
// (nil: none). Errors are logged to log.
func Handler(app Inspector, projections Rebuilder, metrics http.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	for path, file := range map[string]string{"/{$}": "index.html", "/app.js": "app.js", "/style.css": "style.css"} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFileFS(w, r, assets, "assets/"+file)
		})
	}
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusOK, stateOf(app.Inspect(r.Context())))
	})
	mux.HandleFunc("GET /api/chain", func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.URL.Query().Get("correlation"))
		if err != nil {
			http.Error(w, "correlation: not a UUID", http.StatusBadRequest)
			return
		}
		items, err := app.Chain(r.Context(), id)
		if err != nil {
			log.Error("causal chain failed", "correlation", id, "err", err)
			http.Error(w, "the causal chain could not be read", http.StatusInternalServerError)
			return
		}
		writeJSON(w, log, http.StatusOK, chainOf(id, items))
	})
	if projections != nil {
		handleProjections(mux, projections, log)
	}
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("writing a response failed", "err", err)
	}
}

// The page's JSON documents.
type (
	state struct {
		Time     time.Time    `json:"time"`
		Commands int64        `json:"commands"`
		Actors   []actorRow   `json:"actors"`
		Handlers []handlerRow `json:"handlers"`
		Slowest  []commandRow `json:"slowest"`
	}
	actorRow struct {
		Kind         string `json:"kind"`
		Name         string `json:"name"`
		Live         int64  `json:"live"`
		Mailbox      int64  `json:"mailbox"`
		Passivations int64  `json:"passivations"`
		Restarts     int64  `json:"restarts"`
		Messages     int64  `json:"messages"`
	}
	handlerRow struct {
		Name       string  `json:"name"`
		Kind       string  `json:"kind"`
		Position   int64   `json:"position"`
		Head       int64   `json:"head"`
		LagEvents  int64   `json:"lag_events"`
		LagSeconds float64 `json:"lag_seconds"`
		Status     string  `json:"status"`
		Placement  string  `json:"placement,omitempty"`
	}
	commandRow struct {
		Command       string    `json:"command"`
		Aggregate     string    `json:"aggregate"`
		CorrelationID string    `json:"correlation_id"`
		DurationMS    float64   `json:"duration_ms"`
		At            time.Time `json:"at"`
		Error         string    `json:"error,omitempty"`
	}
	chain struct {
		CorrelationID string     `json:"correlation_id"`
		Items         []chainRow `json:"items"`
	}
	chainRow struct {
		Kind        string    `json:"kind"`
		Name        string    `json:"name"`
		Detail      string    `json:"detail"`
		ID          string    `json:"id"`
		CausationID string    `json:"causation_id"`
		Start       time.Time `json:"start"`
		DurationMS  float64   `json:"duration_ms"`
		Error       string    `json:"error,omitempty"`
	}
)

func stateOf(in actors.Inspection) state {
	s := state{Time: in.Time, Commands: in.Commands,
		Actors: []actorRow{}, Handlers: []handlerRow{}, Slowest: []commandRow{}}
	for _, a := range in.Actors {
		s.Actors = append(s.Actors, actorRow(a))
	}
	for _, h := range in.Handlers {
		s.Handlers = append(s.Handlers, handlerRow(h))
	}
	for _, c := range in.Slowest {
		s.Slowest = append(s.Slowest, commandRow{Command: c.Type, Aggregate: c.Aggregate, CorrelationID: c.CorrelationID.String(),
			DurationMS: ms(c.Duration), At: c.Start, Error: c.Err})
	}
	return s
}

func chainOf(id uuid.UUID, items []actors.ChainItem) chain {
	c := chain{CorrelationID: id.String(), Items: []chainRow{}}
	for _, it := range items {
		c.Items = append(c.Items, chainRow{Kind: it.Kind, Name: it.Name, Detail: it.Detail, ID: it.ID.String(),
			CausationID: it.CausationID.String(), Start: it.Start, DurationMS: ms(it.Duration), Error: it.Err})
	}
	return c
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
