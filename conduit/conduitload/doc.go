// Package conduitload drives Conduit's HTTP API with a concurrent, mixed
// load — registrations, articles, comments, favorites, follows, renames
// and reads — and keeps a ledger of every write the server acknowledged,
// so that a test can prove afterwards, through the API, that no
// acknowledged write was lost.
//
// # Outcomes
//
// Every request ends in one of five outcomes (see Outcome): acknowledged
// (a 2xx answer), rejected (a 4xx answer: no effect), refused (no
// connection could be made: no effect), unknown (a 5xx answer or a
// connection lost mid-request: it may have taken effect) or timed out (no
// answer in time: it may still take effect later).
//
// # Facts
//
// The ledger records what the load wrote as facts: a user's username, an
// article's title (and so its slug), whether a comment is deleted, whether
// a user favorites an article or follows an author. Each fact has exactly
// one writer (the worker that owns the user), so its writes are ordered.
// A fact's candidates are the values the server may legitimately show:
// that of the last acknowledged write, plus those of later writes whose
// outcome is unknown, plus those of any write that timed out. A write
// whose outcome is unknown cannot take effect after a later write to the
// same fact is acknowledged, since both go to the same aggregate, whose
// mailbox keeps their order; a write that timed out might still be
// running in the server, so its value stays a candidate for good.
//
// Verify checks every fact against the API: an acknowledged write is lost
// when the server shows a value that is not a candidate.
package conduitload
