package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/httpapi"
)

// probe sends a request to path, outside /api, with a token that no
// user has, and returns the status and the decoded body.
func (a *api) probe(method, path string) (int, map[string]any) {
	a.t.Helper()
	root := *a
	root.url = strings.TrimSuffix(a.url, "/api")
	r := root.do(method, path, "not-a-token", nil)
	return r.status, r.doc
}

// TestHealthAndReadiness: /healthz answers 200 while the server serves;
// /readyz answers 200 when every readiness check holds and 503 naming
// the failing ones otherwise (an error, or no answer within
// ReadyTimeout). Neither is authenticated nor rate limited; other methods
// on their paths reach the API.
func TestHealthAndReadiness(t *testing.T) {
	var draining, stuck atomic.Bool
	errDraining := errors.New("draining")
	a := newAPIWith(t, func(c *httpapi.Config) {
		c.Limits.RequestsPerSecond, c.Limits.RequestBurst = 0.001, 1
		c.ReadyTimeout = 100 * time.Millisecond
		c.Ready = []httpapi.Check{
			{Name: "serving", Probe: func(context.Context) error {
				if draining.Load() {
					return errDraining
				}
				return nil
			}},
			{Name: "store", Probe: func(ctx context.Context) error {
				if stuck.Load() { // no answer until the timeout
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			}},
		}
	})

	for range 3 { // beyond the rate limit's burst of one
		if status, doc := a.probe(http.MethodGet, "/healthz"); status != http.StatusOK || doc["status"] != "alive" {
			t.Fatalf("GET /healthz: %d %v, want 200 alive", status, doc)
		}
		if status, doc := a.probe(http.MethodGet, "/readyz"); status != http.StatusOK || doc["status"] != "ready" {
			t.Fatalf("GET /readyz: %d %v, want 200 ready", status, doc)
		}
	}
	if status, _ := a.probe(http.MethodHead, "/readyz"); status != http.StatusOK {
		t.Fatalf("HEAD /readyz: %d, want 200", status)
	}
	// The API's answer: it refuses the probe's token.
	if status, doc := a.probe(http.MethodPost, "/readyz"); status != http.StatusUnauthorized || doc["errors"] == nil {
		t.Fatalf("POST /readyz: %d %v, want the API's 401", status, doc)
	}

	tests := []struct {
		name            string
		draining, stuck bool
		wantStatus      int
		wantFailing     []string
	}{
		{name: "draining", draining: true, wantStatus: http.StatusServiceUnavailable, wantFailing: []string{"serving"}},
		{name: "store without an answer", stuck: true, wantStatus: http.StatusServiceUnavailable, wantFailing: []string{"store"}},
		{name: "both", draining: true, stuck: true, wantStatus: http.StatusServiceUnavailable, wantFailing: []string{"serving", "store"}},
		{name: "ready again", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draining.Store(tt.draining)
			stuck.Store(tt.stuck)
			status, doc := a.probe(http.MethodGet, "/readyz")
			if status != tt.wantStatus || !slices.Equal(failing(doc), tt.wantFailing) {
				t.Fatalf("GET /readyz: %d %v, want %d failing %v", status, doc, tt.wantStatus, tt.wantFailing)
			}
			if status, _ := a.probe(http.MethodGet, "/healthz"); status != http.StatusOK {
				t.Fatalf("GET /healthz: %d, want 200 whatever the readiness", status)
			}
		})
	}
}

// failing returns the names of the failing checks in a /readyz answer.
func failing(doc map[string]any) []string {
	var names []string
	list, _ := doc["failing"].([]any)
	for _, n := range list {
		s, _ := n.(string)
		names = append(names, s)
	}
	return names
}
