package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured. Durations are in nanoseconds in JSON.
type Report struct {
	Command  string    `json:"command"`
	Mode     string    `json:"mode"`
	Started  time.Time `json:"started"`
	Machine  string    `json:"machine"`
	Database string    `json:"database"`
	Users    int       `json:"users"`
	Renames  int       `json:"renames"`
	Workers  int       `json:"workers"`
	// Hashing describes the password hashes; HashingLowered is set when
	// they are cheaper than Conduit's.
	Hashing        string        `json:"hashing"`
	HashingLowered bool          `json:"hashing_lowered"`
	Phases         []PhaseResult `json:"phases"`
	Ceiling        []Ceiling     `json:"ceiling,omitempty"`
	// Hashes is the password hash alone, beside the HTTP registrations
	// (-http).
	Hashes *HashRate `json:"hashes_alone,omitempty"`
	// Comparison sets the HTTP renames beside the baselines of the same
	// run, and the registrations beside the hash alone (-http).
	Comparison *Comparison `json:"comparison,omitempty"`
	Notes      []string    `json:"notes,omitempty"`
}

// Comparison is Conduit's HTTP rename rate against the baselines measured
// in the same run, on the same server: the CRUD baseline over HTTP, and
// the event store alone (one-event appends from the workers, no runtime,
// no HTTP); and its HTTP registration rate (the parallel phase) against
// the password hash alone from as many workers. A figure is zero when its
// phase did not run.
type Comparison struct {
	ConduitPerSecond float64 `json:"conduit_renames_per_second"`
	CRUDPerSecond    float64 `json:"crud_renames_per_second"`
	StorePerSecond   float64 `json:"store_appends_per_second"`
	// VsCRUD is ConduitPerSecond / CRUDPerSecond; VsStore is
	// ConduitPerSecond / StorePerSecond.
	VsCRUD  float64 `json:"conduit_over_crud"`
	VsStore float64 `json:"conduit_over_store"`
	// Registrations per second over HTTP, Conduit's and the CRUD
	// baseline's, and password hashes per second alone.
	ConduitRegisterPerSecond float64 `json:"conduit_registrations_per_second"`
	CRUDRegisterPerSecond    float64 `json:"crud_registrations_per_second"`
	HashesPerSecond          float64 `json:"hashes_per_second"`
	// RuntimeShare is 1 − ConduitRegisterPerSecond / HashesPerSecond: the
	// part of a registration's time that is not its hash (the runtime,
	// and HTTP, JSON, the token and PostgreSQL with it). CRUDShare is the
	// same for the CRUD baseline, which does only the HTTP, JSON, token and
	// INSERT part.
	RuntimeShare float64 `json:"runtime_share_of_registration"`
	CRUDShare    float64 `json:"crud_share_of_registration"`
}

// compare returns the comparison of the report's HTTP renames and
// parallel registrations, or nil without either.
func compare(r Report) *Comparison {
	var c Comparison
	for _, p := range r.Phases {
		switch p.Phase {
		case "http-rename":
			c.ConduitPerSecond = p.PerSecond
		case crudPrefix + "http-rename":
			c.CRUDPerSecond = p.PerSecond
		case PhaseRegisterPar:
			c.ConduitRegisterPerSecond = p.PerSecond
		case crudPrefix + PhaseRegisterPar:
			c.CRUDRegisterPerSecond = p.PerSecond
		}
	}
	for _, ce := range r.Ceiling {
		if ce.Store {
			c.StorePerSecond = ce.PerSecond
		}
	}
	if h := r.Hashes; h != nil && h.PerSecond > 0 {
		c.HashesPerSecond = h.PerSecond
		if c.ConduitRegisterPerSecond > 0 {
			c.RuntimeShare = 1 - c.ConduitRegisterPerSecond/c.HashesPerSecond
		}
		if c.CRUDRegisterPerSecond > 0 {
			c.CRUDShare = 1 - c.CRUDRegisterPerSecond/c.HashesPerSecond
		}
	}
	if c.ConduitPerSecond == 0 && c.ConduitRegisterPerSecond == 0 {
		return nil
	}
	if c.CRUDPerSecond > 0 {
		c.VsCRUD = c.ConduitPerSecond / c.CRUDPerSecond
	}
	if c.StorePerSecond > 0 {
		c.VsStore = c.ConduitPerSecond / c.StorePerSecond
	}
	return &c
}

