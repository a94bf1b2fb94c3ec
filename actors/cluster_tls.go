package actors

import (
	"crypto/tls"
	"errors"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// validateTLS rejects a TLS configuration that cannot serve a member or
// that would trust any peer.
func validateTLS(c *tls.Config) error {
	switch {
	case len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil:
		return errors.New("actors: Cluster.TLS has no certificate for the member's server (Certificates or GetCertificate)")
	case c.InsecureSkipVerify && c.VerifyPeerCertificate == nil && c.VerifyConnection == nil:
		return errors.New("actors: Cluster.TLS.InsecureSkipVerify without VerifyPeerCertificate or VerifyConnection would trust any member")
	case c.ClientAuth >= tls.VerifyClientCertIfGiven && c.ClientCAs == nil:
		return errors.New("actors: Cluster.TLS.ClientAuth verifies the members' certificates but ClientCAs is nil (the system's roots would be used)")
	case c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS12:
		return errors.New("actors: Cluster.TLS.MaxVersion is below TLS 1.2, which gRPC requires")
	}
	return nil
}

// tlsOptions returns the remote's options for a member whose gRPC
// traffic is over TLS with c: its server's credentials, and the ones it
// dials the other members with. c is not modified. With ClientCAs and
// no ClientAuth, the server requires and verifies the members'
// certificates (mutual TLS).
func tlsOptions(c *tls.Config) []remote.ConfigOption {
	server := c.Clone()
	if server.ClientCAs != nil && server.ClientAuth == tls.NoClientCert {
		server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return []remote.ConfigOption{
		remote.WithServerOptions(grpc.Creds(credentials.NewTLS(server))),
		remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(c))),
	}
}
