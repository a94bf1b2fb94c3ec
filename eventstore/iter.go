package eventstore

import (
	"context"
	"iter"
)

// StreamEvents iterates a stream forward from version from (0 for the
// start), reading pages of pageSize events (0 for DefaultReadCount), so a
// long stream is never held in memory at once. It stops at the first error,
// which it yields.
func StreamEvents(ctx context.Context, r StreamReader, stream string, from int64, pageSize int) iter.Seq2[RecordedEvent, error] {
	return pages(func(from int64) ([]RecordedEvent, error) {
		return r.ReadStream(ctx, stream, ReadOptions{From: from, Count: pageSize})
	}, from, func(e RecordedEvent) int64 { return e.StreamVersion })
}

// AllEvents iterates $all forward from global position from (0 for the
// start) in pages of pageSize events, up to the last event committed when
// each page is read.
func AllEvents(ctx context.Context, r AllReader, from int64, pageSize int) iter.Seq2[RecordedEvent, error] {
	return pages(func(from int64) ([]RecordedEvent, error) {
		return r.ReadAll(ctx, ReadOptions{From: from, Count: pageSize})
	}, from, func(e RecordedEvent) int64 { return e.Position })
}

func pages(read func(from int64) ([]RecordedEvent, error), from int64, cursor func(RecordedEvent) int64) iter.Seq2[RecordedEvent, error] {
	return func(yield func(RecordedEvent, error) bool) {
		for {
			page, err := read(from)
			if err != nil {
				yield(RecordedEvent{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			from = cursor(page[len(page)-1]) + 1
		}
	}
}
