// Package faulttest is Conduit's fault-injection suite: it proves that an
// acknowledged write is never lost and that a crash never corrupts a
// projection, by breaking things for real.
//
// Run starts a throwaway PostgreSQL cluster and Conduit as a subprocess
// (the real binary, built with go build), drives a concurrent load over
// HTTP (package conduitload) that records every acknowledged write, and
// meanwhile, at random moments:
//
//   - kills Conduit with SIGKILL and starts it again;
//   - restarts PostgreSQL with an immediate shutdown ("pg_ctl stop -m
//     immediate", then a start on the same data directory and port) while
//     Conduit keeps running, and measures how long Conduit takes to
//     acknowledge a write again.
//
// Then it verifies that every acknowledged write is visible through the
// API, that no stream has a gap or a duplicate version, that invariants
// which a double-applied or lost command would break hold (see
// Checker.Invariants), and that the read model equals, row by row, a
// rebuild of every projection from the event store (Conduit started with
// -rebuild all).
//
// TestCrashSafety runs it in a quick configuration as part of go test
// ./...; flags select a longer one:
//
//	go test ./conduit/faulttest -run CrashSafety -v -fault.long -timeout 60m
//
// RollingRestart (TestRollingRestart) runs several Conduit processes on
// one database behind a load balancer and restarts each in turn under
// load, as an operator upgrading them would: it checks the same things,
// and that no request failed.
//
// The cluster scenarios run three Conduit processes as members of one
// cluster (-cluster, ClusterArgs): TestRollingRestartCluster is the
// rolling restart with them; ClusterFault (TestClusterKill,
// TestClusterFreeze) kills one member with SIGKILL, or stops it with
// SIGSTOP for longer than the membership's TTL, under the mixed load
// through the balancer, and measures how soon the aggregates whose shards
// lived on it are served by the others (found by the cluster's placement,
// shardOwner); HotAggregate (TestHotAggregate) sends commands to one
// aggregate through all three members and counts the version conflicts
// the nodes report on /metrics.
package faulttest
