package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/internal/pglocal"
)

// dbStats is the database where the benchmark creates the
// pg_stat_statements extension to read the server's statistics (of every
// database) from.
const dbStats = "stats"

// topStatements is how many statements a phase's count lists.
const topStatements = 12

// Statements counts the PostgreSQL statements a rename phase ran in the
// server's database, from pg_stat_statements (top-level statements: the
// round trips, BEGIN and COMMIT included; not those inside functions).
// The reader's GETs ran statements too: the statements of one GET are
// measured alone before the phase (readsProfile) and their share is taken
// out of the rename figures.
type Statements struct {
	// Available is false when the server does not track statements; Note
	// then says why.
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	// Calls is every statement executed in the database during the phase,
	// by the server's own work (projectors, subscriptions, polling) as well
	// as by requests; ReadCalls those attributed to the reader's Reads
	// GETs, PerRead statements per GET.
	Calls     int64   `json:"calls"`
	Reads     int64   `json:"reads"`
	ReadCalls int64   `json:"read_calls"`
	PerRead   float64 `json:"per_read"`
	// PerRename is (Calls - ReadCalls) over the phase's renames.
	PerRename float64 `json:"per_rename"`
	// Top are the statements run most often for the renames, reads taken
	// out.
	Top []Statement `json:"top,omitempty"`
}

// Statement is one normalized statement and how often it ran.
type Statement struct {
	Query     string  `json:"query"`
	Calls     int64   `json:"calls"`
	PerRename float64 `json:"per_rename"`
}

// statementCalls are the calls of each normalized statement in a
// database.
type statementCalls map[string]int64

// total returns the sum of the calls.
func (c statementCalls) total() int64 {
	var n int64
	for _, k := range c {
		n += k
	}
	return n
}

// readsProfile is what one GET runs: each statement's calls per GET.
type readsProfile map[string]float64

// profileReads returns the statements run once or more per GET when gets
// GETs ran alone: calls is what the database ran meanwhile (background
// polling, which runs fewer times, is left out).
func profileReads(calls statementCalls, gets int) readsProfile {
	p := readsProfile{}
	for q, n := range calls {
		if gets > 0 && n >= int64(gets) {
			p[q] = float64(n) / float64(gets)
		}
	}
	return p
}

// renameStatements returns the figures of a rename phase that ran calls
// with reads GETs, given what a GET runs.
func renameStatements(calls statementCalls, renames int, reads int64, perGet readsProfile) *Statements {
	st := &Statements{Available: true, Calls: calls.total(), Reads: reads}
	writes := make([]Statement, 0, len(calls))
	for q, n := range calls {
		read := min(n, int64(perGet[q]*float64(reads)+0.5))
		st.ReadCalls += read
		if n > read {
			writes = append(writes, Statement{Query: q, Calls: n - read})
		}
	}
	for _, x := range perGet {
		st.PerRead += x
	}
	slices.SortFunc(writes, func(a, b Statement) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Query, b.Query))
	})
	st.Top = writes[:min(len(writes), topStatements)]
	if renames > 0 {
		st.PerRename = float64(st.Calls-st.ReadCalls) / float64(renames)
		for i := range st.Top {
			st.Top[i].PerRename = float64(st.Top[i].Calls) / float64(renames)
		}
	}
	return st
}

// statementsLibrary returns the path of the pg_stat_statements module of
// the server binaries in binDir (found as pglocal finds them if empty), or
// an error saying why it is missing.
func statementsLibrary(binDir string) (string, error) {
	if binDir == "" {
		var err error
		if binDir, err = pglocal.FindBinDir(); err != nil {
			return "", err
		}
	}
	lib := filepath.Join(filepath.Dir(binDir), "lib", "pg_stat_statements.so")
	if _, err := os.Stat(lib); err != nil {
		return "", fmt.Errorf("the server does not ship pg_stat_statements (%w)", err)
	}
	return lib, nil
}

// statementCounter reads pg_stat_statements in a database of its own, or
// says why it cannot.
type statementCounter struct {
	srv  *server
	note string // why statements are not counted; empty when they are
	// texts are the statements' texts by query id, as first read: the
	// server records a statement's text again after a reset, with its
	// constants normalized or not depending on whether it was parsed
	// again (a connection's prepared statement is not), so a statement is
	// known by its id.
	texts map[int64]string
}

// startStatements prepares the counting of statements on the benchmark's
// server: pg_stat_statements must be preloaded (startServer asks a
// throwaway cluster for it when the module is installed) and the role
// allowed to create the extension. It never fails: a missing extension
// only turns the counts into a note.
func startStatements(ctx context.Context, srv *server, why string) *statementCounter {
	c := &statementCounter{srv: srv, note: why}
	if c.note != "" {
		return c
	}
	var preload string
	if err := srv.queryRow(ctx, "SELECT current_setting('shared_preload_libraries')", &preload); err != nil {
		c.note = fmt.Sprintf("statements not counted: %v", err)
		return c
	}
	if !slices.Contains(strings.Split(strings.ReplaceAll(preload, " ", ""), ","), "pg_stat_statements") {
		c.note = "statements not counted: the server does not preload pg_stat_statements (shared_preload_libraries)"
		return c
	}
	if err := srv.create(ctx, dbStats, ""); err != nil {
		c.note = fmt.Sprintf("statements not counted: %v", err)
		return c
	}
	if err := c.exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		c.note = fmt.Sprintf("statements not counted: create extension pg_stat_statements: %v", err)
	}
	return c
}

// exec runs a statement in the statistics database.
func (c *statementCounter) exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.srv.connString(dbStats))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// reset forgets the statistics of every database.
func (c *statementCounter) reset(ctx context.Context) error {
	if c.note != "" {
		return nil
	}
	return c.exec(ctx, "SELECT pg_stat_statements_reset()")
}

// available reports whether statements are counted; note says why not.
func (c *statementCounter) available() bool { return c.note == "" }

// count returns the statements run in the database of role since reset.
func (c *statementCounter) count(ctx context.Context, role string) (statementCalls, error) {
	conn, err := pgx.Connect(ctx, c.srv.connString(dbStats))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT coalesce(s.queryid, 0), s.query, s.calls FROM pg_stat_statements s
		JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`, c.srv.name(role))
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	if c.texts == nil {
		c.texts = make(map[int64]string)
	}
	calls := statementCalls{}
	var id int64
	var q string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&id, &q, &n}, func() error {
		text, ok := c.texts[id]
		if !ok {
			text = strings.Join(strings.Fields(q), " ")
			c.texts[id] = text
		}
		calls[text] += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	return calls, nil
}

// describe returns the statements' paragraph of the report for a phase.
func (s *Statements) describe(phase string) string {
	if !s.Available {
		return fmt.Sprintf("\n%s: %s.", phase, s.Note)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: %.1f statements per rename, the server's background work included (%s in its database, less %s for the reader's %s GETs at %.1f each, measured alone); the most frequent, per rename:",
		phase, s.PerRename, thousands(int(s.Calls)), thousands(int(s.ReadCalls)), thousands(int(s.Reads)), s.PerRead)
	for _, st := range s.Top {
		q := st.Query
		if r := []rune(q); len(r) > 110 {
			q = string(r[:110]) + "…"
		}
		fmt.Fprintf(&b, "\n  %6.2f  %s", st.PerRename, q)
	}
	return b.String()
}
