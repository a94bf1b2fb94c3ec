package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/internal/tlstest"
)

// TestClusterTLSFlags: -cluster-tls-cert, -cluster-tls-key and
// -cluster-tls-ca go together and with -cluster; given, they load a
// mutual TLS configuration that the runtime accepts and that lets two
// members holding certificates of the CA shake hands; a wrong file is an
// error naming its flag.
func TestClusterTLSFlags(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key, caFile := ca.WriteFiles(t, t.TempDir(), "127.0.0.1")
	env := func(string) string { return "" }
	for _, args := range [][]string{
		{"-cluster", "c", "-cluster-tls-cert", cert},
		{"-cluster", "c", "-cluster-tls-cert", cert, "-cluster-tls-key", key},
		{"-cluster", "c", "-cluster-tls-ca", caFile},
		{"-cluster-tls-cert", cert, "-cluster-tls-key", key, "-cluster-tls-ca", caFile},
	} {
		if _, err := ParseConfig(args, env); !errors.Is(err, errClusterTLSFlags) {
			t.Errorf("%q: %v, want errClusterTLSFlags", args, err)
		}
	}
	if err := (Config{}).checkClusterTLSFlags(); err != nil {
		t.Errorf("no TLS flags: %v", err)
	}

	cfg, err := ParseConfig([]string{"-cluster", "c", "-cluster-tls-cert", cert, "-cluster-tls-key", key, "-cluster-tls-ca", caFile}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClusterTLSCert != cert || cfg.ClusterTLSKey != key || cfg.ClusterTLSCA != caFile {
		t.Fatalf("config %+v, want the three files", cfg)
	}
	tc, err := cfg.clusterTLS()
	if err != nil {
		t.Fatal(err)
	}
	if tc.ClientAuth != tls.RequireAndVerifyClientCert || len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ClientCAs == nil {
		t.Fatalf("TLS %+v, want the certificate and the CA verifying peers both ways", tc)
	}
	if err := (&actors.ClusterConfig{Name: "c", Provider: nil, TLS: tc}).Validate(); err == nil || !strings.Contains(err.Error(), "Provider") {
		t.Errorf("the runtime's validation: %v, want it to object to the missing provider only", err)
	}
	handshake(t, tc)

	other := tlstest.NewCA(t)
	otherDir := t.TempDir()
	otherCert, otherKey, _ := other.WriteFiles(t, otherDir, "127.0.0.1")
	notPEM := filepath.Join(otherDir, "empty.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		cert, key, ca string
		want          string
	}{
		{"missing certificate", filepath.Join(otherDir, "none.pem"), key, caFile, "-cluster-tls-cert"},
		{"key of another certificate", cert, otherKey, caFile, "-cluster-tls-key"},
		{"key as certificate", key, key, caFile, "-cluster-tls-cert"},
		{"missing CA", otherCert, otherKey, filepath.Join(otherDir, "none.pem"), "-cluster-tls-ca"},
		{"CA without a certificate", cert, key, notPEM, "-cluster-tls-ca"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{ClusterName: "c", ClusterTLSCert: tt.cert, ClusterTLSKey: tt.key, ClusterTLSCA: tt.ca}
			_, err := c.clusterTLS()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("clusterTLS: %v, want an error naming %s", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// handshake checks that two members with configuration c complete a
// mutual TLS handshake, one dialing the other at 127.0.0.1.
func handshake(t *testing.T, c *tls.Config) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	dialer := c.Clone()
	dialer.ServerName = "127.0.0.1" // as gRPC sets it from the address
	server := tls.Server(a, c)
	served := make(chan error, 1)
	go func() { served <- server.HandshakeContext(t.Context()) }()
	client := tls.Client(b, dialer)
	if err := client.HandshakeContext(t.Context()); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if got := server.ConnectionState().PeerCertificates; len(got) == 0 {
		t.Error("the server saw no client certificate")
	}
}

// TestRunRefusesBadClusterTLS: a TLS file that cannot be loaded fails
// Run before it starts anything (no data directory made).
func TestRunRefusesBadClusterTLS(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	missing := filepath.Join(dir, "none.pem")
	m := NewMain(Config{Addr: "127.0.0.1:0", DataDir: data, Password: password.DefaultParams, Drain: DefaultDrain,
		ClusterName: "c", ClusterTLSCert: missing, ClusterTLSKey: missing, ClusterTLSCA: missing}, io.Discard)
	err := m.Run(context.Background())
	if cerr := m.Close(context.Background()); cerr != nil {
		t.Errorf("close: %v", cerr)
	}
	if err == nil || !strings.Contains(err.Error(), "-cluster-tls-cert") {
		t.Fatalf("Run: %v, want an error naming -cluster-tls-cert", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory: %v, want none made", err)
	}
}
