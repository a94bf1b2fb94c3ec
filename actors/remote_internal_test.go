package actors

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// wireTest is a command, event and state type of the wire tests.
type wireTest struct {
	ID    string
	Count int
}

func (w *wireTest) Execute(any) ([]any, error) { return nil, nil }
func (w *wireTest) Apply(ev any)               { w.Count += ev.(wireTest).Count }

// wireErr is a user error type that crosses the cluster as JSON.
type wireErr struct {
	Field string `json:"field"`
}

func (e *wireErr) Error() string { return "bad " + e.Field }

var errWireSentinel = errors.New("wire: sentinel")

// fieldErrs is a user error type of map kind, with a value receiver.
type fieldErrs map[string][]string

func (e fieldErrs) Error() string { return fmt.Sprint(map[string][]string(e)) }

// mustWireApp returns an unstarted App as a cluster member would encode
// and decode with, its command names set.
func mustWireApp(tb testing.TB) (*App, *aggregateKind) {
	tb.Helper()
	a, err := New(Config{Store: memory.New()})
	if err != nil {
		tb.Fatal(err)
	}
	for _, err := range []error{
		RegisterEvent[wireTest](a.Registry(), "wire.Test"),
		a.RegisterAggregate(AggregateType{Name: "wire", New: func() Aggregate { return &wireTest{} }}),
		Route(a, "wire", func(c wireTest) string { return c.ID }),
		Route(a, "wire", func(c *wireErr) string { return c.Field }),
		a.Registry().RegisterError("wire.Sentinel", errWireSentinel),
		RegisterErrorType[*wireErr](a.Registry(), "wire.Err"),
		RegisterErrorType[fieldErrs](a.Registry(), "wire.FieldErrs"),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	names, err := newCommandNames(a.registry, a.routes)
	if err != nil {
		tb.Fatal(err)
	}
	a.cluster = &clusterNode{addr: "node-b:1", names: names}
	return a, a.aggregates["wire"]
}

// TestWireErrors: errors that cross the cluster match on the caller as
// they did where the command ran: the runtime's own typed errors and
// sentinels, registered user errors (sentinels and types, also inside a
// *ValidationError); an unknown one keeps its message and matches
// ErrRemote.
func TestWireErrors(t *testing.T) {
	a, _ := mustWireApp(t)
	conflict := &eventstore.VersionConflictError{Stream: "s", Expected: eventstore.Exact(3), Actual: 5}
	for _, tt := range []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"version conflict", fmt.Errorf("actors: append: %w", conflict), func(err error) bool {
			var vc *eventstore.VersionConflictError
			return errors.As(err, &vc) && *vc == *conflict && errors.Is(err, ErrVersionConflict)
		}},
		{"timeout", timeoutError{cause: context.DeadlineExceeded}, func(err error) bool {
			return errors.Is(err, ErrTimeout) && errors.Is(err, context.DeadlineExceeded)
		}},
		{"stopped", ErrStopped, func(err error) bool { return errors.Is(err, ErrStopped) && !errors.Is(err, ErrRemote) }},
		{"panic", fmt.Errorf("%w: x: %w", ErrAggregateStopped, &PanicError{Value: 42}), func(err error) bool {
			var p *PanicError
			return errors.Is(err, ErrAggregateStopped) && errors.As(err, &p) && p.Value == "42"
		}},
		{"validation with a registered sentinel", &ValidationError{Aggregate: "wire", ID: "1", Err: fmt.Errorf("because: %w", errWireSentinel)}, func(err error) bool {
			var ve *ValidationError
			return errors.As(err, &ve) && ve.ID == "1" && errors.Is(err, errWireSentinel) && errors.Is(err, ErrValidation)
		}},
		{"validation with a registered type", &ValidationError{Aggregate: "wire", ID: "2", Err: &wireErr{Field: "title"}}, func(err error) bool {
			var we *wireErr
			return errors.As(err, &we) && we.Field == "title" && errors.Is(err, ErrValidation)
		}},
		{"validation with a registered map type", &ValidationError{Aggregate: "wire", ID: "4", Err: fieldErrs{"email": {"is invalid"}}}, func(err error) bool {
			var fe fieldErrs
			return errors.As(err, &fe) && reflect.DeepEqual(fe, fieldErrs{"email": {"is invalid"}})
		}},
		{"stream write", &StreamWriteError{Aggregate: "wire", ID: "3", Stream: "claim-x", Err: conflict}, func(err error) bool {
			var swe *StreamWriteError
			var vc *eventstore.VersionConflictError
			return errors.As(err, &swe) && swe.Stream == "claim-x" && errors.Is(err, ErrStreamWrite) &&
				errors.As(swe.Err, &vc) && *vc == *conflict
		}},
		{"unknown", errors.New("something else"), func(err error) bool {
			var re *RemoteError
			return errors.Is(err, ErrRemote) && errors.As(err, &re) && re.Node == "node-b:1" && re.Type == "*errors.errorString"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := a.registry.decodeError(a.registry.encodeError(tt.err, a.cluster.addr))
			if got == nil || got.Error() != tt.err.Error() || !tt.check(got) {
				t.Errorf("%v crossed as %#v (%v)", tt.err, got, got)
			}
		})
	}
}

