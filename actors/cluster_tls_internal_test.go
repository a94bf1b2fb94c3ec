package actors

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cohort-dev/cohort/internal/tlstest"
)

// TestClusterTLSOptions: a member's gRPC server, configured by
// tlsOptions with ClientCAs and no ClientAuth, requires a certificate of
// the CA from whoever dials it (mutual TLS), and a member dialing with
// the same configuration gets through. A call that gets through reaches
// gRPC and finds no such method (Unimplemented); one refused in the
// handshake is Unavailable.
func TestClusterTLSOptions(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	member := ca.MutualTLS(t, "127.0.0.1")
	member.ClientAuth = tls.NoClientCert // ClientCAs alone asks for mutual TLS
	cfg := remote.Configure("127.0.0.1", 0, tlsOptions(member)...)
	if member.ClientAuth != tls.NoClientCert {
		t.Fatal("tlsOptions modified the configuration")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(cfg.ServerOptions...)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	defer func() { srv.Stop(); <-served }()

	foreign := other.MutualTLS(t, "127.0.0.1")
	foreign.RootCAs = ca.Pool() // it trusts the member, which does not trust it
	for _, tt := range []struct {
		name string
		dial []grpc.DialOption
		want codes.Code
	}{
		{"member", cfg.DialOptions, codes.Unimplemented},
		{"certificate of another CA", []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(foreign))}, codes.Unavailable},
		{"no certificate", []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool()}))}, codes.Unavailable},
		{"plaintext", []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, codes.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := grpc.NewClient(lis.Addr().String(), tt.dial...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err = conn.Invoke(ctx, "/cohort.Test/None", &emptypb.Empty{}, &emptypb.Empty{})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("call: %v (%v), want %v", got, err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestClusterConfigValidateTLS: what ClusterConfig.Validate refuses in
// TLS.
func TestClusterConfigValidateTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, tt := range []struct {
		name string
		tls  func(*tls.Config)
		want string // in the error; "" for valid
	}{
		{"mutual", func(*tls.Config) {}, ""},
		{"server only", func(c *tls.Config) { c.ClientCAs, c.ClientAuth = nil, tls.NoClientCert }, ""},
		{"no certificate", func(c *tls.Config) { c.Certificates = nil }, "no certificate"},
		{"trusts anyone", func(c *tls.Config) { c.InsecureSkipVerify = true }, "InsecureSkipVerify"},
		{"verified with the system's roots", func(c *tls.Config) { c.ClientCAs = nil }, "ClientCAs"},
		{"TLS 1.1", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, "MaxVersion"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ca.MutualTLS(t, "127.0.0.1")
			tt.tls(c)
			err := (&ClusterConfig{Name: "c", Provider: (*fakeProvider)(nil), TLS: c}).Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
