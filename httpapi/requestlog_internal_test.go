package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLogOnlyWhenTaken: each request is logged when the logger
// takes records of its level; when it does not (the default logger, or a
// level above Info), the request passes with nothing wrapped or formatted.
func TestRequestLogOnlyWhenTaken(t *testing.T) {
	var out bytes.Buffer
	tests := []struct {
		name    string
		log     *slog.Logger
		wrapped bool
	}{
		{"info", slog.New(slog.NewTextHandler(&out, nil)), true},
		{"warn", slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})), false},
		{"default", discardLogger, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			s := &server{log: tt.log}
			rec := httptest.NewRecorder()
			var got http.ResponseWriter
			s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = w
				w.WriteHeader(http.StatusTeapot)
			})).ServeHTTP(rec, httptest.NewRequest("GET", "/api/tags", nil))
			if wrapped := got != http.ResponseWriter(rec); wrapped != tt.wrapped {
				t.Errorf("response writer wrapped: %v, want %v", wrapped, tt.wrapped)
			}
			if logged := strings.Contains(out.String(), "status=418"); logged != tt.wrapped {
				t.Errorf("logged: %v, want %v (%q)", logged, tt.wrapped, out.String())
			}
		})
	}
}
