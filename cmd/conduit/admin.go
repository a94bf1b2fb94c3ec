package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/cohort-dev/cohort/actors/admin"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/projectors"
)

// adminHandler is the operations listener's handler at adminAddr: app's
// live page, with its projections and their rebuild buttons, and metrics,
// behind the Host check.
func adminHandler(adminAddr string, app *conduit.App, metrics http.Handler, log *slog.Logger) http.Handler {
	return checkAdminHost(adminAddr, admin.Handler(app.Runtime(), projectionAdmin{app}, metrics, log))
}

// projectionAdmin gives the live page Conduit's projections and starts
// their online rebuilds (a request that the process running the
// projection takes, as the cohort command's rebuild does).
type projectionAdmin struct{ app *conduit.App }

// Projections implements admin.Rebuilder.
func (p projectionAdmin) Projections(ctx context.Context) ([]admin.Projection, error) {
	ss, err := p.app.Projections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.Projection, 0, len(ss))
	for _, s := range ss {
		r := admin.Rebuild{State: admin.RebuildIdle}
		switch {
		case s.Building != 0:
			r = admin.Rebuild{State: admin.RebuildBuilding, Generation: s.Building, Position: s.BuildPosition,
				Head: s.BuildHead, Started: s.BuildStarted}
		case s.Requested:
			r.State = admin.RebuildRequested
		case s.BuildError != "":
			r = admin.Rebuild{State: admin.RebuildFailed, Err: s.BuildError}
		}
		out = append(out, admin.Projection{Name: s.Name, Generation: s.Generation, Version: s.Version,
			Position: s.Position, Head: s.Head, Rebuild: r})
	}
	return out, nil
}

// Rebuild implements admin.Rebuilder.
func (p projectionAdmin) Rebuild(ctx context.Context, name string) error {
	err := p.app.RequestRebuild(ctx, name)
	if errors.Is(err, projectors.ErrNotFound) {
		return fmt.Errorf("%w: %w", admin.ErrNoProjection, err)
	}
	return err
}

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
