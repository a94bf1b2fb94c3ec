package blog

// CreateAuthor creates the author of a registered user.
type CreateAuthor struct {
	AuthorID string
	UserID   string
	Username string
}

// ChangeAuthorUsername makes an author's username follow its user's.
type ChangeAuthorUsername struct {
	AuthorID string
	Username string
}

// FollowAuthor makes FollowerID follow AuthorID.
type FollowAuthor struct {
	AuthorID   string
	FollowerID string
}

// UnfollowAuthor makes FollowerID stop following AuthorID.
type UnfollowAuthor struct {
	AuthorID   string
	FollowerID string
}

// PublishArticle publishes a new article under a slug the caller claimed.
type PublishArticle struct {
	ArticleID   string
	AuthorID    string
	Slug        string
	Title       string
	Description string
	Body        string
	TagList     []string
}

// UpdateArticle changes an article; nil fields are left unchanged. Slug,
// when set, is the new slug the caller claimed for a new title.
type UpdateArticle struct {
	ArticleID   string
	UpdatedBy   string
	Slug        string
	Title       *string
	Description *string
	Body        *string
	TagList     *[]string
}

// DeleteArticle deletes an article.
type DeleteArticle struct {
	ArticleID string
	DeletedBy string
}

// FavoriteArticle records that AuthorID favorites the article.
type FavoriteArticle struct {
	ArticleID string
	AuthorID  string
}

// UnfavoriteArticle withdraws AuthorID's favorite.
type UnfavoriteArticle struct {
	ArticleID string
	AuthorID  string
}

// CommentOnArticle comments on an article.
type CommentOnArticle struct {
	CommentID string
	ArticleID string
	AuthorID  string
	Body      string
}

// DeleteComment deletes a comment.
type DeleteComment struct {
	CommentID string
	DeletedBy string
}
