package projectors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound: the read model holds no such row.
var ErrNotFound = errors.New("projectors: not found")

// User is a user as the read model holds it.
type User struct {
	ID           string
	Username     string
	Email        string
	PasswordHash string
	Bio          string
	Image        string
}

// Profile is a user as another user (the viewer) sees them.
type Profile struct {
	ID        string
	Username  string
	Bio       string
	Image     string
	Following bool // the viewer follows them
}

// Article is an article as a viewer sees it.
type Article struct {
	ID             string
	Slug           string
	Title          string
	Description    string
	Body           string // empty in lists
	TagList        []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Favorited      bool // the viewer favorited it
	FavoritesCount int
	Author         Profile
}

// Comment is a comment as a viewer sees it.
type Comment struct {
	ID        int64
	CommentID string // the Comment aggregate's id
	ArticleID string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	Author    Profile
}

// ArticleFilter selects articles; empty fields do not filter.
type ArticleFilter struct {
	Tag         string
	Author      string // username of the author
	FavoritedBy string // username of a user who favorited them
}

// Page bounds a list.
type Page struct {
	Limit  int
	Offset int
}

// Queries reads the read model. Viewer arguments are user ids, "" for an
// anonymous viewer. It is safe for concurrent use.
type Queries struct {
	db     *pgxpool.Pool
	schema string // quoted
	q      queries
}

type queries struct {
	userByID, userByEmail, profile, profileByID string
	articleColumns, articleFrom                 string
	feedFrom, feedCount                         string
	comments, comment                           string
	tags                                        string
}

// NewQueries returns queries on schema (empty for DefaultSchema) of db.
func NewQueries(db *pgxpool.Pool, schema string) (*Queries, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	// A deleted user has no row: their articles and comments show
	// DeletedUsername.
	const profileOf = `coalesce(u.username, '` + DeletedUsername + `'), coalesce(u.bio, ''), coalesce(u.image, ''),
		EXISTS (SELECT 1 FROM {{schema}}.follows fo WHERE fo.follower_id = $1 AND fo.author_id = %s)`
	q := queries{
		userByID: `SELECT id, username, email, password_hash, bio, image FROM {{schema}}.users WHERE id = $1`,
		userByEmail: `SELECT id, username, email, password_hash, bio, image FROM {{schema}}.users
			WHERE email_key = $1 ORDER BY created_at LIMIT 1`,
		profile: `SELECT u.id, ` + fmt.Sprintf(profileOf, "u.id") + ` FROM {{schema}}.users u
			WHERE u.username = $2 ORDER BY u.created_at LIMIT 1`,
		profileByID: `SELECT u.id, ` + fmt.Sprintf(profileOf, "u.id") + ` FROM {{schema}}.users u WHERE u.id = $2`,
		articleColumns: `a.id, a.slug, a.title, a.description, %s, a.tag_list, a.created_at, a.updated_at,
			a.favorites_count,
			EXISTS (SELECT 1 FROM {{schema}}.favorites fv WHERE fv.article_id = a.id AND fv.author_id = $1),
			a.author_id, ` + fmt.Sprintf(profileOf, "a.author_id"),
		articleFrom: `{{schema}}.articles a LEFT JOIN {{schema}}.users u ON u.id = a.author_id`,
		feedFrom: `{{schema}}.feed fd JOIN {{schema}}.articles a ON a.id = fd.article_id
			LEFT JOIN {{schema}}.users u ON u.id = a.author_id`,
		feedCount: `SELECT count(*) FROM {{schema}}.feed WHERE follower_id = $1`,
		comments: `SELECT c.id, c.comment_id, c.article_id, c.body, c.created_at, c.updated_at, c.author_id, ` +
			fmt.Sprintf(profileOf, "c.author_id") + `
			FROM {{schema}}.comments c LEFT JOIN {{schema}}.users u ON u.id = c.author_id
			WHERE c.article_id = $2 ORDER BY c.id DESC LIMIT $3 OFFSET $4`,
		comment: `SELECT c.id, c.comment_id, c.article_id, c.body, c.created_at, c.updated_at, c.author_id, ` +
			fmt.Sprintf(profileOf, "c.author_id") + `
			FROM {{schema}}.comments c LEFT JOIN {{schema}}.users u ON u.id = c.author_id WHERE c.id = $2`,
		tags: `SELECT name FROM (SELECT name FROM {{schema}}.tags WHERE article_count > 0
			ORDER BY article_count DESC, name LIMIT $1) t ORDER BY name`,
	}
	sqlIn(schema, &q.userByID, &q.userByEmail, &q.profile, &q.profileByID, &q.articleColumns, &q.articleFrom,
		&q.feedFrom, &q.feedCount, &q.comments, &q.comment, &q.tags)
	return &Queries{db: db, schema: pgx.Identifier{schema}.Sanitize(), q: q}, nil
}

