package actors_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
)

// Members: an aggregate whose events, snapshots and process state carry
// personal data.

type (
	JoinMember struct {
		ID         string
		Email, Bio string
		Age        int
	}
	ChangeBio struct{ ID, Bio string }
	// NoteMember makes the welcome process note the email it holds.
	NoteMember struct{ ID string }
	// PeekMember appends nothing.
	PeekMember struct{ ID string }

	MemberJoined struct {
		ID    string `json:"id" cohort:"subject"`
		Email string `json:"email" cohort:"personal"`
		Bio   string `json:"bio,omitempty" cohort:"personal"`
		Age   int    `json:"age" cohort:"personal"`
		Plan  string `json:"plan"`
	}
	BioChanged struct {
		ID  string `cohort:"subject"`
		Bio string `cohort:"personal"`
	}
	MemberNoted struct{ ID string }
)

// Member is the aggregate's state; its subject is the aggregate's id.
type Member struct {
	Email string `cohort:"personal"`
	Bio   string `cohort:"personal"`
	Age   int    `cohort:"personal"`
	Joins int
}

func (m *Member) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case JoinMember:
		return []any{MemberJoined{ID: c.ID, Email: c.Email, Bio: c.Bio, Age: c.Age, Plan: "free"}}, nil
	case ChangeBio:
		return []any{BioChanged(c)}, nil
	case NoteMember:
		return []any{MemberNoted(c)}, nil
	case PeekMember:
		return nil, nil
	}
	return nil, errors.New("unknown command")
}

func (m *Member) Apply(ev any) {
	switch e := ev.(type) {
	case MemberJoined:
		m.Email, m.Bio, m.Age = e.Email, e.Bio, e.Age
		m.Joins++
	case BioChanged:
		m.Bio = e.Bio
	}
}

// Welcome is a process per member that keeps the member's email.
type Welcome struct {
	Member string `cohort:"subject"`
	Email  string `cohort:"personal"`
	notes  *notes
}

func (w *Welcome) Handle(ev actors.Event) ([]any, error) {
	if _, ok := ev.Payload.(MemberNoted); ok {
		w.notes.add(w.Email)
	}
	return nil, nil
}

func (w *Welcome) Apply(ev any) {
	if e, ok := ev.(MemberJoined); ok {
		w.Member, w.Email = e.ID, e.Email
	}
}

// notes collects what welcome processes noted.
type notes struct {
	mu  sync.Mutex
	got []string
}

func (n *notes) add(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, s)
}

func (n *notes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got...)
}

// testMasterKey is a master key for tests.
var testMasterKey = bytes.Repeat([]byte{7}, actors.MasterKeySize)

// personalApp is what newPersonal registers besides the aggregate.
type personalApp struct {
	key     []byte
	handler *recorder // records the "members-seen" handler's events, if set
	replay  *recorder // records the "members-replay" handler's events, if set
	notes   *notes    // runs the welcome process, if set
}

// newPersonal returns an application of members on store, not started.
func newPersonal(t testing.TB, store actors.EventStore, m personalApp) *actors.App {
	t.Helper()
	app, err := actors.New(actors.Config{Store: store, DispatchTimeout: patience,
		Personal: actors.Personal{MasterKey: m.key}})
	must(t, err)
	must(t, app.Registry().Events(MemberJoined{}, BioChanged{}, MemberNoted{}))
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "member", SnapshotEvery: 2,
		New: func() actors.Aggregate { return &Member{} }}))
	must(t, actors.Route(app, "member", func(c JoinMember) string { return c.ID }))
	must(t, actors.Route(app, "member", func(c ChangeBio) string { return c.ID }))
	must(t, actors.Route(app, "member", func(c NoteMember) string { return c.ID }))
	must(t, actors.Route(app, "member", func(c PeekMember) string { return c.ID }))
	for name, r := range map[string]*recorder{"members-seen": m.handler, "members-replay": m.replay} {
		if r != nil {
			must(t, app.RegisterHandler(actors.HandlerConfig{Name: name, Handler: r.handler(),
				StartFrom: eventstore.Origin}))
		}
	}
	if m.notes != nil {
		must(t, app.RegisterProcessManager(actors.ProcessManagerConfig{
			Name: "welcome",
			New:  func() actors.ProcessManager { return &Welcome{notes: m.notes} },
			Interested: func(ev actors.Event) []actors.Interest {
				switch e := ev.Payload.(type) {
				case MemberJoined:
					return []actors.Interest{actors.StartProcess(e.ID)}
				case MemberNoted:
					return []actors.Interest{actors.ContinueProcess(e.ID)}
				}
				return nil
			},
		}))
	}
	return app
}

// startPersonal is newPersonal, started (and closed at cleanup).
func startPersonal(t testing.TB, store actors.EventStore, m personalApp) *actors.App {
	t.Helper()
	return actorstest.Start(t, newPersonal(t, store, m))
}

// memberState returns a member's state as its aggregate actor holds it.
func memberState(t testing.TB, app *actors.App, id string) *Member {
	t.Helper()
	res := dispatch(t, app, PeekMember{ID: id}, actors.WithReturning(actors.ReturnState))
	m, ok := actors.StateAs[*Member](res)
	if !ok {
		t.Fatalf("state of %s: %T", id, res.State)
	}
	return m
}
