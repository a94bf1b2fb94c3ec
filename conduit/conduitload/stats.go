package conduitload

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// Op is a kind of request the load sends.
type Op uint8

// The load's requests.
const (
	OpRegister  Op = iota // POST /users
	OpPublish             // POST /articles
	OpRetitle             // PUT /articles/{slug} with a new title (new slug)
	OpComment             // POST /articles/{slug}/comments
	OpUncomment           // DELETE /articles/{slug}/comments/{id}
	OpFavorite            // POST or DELETE /articles/{slug}/favorite
	OpFollow              // POST or DELETE /profiles/{username}/follow
	OpRename              // PUT /user with a new username
	OpRead                // GET of lists, articles, comments, profiles, tags, the user
	numOps
)

var opNames = [numOps]string{"register", "publish", "retitle", "comment", "uncomment", "favorite", "follow", "rename", "read"}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// IsWrite reports whether the op writes.
func (o Op) IsWrite() bool { return o != OpRead }

// Latency buckets: bucket i holds latencies up to bucketBase·2^(i/2).
const (
	numBuckets = 44
	bucketBase = 50 * time.Microsecond
)

func bucketOf(d time.Duration) int {
	if d <= bucketBase {
		return 0
	}
	i := int(math.Ceil(2 * math.Log2(float64(d)/float64(bucketBase))))
	return min(i, numBuckets-1)
}

func bucketLimit(i int) time.Duration {
	return time.Duration(float64(bucketBase) * math.Pow(2, float64(i)/2))
}

// Stats counts the load's requests by op and outcome, and the latencies
// of acknowledged ones. It is safe for concurrent use.
type Stats struct {
	counts    [numOps][numOutcomes]atomic.Int64
	latency   [numBuckets]atomic.Int64
	anomalies atomic.Int64
}

func (s *Stats) add(op Op, r Response) Outcome {
	o := r.Outcome()
	s.counts[op][o].Add(1)
	if o == Acked {
		s.latency[bucketOf(r.Took)].Add(1)
	}
	return o
}

// Snapshot returns the counts so far.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{At: time.Now(), Anomalies: s.anomalies.Load()}
	for op := range numOps {
		for o := range numOutcomes {
			snap.Counts[op][o] = s.counts[op][o].Load()
		}
	}
	for i := range numBuckets {
		snap.Latency[i] = s.latency[i].Load()
	}
	return snap
}

// Snapshot is the load's counts at one moment, or between two (Sub).
type Snapshot struct {
	At        time.Time
	Counts    [numOps][numOutcomes]int64
	Latency   [numBuckets]int64 // acknowledged requests by latency bucket
	Anomalies int64             // acknowledged answers the load could not make sense of
}

// Sub returns the counts since prev.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	d := s
	for op := range numOps {
		for o := range numOutcomes {
			d.Counts[op][o] -= prev.Counts[op][o]
		}
	}
	for i := range numBuckets {
		d.Latency[i] -= prev.Latency[i]
	}
	d.Anomalies -= prev.Anomalies
	return d
}

// Writes returns the number of writes with outcome o.
func (s Snapshot) Writes(o Outcome) int64 {
	var n int64
	for op := range numOps {
		if op.IsWrite() {
			n += s.Counts[op][o]
		}
	}
	return n
}

// Reads returns the number of reads with outcome o.
func (s Snapshot) Reads(o Outcome) int64 { return s.Counts[OpRead][o] }

// Requests returns the number of requests with any outcome.
func (s Snapshot) Requests() int64 {
	var n int64
	for op := range numOps {
		for o := range numOutcomes {
			n += s.Counts[op][o]
		}
	}
	return n
}

// Errors returns the requests that were not acknowledged, rejections
// included.
func (s Snapshot) Errors() int64 {
	var n int64
	for op := range numOps {
		for o := Rejected; o < numOutcomes; o++ {
			n += s.Counts[op][o]
		}
	}
	return n
}

// Quantile returns an upper bound of the q-quantile (0 < q ≤ 1) of the
// acknowledged requests' latency, 0 if there were none.
func (s Snapshot) Quantile(q float64) time.Duration {
	var total int64
	for _, n := range s.Latency {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range s.Latency {
		if seen += n; seen >= rank {
			return bucketLimit(i)
		}
	}
	return bucketLimit(numBuckets - 1)
}

// Table formats the counts by op and outcome.
func (s Snapshot) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %8s %8s %8s %8s %9s\n", "op", "acked", "rejected", "refused", "unknown", "timed out")
	for op := range numOps {
		c := s.Counts[op]
		fmt.Fprintf(&b, "%-10s %8d %8d %8d %8d %9d\n", op, c[Acked], c[Rejected], c[Refused], c[Unknown], c[TimedOut])
	}
	return b.String()
}
