package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSoak runs a short soak on a fresh database and expects a clean
// report: intervals, nothing lost, no leak.
func TestSoak(t *testing.T) {
	cfg, err := parseConfig([]string{"-duration", "3s", "-interval", "1s", "-settle", "1s", "-workers", "3", "-users", "2",
		"-database", pgtest.NewDatabase(t, pgtest.Empty())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ok() || len(rep.samples) < 2 || rep.verify.Checked == 0 || !strings.Contains(out.String(), "result:        OK") {
		t.Fatalf("report: ok %v, %d samples, %d writes checked", rep.ok(), len(rep.samples), rep.verify.Checked)
	}
	for _, s := range rep.samples {
		if s.goroutines == 0 || s.live == 0 || s.load.Requests() == 0 {
			t.Fatalf("empty sample %+v", s)
		}
	}
}

func TestJudge(t *testing.T) {
	cfg := config{MaxGoroutineGrowth: 10, MaxHeapGrowth: 1.5}
	for _, tc := range []struct {
		name                    string
		before, after           int
		mid, end                uint64
		goroutineLeak, heapLeak bool
	}{
		{"steady", 40, 45, 20 << 20, 29 << 20, false, false},
		{"goroutines left behind", 40, 80, 20 << 20, 20 << 20, true, false},
		{"heap grew by half", 40, 40, 20 << 20, 31 << 20, false, true},
		{"small heap grows freely", 40, 40, 1 << 20, 11 << 20, false, false},
	} {
		r := &report{inProcess: true, steady: true, goroutinesBefore: tc.before, goroutinesAfter: tc.after,
			liveWarm: tc.mid, warmAt: time.Second, liveAfter: tc.end}
		r.judge(cfg)
		if r.goroutineLeak != tc.goroutineLeak || r.heapLeak != tc.heapLeak {
			t.Errorf("%s: goroutine leak %v, heap leak %v", tc.name, r.goroutineLeak, r.heapLeak)
		}
	}
	r := &report{goroutinesBefore: 1, goroutinesAfter: 100}
	r.judge(cfg)
	if r.goroutineLeak {
		t.Error("judged the goroutines of a remote server's client")
	}
	r = &report{inProcess: true, liveWarm: 20 << 20, warmAt: time.Second, liveAfter: 90 << 20}
	r.judge(cfg)
	if r.heapLeak {
		t.Error("judged the heap of a growing load")
	}
}

func TestParseConfig(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-workers", "0"}, {"-read-share", "1"}, {"-api", "http://x/api", "-database", "postgres://"},
		{"-hash-memory", "1"}, {"extra"},
	} {
		if _, err := parseConfig(args); err == nil {
			t.Errorf("parseConfig(%q) accepted", args)
		}
	}
	cfg, err := parseConfig(nil)
	if err != nil || cfg.Duration != time.Minute || cfg.Workers != 8 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
}
