package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a bar per phase on a terminal; elsewhere it writes one
// line when a bar finishes. A nil *progress draws nothing.
type progress struct {
	w        io.Writer
	terminal bool
}

// newProgress returns a progress writing to w, or nil when quiet.
func newProgress(w io.Writer, quiet bool) *progress {
	if quiet {
		return nil
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// bar is one phase's progress; its goroutine redraws it until finish.
type bar struct {
	p     *progress
	label string
	total int64
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
}

// start begins a bar for total steps. Call finish when done.
func (p *progress) start(label string, total int) *bar {
	b := &bar{p: p, label: label, total: int64(total), start: time.Now(), stop: make(chan struct{})}
	if p == nil || !p.terminal {
		return b
	}
	b.done.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.draw(false)
			}
		}
	})
	return b
}

// add records n steps done.
func (b *bar) add(n int) { b.n.Add(int64(n)) }

// finish stops the bar and leaves its final state on its own line.
func (b *bar) finish() {
	b.once.Do(func() {
		close(b.stop)
		b.done.Wait()
		if b.p != nil {
			b.draw(true)
		}
	})
}

func (b *bar) draw(final bool) {
	n, el := b.n.Load(), time.Since(b.start)
	rate := float64(n) / max(el.Seconds(), 1e-9)
	if !b.p.terminal {
		if final {
			fmt.Fprintf(b.p.w, "%s: %s/%s in %s (%s)\n", b.label, thousands(int(n)), thousands(int(b.total)), human(el), perSecond(rate))
		}
		return
	}
	const width = 30
	filled := 0
	if b.total > 0 {
		filled = int(min(n, b.total) * width / b.total)
	}
	eta := ""
	if !final && rate > 0 && n < b.total {
		eta = " ETA " + human(time.Duration(float64(b.total-n)/rate*float64(time.Second)))
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(b.p.w, "\r\033[K%-44s [%s%s] %s/%s %s %s%s%s", b.label, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		thousands(int(n)), thousands(int(b.total)), perSecond(rate), human(el), eta, end)
}
