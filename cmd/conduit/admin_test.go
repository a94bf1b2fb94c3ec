package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
