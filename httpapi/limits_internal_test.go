package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/ratelimit"
)

func TestClientAddress(t *testing.T) {
	l := &limits{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"an untrusted peer's header is ignored", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"through a trusted proxy", "10.0.0.2:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the nearest untrusted hop, not what the client claims", "10.0.0.2:5000", []string{"1.2.3.4, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"several header lines", "10.0.0.2:5000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"a malformed hop stops the walk", "10.0.0.2:5000", []string{"198.51.100.1, junk, 10.0.0.3"}, "10.0.0.3"},
		{"a trusted proxy without a header", "10.0.0.2:5000", nil, "10.0.0.2"},
		{"IPv6 counts by its /64", "[2001:db8:1:2:3:4:5:6]:5000", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 is IPv4", "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
		{"through a trusted IPv6 proxy", "[::1]:5000", []string{"203.0.113.7"}, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/tags", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := l.client(r); got != tt.want {
				t.Fatalf("client = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLimitStatuses: a client over a limit gets 429, a full hashing queue
// 503, both with Retry-After in whole seconds and RealWorld's error body.
func TestLimitStatuses(t *testing.T) {
	s := &server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		err        error
		status     int
		retryAfter string
	}{
		{fmt.Errorf("login: %w", &ratelimit.LimitedError{RetryAfter: 2500 * time.Millisecond}), http.StatusTooManyRequests, "3"},
		{&ratelimit.LimitedError{RetryAfter: time.Millisecond}, http.StatusTooManyRequests, "1"},
		{fmt.Errorf("verify: %w", conduit.ErrOverloaded), http.StatusServiceUnavailable, "1"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		s.writeError(w, httptest.NewRequest(http.MethodPost, "/api/users/login", nil), tt.err)
		if w.Code != tt.status || w.Header().Get("Retry-After") != tt.retryAfter {
			t.Errorf("%v: status %d, Retry-After %q; want %d, %q", tt.err, w.Code, w.Header().Get("Retry-After"), tt.status, tt.retryAfter)
		}
		if body := w.Body.String(); !strings.HasPrefix(body, `{"errors":{"body":[`) {
			t.Errorf("%v: body %q", tt.err, body)
		}
	}
}
