package actorstest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// outcome is what a case's last When produced: the messages it returned
// (an aggregate's events, a process manager's commands) or its error.
// Then, ThenError and ThenErrorAs of both cases check it.
type outcome struct {
	noun string // what the messages are: "events", "commands"
	msgs []any
	err  error
	ran  bool
}

// set records a When's result.
func (o *outcome) set(msgs []any, err error) { o.msgs, o.err, o.ran = msgs, err, true }

// then fails tb unless the last When succeeded with exactly want.
func (o *outcome) then(tb testing.TB, want []any) {
	tb.Helper()
	o.mustHaveRun(tb)
	if o.err != nil {
		tb.Fatalf("expected %s %s, got error: %v", o.noun, describe(want), o.err)
	}
	if len(want) == 0 && len(o.msgs) == 0 {
		return
	}
	if !reflect.DeepEqual(o.msgs, want) {
		tb.Fatalf("%s differ\n got: %s\nwant: %s", o.noun, describe(o.msgs), describe(want))
	}
}

// thenError fails tb unless the last When failed with an error matching
// target (errors.Is).
func (o *outcome) thenError(tb testing.TB, target error) {
	tb.Helper()
	o.mustHaveRun(tb)
	if o.err == nil {
		tb.Fatalf("expected error %v, got %s %s", target, o.noun, describe(o.msgs))
	}
	if !errors.Is(o.err, target) {
		tb.Fatalf("expected error %v, got %v", target, o.err)
	}
}

// thenErrorAs fails tb unless the last When failed with an error that
// errors.As assigns to target.
func (o *outcome) thenErrorAs(tb testing.TB, target any) {
	tb.Helper()
	o.mustHaveRun(tb)
	if o.err == nil || !errors.As(o.err, target) {
		tb.Fatalf("expected an error of type %T, got %v (%s %s)", target, o.err, o.noun, describe(o.msgs))
	}
}

// mustHaveRun fails tb unless When has run.
func (o *outcome) mustHaveRun(tb testing.TB) {
	tb.Helper()
	if !o.ran {
		tb.Fatal("actorstest: Then before When")
	}
}

// describe lists messages with their types, or says "none".
func describe(msgs []any) string {
	if len(msgs) == 0 {
		return "none"
	}
	s := ""
	for i, m := range msgs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%T%+v", m, m)
	}
	return s
}
