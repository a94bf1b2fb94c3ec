package postgres

// FanoutReads returns how many times s's shared reader of $all read the
// tables on its own (tail), how many reads made with the horizon's
// observations it took (offered), and how many times its subscriptions
// read the tables themselves, behind the shared window (fallback).
func FanoutReads(s *Store) (tail, offered, fallback int64) {
	return s.fanout.reads.Load(), s.fanout.offered.Load(), s.fanout.fallbacks.Load()
}
