package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/httpapi"
)

// conflictingStore is the event store, except that while armed it refuses
// every append to a stream named with prefix with a version conflict: as
// if other processes, not members of one cluster, won every race to write
// to it.
type conflictingStore struct {
	*postgres.Store
	prefix  string
	armed   atomic.Bool
	refused atomic.Int64
}

// Append refuses the append while armed, for the streams of prefix.
func (s *conflictingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if s.armed.Load() && strings.HasPrefix(stream, s.prefix) {
		s.refused.Add(1)
		return eventstore.AppendResult{}, &eventstore.VersionConflictError{Stream: stream, Expected: expected}
	}
	return s.Store.Append(ctx, stream, expected, events)
}

// TestConflictIs409: a write whose append keeps losing to concurrent
// writes, past the runtime's retries, is answered 409 with RealWorld's
// error body (not 500: nothing was written, and trying again is safe), and
// the same request succeeds once the writes stop racing it.
func TestConflictIs409(t *testing.T) {
	db := conduittest.NewDatabase(t)
	cfg := conduittest.Config(t, db)
	store := &conflictingStore{Store: cfg.Store.(*postgres.Store), prefix: blog.ArticleAggregate + "-"}
	cfg.Store = store
	app := conduittest.StartWith(t, cfg, nil)
	tokens, err := httpapi.NewTokens(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Config{App: app, Tokens: tokens, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &api{t: t, app: app, url: srv.URL + "/api", tokens: tokens}

	jake, jane := a.register("jake"), a.register("jane")
	slug := a.publish(jake, "Hot article")

	store.armed.Store(true)
	r := a.must(http.StatusConflict, "POST", "/articles/"+slug+"/favorite", jane.token, nil)
	store.armed.Store(false)
	if msg := errorsOf(t, r, "body"); !strings.Contains(msg, "try again") {
		t.Errorf("409's body: %s", r.raw)
	}
	if n := store.refused.Load(); n < 2 {
		t.Errorf("%d appends refused, want the first and the runtime's retries", n)
	}

	r = a.must(http.StatusOK, "POST", "/articles/"+slug+"/favorite", jane.token, nil)
	if field[float64](t, r.doc, "article", "favoritesCount") != 1 || !field[bool](t, r.doc, "article", "favorited") {
		t.Fatalf("favorite tried again after the 409: %s", r.raw)
	}
}