// UserByID returns a user, or ErrNotFound.
func (r *Queries) UserByID(ctx context.Context, id string) (User, error) {
	return r.user(ctx, r.q.userByID, id)
}

// UserByEmailKey returns the user whose email has the given key (see
// accounts.EmailKey), or ErrNotFound.
func (r *Queries) UserByEmailKey(ctx context.Context, key string) (User, error) {
	return r.user(ctx, r.q.userByEmail, key)
}

func (r *Queries) user(ctx context.Context, sql, arg string) (User, error) {
	if !storable(arg) {
		return User{}, ErrNotFound
	}
	var u User
	err := r.db.QueryRow(ctx, sql, arg).Scan(&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.Bio, &u.Image)
	return u, notFound(err)
}

// Profile returns the profile of the user with the username, or
// ErrNotFound.
func (r *Queries) Profile(ctx context.Context, viewer, username string) (Profile, error) {
	return r.profile(ctx, r.q.profile, viewer, username)
}

// ProfileByID returns the profile of the user with the id, or ErrNotFound.
func (r *Queries) ProfileByID(ctx context.Context, viewer, id string) (Profile, error) {
	return r.profile(ctx, r.q.profileByID, viewer, id)
}

func (r *Queries) profile(ctx context.Context, sql, viewer, arg string) (Profile, error) {
	if !storable(viewer) || !storable(arg) {
		return Profile{}, ErrNotFound
	}
	var p Profile
	err := r.db.QueryRow(ctx, sql, viewer, arg).Scan(&p.ID, &p.Username, &p.Bio, &p.Image, &p.Following)
	return p, notFound(err)
}

// ArticleBySlug returns the article with the slug, or ErrNotFound.
func (r *Queries) ArticleBySlug(ctx context.Context, viewer, slug string) (Article, error) {
	return r.article(ctx, "a.slug = $2", viewer, slug)
}

// ArticleByID returns the article with the id, or ErrNotFound.
func (r *Queries) ArticleByID(ctx context.Context, viewer, id string) (Article, error) {
	return r.article(ctx, "a.id = $2", viewer, id)
}

func (r *Queries) article(ctx context.Context, where, viewer, arg string) (Article, error) {
	if !storable(viewer) || !storable(arg) {
		return Article{}, ErrNotFound
	}
	sql := "SELECT " + fmt.Sprintf(r.q.articleColumns, "a.body") + " FROM " + r.q.articleFrom +
		" WHERE " + where + " ORDER BY a.seq DESC LIMIT 1"
	a, err := scanArticle(r.db.QueryRow(ctx, sql, viewer, arg))
	return a, notFound(err)
}

// Articles returns a page of the articles that match f, newest first
// (without their bodies), and how many match in all.
func (r *Queries) Articles(ctx context.Context, viewer string, f ArticleFilter, p Page) ([]Article, int, error) {
	if !storable(viewer) || !storable(f.Tag) || !storable(f.Author) || !storable(f.FavoritedBy) {
		return []Article{}, 0, nil
	}
	cond, args := r.articleFilter(f, []any{viewer})
	list := "SELECT " + fmt.Sprintf(r.q.articleColumns, "''") + " FROM " + r.q.articleFrom + cond +
		fmt.Sprintf(" ORDER BY a.seq DESC LIMIT $%d OFFSET $%d", len(args)+1, len(args)+2)
	countCond, countArgs := r.articleFilter(f, nil)
	count := "SELECT count(*) FROM " + r.schema + ".articles a" + countCond
	return r.articles(ctx, list, append(args, p.Limit, p.Offset), count, countArgs)
}

