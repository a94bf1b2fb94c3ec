package faulttest

import (
	"net"
	"strconv"
)

// ClusterName is the -cluster name of the Conduit processes the clustered
// scenarios start.
const ClusterName = "faulttest"

// clusterPorts picks a free port of 127.0.0.1 for each of n cluster
// members, kept across the restarts of each member.
func clusterPorts(n int) ([]string, error) {
	addrs := make([]string, n)
	for i := range addrs {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	return addrs, nil
}

// ClusterArgs returns a RollingConfig.NodeArgs that makes every node a
// member of one cluster (-cluster ClusterName), each on its own address
// of 127.0.0.1 for the other members (-cluster-addr), the same at every
// start of the node; and those addresses, by node.
func ClusterArgs(nodes int) (func(i int) []string, []string, error) {
	addrs, err := clusterPorts(nodes)
	if err != nil {
		return nil, nil, err
	}
	return func(i int) []string {
		return []string{"-cluster", ClusterName, "-cluster-addr", addrs[i]}
	}, addrs, nil
}

// clusterRaceFree says whether a clustered Conduit is built with the
// race detector when the tests run with it: not yet. The patched
// protoactor-go no longer races at a graceful stop (endpointReader's
// suspended flag is atomic), and a race-built cluster showed no race in
// TestClusterKill and TestRollingRestartCluster; but the race build is
// slow enough that in one rolling restart 4 commands sent as members
// joined and left waited out the 10 s dispatch timeout (503), which the
// build without it has not shown since the fixes of the moving shards.
const clusterRaceFree = false
