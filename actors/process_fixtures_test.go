package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// A transfer is requested on its own aggregate; the transfers process
// withdraws from one account, deposits to the other, and stops. The
// accounts' events are routed back to it by the "transfer" metadata that
// the process's commands carry on.

type (
	RequestTransfer struct {
		TransferID string
		From, To   string
		Amount     int
	}
	FailTransfer struct {
		TransferID string
		Reason     string
	}
	// InspectTransfer appends nothing.
	InspectTransfer   struct{ TransferID string }
	TransferRequested struct {
		TransferID string
		From, To   string
		Amount     int
	}
	TransferFailed struct {
		TransferID string
		Reason     string
	}
)

// TransferRecord is the transfer aggregate.
type TransferRecord struct {
	Requests int
	Failed   bool
}

func (r *TransferRecord) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case RequestTransfer:
		return []any{TransferRequested(c)}, nil
	case FailTransfer:
		return []any{TransferFailed(c)}, nil
	case InspectTransfer:
		return nil, nil
	}
	return nil, errors.New("unknown command")
}

func (r *TransferRecord) Apply(ev any) {
	switch ev.(type) {
	case TransferRequested:
		r.Requests++
	case TransferFailed:
		r.Failed = true
	}
}

// Transfer is the process.
type Transfer struct {
	ID       string
	From, To string
	Amount   int
	Steps    []string
}

func (p *Transfer) Handle(ev actors.Event) ([]any, error) {
	switch e := ev.Payload.(type) {
	case TransferRequested:
		return []any{Withdraw{ID: e.From, Amount: e.Amount}}, nil
	case Withdrawn:
		return []any{Deposit{ID: p.To, Amount: p.Amount}}, nil
	}
	return nil, nil
}

func (p *Transfer) Apply(ev any) {
	switch e := ev.(type) {
	case TransferRequested:
		p.ID, p.From, p.To, p.Amount = e.TransferID, e.From, e.To, e.Amount
		p.Steps = append(p.Steps, "requested")
	case Withdrawn:
		p.Steps = append(p.Steps, "withdrawn")
	}
}

// transferInterest routes the transfer's events; strict uses the strict
// forms, and keeps the instance after the deposit instead of stopping it.
func transferInterest(strict bool) func(ev actors.Event) []actors.Interest {
	start, cont := actors.StartProcess, actors.ContinueProcess
	if strict {
		start, cont = actors.StartProcessStrict, actors.ContinueProcessStrict
	}
	return func(ev actors.Event) []actors.Interest {
		switch e := ev.Payload.(type) {
		case TransferRequested:
			return []actors.Interest{start(e.TransferID)}
		case Withdrawn:
			if id := ev.Metadata["transfer"]; id != "" {
				return []actors.Interest{cont(id)}
			}
		case Deposited:
			if id := ev.Metadata["transfer"]; id != "" && strict {
				return []actors.Interest{cont(id)}
			} else if id != "" {
				return []actors.Interest{actors.StopProcess(id)}
			}
		}
		return nil
	}
}

// newTransfers returns a bank with transfers, the process registered with
// cfg (New and Interested default to the transfer's).
func newTransfers(t testing.TB, store actors.EventStore, cfg actors.ProcessManagerConfig, opts ...bankOption) *actors.App {
	t.Helper()
	app := newBank(t, store, opts...)
	registerTransfers(t, app, cfg)
	return app
}

// registerTransfers registers on a bank the transfers, the process
// registered with cfg (New and Interested default to the transfer's).
func registerTransfers(t testing.TB, app *actors.App, cfg actors.ProcessManagerConfig) {
	t.Helper()
	must(t, actors.RegisterEvent[TransferRequested](app.Registry(), "bank.TransferRequested"))
	must(t, actors.RegisterEvent[TransferFailed](app.Registry(), "bank.TransferFailed"))
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "transfer", New: func() actors.Aggregate { return &TransferRecord{} }}))
	must(t, actors.Route(app, "transfer", func(c RequestTransfer) string { return c.TransferID }))
	must(t, actors.Route(app, "transfer", func(c FailTransfer) string { return c.TransferID }))
	must(t, actors.Route(app, "transfer", func(c InspectTransfer) string { return c.TransferID }))
	if cfg.Name == "" {
		cfg.Name = "transfers"
	}
	if cfg.New == nil {
		cfg.New = func() actors.ProcessManager { return &Transfer{} }
	}
	if cfg.Interested == nil {
		cfg.Interested = transferInterest(false)
	}
	must(t, app.RegisterProcessManager(cfg))
}

// requestTransfer requests a transfer, with the metadata that routes the
// accounts' events back to it.
func requestTransfer(t testing.TB, app *actors.App, id, from, to string, amount int, opts ...actors.DispatchOption) actors.Result {
	t.Helper()
	opts = append(opts, actors.WithMetadata(actors.Metadata{"transfer": id}))
	return dispatch(t, app, RequestTransfer{TransferID: id, From: from, To: to, Amount: amount}, opts...)
}

// processState reads a process instance's persisted state into v; false
// when there is none.
func processState(t testing.TB, store actors.EventStore, pm, id string, v any) bool {
	t.Helper()
	snap, err := store.ReadSnapshot(context.Background(), "$process-"+pm+"-"+id)
	if errors.Is(err, eventstore.ErrSnapshotNotFound) {
		return false
	}
	must(t, err)
	var st struct {
		Last  int64
		State json.RawMessage
	}
	must(t, json.Unmarshal(snap.Data, &st))
	must(t, json.Unmarshal(st.State, v))
	return true
}

// allEvents reads $all.
func allEvents(t testing.TB, store actors.EventStore) []eventstore.RecordedEvent {
	t.Helper()
	var evs []eventstore.RecordedEvent
	for ev, err := range eventstore.AllEvents(context.Background(), store.(eventstore.AllReader), 0, 0) {
		must(t, err)
		evs = append(evs, ev)
	}
	return evs
}

// Tally counts the deposits to an account, and keeps their amounts in the
// order it applied them, for tests of process state.
type Tally struct {
	Count   int
	Amounts []int
}

func (p *Tally) Handle(actors.Event) ([]any, error) { return nil, nil }
func (p *Tally) Apply(ev any) {
	p.Count++
	if d, ok := ev.(Deposited); ok {
		p.Amounts = append(p.Amounts, d.Amount)
	}
}

// tallyInterest continues the account's tally on each deposit and stops it
// on a withdrawal.
func tallyInterest(ev actors.Event) []actors.Interest {
	switch e := ev.Payload.(type) {
	case Deposited:
		return []actors.Interest{actors.ContinueProcess(e.ID)}
	case Withdrawn:
		return []actors.Interest{actors.StopProcess(e.ID)}
	}
	return nil
}
