package httpapi

import (
	"time"

	"github.com/cohort-dev/cohort/conduit"
)

// The JSON documents of the RealWorld API.

type userView struct {
	Email    string `json:"email"`
	Token    string `json:"token"`
	Username string `json:"username"`
	Bio      string `json:"bio"`
	Image    string `json:"image"`
}

type profileView struct {
	Username  string `json:"username"`
	Bio       string `json:"bio"`
	Image     string `json:"image"`
	Following bool   `json:"following"`
}

// articleView is an article; Body is omitted in lists, as the
// specification's list items have none.
type articleView struct {
	Slug           string      `json:"slug"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Body           *string     `json:"body,omitempty"`
	TagList        []string    `json:"tagList"`
	CreatedAt      string      `json:"createdAt"`
	UpdatedAt      string      `json:"updatedAt"`
	Favorited      bool        `json:"favorited"`
	FavoritesCount int         `json:"favoritesCount"`
	Author         profileView `json:"author"`
}

type commentView struct {
	ID        int64       `json:"id"`
	CreatedAt string      `json:"createdAt"`
	UpdatedAt string      `json:"updatedAt"`
	Body      string      `json:"body"`
	Author    profileView `json:"author"`
}

type (
	userDoc struct {
		User userView `json:"user"`
	}
	profileDoc struct {
		Profile profileView `json:"profile"`
	}
	articleDoc struct {
		Article articleView `json:"article"`
	}
	commentDoc struct {
		Comment commentView `json:"comment"`
	}
	commentsDoc struct {
		Comments []commentView `json:"comments"`
	}
	articlesDoc struct {
		Articles      []articleView `json:"articles"`
		ArticlesCount int           `json:"articlesCount"`
	}
	tagsDoc struct {
		Tags []string `json:"tags"`
	}
)

// timestamp formats t as ISO 8601 in UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func newUserView(u conduit.User, token string) userView {
	return userView{Email: u.Email, Token: token, Username: u.Username, Bio: u.Bio, Image: u.Image}
}

func newProfileView(p conduit.Profile) profileView {
	return profileView{Username: p.Username, Bio: p.Bio, Image: p.Image, Following: p.Following}
}

func newArticleView(a conduit.Article, withBody bool) articleView {
	v := articleView{
		Slug: a.Slug, Title: a.Title, Description: a.Description, TagList: a.TagList,
		CreatedAt: timestamp(a.CreatedAt), UpdatedAt: timestamp(a.UpdatedAt),
		Favorited: a.Favorited, FavoritesCount: a.FavoritesCount, Author: newProfileView(a.Author),
	}
	if v.TagList == nil {
		v.TagList = []string{}
	}
	if withBody {
		v.Body = &a.Body
	}
	return v
}

func newArticlesDoc(as []conduit.Article, count int) articlesDoc {
	d := articlesDoc{Articles: make([]articleView, len(as)), ArticlesCount: count}
	for i, a := range as {
		d.Articles[i] = newArticleView(a, false)
	}
	return d
}

func newCommentView(c conduit.Comment) commentView {
	return commentView{ID: c.ID, CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt),
		Body: c.Body, Author: newProfileView(c.Author)}
}
