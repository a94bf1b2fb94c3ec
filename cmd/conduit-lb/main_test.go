package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		args     []string
		backends []string
		addr     string
		wantErr  bool
	}{
		{args: []string{"-backend", "http://127.0.0.1:8081"}, backends: []string{"http://127.0.0.1:8081"}, addr: ":8080"},
		{args: []string{"-addr", "127.0.0.1:9000", "-backend", "http://a:1,http://b:2", "-backend", "http://c:3"},
			backends: []string{"http://a:1", "http://b:2", "http://c:3"}, addr: "127.0.0.1:9000"},
		{args: nil, wantErr: true},
		{args: []string{"-backend", "http://a:1/api"}, wantErr: true},
		{args: []string{"-backend", "http://a:1", "-check-interval", "0s"}, wantErr: true},
		{args: []string{"-backend", "http://a:1", "stray"}, wantErr: true},
	}
	for _, tt := range tests {
		cfg, err := ParseConfig(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseConfig(%q) = %v", tt.args, err)
			continue
		}
		if err != nil {
			continue
		}
		var got []string
		for _, u := range cfg.Balancer.Backends {
			got = append(got, u.String())
		}
		if strings.Join(got, " ") != strings.Join(tt.backends, " ") || cfg.Addr != tt.addr {
			t.Errorf("ParseConfig(%q): backends %v on %q, want %v on %q", tt.args, got, cfg.Addr, tt.backends, tt.addr)
		}
	}
}

// TestRun: the command proxies to its backends until its context is
// done, then stops, logging its counts.
func TestRun(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.URL.Path)
	}))
	defer backend.Close()
	cfg, err := ParseConfig([]string{"-backend", backend.URL, "-check-interval", "50ms"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logBuf, nil))) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "hello from /api/tags" {
		t.Fatalf("GET through the balancer: %d %q", res.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run still running a minute after its context was cancelled")
	}
	if !strings.Contains(logBuf.String(), "msg=stopped requests=1 ") {
		t.Fatalf("log lacks the counts:\n%s", logBuf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
