package httpapi

import (
	"net/http"
	"strconv"

	"github.com/cohort-dev/cohort/conduit"
)

// listArticles: GET /api/articles?tag=&author=&favorited=&limit=&offset=.
func (s *server) listArticles(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, offset, err := page(q, defaultLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := conduit.ArticleFilter{Tag: q.Get("tag"), Author: q.Get("author"), FavoritedBy: q.Get("favorited")}
	as, n, err := s.app.Articles(r.Context(), viewer(r), f, conduit.Page{Limit: limit, Offset: offset})
	s.writeArticles(w, r, as, n, err)
}

// feed: GET /api/articles/feed?limit=&offset=.
func (s *server) feed(w http.ResponseWriter, r *http.Request, sess session) {
	q, err := query(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, offset, err := page(q, defaultLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	as, n, err := s.app.Feed(r.Context(), sess.user.ID, conduit.Page{Limit: limit, Offset: offset})
	s.writeArticles(w, r, as, n, err)
}

func (s *server) writeArticles(w http.ResponseWriter, r *http.Request, as []conduit.Article, n int, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newArticlesDoc(as, n))
}

// article: GET /api/articles/{slug}.
func (s *server) article(w http.ResponseWriter, r *http.Request) {
	a, err := s.app.Article(r.Context(), viewer(r), param(r, "slug"))
	s.writeArticle(w, r, http.StatusOK, a, err)
}

type articleInput struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Body        *string   `json:"body"`
	TagList     *[]string `json:"tagList"`
}

// createArticle: POST /api/articles.
func (s *server) createArticle(w http.ResponseWriter, r *http.Request, sess session) {
	in, err := decode[articleInput](s, w, r, "article")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n := conduit.NewArticle{Title: deref(in.Title), Description: deref(in.Description), Body: deref(in.Body)}
	if in.TagList != nil {
		n.TagList = *in.TagList
	}
	a, err := s.app.PublishArticle(r.Context(), sess.user.ID, n)
	s.writeArticle(w, r, http.StatusCreated, a, err)
}

// updateArticle: PUT /api/articles/{slug}.
func (s *server) updateArticle(w http.ResponseWriter, r *http.Request, sess session) {
	in, err := decode[articleInput](s, w, r, "article")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.app.UpdateArticle(r.Context(), sess.user.ID, param(r, "slug"), conduit.ArticleUpdate{
		Title: in.Title, Description: in.Description, Body: in.Body, TagList: in.TagList})
	s.writeArticle(w, r, http.StatusOK, a, err)
}

// deleteArticle: DELETE /api/articles/{slug}.
func (s *server) deleteArticle(w http.ResponseWriter, r *http.Request, sess session) {
	if err := s.app.DeleteArticle(r.Context(), sess.user.ID, param(r, "slug")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// favorite: POST /api/articles/{slug}/favorite.
func (s *server) favorite(w http.ResponseWriter, r *http.Request, sess session) {
	a, err := s.app.FavoriteArticle(r.Context(), sess.user.ID, param(r, "slug"))
	s.writeArticle(w, r, http.StatusOK, a, err)
}

// unfavorite: DELETE /api/articles/{slug}/favorite.
func (s *server) unfavorite(w http.ResponseWriter, r *http.Request, sess session) {
	a, err := s.app.UnfavoriteArticle(r.Context(), sess.user.ID, param(r, "slug"))
	s.writeArticle(w, r, http.StatusOK, a, err)
}

func (s *server) writeArticle(w http.ResponseWriter, r *http.Request, status int, a conduit.Article, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, articleDoc{Article: newArticleView(a, true)})
}

// comments: GET /api/articles/{slug}/comments?limit=&offset=, newest
// first; without limit, the newest 100.
func (s *server) comments(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, offset, err := page(q, defaultCommentsLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.app.Comments(r.Context(), viewer(r), param(r, "slug"), conduit.Page{Limit: limit, Offset: offset})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	doc := commentsDoc{Comments: make([]commentView, len(cs))}
	for i, c := range cs {
		doc.Comments[i] = newCommentView(c)
	}
	writeJSON(w, http.StatusOK, doc)
}

// addComment: POST /api/articles/{slug}/comments.
func (s *server) addComment(w http.ResponseWriter, r *http.Request, sess session) {
	in, err := decode[struct {
		Body string `json:"body"`
	}](s, w, r, "comment")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.app.AddComment(r.Context(), sess.user.ID, param(r, "slug"), in.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, commentDoc{Comment: newCommentView(c)})
}

// deleteComment: DELETE /api/articles/{slug}/comments/{id}.
func (s *server) deleteComment(w http.ResponseWriter, r *http.Request, sess session) {
	id, err := strconv.ParseInt(param(r, "id"), 10, 64)
	if err != nil {
		s.writeError(w, r, errRouteNotFound)
		return
	}
	if err := s.app.DeleteComment(r.Context(), sess.user.ID, param(r, "slug"), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tags: GET /api/tags.
func (s *server) tags(w http.ResponseWriter, r *http.Request) {
	tags, err := s.app.Tags(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, tagsDoc{Tags: tags})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
