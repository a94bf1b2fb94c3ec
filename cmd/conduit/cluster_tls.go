package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// errClusterTLSFlags: -cluster-tls-cert, -cluster-tls-key and
// -cluster-tls-ca go together, and with -cluster.
var errClusterTLSFlags = errors.New("-cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca: give all three, with -cluster, or none")

// checkClusterTLSFlags reports whether the TLS flags are all given, with
// -cluster, or none is.
func (c Config) checkClusterTLSFlags() error {
	given := 0
	for _, f := range []string{c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA} {
		if f != "" {
			given++
		}
	}
	if given != 0 && (given != 3 || c.ClusterName == "") {
		return errClusterTLSFlags
	}
	return nil
}

// clusterTLS loads the member's mutual TLS configuration from the files
// of -cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca: the member
// presents the certificate, to the members it dials and to those that
// dial it, and verifies theirs, both ways, against the CA. Without the
// flags it returns nil: plaintext.
func (c Config) clusterTLS() (*tls.Config, error) {
	if err := c.checkClusterTLSFlags(); err != nil || c.ClusterTLSCert == "" {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(c.ClusterTLSCert, c.ClusterTLSKey)
	if err != nil {
		return nil, fmt.Errorf("-cluster-tls-cert %s, -cluster-tls-key %s: %w", c.ClusterTLSCert, c.ClusterTLSKey, err)
	}
	pem, err := os.ReadFile(c.ClusterTLSCA)
	if err != nil {
		return nil, fmt.Errorf("-cluster-tls-ca: %w", err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-cluster-tls-ca %s: no PEM certificate in the file", c.ClusterTLSCA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      cas,
		ClientCAs:    cas,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
