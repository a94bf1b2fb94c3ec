package projectors

import (
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
)

// BlogProjection is the "blog" projection: authors, follows, articles,
// their tags and favorites, the tags in use and each follower's feed. They
// share one projector because each depends on the others (a follow fills
// the feed from the articles, a publication from the follows).
type BlogProjection struct {
	authorCreated, authorRenamed          string
	follow, followFeed                    string
	unfollow, unfollowFeed                string
	publish, publishTags, publishFeed     string
	dropOldTags, addNewTags, updateFields string
	dropTags, deleteArticle               string
	favorite, unfavorite, favoriteCount   string
	authorDeleted, userFollows, userFeed  string
}

// NewBlogProjection returns the projection writing into schema.
func NewBlogProjection(schema string) *BlogProjection {
	p := &BlogProjection{
		authorCreated: `INSERT INTO {{schema}}.authors (id, user_id, username, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING`,
		// A rename the author workflow made after its user was deleted
		// leaves the placeholder.
		authorRenamed: `UPDATE {{schema}}.authors SET username = $2, updated_at = $3, projected_at = clock_timestamp()
			WHERE id = $1 AND username <> '` + DeletedUsername + `'`,

		follow: `INSERT INTO {{schema}}.follows (author_id, follower_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`,
		followFeed: `INSERT INTO {{schema}}.feed (follower_id, article_id, author_id, seq)
			SELECT $2, a.id, a.author_id, a.seq FROM {{schema}}.articles a WHERE a.author_id = $1
			ON CONFLICT DO NOTHING`,
		unfollow:     `DELETE FROM {{schema}}.follows WHERE author_id = $1 AND follower_id = $2`,
		unfollowFeed: `DELETE FROM {{schema}}.feed WHERE author_id = $1 AND follower_id = $2`,

		publish: `INSERT INTO {{schema}}.articles
			(id, seq, slug, author_id, title, description, body, tag_list, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING`,
		// Tags are counted by the article_tags rows a statement really
		// inserts or deletes, so that the counts stay right whatever
		// the table already holds.
		publishTags: `WITH added AS (
				INSERT INTO {{schema}}.article_tags (article_id, tag, seq)
				SELECT a.id, t, a.seq FROM {{schema}}.articles a, unnest($2::text[]) t WHERE a.id = $1
				ON CONFLICT DO NOTHING RETURNING tag)
			INSERT INTO {{schema}}.tags (name, article_count) SELECT tag, 1 FROM added
			ON CONFLICT (name) DO UPDATE SET article_count = tags.article_count + 1, projected_at = clock_timestamp()`,
		publishFeed: `INSERT INTO {{schema}}.feed (follower_id, article_id, author_id, seq)
			SELECT f.follower_id, a.id, a.author_id, a.seq
			FROM {{schema}}.follows f JOIN {{schema}}.articles a ON a.author_id = f.author_id
			WHERE a.id = $1 ON CONFLICT DO NOTHING`,

		dropOldTags: `WITH dropped AS (
				DELETE FROM {{schema}}.article_tags WHERE article_id = $1 AND tag <> ALL($2::text[]) RETURNING tag)
			UPDATE {{schema}}.tags t SET article_count = t.article_count - 1, projected_at = clock_timestamp()
			FROM dropped WHERE t.name = dropped.tag`,
		updateFields: `UPDATE {{schema}}.articles SET slug = $2, title = $3, description = $4, body = $5,
			tag_list = $6, updated_at = $7, projected_at = clock_timestamp() WHERE id = $1`,

		dropTags: `WITH dropped AS (DELETE FROM {{schema}}.article_tags WHERE article_id = $1 RETURNING tag)
			UPDATE {{schema}}.tags t SET article_count = t.article_count - 1, projected_at = clock_timestamp()
			FROM dropped WHERE t.name = dropped.tag`,
		// Cascades to favorites and feed entries.
		deleteArticle: `DELETE FROM {{schema}}.articles WHERE id = $1`,

		favorite: `INSERT INTO {{schema}}.favorites (article_id, author_id, seq, created_at)
			SELECT a.id, $2, a.seq, $3 FROM {{schema}}.articles a WHERE a.id = $1 ON CONFLICT DO NOTHING`,
		unfavorite:    `DELETE FROM {{schema}}.favorites WHERE article_id = $1 AND author_id = $2`,
		favoriteCount: `UPDATE {{schema}}.articles SET favorites_count = $2, projected_at = clock_timestamp() WHERE id = $1`,

		// A deleted user's author keeps its articles under the
		// placeholder name; their follows, both ways, and the feed
		// entries those made are removed. Their favorites stay counted.
		authorDeleted: `UPDATE {{schema}}.authors SET username = '` + DeletedUsername + `', updated_at = $2,
			projected_at = clock_timestamp() WHERE user_id = $1`,
		userFollows: `DELETE FROM {{schema}}.follows WHERE follower_id = $1 OR author_id = $1`,
		userFeed:    `DELETE FROM {{schema}}.feed WHERE follower_id = $1 OR author_id = $1`,
	}
	p.addNewTags = p.publishTags
	sqlIn(schema, &p.authorCreated, &p.authorRenamed, &p.follow, &p.followFeed, &p.unfollow, &p.unfollowFeed,
		&p.publish, &p.publishTags, &p.publishFeed, &p.dropOldTags, &p.addNewTags, &p.updateFields,
		&p.dropTags, &p.deleteArticle, &p.favorite, &p.unfavorite, &p.favoriteCount,
		&p.authorDeleted, &p.userFollows, &p.userFeed)
	return p
}

