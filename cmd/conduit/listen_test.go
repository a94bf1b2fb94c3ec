package main

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/cohort-dev/cohort/conduit/password"
)

// TestAddrTakenFailsBeforeTheDatabase: a node started on an address
// still in use (its predecessor still draining, in a restart) fails on
// the address before it connects to the database or joins the cluster:
// the database here does not answer, so an error about it would mean
// Run had gone further than binding.
func TestAddrTakenFailsBeforeTheDatabase(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	m := NewMain(Config{Addr: taken.Addr().String(), DataDir: t.TempDir(), ClusterName: "demo", ClusterAddr: "127.0.0.1:0",
		DatabaseURL: "postgres://127.0.0.1:1/none?connect_timeout=1", Password: password.DefaultParams}, io.Discard)
	err = m.Run(context.Background())
	if cerr := m.Close(context.Background()); cerr != nil {
		t.Errorf("close: %v", cerr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Run = %v, want EADDRINUSE", err)
	}
	if m.pool != nil || m.members != nil {
		t.Errorf("Run connected to the database (pool %v, members %v) before failing on the address", m.pool != nil, m.members != nil)
	}
}

// TestFailedRunReleasesAddr: when Run fails after binding the API's
// address (here, the database does not answer), Close releases the
// address, so that the node can be started again on it.
func TestFailedRunReleasesAddr(t *testing.T) {
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		DatabaseURL: "postgres://127.0.0.1:1/none?connect_timeout=1", Password: password.DefaultParams}, io.Discard)
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded without a database")
	}
	if m.listener == nil {
		t.Fatal("Run failed before binding the API's address: nothing to release")
	}
	addr := m.listener.Addr().String()
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after Close, %s is still taken: %v", addr, err)
	}
	ln.Close()
}
