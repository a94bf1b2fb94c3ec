package postgres

import "encoding/json"

// jsonColumns returns an event's or a snapshot's data and metadata as the
// store writes them: no data is JSON null, no metadata is SQL NULL.
func jsonColumns(data, metadata json.RawMessage) (d, md []byte) {
	d = data
	if len(d) == 0 {
		d = []byte("null")
	}
	if len(metadata) > 0 {
		md = metadata
	}
	return d, md
}
