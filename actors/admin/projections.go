package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Rebuilder lists an application's projections and starts their online
// rebuilds: the page shows each with its generation, position, lag and
// rebuild progress, and a button that rebuilds it. The application
// provides it (cmd/conduit adapts conduit.App), so that this package
// knows no projection of its own.
type Rebuilder interface {
	// Projections returns the projections in the order to show them.
	Projections(ctx context.Context) ([]Projection, error)
	// Rebuild starts an online rebuild of the named projection and
	// returns without waiting for it; Projections shows its progress. It
	// fails with an error wrapping ErrNoProjection for an unknown name.
	Rebuild(ctx context.Context, name string) error
}

// ErrNoProjection is Rebuilder.Rebuild's error for a name that is no
// projection.
var ErrNoProjection = errors.New("admin: no such projection")

// Projection is a projection as the page shows it.
type Projection struct {
	Name       string
	Generation int64 // the generation serving
	Version    int64 // the declared version it was built with
	Position   int64 // the serving projector's position in $all
	Head       int64 // the last position in $all
	Rebuild    Rebuild
}

// RebuildState names where a projection's online rebuild is.
type RebuildState string

// A projection's rebuild states.
const (
	RebuildIdle      RebuildState = "idle"      // none requested or under way
	RebuildRequested RebuildState = "requested" // requested, not yet taken
	RebuildBuilding  RebuildState = "building"  // a new generation is being filled
	RebuildFailed    RebuildState = "failed"    // the last one stopped before its switch
)

// Rebuild is a projection's online rebuild.
type Rebuild struct {
	State RebuildState
	// Generation is the generation being built, Position how far in $all
	// it is, Head the position it catches up with, and Started when it
	// started (RebuildBuilding).
	Generation int64
	Position   int64
	Head       int64
	Started    time.Time
	// Err is why the last rebuild stopped (RebuildFailed).
	Err string
}

// The page's JSON documents of projections.
type (
	projectionRow struct {
		Name       string     `json:"name"`
		Generation int64      `json:"generation"`
		Version    int64      `json:"version"`
		Position   int64      `json:"position"`
		Head       int64      `json:"head"`
		LagEvents  int64      `json:"lag_events"`
		Rebuild    rebuildRow `json:"rebuild"`
	}
	rebuildRow struct {
		State      RebuildState `json:"state"`
		Generation int64        `json:"generation,omitempty"`
		Position   int64        `json:"position,omitempty"`
		Head       int64        `json:"head,omitempty"`
		Percent    float64      `json:"percent,omitempty"`
		// ETASeconds estimates the time left at the rate so far; absent
		// while there is no rate yet.
		ETASeconds *float64 `json:"eta_seconds,omitempty"`
		Error      string   `json:"error,omitempty"`
	}
)

// handleProjections serves the projections' endpoints of the page on mux.
// The rebuild is a POST only, refused when a browser sends it from
// another origin (a page of another site cannot press the button).
func handleProjections(mux *http.ServeMux, r Rebuilder, log *slog.Logger) {
	mux.HandleFunc("GET /api/projections", func(w http.ResponseWriter, req *http.Request) {
		ps, err := r.Projections(req.Context())
		if err != nil {
			log.Error("listing the projections failed", "err", err)
			http.Error(w, "the projections could not be read", http.StatusInternalServerError)
			return
		}
		now := time.Now()
		rows := make([]projectionRow, 0, len(ps))
		for _, p := range ps {
			rows = append(rows, projectionRowOf(p, now))
		}
		writeJSON(w, log, http.StatusOK, rows)
	})
	rebuild := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		err := r.Rebuild(req.Context(), name)
		switch {
		case errors.Is(err, ErrNoProjection):
			http.Error(w, "no projection "+name, http.StatusNotFound)
			return
		case err != nil:
			log.Error("requesting an online rebuild failed", "projection", name, "err", err)
			http.Error(w, "the rebuild could not be started", http.StatusInternalServerError)
			return
		}
		log.Info("online rebuild requested from the live page", "projection", name)
		writeJSON(w, log, http.StatusAccepted, map[string]string{"projection": name, "rebuild": string(RebuildRequested)})
	})
	mux.Handle("POST /api/projections/{name}/rebuild", http.NewCrossOriginProtection().Handler(rebuild))
}

func projectionRowOf(p Projection, now time.Time) projectionRow {
	row := projectionRow{Name: p.Name, Generation: p.Generation, Version: p.Version, Position: p.Position,
		Head: p.Head, LagEvents: max(p.Head-p.Position, 0), Rebuild: rebuildRow{State: p.Rebuild.State, Error: p.Rebuild.Err}}
	b := p.Rebuild
	if b.State != RebuildBuilding {
		return row
	}
	row.Rebuild.Generation, row.Rebuild.Position, row.Rebuild.Head = b.Generation, b.Position, max(b.Head, b.Position)
	if row.Rebuild.Head > 0 {
		row.Rebuild.Percent = 100 * float64(b.Position) / float64(row.Rebuild.Head)
	}
	if elapsed := now.Sub(b.Started).Seconds(); b.Position > 0 && elapsed > 0 && !b.Started.IsZero() {
		eta := float64(row.Rebuild.Head-b.Position) / (float64(b.Position) / elapsed)
		row.Rebuild.ETASeconds = &eta
	}
	return row
}
