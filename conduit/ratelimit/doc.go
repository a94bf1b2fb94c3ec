// Package ratelimit bounds what clients can cost Conduit.
//
// A Limiter is a set of token buckets by key — failed logins per account
// and per client address, requests per address: each key may spend a
// burst of tokens, and gets one back per interval, so that its limit
// decays over time. Buckets are kept as a theoretical arrival time (the
// generic cell rate algorithm), exact in integer time; a key whose bucket
// is full again is forgotten, and the limiter keeps at most a bounded
// number of keys, forgetting the least recently used first.
//
// A Gate bounds how many expensive operations (password hashes) run or
// wait at once, and refuses more at once instead of queueing them.
//
// Both are safe for concurrent use and start no goroutines.
package ratelimit