// Name implements Projection.
func (*BlogProjection) Name() string { return BlogName }

// BlogName is the name of the blog projection.
const BlogName = "blog"

// Version implements Versioned: change it with the projection's code so
// that the stored generation is rebuilt at start-up.
func (*BlogProjection) Version() int64 { return 1 }

// Tables implements Projection.
func (*BlogProjection) Tables() []string {
	return []string{"authors", "follows", "articles", "article_tags", "tags", "favorites", "feed"}
}

// Project implements Projection.
func (p *BlogProjection) Project(b *pgx.Batch, ev actors.Event) {
	at := ev.CreatedAt
	switch e := ev.Payload.(type) {
	case blog.AuthorCreated:
		b.Queue(p.authorCreated, e.AuthorID, e.UserID, e.Username, at)
	case blog.AuthorUsernameChanged:
		b.Queue(p.authorRenamed, e.AuthorID, e.Username, at)
	case blog.AuthorFollowed:
		b.Queue(p.follow, e.AuthorID, e.FollowerID, at)
		b.Queue(p.followFeed, e.AuthorID, e.FollowerID)
	case blog.AuthorUnfollowed:
		b.Queue(p.unfollow, e.AuthorID, e.FollowerID)
		b.Queue(p.unfollowFeed, e.AuthorID, e.FollowerID)
	case blog.ArticlePublished:
		tags := nonNil(e.TagList)
		b.Queue(p.publish, e.ArticleID, ev.Position, e.Slug, e.AuthorID, e.Title, e.Description, e.Body, tags, at)
		b.Queue(p.publishTags, e.ArticleID, tags)
		b.Queue(p.publishFeed, e.ArticleID)
	case blog.ArticleUpdated:
		tags := nonNil(e.TagList)
		b.Queue(p.dropOldTags, e.ArticleID, tags)
		b.Queue(p.addNewTags, e.ArticleID, tags)
		b.Queue(p.updateFields, e.ArticleID, e.Slug, e.Title, e.Description, e.Body, tags, at)
	case blog.ArticleDeleted:
		b.Queue(p.dropTags, e.ArticleID)
		b.Queue(p.deleteArticle, e.ArticleID)
	case blog.ArticleFavorited:
		b.Queue(p.favorite, e.ArticleID, e.FavoritedBy, at)
		b.Queue(p.favoriteCount, e.ArticleID, e.FavoriteCount)
	case blog.ArticleUnfavorited:
		b.Queue(p.unfavorite, e.ArticleID, e.UnfavoritedBy)
		b.Queue(p.favoriteCount, e.ArticleID, e.FavoriteCount)
	case accounts.UserDeleted: // a user's author has the user's id
		b.Queue(p.authorDeleted, e.UserID, at)
		b.Queue(p.userFollows, e.UserID)
		b.Queue(p.userFeed, e.UserID)
	}
}

// nonNil makes a nil list an empty one: the tag_list column is NOT NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
