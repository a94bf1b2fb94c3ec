package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// checkAdminAddr returns an error unless addr, the operations listener's
// address, is a loopback address (or "localhost") or public confirms that
// it may be reachable from other machines.
func checkAdminAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-admin-addr %q: %w", addr, err)
	}
	if public || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("-admin-addr %q is reachable from other machines, and the operations listener shows the live actors, metrics and the Go profiler without authentication: listen on loopback (127.0.0.1:6060), or add -admin-public to confirm", addr)
}

// isLoopbackHost reports whether host is "localhost" or a loopback
// address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAdminHost guards the operations listener at adminAddr against DNS
// rebinding: a web page of another site whose name resolves to this
// machine can make a browser send it requests, but with its own name in
// the Host header. Only requests naming localhost, an IP address or the
// host of adminAddr are served; others get 421 Misdirected Request.
func checkAdminHost(adminAddr string, next http.Handler) http.Handler {
	configured, _, _ := net.SplitHostPort(adminAddr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		switch {
		case host == "":
		case strings.EqualFold(host, "localhost"), net.ParseIP(host) != nil:
			next.ServeHTTP(w, r)
			return
		case configured != "" && strings.EqualFold(host, configured):
			next.ServeHTTP(w, r)
			return
		}
		http.Error(w, "misdirected request: this listener answers to localhost, an IP address or the host of -admin-addr", http.StatusMisdirectedRequest)
	})
}
