package conduitload

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cohort-dev/cohort/aggregates/blog"
)

// Report is the result of Verify.
type Report struct {
	// AckedWrites is how many writes the server acknowledged.
	AckedWrites int64
	// Checked is how many of them Verify checked: every acknowledged
	// write the load could make sense of (see Snapshot.Anomalies).
	Checked int
	// Facts is how many facts Verify checked, and Uncertain how many of
	// them had more than one candidate (a write of unknown outcome).
	Facts, Uncertain int
	// Lost lists acknowledged writes the API does not show.
	Lost []string
	// Inconsistent lists views that contradict each other (a count that
	// differs from the rows it counts, say).
	Inconsistent []string
}

// OK reports whether nothing was lost or inconsistent.
func (r Report) OK() bool { return len(r.Lost) == 0 && len(r.Inconsistent) == 0 }

func (r *Report) lost(format string, args ...any) {
	r.Lost = append(r.Lost, fmt.Sprintf(format, args...))
}

func (r *Report) inconsistent(format string, args ...any) {
	r.Inconsistent = append(r.Inconsistent, fmt.Sprintf(format, args...))
}

// verifier holds what Verify learns of the server's state.
type verifier struct {
	w      *Workload
	ctx    context.Context
	rep    *Report
	names  map[*User]string    // usernames the server shows
	tokens map[*User]string    // fresh tokens from logging in
	slugs  map[*Article]string // slugs the server shows
	shown  map[*Article]ArticleView
}

// Verify checks through the API that every acknowledged write is visible
// and that the views agree with each other. Call it once the load has
// stopped. It returns an error if the API does not answer.
func (w *Workload) Verify(ctx context.Context) (Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rep := Report{AckedWrites: w.stats.Snapshot().Writes(Acked)}
	v := &verifier{w: w, ctx: ctx, rep: &rep, names: map[*User]string{}, tokens: map[*User]string{},
		slugs: map[*Article]string{}, shown: map[*Article]ArticleView{}}
	for _, step := range []func() error{v.users, v.articles, v.comments, v.favorites, v.follows} {
		if err := step(); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// call sends a request until it gets a 2xx or 4xx answer (a few tries).
func (v *verifier) call(method, path, token string, in any) (Response, error) {
	var r Response
	for try := range 5 {
		if try > 0 {
			sleep(v.ctx, time.Duration(try)*200*time.Millisecond)
		}
		r = v.w.c.Do(v.ctx, method, path, token, in)
		if o := r.Outcome(); (o == Acked || o == Rejected) && r.Err == nil {
			return r, nil
		}
		if v.ctx.Err() != nil {
			break
		}
	}
	return r, fmt.Errorf("conduitload: verify: %s %s: %s", method, path, r)
}

// get GETs path and decodes a 200 answer into out; it returns the status.
func (v *verifier) get(path, token string, out any) (int, error) {
	r, err := v.call(http.MethodGet, path, token, nil)
	if err != nil {
		return 0, err
	}
	if r.Status == http.StatusOK && out != nil {
		if err := r.Decode(out); err != nil {
			return 0, fmt.Errorf("conduitload: verify: GET %s: %w", path, err)
		}
	}
	return r.Status, nil
}

func (v *verifier) fact(candidates int, acked int) {
	v.rep.Facts++
	v.rep.Checked += acked
	if candidates > 1 {
		v.rep.Uncertain++
	}
}

// users: every user logs in with their password, under a username that
// some write gave them.
func (v *verifier) users() error {
	for _, u := range v.w.users {
		v.fact(len(u.Username.Candidates()), 1+u.Username.Acked())
		r, err := v.call(http.MethodPost, "/users/login", "",
			map[string]any{"user": map[string]string{"email": u.Email, "password": u.Password}})
		if err != nil {
			return err
		}
		var doc UserDoc
		if r.Status != http.StatusOK || r.Decode(&doc) != nil {
			v.rep.lost("user %s (%s) cannot log in: %s", u.Email, u.Username.Candidates(), r)
			continue
		}
		v.names[u], v.tokens[u] = doc.User.Username, doc.User.Token
		if !u.Username.Allows(doc.User.Username) {
			v.rep.lost("user %s is called %q, want one of %q", u.Email, doc.User.Username, u.Username.Candidates())
		}
	}
	return nil
}

// articles: every article is found under the slug of a title some write
// gave it, with its body, tags and author.
func (v *verifier) articles() error {
	for _, a := range v.w.articles {
		titles := a.Title.Candidates()
		v.fact(len(titles), 1+a.Title.Acked())
		var found []string
		for _, title := range titles {
			slug := blog.Slugify(title)
			var doc ArticleDoc
			status, err := v.get("/articles/"+escape(slug), "", &doc)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				continue
			}
			found = append(found, title)
			got := doc.Article
			v.slugs[a], v.shown[a] = slug, got
			if got.Title != title || got.Body != a.Body || !slices.Equal(got.TagList, a.Tags) {
				v.rep.lost("article %q shows title %q, body %q, tags %q; want %q, %q, %q",
					slug, got.Title, got.Body, got.TagList, title, a.Body, a.Tags)
			}
			if name, ok := v.names[a.Author]; ok && got.Author.Username != name {
				v.rep.inconsistent("article %q shows author %q, the user is called %q", slug, got.Author.Username, name)
			}
		}
		switch {
		case len(found) == 0:
			v.rep.lost("article titled one of %q is not found", titles)
		case len(found) > 1:
			v.rep.inconsistent("one article is found under several titles %q", found)
		}
	}
	return nil
}

// comments: every comment not surely deleted is on its article, every
// comment surely deleted is not.
func (v *verifier) comments() error {
	byArticle := map[*Article]map[int64]CommentView{}
	for _, c := range v.w.comments {
		v.fact(len(c.Deleted.Candidates()), 1+c.Deleted.Acked())
		slug, ok := v.slugs[c.Article]
		if !ok {
			continue // the article's loss is reported
		}
		shown, ok := byArticle[c.Article]
		if !ok {
			var doc CommentsDoc
			status, err := v.get("/articles/"+escape(slug)+"/comments", "", &doc)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("conduitload: verify: comments of %q: status %d", slug, status)
			}
			shown = map[int64]CommentView{}
			for _, sc := range doc.Comments {
				shown[sc.ID] = sc
			}
			byArticle[c.Article] = shown
		}
		sc, present := shown[c.ID]
		if !c.Deleted.Allows(!present) {
			v.rep.lost("comment %d on %q: present=%v, want deleted in %v", c.ID, slug, present, c.Deleted.Candidates())
		}
		if present && (sc.Body != c.Body || sc.Author.Username != v.names[c.Author]) {
			v.rep.lost("comment %d on %q shows %q by %q, want %q by %q", c.ID, slug, sc.Body, sc.Author.Username, c.Body, v.names[c.Author])
		}
	}
	return nil
}

