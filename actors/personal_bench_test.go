package actors_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// A rename, as Conduit's change of email: the event carries the new and
// the previous value, personal or not.
type (
	Rename        struct{ ID, Name string }
	RenamedPlain  struct{ ID, Name, Previous string }
	RenamedSealed struct {
		ID       string `cohort:"subject"`
		Name     string `cohort:"personal"`
		Previous string `cohort:"personal"`
	}
)

// renamer is the rename benchmark's aggregate; sealed says which event
// it appends.
type renamer struct {
	Name   string
	sealed bool
}

func (r *renamer) Execute(cmd any) ([]any, error) {
	c := cmd.(Rename)
	if r.sealed {
		return []any{RenamedSealed{ID: c.ID, Name: c.Name, Previous: r.Name}}, nil
	}
	return []any{RenamedPlain{ID: c.ID, Name: c.Name, Previous: r.Name}}, nil
}

func (r *renamer) Apply(ev any) {
	switch e := ev.(type) {
	case RenamedPlain:
		r.Name = e.Name
	case RenamedSealed:
		r.Name = e.Name
	}
}

// BenchmarkPersonalData: 10 concurrent dispatchers rename 1,000
// aggregates in memory, with the event's two values plain and with them
// personal (encrypted with the aggregate's key, cached), on PostgreSQL;
// the encryption's cost is the difference.
func BenchmarkPersonalData(b *testing.B) {
	const workers, aggregates = 10, 1000
	conn := actorstest.PostgresDatabase(b)
	ctx := context.Background()
	for _, sealed := range []bool{false, true} {
		name, event, cfg := "plain", any(RenamedPlain{}), actors.Config{}
		if sealed {
			name, event, cfg.Personal.MasterKey = "encrypted", RenamedSealed{}, testMasterKey
		}
		b.Run(name, func(b *testing.B) {
			cfg.Store = actorstest.PostgresStore(b, conn)
			app, err := actors.New(cfg)
			must(b, err)
			must(b, app.Registry().Events(event))
			must(b, app.RegisterAggregate(actors.AggregateType{Name: "renamer", StreamPrefix: name + "-",
				New: func() actors.Aggregate { return &renamer{sealed: sealed} }}))
			must(b, actors.Route(app, "renamer", func(c Rename) string { return c.ID }))
			actorstest.Start(b, app)
			for i := range aggregates {
				actorstest.Dispatch(b, app, Rename{ID: strconv.Itoa(i), Name: "first@example.com"})
			}
			b.ResetTimer()
			runWorkers(b, workers, aggregates, b.N, func(_, a int) error {
				_, err := app.Dispatch(ctx, Rename{ID: strconv.Itoa(a), Name: "user" + strconv.Itoa(a) + "@example.com"})
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
		})
	}
}

// BenchmarkPersonalCodec: the CPU cost alone of encoding a rename's event
// and decoding it back, plain and encrypted (the key cached).
func BenchmarkPersonalCodec(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name, event := "plain", any(RenamedPlain{ID: "u1", Name: "new@example.com", Previous: "old@example.com"})
		cfg := actors.Config{Store: memory.New()}
		if sealed {
			name, cfg.Personal.MasterKey = "encrypted", testMasterKey
			event = RenamedSealed{ID: "u1", Name: "new@example.com", Previous: "old@example.com"}
		}
		b.Run(name, func(b *testing.B) {
			app, err := actors.New(cfg)
			must(b, err)
			must(b, app.Registry().Events(event))
			actorstest.Start(b, app)
			for b.Loop() {
				typ, data, err := app.Registry().Encode(event)
				must(b, err)
				if _, err := actors.DecodeEvent(app.Registry(), eventstore.RecordedEvent{Type: typ, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
