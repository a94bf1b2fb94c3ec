package pgtest

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Option configures NewDatabase and MustPool.
type Option func(*options)

// options are NewDatabase's settings.
type options struct {
	template string // "" for an empty database
}

// FromTemplate makes NewDatabase clone the template registered under name
// (see RegisterTemplate) instead of the event store's.
func FromTemplate(name string) Option {
	return func(o *options) { o.template = name }
}

// Empty makes NewDatabase create an empty database instead of cloning the
// event store's template.
func Empty() Option {
	return func(o *options) { o.template = "" }
}

// NewDatabase creates a database for tb and returns its connection string.
// By default the database holds the event store's schema, migrated by
// postgres.Migrate into its default schema, ready for postgres.New; Empty
// and FromTemplate choose otherwise. The database is dropped at tb's
// cleanup, with any sessions still connected to it. It needs Main.
func NewDatabase(tb testing.TB, opts ...Option) string {
	tb.Helper()
	s := serverFor(tb)
	o := options{template: EventStoreTemplate}
	for _, opt := range opts {
		opt(&o)
	}
	name := databaseName(tb.Name())
	var err error
	if o.template == "" {
		err = s.create(tb.Context(), name, "")
	} else {
		err = s.clone(tb.Context(), name, o.template)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if err := s.drop(ctx, name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s.connString(name)
}

// MustPool creates a database as NewDatabase does and returns a pool
// connected to it. The pool is closed, and the database dropped, at tb's
// cleanup.
func MustPool(tb testing.TB, opts ...Option) *pgxpool.Pool {
	tb.Helper()
	return NewPool(tb, NewDatabase(tb, opts...))
}

// databaseName returns a fresh database name that mentions testName.
func databaseName(testName string) string {
	return "t_" + identPart(testName, 40) + "_" + strings.ToLower(rand.Text()[:10])
}

// identPart turns s into at most n lower-case letters, digits and
// underscores, for readable database names.
func identPart(s string, n int) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if b.Len() >= n {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// NewPool returns a pool connected to connString, closed at tb's cleanup.
// The cleanup fails tb if a connection is still acquired then.
func NewPool(tb testing.TB, connString string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), connString)
	if err == nil {
		if err = pool.Ping(tb.Context()); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(func() {
		closed := make(chan struct{})
		go func() {
			pool.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(poolCloseWait):
			tb.Errorf("pgtest: pool not closed after %v: a connection is still acquired (release it, or close rows)", poolCloseWait)
		}
	})
	return pool
}
