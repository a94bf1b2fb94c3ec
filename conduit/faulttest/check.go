package faulttest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
)

// Checker inspects Conduit's database: the event store's schema and the
// read model's.
type Checker struct {
	DB          *pgxpool.Pool
	EventSchema string // default "cohort"
	ReadSchema  string // default "conduit"
	ClaimsKey   []byte // the key Conduit names its claims' streams with
}

func (c Checker) sql(q string) string {
	es, rm := c.EventSchema, c.ReadSchema
	if es == "" {
		es = "cohort"
	}
	if rm == "" {
		rm = "conduit"
	}
	return strings.NewReplacer("{es}", pgx.Identifier{es}.Sanitize(), "{rm}", pgx.Identifier{rm}.Sanitize()).Replace(q)
}

// problems runs a query whose rows are problems and describes each.
func (c Checker) problems(ctx context.Context, what, q string) ([]string, error) {
	rows, err := c.DB.Query(ctx, c.sql(q))
	if err != nil {
		return nil, fmt.Errorf("faulttest: %s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s: %v", what, vals))
	}
	return out, rows.Err()
}

// StreamReport describes the event store's streams.
type StreamReport struct {
	Streams  int   // streams in the store
	Events   int   // events in the store
	Position int64 // the last position
	// Problems lists streams whose versions have a gap or a duplicate,
	// or disagree with the stream's recorded version, and events of
	// streams that do not exist.
	Problems []string
}

// Streams checks that every stream holds exactly the versions 1..version
// (its events and links), each once.
func (c Checker) Streams(ctx context.Context) (StreamReport, error) {
	var r StreamReport
	err := c.DB.QueryRow(ctx, c.sql(`SELECT (SELECT count(*) FROM {es}.streams),
		(SELECT count(*) FROM {es}.events), (SELECT coalesce(max(position), 0) FROM {es}.events)`)).
		Scan(&r.Streams, &r.Events, &r.Position)
	if err != nil {
		return r, fmt.Errorf("faulttest: count streams: %w", err)
	}
	for _, q := range []struct{ what, sql string }{
		{"stream versions (stream, version, rows, distinct versions, min, max)", `
			WITH v AS (
				SELECT stream_id, stream_version FROM {es}.events
				UNION ALL
				SELECT stream_id, stream_version FROM {es}.links)
			SELECT s.stream_id, s.version, count(v.stream_version), count(DISTINCT v.stream_version),
				coalesce(min(v.stream_version), 0), coalesce(max(v.stream_version), 0)
			FROM {es}.streams s LEFT JOIN v ON v.stream_id = s.stream_id
			GROUP BY s.stream_id, s.version
			HAVING count(v.stream_version) <> s.version
				OR count(DISTINCT v.stream_version) <> count(v.stream_version)
				OR coalesce(min(v.stream_version), 1) <> 1
				OR coalesce(max(v.stream_version), 0) <> s.version
			ORDER BY 1 LIMIT 20`},
		{"events of a missing stream (stream, events)", `
			SELECT e.stream_id, count(*) FROM {es}.events e
			WHERE NOT EXISTS (SELECT 1 FROM {es}.streams s WHERE s.stream_id = e.stream_id)
			GROUP BY 1 ORDER BY 1 LIMIT 20`},
	} {
		p, err := c.problems(ctx, q.what, q.sql)
		if err != nil {
			return r, err
		}
		r.Problems = append(r.Problems, p...)
	}
	return r, nil
}

