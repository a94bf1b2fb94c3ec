package actors

import "testing"

// TestLoadStateNext: every state's successor on every event.
func TestLoadStateNext(t *testing.T) {
	tests := []struct {
		from loadState
		on   loadEvent
		want loadState
	}{
		{unloaded, assumed, assumedNew},
		{unloaded, read, loaded},
		{unloaded, appendedEvents, unloaded},
		{unloaded, failed, unloaded},
		{unloaded, commandDone, unloaded},
		{assumedNew, read, loaded},
		{assumedNew, appendedEvents, loaded},
		{assumedNew, failed, unloaded},
		{assumedNew, commandDone, unloaded},
		{loaded, read, loaded},
		{loaded, appendedEvents, loaded},
		{loaded, failed, unloaded},
		{loaded, commandDone, kept},
		{loaded, assumed, assumedNew},
		{kept, read, loaded},
		{kept, appendedEvents, loaded},
		{kept, failed, unloaded},
		{kept, commandDone, kept},
		{kept, assumed, assumedNew},
	}
	for _, tt := range tests {
		if got := tt.from.next(tt.on); got != tt.want {
			t.Errorf("%v on %d = %v, want %v", tt.from, tt.on, got, tt.want)
		}
	}
}
