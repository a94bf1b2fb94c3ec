package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
)

// TestAdminAddrMustBeLoopback: ParseConfig refuses an operations listener
// that is reachable from other machines unless -admin-public confirms it.
func TestAdminAddrMustBeLoopback(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{args: nil},
		{args: []string{"-admin-addr", "127.0.0.1:7070"}},
		{args: []string{"-admin-addr", "[::1]:7070"}},
		{args: []string{"-admin-addr", "localhost:7070"}},
		{args: []string{"-admin-addr", "off"}},
		{args: []string{"-admin-addr", ":6060"}, wantErr: true},
		{args: []string{"-admin-addr", "0.0.0.0:6060"}, wantErr: true},
		{args: []string{"-admin-addr", "10.1.2.3:6060"}, wantErr: true},
		{args: []string{"-admin-addr", "ops.example.com:6060"}, wantErr: true},
		{args: []string{"-admin-addr", ":6060", "-admin-public"}},
		{args: []string{"-admin-addr", "ops.example.com:6060", "-admin-public"}},
		{args: []string{"-admin-addr", "6060"}, wantErr: true}, // no port
	}
	for _, tt := range tests {
		_, err := ParseConfig(tt.args, func(string) string { return "" })
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseConfig(%q) = %v, want error: %v", tt.args, err, tt.wantErr)
		}
	}
}

// TestAdminHostCheck: the operations listener answers only requests whose
// Host is a loopback name or address, an address, or the configured host:
// a page of another site whose name was rebound to 127.0.0.1 (DNS
// rebinding) is refused.
func TestAdminHostCheck(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		adminAddr string
		host      string
		want      int
	}{
		{"127.0.0.1:6060", "127.0.0.1:6060", http.StatusOK},
		{"127.0.0.1:6060", "localhost:6060", http.StatusOK},
		{"127.0.0.1:6060", "LOCALHOST", http.StatusOK},
		{"127.0.0.1:6060", "[::1]:6060", http.StatusOK},
		{"127.0.0.1:6060", "attacker.example:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost.attacker.example", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "", http.StatusMisdirectedRequest},
		{"ops.example.com:6060", "ops.example.com:6060", http.StatusOK},
		{"ops.example.com:6060", "attacker.example:6060", http.StatusMisdirectedRequest},
		{":6060", "10.1.2.3:6060", http.StatusOK},
	}
	for _, tt := range tests {
		h := checkAdminHost(tt.adminAddr, ok)
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("listener %s, Host %q: status %d, want %d", tt.adminAddr, tt.host, w.Code, tt.want)
		}
	}
}

// TestRebuildButtonRebuildsOnline: on the operations listener, the live
// page's rebuild button (a POST) starts an online rebuild of the users
// projection that completes, its progress shown meanwhile; a GET of the
// button's address and a POST naming another host start none.
func TestRebuildButtonRebuildsOnline(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	app := conduittest.Start(t, db, nil)
	if _, err := app.RegisterUser(ctx, conduit.Registration{Username: "jake", Email: "jake@example.com", Password: "password"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(adminHandler("127.0.0.1:6060", app, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	users := func() projectionJSON {
		t.Helper()
		res, err := http.Get(srv.URL + "/api/projections")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var ps []projectionJSON
		if err := json.NewDecoder(res.Body).Decode(&ps); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/projections: %d, %v", res.StatusCode, err)
		}
		for _, p := range ps {
			if p.Name == "users" {
				return p
			}
		}
		t.Fatalf("no users projection in %+v", ps)
		return projectionJSON{}
	}
	send := func(method, host, name string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/api/projections/"+name+"/rebuild", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	before := users()
	if before.Rebuild.State != "idle" || before.Generation == 0 {
		t.Fatalf("users before: %+v", before)
	}
	if code := send(http.MethodGet, "", "users"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET of the button: %d, want 405", code)
	}
	if code := send(http.MethodPost, "attacker.example:6060", "users"); code != http.StatusMisdirectedRequest {
		t.Errorf("POST naming another host: %d, want 421", code)
	}
	if p := users(); p.Rebuild.State != "idle" || p.Generation != before.Generation {
		t.Fatalf("users after a GET and a misdirected POST: %+v", p)
	}

	if code := send(http.MethodPost, "", "nope"); code != http.StatusNotFound {
		t.Errorf("POST for no projection: %d, want 404", code)
	}
	if code := send(http.MethodPost, "", "users"); code != http.StatusAccepted {
		t.Fatalf("POST of the button: %d, want 202", code)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for {
		p := users()
		seen[p.Rebuild.State] = true
		if p.Generation == before.Generation+1 && p.Rebuild.State == "idle" {
			break
		}
		if p.Rebuild.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("users after the POST: %+v (states seen: %v)", p, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("states seen while rebuilding: %v", seen)
	if prof, err := app.Profile(ctx, "", "jake"); err != nil || prof.Username != "jake" {
		t.Fatalf("the rebuilt generation lacks jake: %+v, %v", prof, err)
	}
}

// projectionJSON is a row of the live page's /api/projections.
type projectionJSON struct {
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
	Rebuild    struct {
		State string `json:"state"`
	} `json:"rebuild"`
}
