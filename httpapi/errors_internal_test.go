package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cohort-dev/cohort/conduit"
)

// TestConflictStatus: conduit.ErrConflict, however wrapped, is a 409 with
// RealWorld's error body and no Retry-After (trying again at once is
// fine).
func TestConflictStatus(t *testing.T) {
	s := &server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := fmt.Errorf("favorite: %w", fmt.Errorf("%w: %w", conduit.ErrConflict, fmt.Errorf("append refused")))
	w := httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest(http.MethodPost, "/api/articles/a/favorite", nil), err)
	if w.Code != http.StatusConflict || w.Header().Get("Retry-After") != "" {
		t.Errorf("status %d, Retry-After %q; want 409 without Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	const want = `{"errors":{"body":["conflict: the resource was changed concurrently, try again"]}}` + "\n"
	if body := w.Body.String(); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}