// articleFilter returns the WHERE clause for f, its placeholders numbered
// after args, and args with their values appended.
func (r *Queries) articleFilter(f ArticleFilter, args []any) (string, []any) {
	var where []string
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	s := r.schema
	if f.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM "+s+".article_tags t WHERE t.article_id = a.id AND t.tag = "+arg(f.Tag)+")")
	}
	if f.Author != "" {
		where = append(where, "a.author_id IN (SELECT id FROM "+s+".users WHERE username = "+arg(f.Author)+")")
	}
	if f.FavoritedBy != "" {
		where = append(where, "a.id IN (SELECT fv.article_id FROM "+s+".favorites fv JOIN "+s+
			".users fu ON fu.id = fv.author_id WHERE fu.username = "+arg(f.FavoritedBy)+")")
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Feed returns a page of the articles by authors the viewer follows,
// newest first (without their bodies), and how many there are in all.
func (r *Queries) Feed(ctx context.Context, viewer string, p Page) ([]Article, int, error) {
	if !storable(viewer) {
		return []Article{}, 0, nil
	}
	list := "SELECT " + fmt.Sprintf(r.q.articleColumns, "''") + " FROM " + r.q.feedFrom +
		" WHERE fd.follower_id = $1 ORDER BY fd.seq DESC LIMIT $2 OFFSET $3"
	return r.articles(ctx, list, []any{viewer, p.Limit, p.Offset}, r.q.feedCount, []any{viewer})
}

// articles runs a list query and its count query in one round trip.
func (r *Queries) articles(ctx context.Context, list string, args []any, count string, countArgs []any) ([]Article, int, error) {
	b := &pgx.Batch{}
	b.Queue(list, args...)
	b.Queue(count, countArgs...)
	br := r.db.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Article, error) { return scanArticle(row) })
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, 0, err
	}
	return out, total, br.Close()
}

func scanArticle(row pgx.Row) (Article, error) {
	var a Article
	err := row.Scan(&a.ID, &a.Slug, &a.Title, &a.Description, &a.Body, &a.TagList, &a.CreatedAt, &a.UpdatedAt,
		&a.FavoritesCount, &a.Favorited,
		&a.Author.ID, &a.Author.Username, &a.Author.Bio, &a.Author.Image, &a.Author.Following)
	if a.TagList == nil {
		a.TagList = []string{}
	}
	return a, err
}

// Comments returns a page of the comments on an article, newest first: at
// most MaxComments, and MaxComments when p.Limit is not positive.
func (r *Queries) Comments(ctx context.Context, viewer, articleID string, p Page) ([]Comment, error) {
	if !storable(viewer) || !storable(articleID) {
		return []Comment{}, nil
	}
	limit := p.Limit
	if limit <= 0 || limit > MaxComments {
		limit = MaxComments
	}
	rows, err := r.db.Query(ctx, r.q.comments, viewer, articleID, limit, max(p.Offset, 0))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Comment, error) { return scanComment(row) })
}

// Comment returns the comment with the integer id, or ErrNotFound.
func (r *Queries) Comment(ctx context.Context, viewer string, id int64) (Comment, error) {
	if !storable(viewer) {
		return Comment{}, ErrNotFound
	}
	c, err := scanComment(r.db.QueryRow(ctx, r.q.comment, viewer, id))
	return c, notFound(err)
}

func scanComment(row pgx.Row) (Comment, error) {
	var c Comment
	err := row.Scan(&c.ID, &c.CommentID, &c.ArticleID, &c.Body, &c.CreatedAt, &c.UpdatedAt,
		&c.Author.ID, &c.Author.Username, &c.Author.Bio, &c.Author.Image, &c.Author.Following)
	return c, err
}

// Caps of lists that have no paging in RealWorld's API.
const (
	// MaxTags caps Tags: the most used tags.
	MaxTags = 100
	// MaxComments caps a page of Comments.
	MaxComments = 100
)

// Tags returns the tags of existing articles, sorted: the MaxTags most
// used ones.
func (r *Queries) Tags(ctx context.Context) ([]string, error) {
	rows, err := r.db.Query(ctx, r.q.tags, MaxTags)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// storable reports whether PostgreSQL text can hold s: no text that
// cannot be stored can match a row, and PostgreSQL would refuse it as a
// query argument.
func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
