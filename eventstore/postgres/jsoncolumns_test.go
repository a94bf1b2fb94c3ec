package postgres

import (
	"encoding/json"
	"testing"
)

// TestJSONColumns: no data is written as JSON null and no metadata as SQL
// NULL; anything else as given.
func TestJSONColumns(t *testing.T) {
	tests := []struct {
		name             string
		data, metadata   json.RawMessage
		wantData, wantMD []byte
	}{
		{"nil", nil, nil, []byte("null"), nil},
		{"empty", json.RawMessage{}, json.RawMessage{}, []byte("null"), nil},
		{"given", json.RawMessage(`{"a":1}`), json.RawMessage(`{"m":2}`), []byte(`{"a":1}`), []byte(`{"m":2}`)},
		{"null kept", json.RawMessage("null"), nil, []byte("null"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, md := jsonColumns(tt.data, tt.metadata)
			if string(d) != string(tt.wantData) || (md == nil) != (tt.wantMD == nil) || string(md) != string(tt.wantMD) {
				t.Fatalf("jsonColumns(%q, %q) = %q, %q; want %q, %q", tt.data, tt.metadata, d, md, tt.wantData, tt.wantMD)
			}
		})
	}
}
