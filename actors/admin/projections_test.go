package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/admin"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// fakeRebuilder serves two projections, "users" being rebuilt, and
// records the rebuilds asked of it.
type fakeRebuilder struct {
	mu      sync.Mutex
	rebuilt []string
}

func (f *fakeRebuilder) Projections(context.Context) ([]admin.Projection, error) {
	return []admin.Projection{
		{Name: "blog", Generation: 1, Position: 90, Head: 100, Rebuild: admin.Rebuild{State: admin.RebuildIdle}},
		{Name: "users", Generation: 2, Version: 3, Position: 100, Head: 100, Rebuild: admin.Rebuild{
			State: admin.RebuildBuilding, Generation: 3, Position: 50, Head: 100, Started: time.Now().Add(-10 * time.Second)}},
	}, nil
}

func (f *fakeRebuilder) Rebuild(_ context.Context, name string) error {
	if name != "users" && name != "blog" {
		return fmt.Errorf("rebuild %q: %w", name, admin.ErrNoProjection)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rebuilt = append(f.rebuilt, name)
	return nil
}

func (f *fakeRebuilder) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rebuilt)
}

// TestRebuildButton: the page lists the projections with their lag and
// rebuild progress; a POST of the button starts a rebuild, while a GET of
// its address, a POST that a browser sends from another origin and a
// POST for an unknown projection start none.
func TestRebuildButton(t *testing.T) {
	store := memory.New()
	defer store.Close()
	app, err := actors.New(actors.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	rebuilds := &fakeRebuilder{}
	srv := httptest.NewServer(admin.Handler(app, rebuilds, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/projections")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name      string `json:"name"`
		LagEvents int64  `json:"lag_events"`
		Rebuild   struct {
			State      string   `json:"state"`
			Generation int64    `json:"generation"`
			Percent    float64  `json:"percent"`
			ETASeconds *float64 `json:"eta_seconds"`
		} `json:"rebuild"`
	}
	err = json.NewDecoder(res.Body).Decode(&rows)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(rows) != 2 {
		t.Fatalf("GET /api/projections: %d %+v, %v", res.StatusCode, rows, err)
	}
	if rows[0].Name != "blog" || rows[0].LagEvents != 10 || rows[0].Rebuild.State != "idle" || rows[0].Rebuild.ETASeconds != nil {
		t.Errorf("blog: %+v", rows[0])
	}
	u := rows[1].Rebuild
	if u.State != "building" || u.Generation != 3 || u.Percent != 50 || u.ETASeconds == nil || *u.ETASeconds < 5 || *u.ETASeconds > 60 {
		t.Errorf("users: %+v (eta %v)", rows[1], u.ETASeconds)
	}

	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		want    int
		rebuilt []string
	}{
		{"GET has no side effect", http.MethodGet, "/api/projections/users/rebuild", nil, http.StatusMethodNotAllowed, nil},
		{"cross-site browser POST", http.MethodPost, "/api/projections/users/rebuild",
			map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, nil},
		{"POST from another origin", http.MethodPost, "/api/projections/users/rebuild",
			map[string]string{"Origin": "http://attacker.example"}, http.StatusForbidden, nil},
		{"unknown projection", http.MethodPost, "/api/projections/nope/rebuild", nil, http.StatusNotFound, nil},
		{"same-origin POST", http.MethodPost, "/api/projections/users/rebuild",
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL}, http.StatusAccepted, []string{"users"}},
		{"POST without browser headers (curl)", http.MethodPost, "/api/projections/blog/rebuild", nil,
			http.StatusAccepted, []string{"users", "blog"}},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.want || !slices.Equal(rebuilds.calls(), tt.rebuilt) {
			t.Errorf("%s: %d %q, rebuilt %v; want %d, rebuilt %v", tt.name, res.StatusCode, strings.TrimSpace(string(body)),
				rebuilds.calls(), tt.want, tt.rebuilt)
		}
	}
}
