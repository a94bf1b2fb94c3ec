package remote

import (
	"fmt"
	"sync"
	"testing"
)

// TestBlockListConcurrentReadsAndBlocks (COHORT): the gossip actor blocks
// members while the member list and the endpoint manager read the list;
// under -race every reader must be synchronised with Block.
func TestBlockListConcurrentReadsAndBlocks(t *testing.T) {
	bl := NewBlockList()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			bl.Block(fmt.Sprintf("member-%d", i))
		}
	}()
	for i := range 100 {
		id := fmt.Sprintf("member-%d", i)
		_ = bl.IsBlocked(id)
		_ = bl.BlockedMembers().Contains(id)
		_ = bl.Len()
	}
	wg.Wait()
	if got := bl.Len(); got != 100 {
		t.Fatalf("Len() = %d after 100 blocks, want 100", got)
	}
	if !bl.IsBlocked("member-99") || !bl.BlockedMembers().Contains("member-0") {
		t.Fatal("a blocked member is not reported blocked")
	}
}
