package ratelimit_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/conduit/ratelimit"
)

// clock is a settable time for limiters.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// MustLimiter returns a limiter of cfg on clk, or fails tb.
func MustLimiter(tb testing.TB, cfg ratelimit.Config, clk *clock) *ratelimit.Limiter {
	tb.Helper()
	cfg.Now = clk.now
	l, err := ratelimit.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// step is one action on a limiter: advance the clock, then take (or
// give back) a token of key.
type step struct {
	advance   time.Duration
	key       string
	giveBack  bool
	wantOK    bool          // for a take
	wantRetry time.Duration // for a refused take
}

func TestLimiter(t *testing.T) {
	cfg := ratelimit.Config{Burst: 3, Every: 10 * time.Second, MaxKeys: 100}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a burst, then refused until a token is back", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
			{advance: 4 * time.Second, key: "a", wantRetry: 6 * time.Second},
			{advance: 6 * time.Second, key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
		}},
		{"keys are independent", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
			{key: "b", wantOK: true},
		}},
		{"the limit decays to a full burst, no further", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{advance: time.Hour, key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
		}},
		{"a token given back can be taken again", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", giveBack: true},
			{key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
		}},
		{"giving back never exceeds the burst", []step{
			{key: "a", giveBack: true}, {key: "a", giveBack: true},
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second},
		}},
		{"refused takes cost nothing", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{key: "a", wantRetry: 10 * time.Second}, {key: "a", wantRetry: 10 * time.Second},
			{advance: 10 * time.Second, key: "a", wantOK: true},
		}},
		{"the clock going back gives no token back", []step{
			{key: "a", wantOK: true}, {key: "a", wantOK: true}, {key: "a", wantOK: true},
			{advance: -time.Minute, key: "a", wantRetry: 70 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			l := MustLimiter(t, cfg, clk)
			for i, s := range tt.steps {
				clk.advance(s.advance)
				if s.giveBack {
					l.GiveBack(s.key)
					continue
				}
				err := l.Take(s.key)
				var lerr *ratelimit.LimitedError
				switch {
				case s.wantOK && err != nil:
					t.Fatalf("step %d: Take(%q) = %v, want a token", i, s.key, err)
				case !s.wantOK && !errors.As(err, &lerr):
					t.Fatalf("step %d: Take(%q) = %v, want a LimitedError", i, s.key, err)
				case !s.wantOK && !errors.Is(err, ratelimit.ErrLimited):
					t.Fatalf("step %d: %v does not wrap ErrLimited", i, err)
				case !s.wantOK && lerr.RetryAfter != s.wantRetry:
					t.Fatalf("step %d: retry after %v, want %v", i, lerr.RetryAfter, s.wantRetry)
				}
			}
		})
	}
}

// TestLimiterMemory: the limiter keeps at most MaxKeys keys, forgetting
// the least recently used first, and forgets keys whose burst is full.
func TestLimiterMemory(t *testing.T) {
	clk := newClock()
	l := MustLimiter(t, ratelimit.Config{Burst: 1, Every: time.Minute, MaxKeys: 10}, clk)
	for i := range 1000 {
		_ = l.Take(fmt.Sprint("k", i))
		if n := l.Len(); n > 10 {
			t.Fatalf("%d keys after %d takes, want at most 10", n, i+1)
		}
	}
	// The 10 most recent keys are still limited, older ones forgotten.
	if err := l.Take("k999"); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("a recent key: %v, want limited", err)
	}
	if err := l.Take("k0"); err != nil {
		t.Fatalf("an evicted key: %v, want a fresh burst", err)
	}
	// A key given back its burst is forgotten.
	l.GiveBack("k0")
	if n := l.Len(); n != 9 {
		t.Fatalf("%d keys after a key's burst is back, want 9", n)
	}
	// Idle keys whose burst is full again go, a couple at each Take.
	clk.advance(time.Hour)
	_ = l.Take("new")
	if n := l.Len(); n != 8 {
		t.Fatalf("%d keys after an hour and a Take, want 8 (two idle keys forgotten, one new)", n)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []ratelimit.Config{
		{Burst: 0, Every: time.Second},
		{Burst: 1, Every: 0},
		{Burst: 1, Every: time.Second, MaxKeys: -1},
		{Burst: math.MaxInt, Every: time.Hour},
	} {
		if _, err := ratelimit.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
