package pgtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// EventStoreTemplate is the name of the template that NewDatabase clones
// by default: a database migrated by postgres.Migrate into the event
// store's default schema. It is registered by the package itself.
const EventStoreTemplate = "cohort-eventstore"

// migrateEventStore is EventStoreTemplate's setup.
func migrateEventStore(ctx context.Context, connString string) error {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, "")
}

// SetupFunc fills a template database, given its connection string. It
// must close the connections it opens.
type SetupFunc func(ctx context.Context, connString string) error

// template is a database that NewDatabase clones.
type template struct {
	name  string
	setup SetupFunc
	dup   bool // registered more than once

	once sync.Once
	db   string // the template database, once created
	err  error

	// cloneMu serializes clones: PostgreSQL refuses to copy a database
	// that another session is connected to.
	cloneMu sync.Mutex
}

// RegisterTemplate registers setup under name, for a schema other than the
// event store's (an application's read models, say). The first NewDatabase with
// FromTemplate(name) creates a template database, runs setup on it once
// per test binary, and then clones it; later calls only clone it. If setup
// fails, every test that asks for the template fails. Register templates
// before the tests that use them run, for example in TestMain before Main;
// registering a name twice, or EventStoreTemplate, makes the tests that
// use it fail.
func RegisterTemplate(name string, setup SetupFunc) {
	mu.Lock()
	defer mu.Unlock()
	if t, ok := templates[name]; ok {
		t.dup = true
		return
	}
	templates[name] = &template{name: name, setup: setup}
}

// clone creates database name as a copy of the named template, creating
// the template first if needed.
func (s *server) clone(ctx context.Context, name, templateName string) error {
	mu.Lock()
	t := templates[templateName]
	mu.Unlock()
	switch {
	case t == nil:
		return fmt.Errorf("template %q is not registered: call RegisterTemplate first", templateName)
	case t.dup:
		return fmt.Errorf("template %q is registered more than once", templateName)
	case t.setup == nil:
		return fmt.Errorf("template %q has a nil setup function", templateName)
	}
	t.once.Do(func() { t.db, t.err = s.makeTemplate(t) })
	if t.err != nil {
		return t.err
	}
	t.cloneMu.Lock()
	defer t.cloneMu.Unlock()
	return s.create(ctx, name, t.db)
}

// makeTemplate creates and fills t's database and closes it to
// connections, so that cloning it does not race with a straggling session.
// It does not depend on any test's context: the template outlives the test
// that happens to create it.
func (s *server) makeTemplate(t *template) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), templateTimeout)
	defer cancel()
	db := "tmpl_" + identPart(t.name, 40) + "_" + s.runID
	if err := s.create(ctx, db, ""); err != nil {
		return "", fmt.Errorf("template %q: %w", t.name, err)
	}
	if err := t.setup(ctx, s.connString(db)); err != nil {
		return db, fmt.Errorf("template %q: setup: %w", t.name, err)
	}
	if err := s.exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return db, fmt.Errorf("template %q: %w", t.name, err)
	}
	if err := s.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db); err != nil {
		return db, fmt.Errorf("template %q: disconnect sessions: %w", t.name, err)
	}
	return db, nil
}
