package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// TestCRUDServer checks the baseline's routes: registration, a rename and
// its profile, uniqueness under a taken name, authentication.
func TestCRUDServer(t *testing.T) {
	cfg, err := ParseConfig([]string{"-hash-memory", "64", "-hash-time", "1", "-quiet"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = pgtest.NewDatabase(t, pgtest.Empty())
	m := NewMain(cfg, io.Discard, io.Discard)
	ctx := t.Context()
	if m.srv, err = startServer(ctx, m); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	crud, base, err := m.startCRUDServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := crud.close(); err != nil {
			t.Error(err)
		}
	}()
	c := newAPIClient(base, 1)
	defer c.http.CloseIdleConnections()
	register := func(name string) string {
		var in userDoc
		in.User.Username, in.User.Email, in.User.Password = name, name+"@x.example", "pw"
		out, err := c.call(ctx, http.MethodPost, "/users", "", in, http.StatusCreated)
		if err != nil || out.User.Token == "" || out.User.Username != name {
			t.Fatalf("register %s: %+v %v", name, out, err)
		}
		return out.User.Token
	}
	register("ann")
	bob := register("bob")
	probe := newReadProbe(base, 1)
	for _, tc := range []struct {
		name, token, username string
		status                int
	}{
		{"taken username", bob, "ann", http.StatusUnprocessableEntity},
		{"bad token", bob + "x", "bobby", http.StatusUnauthorized},
		{"rename", bob, "bobby", http.StatusOK},
	} {
		var in userDoc
		in.User.Username = tc.username
		out, err := c.call(ctx, http.MethodPut, "/user", tc.token, in, tc.status)
		if err != nil || (tc.status == http.StatusOK && (out.User.Username != tc.username || out.User.Token != bob)) {
			t.Errorf("%s: %+v %v", tc.name, out, err)
		}
	}
	for name, want := range map[string]int{"ann": 200, "bobby": 200, "bob": 404} {
		if status, err := probe.get(ctx, "/profiles/"+name); err != nil || status != want {
			t.Errorf("GET /profiles/%s: %d %v, want %d", name, status, err, want)
		}
	}
}

// TestReadProbe checks that the reader measures when a rename shows and
// counts a GET after the rename's answer that did not show it.
func TestReadProbe(t *testing.T) {
	var mu sync.Mutex
	visible := map[string]bool{}
	second := make(chan struct{}) // closed when the reader looks for the second rename
	var looked sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/profiles/u-r2" {
			// The second rename never shows: only the first is a sample.
			looked.Do(func() { close(second) })
		}
		if !visible[r.URL.Path] {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	p := newReadProbe(srv.URL, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx)
	}()
	// Answered before it shows: stale reads.
	p.sent(0, 1, "u-r1").ack(p)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	visible["/profiles/u-r1"] = true
	mu.Unlock()
	// Once the reader looks for the next rename, it is done with the first.
	p.sent(0, 2, "u-r2")
	<-second
	cancel()
	<-done
	got := p.result()
	if got.Samples != 1 || got.StaleAfterAck != 1 || got.P50 < 50*time.Millisecond || got.Errors != 0 {
		t.Fatalf("read lag %+v", got)
	}
}

func TestRenameStatements(t *testing.T) {
	// 10 GETs alone ran the profile query 10 times and a poll 3 times.
	perGet := profileReads(statementCalls{"profile": 10, "poll": 3}, 10)
	if len(perGet) != 1 || perGet["profile"] != 1 {
		t.Fatalf("per GET %v", perGet)
	}
	// 4 renames and 6 GETs.
	st := renameStatements(statementCalls{"profile": 6, "update": 4, "begin": 8, "poll": 2}, 4, 6, perGet)
	if st.Calls != 20 || st.ReadCalls != 6 || st.PerRename != 3.5 || st.PerRead != 1 {
		t.Fatalf("statements %+v", st)
	}
	if len(st.Top) != 3 || st.Top[0].Query != "begin" || st.Top[0].PerRename != 2 || st.Top[2].Query != "poll" {
		t.Fatalf("top %+v", st.Top)
	}
}
