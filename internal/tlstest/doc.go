// Package tlstest issues throwaway certificates for tests: a CA made in
// the test and certificates it signs for the hosts the test names, as
// tls.Certificates or as PEM files.
package tlstest
