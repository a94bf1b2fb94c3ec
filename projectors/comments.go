package projectors

import (
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/blog"
)

// CommentsProjection is the "comments" projection. A comment's integer
// id is the global position of its ArticleCommented event.
type CommentsProjection struct {
	insert, deleteOne, deleteArticle string
}

// NewCommentsProjection returns the projection writing into schema.
func NewCommentsProjection(schema string) *CommentsProjection {
	p := &CommentsProjection{
		insert: `INSERT INTO {{schema}}.comments (id, comment_id, article_id, author_id, body, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`,
		deleteOne:     `DELETE FROM {{schema}}.comments WHERE comment_id = $1`,
		deleteArticle: `DELETE FROM {{schema}}.comments WHERE article_id = $1`,
	}
	sqlIn(schema, &p.insert, &p.deleteOne, &p.deleteArticle)
	return p
}

// Name implements Projection.
func (*CommentsProjection) Name() string { return CommentsName }

// CommentsName is the name of the comments projection.
const CommentsName = "comments"

// Version implements Versioned: change it with the projection's code so
// that the stored generation is rebuilt at start-up.
func (*CommentsProjection) Version() int64 { return 1 }

// Tables implements Projection.
func (*CommentsProjection) Tables() []string { return []string{"comments"} }

// Project implements Projection.
func (p *CommentsProjection) Project(b *pgx.Batch, ev actors.Event) {
	switch e := ev.Payload.(type) {
	case blog.ArticleCommented:
		b.Queue(p.insert, ev.Position, e.CommentID, e.ArticleID, e.AuthorID, e.Body, ev.CreatedAt)
	case blog.CommentDeleted:
		b.Queue(p.deleteOne, e.CommentID)
	case blog.ArticleDeleted:
		b.Queue(p.deleteArticle, e.ArticleID)
	}
}
