package actors_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
	"github.com/cohort-dev/cohort/internal/pglocal"
)

const (
	annEmail = "ann@example.com"
	annBio   = "Ann keeps bees in Lisbon"
	bobEmail = "bob@example.com"
)

// rawContains reports whether any event data or snapshot of the streams
// and sources holds s as it is stored.
func rawContains(t *testing.T, store actors.EventStore, s string, streams ...string) bool {
	t.Helper()
	for _, id := range streams {
		evs, err := store.ReadStream(t.Context(), id, eventstore.ReadOptions{})
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if bytes.Contains(ev.Data, []byte(s)) {
				return true
			}
		}
		snap, err := store.ReadSnapshot(t.Context(), id)
		if err != nil && !errors.Is(err, eventstore.ErrSnapshotNotFound) {
			t.Fatal(err)
		}
		if bytes.Contains(snap.Data, []byte(s)) {
			return true
		}
	}
	return false
}

// TestPersonalForget: personal fields are stored encrypted in events,
// snapshots and process states, and read in the clear; after Forget they
// read as placeholders everywhere (another process's cached key is
// dropped), the aggregate loads from its snapshot and its events, a
// handler replaying from the origin and the process manager see the
// placeholders, and new data for the subject is stored as placeholders.
func TestPersonalForget(t *testing.T) {
	actorstest.SharedStores(t, 2, func(t *testing.T, stores []actors.EventStore) {
		ctx := t.Context()
		seen, noted := &recorder{}, &notes{}
		app1 := startPersonal(t, stores[0], personalApp{key: testMasterKey, handler: seen, notes: noted})
		dispatch(t, app1, JoinMember{ID: "m1", Email: annEmail, Bio: annBio, Age: 42})
		dispatch(t, app1, ChangeBio{ID: "m1", Bio: annBio + " and cats"}) // a snapshot at version 2
		dispatch(t, app1, JoinMember{ID: "m2", Email: bobEmail, Age: 7})
		dispatch(t, app1, JoinMember{ID: "m3", Email: "m3@example.com", Age: 3})
		eventually(t, patience, "handler and process", func() bool { return seen.len() == 4 })
		dispatch(t, app1, NoteMember{ID: "m1"})
		eventually(t, patience, "note", func() bool { return len(noted.all()) == 1 })
		if got := noted.all()[0]; got != annEmail {
			t.Fatalf("process noted %q before Forget, want %q", got, annEmail)
		}
		if ev := seen.all()[0].Payload.(MemberJoined); ev.Email != annEmail || ev.Bio != annBio || ev.Age != 42 || ev.Plan != "free" {
			t.Fatalf("handler saw %+v", ev)
		}
		streams := []string{"member-m1", "$process-welcome-m1"}
		for _, s := range []string{annEmail, annBio, `"age":42`, `"age": 42`} {
			if rawContains(t, stores[0], s, streams...) {
				t.Fatalf("stored data holds %q in the clear", s)
			}
		}
		if !rawContains(t, stores[0], `"free"`, streams...) {
			t.Fatal("a field that is not personal is not stored in the clear")
		}
		if snap, err := stores[0].ReadSnapshot(ctx, "member-m1"); err != nil || snap.SourceVersion != 2 {
			t.Fatalf("snapshot of m1: version %d, %v", snap.SourceVersion, err)
		}

		// Another process has m1's key cached.
		app2 := startPersonal(t, stores[1], personalApp{key: testMasterKey})
		first, err := stores[1].ReadStream(ctx, "member-m1", eventstore.ReadOptions{Count: 1})
		must(t, err)
		decoded := func() MemberJoined {
			ev, err := actors.DecodeEvent(app2.Registry(), first[0])
			must(t, err)
			return ev.Payload.(MemberJoined)
		}
		if got := decoded(); got.Email != annEmail {
			t.Fatalf("other process decodes %+v", got)
		}

		must(t, app1.Forget(ctx, "m1"))
		must(t, app1.Forget(ctx, "m3"))
		must(t, app1.Forget(ctx, "m1")) // idempotent
		eventually(t, patience, "other process drops the key", func() bool { return decoded().Email == actors.ForgottenPlaceholder })
		want := MemberJoined{ID: "m1", Email: actors.ForgottenPlaceholder, Bio: actors.ForgottenPlaceholder, Plan: "free"}
		if got := decoded(); got != want {
			t.Fatalf("after Forget: %+v, want %+v", got, want)
		}
		must(t, app1.Close(ctx)) // its live aggregates and processes hold the values

		replay := &recorder{}
		app3 := startPersonal(t, stores[1], personalApp{key: testMasterKey, replay: replay, notes: noted})
		// m1 loads from its snapshot, m3 from its event, m2 is intact.
		if got := *memberState(t, app3, "m1"); got != (Member{Email: actors.ForgottenPlaceholder, Bio: actors.ForgottenPlaceholder, Joins: 1}) {
			t.Fatalf("m1 after Forget: %+v", got)
		}
		if got := *memberState(t, app3, "m3"); got != (Member{Email: actors.ForgottenPlaceholder, Joins: 1}) {
			t.Fatalf("m3 after Forget: %+v", got)
		}
		if got := *memberState(t, app3, "m2"); got != (Member{Email: bobEmail, Age: 7, Joins: 1}) {
			t.Fatalf("m2: %+v", got)
		}
		eventually(t, patience, "replay", func() bool { return replay.len() == 5 })
		for _, ev := range replay.all() {
			switch e := ev.Payload.(type) {
			case MemberJoined:
				if forgotten := e.ID != "m2"; forgotten != (e.Email == actors.ForgottenPlaceholder) {
					t.Fatalf("replayed %+v", e)
				}
			case BioChanged:
				if e.Bio != actors.ForgottenPlaceholder {
					t.Fatalf("replayed %+v", e)
				}
			}
		}
		dispatch(t, app3, NoteMember{ID: "m1"})
		eventually(t, patience, "note after Forget", func() bool { return len(noted.all()) == 2 })
		if got := noted.all()[1]; got != actors.ForgottenPlaceholder {
			t.Fatalf("process noted %q after Forget", got)
		}

		// New data of a forgotten subject is stored as the placeholder.
		dispatch(t, app3, ChangeBio{ID: "m1", Bio: "a new bio"})
		if rawContains(t, stores[1], "a new bio", "member-m1") {
			t.Fatal("new personal data of a forgotten subject is stored")
		}
	})
}