// TestWireCommandAndReply: a command crosses with everything that travels
// with it and its remaining time; a result comes back with its events
// decoded and its state in the aggregate type's own type.
func TestWireCommandAndReply(t *testing.T) {
	a, k := mustWireApp(t)
	cmd := &Command{Payload: wireTest{ID: "w1", Count: 2}, ID: uuid.New(), CausationID: uuid.New(), CorrelationID: uuid.New(),
		Metadata: Metadata{"k": "v"}, AggregateType: "wire", AggregateID: "w1", ExpectedVersion: 4,
		Returning: ReturnState, idempotent: true, creating: true}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	m, err := a.encodeCommand(ctx, cmd, map[string]string{"traceparent": "00-x"})
	if err != nil {
		t.Fatal(err)
	}
	opCtx, done, got, hdr, err := a.decodeCommand(m)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	want := *cmd
	want.Timeout = got.Timeout
	if !reflect.DeepEqual(*got, want) || hdr["traceparent"] != "00-x" {
		t.Errorf("decoded %+v with header %v, want %+v", *got, hdr, want)
	}
	if d, ok := opCtx.Deadline(); !ok || time.Until(d) < 50*time.Second || got.Timeout > time.Minute {
		t.Errorf("decoded deadline in %v, timeout %v; want the minute left", time.Until(d), got.Timeout)
	}

	state := &wireTest{ID: "w1", Count: 7}
	res := Result{AggregateID: "w1", StreamID: "wire-w1", Version: 5, Position: 99, State: state,
		Events:    []Event{{Payload: wireTest{ID: "w1", Count: 2}, Type: "wire.Test", StreamVersion: 5, Position: 99}},
		Writes:    []eventstore.AppendResult{{Version: 1, FirstPosition: 98, LastPosition: 98}},
		Duplicate: true}
	back, err := a.decodeReply(k, a.encodeReply(res, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, res) {
		t.Errorf("result crossed as %+v, want %+v", back, res)
	}
	if _, err := a.decodeReply(k, a.encodeReply(Result{}, ErrStopped)); !errors.Is(err, ErrStopped) {
		t.Errorf("an error crossed as %v", err)
	}
}

// TestWireCommandUnknownType: a command of a type this member did not
// route is an *UnregisteredCommandError, as locally.
func TestWireCommandUnknownType(t *testing.T) {
	a, _ := mustWireApp(t)
	cmd := &Command{Payload: struct{ X int }{1}, AggregateType: "wire", AggregateID: "x"}
	if _, err := a.encodeCommand(t.Context(), cmd, nil); !errors.Is(err, ErrUnregisteredCommand) {
		t.Errorf("encode: %v, want ErrUnregisteredCommand", err)
	}
}

// TestClusterConfigValidate: what ClusterConfig.Validate refuses.
func TestClusterConfigValidate(t *testing.T) {
	p := (*fakeProvider)(nil)
	for _, tt := range []struct {
		cfg  ClusterConfig
		want string // in the error; "" for valid
	}{
		{ClusterConfig{Name: "c", Provider: p}, ""},
		{ClusterConfig{Name: "c", Provider: p, Port: 0, Host: "0.0.0.0", AdvertisedAddress: "10.0.0.7:8090"}, ""},
		{ClusterConfig{Provider: p}, "Name"},
		{ClusterConfig{Name: "c"}, "Provider"},
		{ClusterConfig{Name: "c", Provider: p, Port: 70000}, "Port"},
		{ClusterConfig{Name: "c", Provider: p, Host: "0.0.0.0"}, "AdvertisedAddress"},
		{ClusterConfig{Name: "c", Provider: p, AdvertisedAddress: "nohost"}, "AdvertisedAddress"},
		{ClusterConfig{Name: "c", Provider: p, AdvertisedAddress: "h:0"}, "AdvertisedAddress"},
	} {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want an error naming %q", tt.cfg, err, tt.want)
		}
	}
	if err := (Config{Store: memory.New(), Cluster: &ClusterConfig{}}).Validate(); err == nil {
		t.Error("Config.Validate accepts an invalid Cluster")
	}
}

// fakeProvider is a cluster provider for Validate, never started.
type fakeProvider struct{}

func (*fakeProvider) StartMember(*cluster.Cluster) error { return nil }
func (*fakeProvider) StartClient(*cluster.Cluster) error { return nil }
func (*fakeProvider) Shutdown(bool) error                { return nil }