// PhaseResult is one phase's figures.
type PhaseResult struct {
	Phase    string        `json:"phase"`
	Title    string        `json:"title"`
	Commands int           `json:"commands"`
	Wall     time.Duration `json:"wall_ns"`
	// PerSecond is Commands / Wall.
	PerSecond float64 `json:"per_second"`
	// Latency is each command's round trip as the benchmark saw it.
	Latency *Percentiles `json:"latency_ns,omitempty"`
	// Tenths is the throughput in each tenth of the commands, in order:
	// whether the phase slowed down as it went.
	Tenths []float64 `json:"per_second_by_tenth,omitempty"`
	// Lags are the projections' delays.
	Lags []Lag `json:"lags,omitempty"`
	// Authors, in the workflow phases: how long the workflow and the author
	// projection took to create the authors of the registered users.
	Authors *Authors `json:"authors,omitempty"`
	// Rebuild, in the rebuild phase.
	Rebuild *Rebuild `json:"rebuild,omitempty"`
	// Errors, ReadLag and Statements, in the HTTP rename phases: the
	// renames that failed, how soon a reading client saw the renames, and
	// the PostgreSQL statements per rename.
	Errors     int         `json:"errors"`
	ReadLag    *ReadLag    `json:"read_lag,omitempty"`
	Statements *Statements `json:"statements,omitempty"`
	Notes      []string    `json:"notes,omitempty"`
}

// Lag is how a projection followed a phase's commands, from the
// timestamps it writes.
type Lag struct {
	Projection string `json:"projection"`
	Commands   int    `json:"commands"`
	// FirstUpdate: from the first command's dispatch until the projection
	// showed any command of the phase (the seed's "first update").
	FirstUpdate time.Duration `json:"first_update_ns"`
	// P50, P99, Max: each command's dispatch until the projection showed it.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// CaughtUp: from the last command's answer until the projection showed
	// every command.
	CaughtUp time.Duration `json:"caught_up_ns"`
	// Span: from the first to the last projected_at of the rows the phase
	// wrote (the seed's min/max timestamps).
	Span time.Duration `json:"span_ns"`
}

// Authors is the author workflow creating the authors of registered users.
type Authors struct {
	Count int `json:"count"`
	// Time from the application's start until the author projection
	// showed every author.
	Time time.Duration `json:"time_ns"`
	// Span of the authors' projected_at (the seed's measure).
	Span time.Duration `json:"span_ns"`
}

// Rebuild is a projection replayed from the origin.
type Rebuild struct {
	Projection string `json:"projection"`
	// Events the projection applies (its own), and the position in $all
	// it reads to (every event; positions of released claims are gaps).
	Events    int `json:"events"`
	AllEvents int `json:"head_position"`
	// Time from the application's start until the projection reached the
	// last event.
	Time time.Duration `json:"time_ns"`
	// Online is the time of an online rebuild of the same projection
	// afterwards (App.RebuildOnline: a new generation filled while the
	// application serves, then switched to).
	Online time.Duration `json:"online_time_ns,omitempty"`
}

// Ceiling is a raw pgx insert rate on the same server.
type Ceiling struct {
	Title     string        `json:"title"`
	Rows      int           `json:"rows"`
	Wall      time.Duration `json:"wall_ns"`
	PerSecond float64       `json:"per_second"`
	// Store marks the event store's own ceiling (appends of one event).
	Store bool `json:"store,omitempty"`
}