// TestPersonalMasterKey: an application with personal data starts only
// with the master key the stored keys were wrapped with.
func TestPersonalMasterKey(t *testing.T) {
	actorstest.Stores(t, func(t *testing.T, store actors.EventStore) {
		startPersonal(t, store, personalApp{key: testMasterKey})

		for name, key := range map[string][]byte{"wrong": bytes.Repeat([]byte{8}, actors.MasterKeySize), "missing": nil} {
			err := newPersonal(t, store, personalApp{key: key}).Start(t.Context())
			var mk *actors.MasterKeyError
			if !errors.Is(err, actors.ErrMasterKey) || !errors.As(err, &mk) {
				t.Fatalf("%s master key: start: %v, want a *MasterKeyError", name, err)
			}
		}
		_, err := actors.New(actors.Config{Store: store, Personal: actors.Personal{MasterKey: []byte("short")}})
		if !errors.Is(err, actors.ErrMasterKey) {
			t.Fatalf("a short master key: %v", err)
		}
		// Without personal data, no key is needed.
		actorstest.Start(t, newBank(t, store))
	})
}

// TestPersonalNoKeyStore: a master key with a store that keeps no keys
// is refused.
func TestPersonalNoKeyStore(t *testing.T) {
	_, err := actors.New(actors.Config{Store: struct{ actors.EventStore }{memory.New()},
		Personal: actors.Personal{MasterKey: testMasterKey}})
	if err == nil {
		t.Fatal("New with a master key and no key store: no error")
	}
}

// TestPersonalUnreadableKey: a data key that the master key does not
// unwrap fails the event's decoding; it is not replaced.
func TestPersonalUnreadableKey(t *testing.T) {
	store := memory.New()
	app := startPersonal(t, store, personalApp{key: testMasterKey})
	dispatch(t, app, JoinMember{ID: "m1", Email: annEmail})
	evs, err := store.ReadStream(t.Context(), "member-m1", eventstore.ReadOptions{})
	must(t, err)

	other := memory.New() // the same event, with another key ring's key
	app2 := startPersonal(t, other, personalApp{key: testMasterKey})
	_, err = other.CreateKey(t.Context(), "m1", []byte{1, 2, 3})
	must(t, err)
	_, err = actors.DecodeEvent(app2.Registry(), evs[0])
	if !errors.Is(err, actors.ErrDataKey) {
		t.Fatalf("decode with an unreadable key: %v, want ErrDataKey", err)
	}
	if k, err := other.Key(t.Context(), "m1"); err != nil || !bytes.Equal(k, []byte{1, 2, 3}) {
		t.Fatalf("the unreadable key was replaced: %v, %v", k, err)
	}
}

// TestPersonalUpcaster: an upcaster sees a stored event's personal
// fields decrypted.
func TestPersonalUpcaster(t *testing.T) {
	store := memory.New()
	app := newPersonal(t, store, personalApp{key: testMasterKey})
	name, err := app.Registry().Name(MemberJoined{})
	must(t, err)
	seen := make(chan []byte, 1)
	must(t, app.Registry().RegisterEventUpcaster(name, func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
		seen <- bytes.Clone(ev.Data)
		return []actors.StoredEvent{ev}, nil
	}))
	actorstest.Start(t, app)
	dispatch(t, app, JoinMember{ID: "m1", Email: annEmail})
	evs, err := store.ReadStream(t.Context(), "member-m1", eventstore.ReadOptions{})
	must(t, err)
	if _, err := actors.DecodeEvent(app.Registry(), evs[0]); err != nil {
		t.Fatal(err)
	}
	if data := <-seen; !bytes.Contains(data, []byte(annEmail)) {
		t.Fatalf("the upcaster saw %s", data)
	}
}

