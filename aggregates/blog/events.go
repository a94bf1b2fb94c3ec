package blog

import "github.com/cohort-dev/cohort/actors"

// AuthorCreated: an author was created for a user.
type AuthorCreated struct {
	AuthorID string `json:"author_id"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// AuthorUsernameChanged: an author's username followed its user's.
type AuthorUsernameChanged struct {
	AuthorID string `json:"author_id"`
	Username string `json:"username"`
}

// AuthorFollowed: FollowerID follows AuthorID.
type AuthorFollowed struct {
	AuthorID   string `json:"author_id"`
	FollowerID string `json:"follower_id"`
}

// AuthorUnfollowed: FollowerID no longer follows AuthorID.
type AuthorUnfollowed struct {
	AuthorID   string `json:"author_id"`
	FollowerID string `json:"follower_id"`
}

// ArticlePublished: an article was published.
type ArticlePublished struct {
	ArticleID   string   `json:"article_id"`
	AuthorID    string   `json:"author_id"`
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Body        string   `json:"body"`
	TagList     []string `json:"tag_list"`
}

// ArticleUpdated: an article changed; it carries the article's new content
// whole, and PreviousSlug when the slug changed.
type ArticleUpdated struct {
	ArticleID    string   `json:"article_id"`
	Slug         string   `json:"slug"`
	PreviousSlug string   `json:"previous_slug,omitempty"`
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	Body         string   `json:"body"`
	TagList      []string `json:"tag_list"`
}

// ArticleDeleted: an article was deleted; its slug is free again.
type ArticleDeleted struct {
	ArticleID string `json:"article_id"`
	AuthorID  string `json:"author_id"`
	Slug      string `json:"slug"`
}

// ArticleFavorited: an author favorited an article.
type ArticleFavorited struct {
	ArticleID     string `json:"article_id"`
	FavoritedBy   string `json:"favorited_by"`
	FavoriteCount int    `json:"favorite_count"`
}

// ArticleUnfavorited: an author withdrew their favorite.
type ArticleUnfavorited struct {
	ArticleID     string `json:"article_id"`
	UnfavoritedBy string `json:"unfavorited_by"`
	FavoriteCount int    `json:"favorite_count"`
}

// ArticleCommented: an author commented on an article.
type ArticleCommented struct {
	CommentID string `json:"comment_id"`
	ArticleID string `json:"article_id"`
	AuthorID  string `json:"author_id"`
	Body      string `json:"body"`
}

// CommentDeleted: a comment was deleted.
type CommentDeleted struct {
	CommentID string `json:"comment_id"`
	ArticleID string `json:"article_id"`
	AuthorID  string `json:"author_id"`
}

// RegisterEvents names the context's events in r. The names are stored with
// every event and must never change.
func RegisterEvents(r *actors.Registry) error {
	for _, err := range []error{
		actors.RegisterEvent[AuthorCreated](r, "blog.AuthorCreated"),
		actors.RegisterEvent[AuthorUsernameChanged](r, "blog.AuthorUsernameChanged"),
		actors.RegisterEvent[AuthorFollowed](r, "blog.AuthorFollowed"),
		actors.RegisterEvent[AuthorUnfollowed](r, "blog.AuthorUnfollowed"),
		actors.RegisterEvent[ArticlePublished](r, "blog.ArticlePublished"),
		actors.RegisterEvent[ArticleUpdated](r, "blog.ArticleUpdated"),
		actors.RegisterEvent[ArticleDeleted](r, "blog.ArticleDeleted"),
		actors.RegisterEvent[ArticleFavorited](r, "blog.ArticleFavorited"),
		actors.RegisterEvent[ArticleUnfavorited](r, "blog.ArticleUnfavorited"),
		actors.RegisterEvent[ArticleCommented](r, "blog.ArticleCommented"),
		actors.RegisterEvent[CommentDeleted](r, "blog.CommentDeleted"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