// favorites: each user's favorites are as written, and each article's
// favoritesCount is the number of users who favorite it.
func (v *verifier) favorites() error {
	favorited := map[*User]map[string]bool{}
	for _, u := range v.w.users {
		name, ok := v.names[u]
		if !ok {
			continue
		}
		set := map[string]bool{}
		for offset := 0; ; offset += 100 {
			var doc ArticlesDoc
			path := fmt.Sprintf("/articles?favorited=%s&limit=100&offset=%d", url.QueryEscape(name), offset)
			if status, err := v.get(path, "", &doc); err != nil {
				return err
			} else if status != http.StatusOK {
				return fmt.Errorf("conduitload: verify: GET %s: status %d", path, status)
			}
			for _, a := range doc.Articles {
				set[a.Slug] = true
			}
			if len(doc.Articles) < 100 {
				break
			}
		}
		favorited[u] = set
	}
	for key, f := range v.w.favorites {
		u, a := key.a.(*User), key.b.(*Article)
		v.fact(len(f.Candidates()), f.Acked())
		slug, ok := v.slugs[a]
		if !ok || favorited[u] == nil {
			continue
		}
		if got := favorited[u][slug]; !f.Allows(got) {
			v.rep.lost("%s favorites %q: %v, want one of %v", v.names[u], slug, got, f.Candidates())
		}
	}
	for _, a := range v.w.articles {
		slug, ok := v.slugs[a]
		if !ok {
			continue
		}
		n := 0
		for _, set := range favorited {
			if set[slug] {
				n++
			}
		}
		if got := v.shown[a].FavoritesCount; got != n {
			v.rep.inconsistent("article %q: favoritesCount %d, but %d users list it among their favorites", slug, got, n)
		}
	}
	return nil
}

// follows: each follow is as written, and each user's feed holds the
// articles of the authors they follow.
func (v *verifier) follows() error {
	following := map[*User][]*User{}
	for key, f := range v.w.follows {
		u, t := key.a.(*User), key.b.(*User)
		v.fact(len(f.Candidates()), f.Acked())
		name, ok := v.names[t]
		if !ok || v.tokens[u] == "" {
			continue
		}
		var doc ProfileDoc
		status, err := v.get("/profiles/"+escape(name), v.tokens[u], &doc)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			v.rep.lost("profile %q not found", name)
			continue
		}
		if got := doc.Profile.Following; !f.Allows(got) {
			v.rep.lost("%s follows %s: %v, want one of %v", v.names[u], name, got, f.Candidates())
		}
		if doc.Profile.Following {
			following[u] = append(following[u], t)
		}
	}
	// Feeds: every article of the followed authors, whoever published it
	// (unacknowledged publications that took effect count too).
	byAuthor := map[*User]int{}
	for _, u := range v.w.users {
		name, ok := v.names[u]
		if !ok {
			continue
		}
		var doc ArticlesDoc
		path := "/articles?limit=1&author=" + url.QueryEscape(name)
		if _, err := v.get(path, "", &doc); err != nil {
			return err
		}
		byAuthor[u] = doc.ArticlesCount
	}
	for _, u := range v.w.users {
		if v.tokens[u] == "" {
			continue
		}
		want := 0
		for _, t := range following[u] {
			want += byAuthor[t]
		}
		var doc ArticlesDoc
		if _, err := v.get("/articles/feed?limit=1", v.tokens[u], &doc); err != nil {
			return err
		}
		if doc.ArticlesCount != want {
			v.rep.inconsistent("%s's feed holds %d articles, the %d authors they follow wrote %d",
				v.names[u], doc.ArticlesCount, len(following[u]), want)
		}
	}
	return nil
}