// Invariants checks what the events and the read model must satisfy
// whatever crashed, and returns the violations:
//
//   - favorite counts in ArticleFavorited/ArticleUnfavorited events follow
//     each other by one, and each user's favorite and unfavorite of an
//     article alternate (no command applied twice);
//   - follows and unfollows of each pair alternate likewise;
//   - the author workflow created exactly one author per registered user,
//     and renamed it exactly as often, and in the same order, as the user
//     was renamed (the process manager neither lost nor repeated a
//     command);
//   - in the read model, each article's favoritesCount is its number of
//     favorites, each tag's count its number of articles, each author's
//     username its user's, and the feeds are the follows joined with the
//     articles.
func (c Checker) Invariants(ctx context.Context) ([]string, error) {
	var out []string
	for _, q := range []struct{ what, sql string }{
		{"favorite count out of step (stream, version, type, count, running count)", `
			SELECT stream_id, stream_version, type, n, running FROM (
				SELECT stream_id, stream_version, type, (data->>'favorite_count')::int AS n,
					sum(CASE WHEN type = 'blog.ArticleFavorited' THEN 1 ELSE -1 END)
						OVER (PARTITION BY stream_id ORDER BY stream_version) AS running
				FROM {es}.events WHERE type IN ('blog.ArticleFavorited', 'blog.ArticleUnfavorited')) x
			WHERE n <> running ORDER BY 1, 2 LIMIT 20`},
		{"favorite applied twice (stream, user, version, type)", `
			SELECT stream_id, who, stream_version, type FROM (
				SELECT stream_id, stream_version, type, coalesce(data->>'favorited_by', data->>'unfavorited_by') AS who,
					lag(type) OVER (PARTITION BY stream_id, coalesce(data->>'favorited_by', data->>'unfavorited_by')
						ORDER BY stream_version) AS prev
				FROM {es}.events WHERE type IN ('blog.ArticleFavorited', 'blog.ArticleUnfavorited')) x
			WHERE type = prev OR (prev IS NULL AND type = 'blog.ArticleUnfavorited') ORDER BY 1, 3 LIMIT 20`},
		{"follow applied twice (stream, follower, version, type)", `
			SELECT stream_id, who, stream_version, type FROM (
				SELECT stream_id, stream_version, type, data->>'follower_id' AS who,
					lag(type) OVER (PARTITION BY stream_id, data->>'follower_id' ORDER BY stream_version) AS prev
				FROM {es}.events WHERE type IN ('blog.AuthorFollowed', 'blog.AuthorUnfollowed')) x
			WHERE type = prev OR (prev IS NULL AND type = 'blog.AuthorUnfollowed') ORDER BY 1, 3 LIMIT 20`},
		{"author workflow (user, authors created, same username, user's renames, author's renames)", `
			WITH reg AS (
				SELECT data->>'user_id' AS id, data->>'username' AS name FROM {es}.events
				WHERE type = 'accounts.UserRegistered'),
			created AS (
				SELECT data->>'author_id' AS id, count(*) AS n, min(data->>'username') AS name FROM {es}.events
				WHERE type = 'blog.AuthorCreated' GROUP BY 1),
			renamed AS (
				SELECT data->>'user_id' AS id, string_agg(data->>'username', ',' ORDER BY position) AS names
				FROM {es}.events WHERE type = 'accounts.UsernameChanged' GROUP BY 1),
			author_renamed AS (
				SELECT data->>'author_id' AS id, string_agg(data->>'username', ',' ORDER BY position) AS names
				FROM {es}.events WHERE type = 'blog.AuthorUsernameChanged' GROUP BY 1)
			SELECT reg.id, coalesce(created.n, 0), created.name IS NOT DISTINCT FROM reg.name,
				coalesce(renamed.names, ''), coalesce(author_renamed.names, '')
			FROM reg LEFT JOIN created USING (id) LEFT JOIN renamed USING (id) LEFT JOIN author_renamed USING (id)
			WHERE coalesce(created.n, 0) <> 1 OR created.name IS DISTINCT FROM reg.name
				OR coalesce(renamed.names, '') <> coalesce(author_renamed.names, '')
			ORDER BY 1 LIMIT 20`},
		{"authors without a user (author)", `
			SELECT c.data->>'author_id' FROM {es}.events c
			WHERE c.type = 'blog.AuthorCreated' AND NOT EXISTS (
				SELECT 1 FROM {es}.events r WHERE r.type = 'accounts.UserRegistered'
				AND r.data->>'user_id' = c.data->>'author_id')
			LIMIT 20`},
		{"read model: favoritesCount (article, favoritesCount, favorites)", `
			SELECT a.id, a.favorites_count, count(f.author_id) FROM {rm}.articles a
			LEFT JOIN {rm}.favorites f ON f.article_id = a.id
			GROUP BY a.id, a.favorites_count HAVING a.favorites_count <> count(f.author_id) ORDER BY 1 LIMIT 20`},
		{"read model: tag counts (tag, count, articles)", `
			SELECT t.name, t.article_count, count(at.article_id) FROM {rm}.tags t
			LEFT JOIN {rm}.article_tags at ON at.tag = t.name
			GROUP BY t.name, t.article_count HAVING t.article_count <> count(at.article_id) ORDER BY 1 LIMIT 20`},
		{"read model: authors (user, username, author's username)", `
			SELECT u.id, u.username, a.username FROM {rm}.users u LEFT JOIN {rm}.authors a ON a.id = u.id
			WHERE a.username IS DISTINCT FROM u.username ORDER BY 1 LIMIT 20`},
		{"read model: feed differs from follows × articles (follower, article, in feed)", `
			(SELECT f.follower_id, a.id, false FROM {rm}.follows f JOIN {rm}.articles a ON a.author_id = f.author_id
			 EXCEPT SELECT follower_id, article_id, false FROM {rm}.feed)
			UNION ALL
			(SELECT follower_id, article_id, true FROM {rm}.feed
			 EXCEPT SELECT f.follower_id, a.id, true FROM {rm}.follows f JOIN {rm}.articles a ON a.author_id = f.author_id)
			LIMIT 20`},
	} {
		p, err := c.problems(ctx, q.what, q.sql)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// AfterRival returns how many streams got an event from Conduit after a
// rival process (see Config.Rivals) had written to them: aggregates that
// the first process held in memory at an older version and had to catch
// up, through a version conflict, before writing.
func (c Checker) AfterRival(ctx context.Context) (int, error) {
	var n int
	err := c.DB.QueryRow(ctx, c.sql(`
		SELECT count(DISTINCT e.stream_id) FROM {es}.events e
		WHERE e.type = 'blog.AuthorFollowed'
			AND e.data->>'follower_id' IN (SELECT id FROM {rm}.users WHERE username LIKE 'rival\_%')
			AND EXISTS (SELECT 1 FROM {es}.events l WHERE l.stream_id = e.stream_id
				AND l.stream_version > e.stream_version
				AND coalesce(l.data->>'follower_id', '') NOT IN (SELECT id FROM {rm}.users WHERE username LIKE 'rival\_%'))`)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("faulttest: streams written after a rival: %w", err)
	}
	return n, nil
}

// ClaimReport compares the unique claims (usernames, emails, slugs) with
// the values in use.
type ClaimReport struct {
	Claims int // claims held
	// Missing lists values in use that their owner does not hold a claim
	// on: another user could take them. Always a fault.
	Missing []string
	// Orphaned counts slug claims on values their owner does not use:
	// left by a write whose outcome Conduit could not know (a crash or an
	// outage between the claim and the command), kept because the command
	// might have taken effect. The value stays taken.
	Orphaned int
	// OrphanedAccounts lists username and email claims on values their
	// owner does not use. Always a fault: those claims are written in the
	// same commit as the user's events that take and give up the values.
	OrphanedAccounts []string
}

// Claims checks every username, email and slug in use against the claims,
// found by their streams (named with ClaimsKey).
func (c Checker) Claims(ctx context.Context) (ClaimReport, error) {
	var r ClaimReport
	streams, err := unique.NewStreams(unique.Config{Key: c.ClaimsKey})
	if err != nil {
		return r, fmt.Errorf("faulttest: claims: %w", err)
	}
	type claim struct{ namespace, owner string }
	held := map[string]claim{} // by stream
	// A claim is held while its stream's last event is a unique.Claimed;
	// a unique.Released after it frees the value.
	rows, err := c.DB.Query(ctx, c.sql(`SELECT stream_id, data->>'namespace', data->>'owner'
		FROM (SELECT DISTINCT ON (stream_id) stream_id, type, data FROM {es}.events
		       WHERE type IN ('unique.Claimed', 'unique.Released')
		       ORDER BY stream_id, stream_version DESC) last
		WHERE type = 'unique.Claimed'`))
	if err != nil {
		return r, fmt.Errorf("faulttest: claims: %w", err)
	}
	var stream, ns, owner string
	if _, err := pgx.ForEachRow(rows, []any{&stream, &ns, &owner}, func() error {
		held[stream] = claim{ns, owner}
		return nil
	}); err != nil {
		return r, fmt.Errorf("faulttest: claims: %w", err)
	}
	r.Claims = len(held)
	type use struct{ namespace, value, owner string }
	used := map[string]use{} // by the stream of its claim
	var failed error
	uses := func(namespace, value, owner string) {
		s, err := streams.Stream(namespace, value)
		if err != nil {
			failed = cmp.Or(failed, err)
			return
		}
		used[s] = use{namespace, value, owner}
	}
	rows, err = c.DB.Query(ctx, c.sql(`SELECT id, username, email FROM {rm}.users`))
	if err != nil {
		return r, fmt.Errorf("faulttest: users: %w", err)
	}
	var id, username, email string
	if _, err := pgx.ForEachRow(rows, []any{&id, &username, &email}, func() error {
		uses("username", accounts.UsernameKey(username), id)
		uses("email", accounts.EmailKey(email), id)
		return nil
	}); err != nil {
		return r, fmt.Errorf("faulttest: users: %w", err)
	}
	rows, err = c.DB.Query(ctx, c.sql(`SELECT id, slug FROM {rm}.articles`))
	if err != nil {
		return r, fmt.Errorf("faulttest: articles: %w", err)
	}
	var slug string
	if _, err := pgx.ForEachRow(rows, []any{&id, &slug}, func() error {
		uses("slug", slug, id)
		return nil
	}); err != nil {
		return r, fmt.Errorf("faulttest: articles: %w", err)
	}
	if failed != nil {
		return r, fmt.Errorf("faulttest: claims: %w", failed)
	}
	for s, u := range used {
		if held[s].owner != u.owner {
			r.Missing = append(r.Missing, fmt.Sprintf("%s %q of %s is claimed by %q", u.namespace, u.value, u.owner, held[s].owner))
		}
	}
	slices.Sort(r.Missing)
	for s, h := range held {
		switch {
		case used[s].owner == h.owner:
		case h.namespace == "slug":
			r.Orphaned++
		default:
			r.OrphanedAccounts = append(r.OrphanedAccounts, fmt.Sprintf("%s claim %s is held by %s, who does not use it", h.namespace, s, h.owner))
		}
	}
	slices.Sort(r.OrphanedAccounts)
	return r, nil
}

// readModelTables are the read model's tables, compared row by row after
// a rebuild.
var readModelTables = []string{"users", "authors", "follows", "articles", "article_tags", "tags", "favorites", "feed", "comments"}

// ReadModel is the content of the read model's tables: each row as JSON
// without projected_at (when the projector wrote it), sorted.
type ReadModel map[string][]string

// Rows returns the number of rows.
func (m ReadModel) Rows() int {
	n := 0
	for _, rows := range m {
		n += len(rows)
	}
	return n
}

// DumpReadModel reads the read model's tables.
func (c Checker) DumpReadModel(ctx context.Context) (ReadModel, error) {
	m := ReadModel{}
	for _, t := range readModelTables {
		rows, err := c.DB.Query(ctx, c.sql(`SELECT (to_jsonb(t) - 'projected_at')::text AS r FROM {rm}.`+
			pgx.Identifier{t}.Sanitize()+` t ORDER BY r`))
		if err != nil {
			return nil, fmt.Errorf("faulttest: dump %s: %w", t, err)
		}
		m[t], err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("faulttest: dump %s: %w", t, err)
		}
		slices.Sort(m[t]) // in Go's order, which Diff relies on
	}
	return m, nil
}

// Checkpoints returns the projections' checkpoints.
func (c Checker) Checkpoints(ctx context.Context) (map[string]int64, error) {
	rows, err := c.DB.Query(ctx, c.sql(`SELECT name, position FROM {rm}.projection_checkpoints`))
	if err != nil {
		return nil, err
	}
	cps := map[string]int64{}
	var name string
	var pos int64
	_, err = pgx.ForEachRow(rows, []any{&name, &pos}, func() error {
		cps[name] = pos
		return nil
	})
	return cps, err
}

// Diff describes how b differs from a: rows only in one of them, up to
// limit per table.
func Diff(a, b ReadModel, limit int) []string {
	var out []string
	tables := slices.Sorted(maps.Keys(a))
	for t := range b {
		if _, ok := a[t]; !ok {
			tables = append(tables, t)
		}
	}
	for _, t := range tables {
		onlyA, onlyB := sortedDiff(a[t], b[t])
		for i, r := range onlyA {
			if i == limit {
				out = append(out, fmt.Sprintf("%s: … %d more rows only before", t, len(onlyA)-limit))
				break
			}
			out = append(out, fmt.Sprintf("%s: only before: %s", t, r))
		}
		for i, r := range onlyB {
			if i == limit {
				out = append(out, fmt.Sprintf("%s: … %d more rows only after", t, len(onlyB)-limit))
				break
			}
			out = append(out, fmt.Sprintf("%s: only after:  %s", t, r))
		}
	}
	return out
}

// sortedDiff returns the elements of sorted lists a and b that the other
// lacks (as multisets).
func sortedDiff(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		default:
			onlyB = append(onlyB, b[j])
			j++
		}
	}
	return append(onlyA, a[i:]...), append(onlyB, b[j:]...)
}
