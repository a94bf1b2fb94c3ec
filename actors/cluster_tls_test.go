package actors_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/internal/tlstest"
)

// withTLS gives member i the configuration tls(i): nil keeps it
// plaintext.
func withTLS(tls func(i int) *tls.Config) clusterOption {
	return clusterOption{config: func(i int, cfg *actors.Config) { cfg.Cluster.TLS = tls(i) }}
}

// TestClusterTLS: members whose gRPC is over mutual TLS, with
// certificates of one CA, run each other's commands; the advertised
// address's check at start works with TLS.
func TestClusterTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	tc := startCluster(t, 2, withTLS(func(int) *tls.Config { return ca.MutualTLS(t, "127.0.0.1") }))
	const accounts = 32 // on both members: all on one, with 16 shards placed by hashing, has odds of 2^-31
	for i := range accounts {
		id := fmt.Sprintf("acc-%d", i)
		dispatch(t, tc.apps[i%2], OpenAccount{ID: id, Owner: "o"})
		for j, app := range tc.apps {
			if r := dispatch(t, app, Deposit{ID: id, Amount: 1}); r.Version != int64(j+2) {
				t.Fatalf("deposit on member %d: version %d, want %d", j, r.Version, j+2)
			}
		}
	}
	if total, members := tc.liveTotal(); total != accounts || members != 2 {
		t.Errorf("%d aggregate actors live on %d members, want %d on both: commands crossed members", total, members, accounts)
	}
}

// TestClusterTLSKeepsOutOtherMembers: a member outside the CA's trust,
// plaintext or with a certificate of another CA (even one that trusts
// the cluster's CA), cannot talk to the others: their handshakes fail
// (protoactor logs them, e.g. "x509: certificate signed by unknown
// authority"). The membership, in PostgreSQL, still lists it, so the
// cluster places shards on it: a command dispatched on the member of its
// shard runs, and one dispatched on the other member fails at its
// deadline with ErrTimeout.
func TestClusterTLSKeepsOutOtherMembers(t *testing.T) {
	ca, other := tlstest.NewCA(t), tlstest.NewCA(t)
	for _, tt := range []struct {
		name  string
		rogue func() *tls.Config
	}{
		{"plaintext", func() *tls.Config { return nil }},
		{"certificate of another CA", func() *tls.Config {
			c := other.MutualTLS(t, "127.0.0.1")
			c.RootCAs = ca.Pool()
			return c
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := startCluster(t, 1, withTLS(func(i int) *tls.Config {
				if i == 0 {
					return ca.MutualTLS(t, "127.0.0.1")
				}
				return tt.rogue()
			}))
			tc.add(t, 1)
			tc.waitMembers(t, 2)
			failed := make([]int, 2)
			for i := 0; i < 4 || failed[0] == 0 || failed[1] == 0; i++ {
				if i == 32 {
					t.Fatalf("after %d accounts, commands failed %v times on each member, want both to fail some", i, failed)
				}
				id := fmt.Sprintf("acc-%d", i)
				var ok []int
				for j, app := range tc.apps {
					_, err := app.Dispatch(t.Context(), OpenAccount{ID: id, Owner: "o"}, actors.WithTimeout(2*time.Second))
					switch {
					case err == nil:
						ok = append(ok, j)
					case errors.Is(err, actors.ErrTimeout):
						failed[j]++
					default:
						t.Fatalf("open %s on member %d: %v, want success or ErrTimeout", id, j, err)
					}
				}
				if len(ok) != 1 {
					t.Fatalf("open %s succeeded on members %v, want on one: the member of its shard", id, ok)
				}
			}
		})
	}
}