// seed holds the seed's figures (Elixir Conduit on EventStore and
// Commanded, MacBook Pro M1 Max), in seconds, for its sizes.
var seed = struct {
	users, renames, rebuildEvents                 int
	registerSeq, registerPar                      float64
	registerSeqSpan, registerParSpan              float64
	renameWarm, renameWarmFirst, renameWarmSpan   float64
	authorsSpan                                   float64
	workflow, workflowUserFirst, workflowUserSpan float64
	workflowAuthorFirst, workflowAuthorSpan       float64
	renameCold, coldUserFirst, coldUserSpan       float64
	coldAuthorFirst, coldAuthorSpan               float64
	rebuild                                       float64
}{
	users: 5_000, renames: 100_000, rebuildEvents: 105_000,
	registerSeq: 718, registerPar: 555, registerSeqSpan: 718, registerParSpan: 554,
	renameWarm: 6766, renameWarmFirst: 75 * 60, renameWarmSpan: 38*60 + 32,
	authorsSpan: 5*60 + 31,
	workflow:    7852, workflowUserFirst: 3600 + 34*60 + 15, workflowUserSpan: 36*60 + 37,
	workflowAuthorFirst: 3*3600 + 54, workflowAuthorSpan: 23*60 + 17,
	renameCold: 9439, coldUserFirst: 3600 + 54*60 + 17, coldUserSpan: 42*60 + 55,
	coldAuthorFirst: 3*3600 + 13*60 + 37, coldAuthorSpan: 22*60 + 32,
	rebuild: 60 + 46,
}

