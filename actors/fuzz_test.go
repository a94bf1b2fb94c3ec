package actors_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// fuzzThing is the current shape of the event FuzzUpcasting decodes.
type fuzzThing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// fuzzRegistry registers fuzzThing as "fuzz.Thing" with upcasters: v1
// ({"title": …}) renames to v2, v2 renames to the current name, and one
// that keeps the current name sets a zero count to 1 (so it must run once
// for every route). LoopA and LoopB form a cycle, Broken always fails,
// ToUnknown renames to a name nothing decodes.
func fuzzRegistry(tb testing.TB) *actors.Registry {
	r := actors.NewRegistry()
	rename := func(to string) actors.Upcaster {
		return func(_ string, d json.RawMessage) (string, json.RawMessage, error) { return to, d, nil }
	}
	err := errors.Join(
		actors.RegisterEvent[fuzzThing](r, "fuzz.Thing"),
		r.RegisterUpcaster("fuzz.Thing.v1", func(_ string, d json.RawMessage) (string, json.RawMessage, error) {
			var v1 struct {
				Title string `json:"title"`
			}
			if err := json.Unmarshal(d, &v1); err != nil {
				return "", nil, err
			}
			out, err := json.Marshal(fuzzThing{Name: v1.Title})
			return "fuzz.Thing.v2", out, err
		}),
		r.RegisterUpcaster("fuzz.Thing.v2", rename("fuzz.Thing")),
		r.RegisterUpcaster("fuzz.Thing", func(typ string, d json.RawMessage) (string, json.RawMessage, error) {
			th, err := fuzzDefaultCount(d)
			if err != nil {
				return "", nil, err
			}
			out, err := json.Marshal(th)
			return typ, out, err
		}),
		r.RegisterUpcaster("fuzz.LoopA", rename("fuzz.LoopB")),
		r.RegisterUpcaster("fuzz.LoopB", rename("fuzz.LoopA")),
		r.RegisterUpcaster("fuzz.Broken", func(string, json.RawMessage) (string, json.RawMessage, error) {
			return "", nil, errors.New("broken")
		}),
		r.RegisterUpcaster("fuzz.ToUnknown", rename("fuzz.Nowhere")),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// fuzzDefaultCount decodes a current fuzzThing and sets a zero count to 1.
func fuzzDefaultCount(d []byte) (fuzzThing, error) {
	var th fuzzThing
	if err := json.Unmarshal(d, &th); err != nil {
		return th, err
	}
	if th.Count == 0 {
		th.Count = 1
	}
	return th, nil
}

var fuzzNames = []string{"fuzz.Thing.v1", "fuzz.Thing.v2", "fuzz.Thing", "fuzz.LoopA", "fuzz.LoopB",
	"fuzz.Broken", "fuzz.ToUnknown", "fuzz.Unregistered"}

// FuzzUpcasting decodes stored events through chains of upcasters: every
// route to the current shape gives what the upcasters promise (the
// same-name one running exactly once), a cycle or a failing upcaster is
// an error rather than a hang or a panic, a rename to an unknown name is
// an unregistered event, and DecodeEvent leaves unregistered payloads
// empty without failing.
func FuzzUpcasting(f *testing.F) {
	for _, s := range []struct {
		typ  uint8
		data string
	}{
		{0, `{"title":"old"}`}, {0, `{"title":7}`}, {0, `[]`}, {0, ``},
		{1, `{"name":"n","count":0}`}, {1, `{"name":"n","count":3}`},
		{2, `{"name":"n"}`}, {2, `{"name":"n","count":-2}`}, {2, `{"count":"1"}`}, {2, `null`},
		{3, `{}`}, {4, `{}`}, {5, `{}`}, {6, `{"name":"n"}`}, {7, `{}`},
	} {
		f.Add(s.typ, []byte(s.data))
	}
	r := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		name := fuzzNames[int(typ)%len(fuzzNames)]
		got, err := r.Decode(name, data)
		var unknown *actors.UnregisteredEventError
		switch name {
		case "fuzz.Thing.v1", "fuzz.Thing.v2", "fuzz.Thing":
			current := data
			if name == "fuzz.Thing.v1" {
				var v1 struct {
					Title string `json:"title"`
				}
				if json.Unmarshal(data, &v1) != nil {
					if err == nil {
						t.Fatalf("%s %q decoded to %+v, but is not a v1 event", name, data, got)
					}
					return
				}
				current, _ = json.Marshal(fuzzThing{Name: v1.Title})
			}
			want, wantErr := fuzzDefaultCount(current)
			switch {
			case wantErr != nil && err == nil:
				t.Fatalf("%s %q decoded to %+v, want an error", name, data, got)
			case wantErr == nil && (err != nil || got != want):
				t.Fatalf("%s %q decoded to %+v, %v; want %+v", name, data, got, err, want)
			}
		case "fuzz.LoopA", "fuzz.LoopB", "fuzz.Broken":
			if err == nil || errors.As(err, &unknown) {
				t.Fatalf("%s decoded to %+v, %v; want an upcasting error", name, got, err)
			}
		case "fuzz.ToUnknown", "fuzz.Unregistered":
			want := name
			if name == "fuzz.ToUnknown" {
				want = "fuzz.Nowhere"
			}
			if !errors.As(err, &unknown) || unknown.Type != want {
				t.Fatalf("%s: %v, want an unregistered %s", name, err, want)
			}
		}

		ev, evErr := actors.DecodeEvent(r, eventstore.RecordedEvent{Type: name, Data: data, Metadata: data, Position: 3})
		switch {
		case ev.Type != name || ev.Position != 3:
			t.Fatalf("envelope not kept: %+v", ev)
		case errors.As(err, &unknown):
			if evErr != nil || ev.Payload != nil {
				t.Fatalf("DecodeEvent of an unregistered %s: %+v, %v", name, ev.Payload, evErr)
			}
		case (err == nil) != (evErr == nil) || err == nil && ev.Payload != got:
			t.Fatalf("DecodeEvent: %+v, %v; Decode: %+v, %v", ev.Payload, evErr, got, err)
		}
	})
}
