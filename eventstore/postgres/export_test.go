package postgres

// FanoutReads returns how many times s's shared reader of $all read the
// tables (tail), and how many times its subscriptions read them themselves,
// behind the shared window (fallback).
func FanoutReads(s *Store) (tail, fallback int64) {
	return s.fanout.reads.Load(), s.fanout.fallbacks.Load()
}
