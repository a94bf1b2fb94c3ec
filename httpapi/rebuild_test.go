package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/projectors"
)

// renameLoad renames users over HTTP and reads each rename back with the
// next request, from several goroutines; it counts the renames and the
// failures (a request that failed or a read that missed the write before
// it), keeping the first few failures.
type renameLoad struct {
	url            string
	renames, reads atomic.Int64
	failures       atomic.Int64
	mu             sync.Mutex
	first          []string
	stop           chan struct{}
	wg             sync.WaitGroup
	maxPerWorker   int
	readerName     string // a user nobody renames, read without pause
}

func (l *renameLoad) fail(format string, args ...any) {
	l.failures.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.first) < 5 {
		l.first = append(l.first, fmt.Sprintf(format, args...))
	}
}

// call sends a request and decodes its JSON answer into out (if not nil);
// it returns the status, or an error for a transport failure.
func (l *renameLoad) call(method, path, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.url+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("%w: %q", err, data)
		}
	}
	return res.StatusCode, nil
}

// renamer renames u until stop closes or it made maxPerWorker renames,
// checking after each that the profile under the new name shows the new
// bio and that the old name is gone.
func (l *renameLoad) renamer(worker int, u user) {
	defer l.wg.Done()
	old := u.name
	for i := range l.maxPerWorker {
		select {
		case <-l.stop:
			return
		default:
		}
		name, bio := fmt.Sprintf("w%d_%d", worker, i), fmt.Sprintf("bio %d of w%d", i, worker)
		code, err := l.call("PUT", "/user", u.token, map[string]any{"user": map[string]any{"username": name, "bio": bio}}, nil)
		if err != nil || code != http.StatusOK {
			l.fail("rename %s to %s: %d, %v", old, name, code, err)
			continue
		}
		l.renames.Add(1)
		var p struct {
			Profile struct{ Username, Bio string }
		}
		code, err = l.call("GET", "/profiles/"+name, "", nil, &p)
		if err != nil || code != http.StatusOK || p.Profile.Username != name || p.Profile.Bio != bio {
			l.fail("read after renaming %s to %s: %d %+v, %v", old, name, code, p, err)
		}
		if code, err := l.call("GET", "/profiles/"+old, "", nil, nil); err != nil || code != http.StatusNotFound {
			l.fail("the old name %s after the rename to %s: %d, %v", old, name, code, err)
		}
		l.reads.Add(2)
		old = name
	}
}

// reader reads the profile of a user nobody renames until stop closes: it
// must always be there, whichever generation serves.
func (l *renameLoad) reader() {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		var p struct {
			Profile struct{ Username string }
		}
		code, err := l.call("GET", "/profiles/"+l.readerName, "", nil, &p)
		if err != nil || code != http.StatusOK || p.Profile.Username != l.readerName {
			l.fail("read of %s: %d %+v, %v", l.readerName, code, p, err)
		}
		l.reads.Add(1)
	}
}

// waitRenames waits until the load made n renames or its renamers ended.
func (l *renameLoad) waitRenames(t *testing.T, n int64, renamersDone <-chan struct{}) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for l.renames.Load() < n {
		select {
		case <-renamersDone:
			return
		case <-deadline:
			t.Fatalf("the load made %d renames in 2 minutes, waiting for %d", l.renames.Load(), n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// dumpTables returns the rows of the read model's tables, sorted, for
// comparing; projected_at, the time a row was written, is left out.
func dumpTables(t *testing.T, db *pgxpool.Pool, tables []string) string {
	t.Helper()
	var out string
	for _, table := range tables {
		var s string
		err := db.QueryRow(context.Background(), `SELECT coalesce(string_agg(j::text, E'\n' ORDER BY j::text), '')
			FROM (SELECT to_jsonb(r) - 'projected_at' AS j FROM `+
			pgx.Identifier{projectors.DefaultSchema, table}.Sanitize()+` r) rows`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		out += table + ":\n" + s + "\n"
	}
	return out
}

// TestRebuildUsersOnlineUnderHTTPLoad: while users rename themselves over
// HTTP (a few workers, a few hundred renames) and a reader reads a
// profile nobody renames, the users projection is rebuilt online three
// times: no request fails, every rename shows in the read that follows
// it, the reader always finds its profile, and the rebuilt projection
// equals one rebuilt offline from scratch.
func TestRebuildUsersOnlineUnderHTTPLoad(t *testing.T) {
	const (
		workers      = 3
		maxPerWorker = 150
		rebuilds     = 3
	)
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	a := newAPIOn(t, db, nil, nil)
	load := &renameLoad{url: a.url, stop: make(chan struct{}), maxPerWorker: maxPerWorker, readerName: a.register("still").name}
	var users []user
	for i := range workers {
		users = append(users, a.register(fmt.Sprint("start", i)))
	}

	renamersDone := make(chan struct{})
	var renamers sync.WaitGroup
	for i, u := range users {
		renamers.Add(1)
		load.wg.Add(1)
		go func() {
			defer renamers.Done()
			load.renamer(i, u)
		}()
	}
	go func() {
		renamers.Wait()
		close(renamersDone)
	}()
	load.wg.Add(1)
	go load.reader()

	var before int64
	if err := db.QueryRow(ctx, "SELECT generation FROM conduit.projections WHERE name = 'users'").Scan(&before); err != nil {
		t.Fatal(err)
	}
	var during []int64 // renames made while each rebuild ran
	for range rebuilds {
		load.waitRenames(t, load.renames.Load()+30, renamersDone)
		start := load.renames.Load()
		if _, err := a.app.RebuildOnline(ctx, projectors.UsersName, nil); err != nil {
			t.Fatalf("online rebuild: %v", err)
		}
		during = append(during, load.renames.Load()-start)
	}
	load.waitRenames(t, load.renames.Load()+30, renamersDone) // renames go on after the last switch
	close(load.stop)
	load.wg.Wait()

	t.Logf("%d renames and %d reads; renames during each rebuild: %v", load.renames.Load(), load.reads.Load(), during)
	if n := load.failures.Load(); n > 0 {
		t.Fatalf("%d requests failed or missed the write before them, first: %v", n, load.first)
	}
	var after int64
	if err := db.QueryRow(ctx, "SELECT generation FROM conduit.projections WHERE name = 'users'").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before+rebuilds {
		t.Fatalf("users generation %d after %d rebuilds from %d", after, rebuilds, before)
	}

	// The rebuilt generation against a rebuild from scratch.
	tables := projectors.NewUsersProjection(projectors.DefaultSchema).Tables()
	var last int64
	if err := db.QueryRow(ctx, "SELECT max(position) FROM cohort.events").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if err := a.app.Runtime().WaitFor(ctx, projectors.UsersName, last); err != nil {
		t.Fatal(err)
	}
	online := dumpTables(t, db, tables)
	if err := a.app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	offline := conduittest.Start(t, db, func(app *conduit.App) error { return app.Rebuild(ctx, projectors.UsersName) })
	if err := offline.Runtime().WaitFor(ctx, projectors.UsersName, last); err != nil {
		t.Fatal(err)
	}
	if got := dumpTables(t, db, tables); got != online {
		t.Fatalf("the users projection rebuilt online differs from one rebuilt from scratch:\nonline:\n%s\nfrom scratch:\n%s", online, got)
	}
}
