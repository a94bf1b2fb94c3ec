package storetest

import (
	"reflect"
	"testing"
)

func TestJSONEqual(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{`{"a": 1, "b": [1, 2]}`, `{"b":[1,2],"a":1}`, true},
		{`{"a": 1.0}`, `{"a": 1}`, true},
		{`"\u00e9"`, `"é"`, true},
		{``, ` `, true},
		{`{"a": 1}`, `{"a": 2}`, false},
		{`[1, 2]`, `[2, 1]`, false},
		{`null`, ``, false},
		{`{`, `{`, false},
	}
	for _, tc := range cases {
		if got := jsonEqual([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("jsonEqual(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		from, to int64
		want     []int64
	}{
		{1, 3, []int64{1, 2, 3}},
		{3, 1, []int64{3, 2, 1}},
		{2, 2, []int64{2}},
	} {
		if got := span(tc.from, tc.to); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("span(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