// TestPersonalRegistration: marks are checked when a type is registered.
func TestPersonalRegistration(t *testing.T) {
	type (
		noSubject struct {
			Email string `cohort:"personal"`
		}
		twoSubjects struct {
			A string `cohort:"subject"`
			B string `cohort:"subject"`
			E string `cohort:"personal"`
		}
		intSubject struct {
			ID int    `cohort:"subject"`
			E  string `cohort:"personal"`
		}
		unknownTag struct {
			ID string `cohort:"secret"`
		}
		skipped struct {
			ID string `cohort:"subject"`
			E  string `json:"-" cohort:"personal"`
		}
		Inner struct {
			E string `cohort:"personal"`
		}
		embedded struct {
			ID string `cohort:"subject"`
			Inner
		}
		embeddedNoSubject struct{ Inner }
	)
	for _, tc := range []struct {
		name string
		ev   any
		ok   bool
	}{
		{"no subject", noSubject{}, false},
		{"two subjects", twoSubjects{}, false},
		{"int subject", intSubject{}, false},
		{"unknown tag", unknownTag{}, false},
		{"json skipped", skipped{}, false},
		{"embedded", embedded{}, true},
		{"embedded without subject", embeddedNoSubject{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := actors.NewRegistry().Events(tc.ev)
			if (err == nil) != tc.ok {
				t.Fatalf("Events: %v", err)
			}
			err = actors.RegisterEvent[noSubject](actors.NewRegistry(), "x")
			if err == nil {
				t.Fatal("RegisterEvent of personal data without a subject: no error")
			}
		})
	}
	app, err := actors.New(actors.Config{Store: memory.New()})
	must(t, err)
	// An aggregate state's subject is its id; a process state needs one.
	must(t, app.RegisterAggregate(actors.AggregateType{Name: "member", New: func() actors.Aggregate { return &Member{} }}))
	err = app.RegisterProcessManager(actors.ProcessManagerConfig{Name: "p",
		New:        func() actors.ProcessManager { return &noSubjectProcess{} },
		Interested: func(actors.Event) []actors.Interest { return nil }})
	if err == nil {
		t.Fatal("a process state with personal data and no subject: no error")
	}
}

type noSubjectProcess struct {
	Email string `cohort:"personal"`
}

func (*noSubjectProcess) Handle(actors.Event) ([]any, error) { return nil, nil }
func (*noSubjectProcess) Apply(any)                          {}

// TestPersonalPgDump: after Forget, a dump of the whole database holds
// the subject's email and bio in no form a grep finds (plain, JSON-escaped
// or base64), while another subject's stay readable through the runtime.
func TestPersonalPgDump(t *testing.T) {
	bin, err := pglocal.FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	conn := actorstest.PostgresDatabase(t)
	store := actorstest.PostgresStore(t, conn)
	app := startPersonal(t, store, personalApp{key: testMasterKey, notes: &notes{}})
	dispatch(t, app, JoinMember{ID: "m1", Email: annEmail, Bio: annBio, Age: 42})
	dispatch(t, app, ChangeBio{ID: "m1", Bio: annBio}) // and a snapshot
	dispatch(t, app, JoinMember{ID: "m2", Email: bobEmail})
	must(t, app.Forget(t.Context(), "m1"))

	dump, err := exec.CommandContext(t.Context(), filepath.Join(bin, "pg_dump"), "--dbname="+conn).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	for _, secret := range []string{annEmail, annBio, "ann@", "keeps bees"} {
		for _, form := range greppable(secret) {
			if bytes.Contains(dump, []byte(form)) {
				t.Fatalf("the dump holds %q (as %q)", secret, form)
			}
		}
	}
	if !bytes.Contains(dump, []byte(actors.ForgottenPlaceholder)) && !bytes.Contains(dump, []byte("cohort:pd1:")) {
		t.Fatal("the dump holds no sealed fields: not the right database?")
	}
	if got := memberState(t, app, "m2").Email; got != bobEmail {
		t.Fatalf("m2's email: %q", got)
	}
}

// greppable returns forms of s a grep of a dump would find: as is,
// lower case, JSON-escaped, hex (bytea) and base64 at every alignment
// (less the characters that depend on what surrounds it).
func greppable(s string) []string {
	forms := []string{s, strings.ToLower(s), strings.ReplaceAll(s, "@", `\u0040`), hex.EncodeToString([]byte(s))}
	for skip := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			if b := enc.EncodeToString([]byte(s[skip:])); len(b) > 8 {
				forms = append(forms, b[:len(b)-4])
			}
		}
	}
	return forms
}