// Targets of the issue, as rates where they depend on the sizes.
const (
	targetRegisterSeqRate = 1_000.0  // 5,000 in ≤ 5 s
	targetRegisterParRate = 5_000.0  // 5,000 in ≤ 1 s
	targetRenameWarmRate  = 10_000.0 // 100,000 in ≤ 10 s
	targetWorkflowRate    = 100_000.0 / 15
	targetColdFactor      = 1.5
	targetUserLagP99      = 100 * time.Millisecond
	targetAuthorLagP99    = 250 * time.Millisecond
	targetCaughtUp        = time.Second
	targetRebuildRate     = 105_000.0 / 3
	targetHTTPRenameRate  = 3_000.0
	targetHTTPP99         = 20 * time.Millisecond
	targetVsCRUD          = 3.0 // Conduit's HTTP renames over the CRUD baseline's
	targetVsStore         = 0.5 // over the event store's one-event appends
	targetRuntimeShare    = 0.1 // of an HTTP registration, beside the hash alone
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// row is a line of the table.
type row struct {
	label, ours, seed, speedup, target string
}

// WriteTable writes the report as a table: each figure beside the seed's,
// the speed-up, and the target.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Conduit benchmark: the seed's performance test on Cohort\n")
	fmt.Fprintf(&b, "command:   %s\n", r.Command)
	fmt.Fprintf(&b, "machine:   %s\n", r.Machine)
	fmt.Fprintf(&b, "database:  %s\n", r.Database)
	fmt.Fprintf(&b, "mode:      %s; %s users, %s renames, %d workers\n", r.Mode, thousands(r.Users), thousands(r.Renames), r.Workers)
	fmt.Fprintf(&b, "passwords: %s\n", r.Hashing)
	fmt.Fprintf(&b, "seed:      Elixir Conduit, EventStore + Commanded, MacBook Pro M1 Max; 5,000 users, 100,000 renames, 10 processes\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE / FIGURE\tCOHORT\tSEED\tSPEED-UP\tTARGET\t")
	defaultSizes := r.Users == seed.users && r.Renames == seed.renames
	// Cold renames run with the author workflow and projection, as the
	// seed's did: their warm counterpart is the workflow phase, or the
	// plain warm renames when that phase did not run.
	var warm *PhaseResult
	for i := range r.Phases {
		p := &r.Phases[i]
		if p.Phase == PhaseWorkflow || (p.Phase == PhaseRenameWarm && warm == nil) {
			warm = p
		}
		fmt.Fprintf(tw, "%s\t\t\t\t\t\n", p.Title)
		for _, rw := range r.rows(p, warm, defaultSizes) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", rw.label, rw.ours, rw.seed, rw.speedup, rw.target)
		}
	}
	if len(r.Ceiling) > 0 {
		fmt.Fprintf(tw, "ceilings on the same server, same run (context)\t\t\t\t\t\n")
		for _, c := range r.Ceiling {
			fmt.Fprintf(tw, "  %s\t%s/s\t\t\t\t\n", c.Title, thousands(int(c.PerSecond)))
		}
	}
	if c := r.Comparison; c != nil && c.ConduitPerSecond > 0 {
		fmt.Fprintf(tw, "Conduit's HTTP renames against the baselines, same run, same server\t\t\t\t\t\n")
		if c.CRUDPerSecond > 0 {
			fmt.Fprintf(tw, "  renames/s: conduit %s, crud %s, ratio conduit/crud\t%.2f×\t\t\t%s\t\n",
				perSecond(c.ConduitPerSecond), perSecond(c.CRUDPerSecond), c.VsCRUD, check(c.VsCRUD >= targetVsCRUD, fmt.Sprintf("≥ %.0f×", targetVsCRUD)))
		}
		if c.StorePerSecond > 0 {
			fmt.Fprintf(tw, "  renames/s: conduit %s, event store alone %s, ratio conduit/store\t%.2f×\t\t\t%s\t\n",
				perSecond(c.ConduitPerSecond), perSecond(c.StorePerSecond), c.VsStore, check(c.VsStore >= targetVsStore, fmt.Sprintf("≥ %.1f×", targetVsStore)))
		}
	}
	if c := r.Comparison; c != nil && c.ConduitRegisterPerSecond > 0 && c.HashesPerSecond > 0 {
		r.writeHashShares(tw, c)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Phases {
		if s := p.Statements; s != nil {
			b.WriteString(s.describe(p.Phase))
		}
	}
	for _, p := range r.Phases {
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "\n%s: %s", p.Phase, n)
		}
	}
	for _, p := range r.Phases {
		if len(p.Lags) > 0 {
			b.WriteString("\nlags come from the projections' own timestamps: the checkpoint each projector writes with its rows, " +
				"against each command's dispatch; the span of the rows' projected_at is the seed's measure (min to max), " +
				"and since a row keeps only its last write, for renames it covers the last round of renames only.")
			break
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeHashShares writes the HTTP registrations beside the password hash
// alone, and the share of a registration's time that is not the hash.
func (r *Report) writeHashShares(tw io.Writer, c *Comparison) {
	fmt.Fprintf(tw, "Conduit's HTTP registrations against the password hash alone, same run\t\t\t\t\t\n")
	rates := "conduit " + perSecond(c.ConduitRegisterPerSecond)
	if c.CRUDRegisterPerSecond > 0 {
		rates += ", crud " + perSecond(c.CRUDRegisterPerSecond)
	}
	fmt.Fprintf(tw, "  registrations/s, %d workers: %s, password hashes alone %s\t\t\t\t\t\n", r.Workers, rates, perSecond(c.HashesPerSecond))
	target := check(c.RuntimeShare <= targetRuntimeShare, fmt.Sprintf("≤ %.0f %%", 100*targetRuntimeShare))
	if r.HashingLowered {
		target = "(the target is at Conduit's hash cost)"
	}
	fmt.Fprintf(tw, "  runtime's share of a registration: 1 − conduit/hashes\t%.1f %%\t\t\t%s\t\n", 100*c.RuntimeShare, target)
	if c.CRUDRegisterPerSecond > 0 {
		fmt.Fprintf(tw, "  the CRUD baseline's share: 1 − crud/hashes (context)\t%.1f %%\t\t\t\t\n", 100*c.CRUDShare)
	}
}

// rows returns the table's lines for a phase.
func (r *Report) rows(p *PhaseResult, warm *PhaseResult, defaultSizes bool) []row {
	var rows []row
	seedWall, seedCount, rate := 0.0, 0, 0.0
	switch p.Phase {
	case PhaseRegisterSeq:
		seedWall, seedCount, rate = seed.registerSeq, seed.users, targetRegisterSeqRate
	case PhaseRegisterPar:
		seedWall, seedCount, rate = seed.registerPar, seed.users, targetRegisterParRate
	case PhaseRenameWarm:
		seedWall, seedCount, rate = seed.renameWarm, seed.renames, targetRenameWarmRate
	case PhaseWorkflow:
		seedWall, seedCount, rate = seed.workflow, seed.renames, targetWorkflowRate
	case PhaseRenameCold:
		seedWall, seedCount = seed.renameCold, seed.renames
	case "http-rename":
		rate = targetHTTPRenameRate
	}
	if p.Authors != nil {
		a := p.Authors
		rows = append(rows,
			row{label: fmt.Sprintf("authors created by the workflow (%s)", thousands(a.Count)), ours: human(a.Time),
				seed: seedFigure(seed.authorsSpan), speedup: ratio(seed.authorsSpan*float64(a.Count)/float64(seed.users), a.Time)},
			row{label: "  span of the authors' projected_at", ours: human(a.Span), seed: seedFigure(seed.authorsSpan)})
	}
	if p.Commands > 0 {
		wall := row{label: fmt.Sprintf("wall time, %s commands", thousands(p.Commands)), ours: human(p.Wall)}
		if seedWall > 0 {
			wall.seed = seedFigure(seedWall)
			wall.speedup = ratio(seedWall*float64(p.Commands)/float64(seedCount), p.Wall)
		}
		switch {
		case rate > 0:
			want := time.Duration(float64(p.Commands) / rate * float64(time.Second))
			wall.target = check(p.Wall <= want, "≤ "+human(want))
		case p.Phase == PhaseRenameCold && warm != nil && warm.Commands == p.Commands:
			want := time.Duration(targetColdFactor * float64(warm.Wall))
			wall.target = check(p.Wall <= want, fmt.Sprintf("≤ 1.5× phase %s = %s", strings.Fields(warm.Title)[0], human(want)))
		}
		rows = append(rows, wall)
		tp := row{label: "throughput", ours: perSecond(p.PerSecond)}
		if seedWall > 0 {
			tp.seed = perSecond(float64(seedCount) / seedWall)
		}
		rows = append(rows, tp)
		if t := p.Tenths; len(t) == 10 {
			rows = append(rows, row{label: "throughput, first / middle / last tenth",
				ours: fmt.Sprintf("%s / %s / %s", perSecond(t[0]), perSecond(t[4]), perSecond(t[9]))})
		}
	}
	if l := p.Latency; l != nil {
		lr := row{label: "latency p50 / p99 / max", ours: fmt.Sprintf("%s / %s / %s", human(l.P50), human(l.P99), human(l.Max))}
		if p.Phase == "http-rename" {
			lr.target = check(l.P99 <= targetHTTPP99, "p99 ≤ "+human(targetHTTPP99))
		}
		rows = append(rows, lr)
	}
	if strings.HasSuffix(p.Phase, "http-rename") {
		rows = append(rows, row{label: "errors", ours: thousands(p.Errors), target: check(p.Errors == 0, "0")})
	}
	if l := p.ReadLag; l != nil {
		rows = append(rows,
			row{label: fmt.Sprintf("read lag p50 / p99 / max (%s renames sampled, %s GETs)", thousands(l.Samples), thousands(int(l.Reads))),
				ours: fmt.Sprintf("%s / %s / %s", human(l.P50), human(l.P99), human(l.Max))},
			row{label: "renames a GET after the answer did not show (read-after-write)", ours: thousands(l.StaleAfterAck),
				target: check(l.StaleAfterAck == 0, "0")},
			row{label: "reader: superseded / never shown / failed GETs",
				ours: fmt.Sprintf("%d / %d / %d", l.Superseded, l.NeverShown, l.Errors)})
	}
	if s := p.Statements; s != nil {
		sr := row{label: "PostgreSQL statements per rename (pg_stat_statements)", ours: "not counted"}
		if s.Available {
			sr.ours = fmt.Sprintf("%.1f", s.PerRename)
		}
		rows = append(rows, sr)
	}
	for _, l := range p.Lags {
		first, span, limit := r.seedLag(p.Phase, l.Projection)
		fr := row{label: l.Projection + " projection: first update", ours: human(l.FirstUpdate)}
		if first > 0 {
			fr.seed = seedFigure(first)
			if defaultSizes {
				fr.speedup = ratio(first, l.FirstUpdate)
			}
		}
		lagRow := row{label: l.Projection + " projection: lag p50 / p99 / max",
			ours: fmt.Sprintf("%s / %s / %s", human(l.P50), human(l.P99), human(l.Max))}
		if limit > 0 {
			lagRow.target = check(l.P99 <= limit, "p99 ≤ "+human(limit))
		}
		cr := row{label: l.Projection + " projection: caught up after the last command", ours: human(l.CaughtUp),
			target: check(l.CaughtUp <= targetCaughtUp, "≤ "+human(targetCaughtUp))}
		sr := row{label: l.Projection + " projection: span of the rows' projected_at", ours: human(l.Span)}
		if span > 0 {
			sr.seed = seedFigure(span)
		}
		rows = append(rows, fr, lagRow, cr, sr)
	}
	if rb := p.Rebuild; rb != nil {
		want := time.Duration(float64(rb.Events) / targetRebuildRate * float64(time.Second))
		rows = append(rows,
			row{label: fmt.Sprintf("%s: %s own events, $all read to position %s", rb.Projection, thousands(rb.Events), thousands(rb.AllEvents)),
				ours: human(rb.Time), seed: seedFigure(seed.rebuild),
				speedup: ratio(seed.rebuild*float64(rb.Events)/float64(seed.rebuildEvents), rb.Time),
				target:  check(rb.Time <= want, "≤ "+human(want))},
			row{label: "throughput (own events)", ours: perSecond(float64(rb.Events) / rb.Time.Seconds()),
				seed: perSecond(float64(seed.rebuildEvents) / seed.rebuild)})
	}
	return rows
}

// seedLag returns the seed's first-update delay and span for a projection
// in a phase (0 when the seed has none), and the p99 target.
func (r *Report) seedLag(phase, projection string) (first, span float64, limit time.Duration) {
	author := projection == "blog"
	limit = targetUserLagP99
	if author {
		limit = targetAuthorLagP99
	}
	switch {
	case phase == PhaseRegisterSeq && !author:
		span = seed.registerSeqSpan
	case phase == PhaseRegisterPar && !author:
		span = seed.registerParSpan
	case phase == PhaseRenameWarm && !author:
		first, span = seed.renameWarmFirst, seed.renameWarmSpan
	case phase == PhaseWorkflow && !author:
		first, span = seed.workflowUserFirst, seed.workflowUserSpan
	case phase == PhaseWorkflow:
		first, span = seed.workflowAuthorFirst, seed.workflowAuthorSpan
	case phase == PhaseRenameCold && !author:
		first, span = seed.coldUserFirst, seed.coldUserSpan
	case phase == PhaseRenameCold:
		first, span = seed.coldAuthorFirst, seed.coldAuthorSpan
	}
	return first, span, limit
}

func check(ok bool, target string) string {
	if ok {
		return target + " ✓"
	}
	return target + " ✗"
}

// ratio formats seed seconds over our duration as a speed-up.
func ratio(seedSeconds float64, ours time.Duration) string {
	if ours <= 0 || seedSeconds <= 0 {
		return ""
	}
	x := seedSeconds / ours.Seconds()
	switch {
	case x >= 100:
		return thousands(int(math.Round(x))) + "×"
	case x >= 10:
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func seedFigure(seconds float64) string { return human(time.Duration(seconds * float64(time.Second))) }

// human formats a duration for people: 0.42 ms, 38 ms, 8.21 s, 11 min 58 s,
// 1 h 52 min 46 s.
func human(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d h %d min %d s", h, m, s)
	}
	return fmt.Sprintf("%d min %d s", m, s)
}

func perSecond(x float64) string {
	if x < 100 {
		return fmt.Sprintf("%.1f/s", x)
	}
	return thousands(int(math.Round(x))) + "/s"
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
