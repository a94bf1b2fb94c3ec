package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
)

// TestRegistrationRace: of concurrent registrations of one username (and
// of one email), exactly one succeeds and the others get a 422.
func TestRegistrationRace(t *testing.T) {
	a := newAPI(t)
	const n = 10
	for _, tc := range []struct{ field, username, email string }{
		{"username", "same", "same%d@example.com"},
		{"email", "user%d", "same@example.com"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			statuses := make([]response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					username, email := tc.username, tc.email
					if tc.field == "username" {
						email = fmt.Sprintf(email, i)
					} else {
						username = fmt.Sprintf(username, i)
					}
					statuses[i] = a.on(t).do("POST", "/users", "", map[string]any{"user": map[string]any{
						"username": username, "email": email, "password": "password"}})
				})
			}
			wg.Wait()
			created := 0
			for _, r := range statuses {
				switch r.status {
				case http.StatusCreated:
					created++
				case http.StatusUnprocessableEntity:
					if got := errorsOf(t, r, tc.field); got != "has already been taken" {
						t.Fatalf("loser's error: %s", r.raw)
					}
				default:
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
			}
			if created != 1 {
				t.Fatalf("%d registrations succeeded, want 1", created)
			}
		})
	}
}

// TestReadYourWrites: each write is visible to the very next request,
// without waiting.
func TestReadYourWrites(t *testing.T) {
	a := newAPI(t)
	for i := range 5 {
		jake, celeb := a.register(fmt.Sprint("jake", i)), a.register(fmt.Sprint("celeb", i))
		a.must(http.StatusOK, "GET", "/profiles/"+celeb.name, "", nil)

		r := a.must(http.StatusOK, "POST", "/profiles/"+celeb.name+"/follow", jake.token, nil)
		if !field[bool](t, r.doc, "profile", "following") {
			t.Fatalf("follow: %s", r.raw)
		}
		r = a.must(http.StatusOK, "GET", "/profiles/"+celeb.name, jake.token, nil)
		if !field[bool](t, r.doc, "profile", "following") {
			t.Fatalf("profile after follow: %s", r.raw)
		}

		slug := a.publish(celeb, "Fresh", "news")
		r = a.must(http.StatusOK, "GET", "/articles/feed", jake.token, nil)
		if field[string](t, r.doc, "articles", 0, "slug") != slug {
			t.Fatalf("feed after publish: %s", r.raw)
		}
		r = a.must(http.StatusOK, "GET", "/articles?author="+celeb.name, "", nil)
		if field[float64](t, r.doc, "articlesCount") != 1 {
			t.Fatalf("author's articles after publish: %s", r.raw)
		}

		a.must(http.StatusOK, "POST", "/articles/"+slug+"/favorite", jake.token, nil)
		r = a.must(http.StatusOK, "GET", "/articles?favorited="+jake.name, jake.token, nil)
		if field[float64](t, r.doc, "articlesCount") != 1 || !field[bool](t, r.doc, "articles", 0, "favorited") {
			t.Fatalf("favorites after favorite: %s", r.raw)
		}

		a.must(http.StatusOK, "POST", "/articles/"+slug+"/comments", jake.token, map[string]any{"comment": map[string]any{"body": "hi"}})
		r = a.must(http.StatusOK, "GET", "/articles/"+slug+"/comments", "", nil)
		if len(field[[]any](t, r.doc, "comments")) != 1 {
			t.Fatalf("comments after comment: %s", r.raw)
		}

		renamed := jake.name + "x"
		a.must(http.StatusOK, "PUT", "/user", jake.token, map[string]any{"user": map[string]any{"username": renamed, "bio": "new bio"}})
		r = a.must(http.StatusOK, "GET", "/profiles/"+renamed, "", nil)
		if field[string](t, r.doc, "profile", "bio") != "new bio" {
			t.Fatalf("profile after rename: %s", r.raw)
		}
		a.must(http.StatusNotFound, "GET", "/profiles/"+jake.name, "", nil)
		r = a.must(http.StatusOK, "GET", "/user", jake.token, nil)
		if field[string](t, r.doc, "user", "username") != renamed || field[string](t, r.doc, "user", "bio") != "new bio" {
			t.Fatalf("user after rename: %s", r.raw)
		}
		// The old username is free at once.
		a.must(http.StatusCreated, "POST", "/users", "", map[string]any{"user": map[string]any{
			"username": jake.name, "email": jake.name + "@elsewhere.example", "password": "password"}})

		a.must(http.StatusNoContent, "DELETE", "/articles/"+slug, celeb.token, nil)
		a.must(http.StatusNotFound, "GET", "/articles/"+slug, "", nil)
		if got := a.publish(celeb, "Fresh"); got != slug {
			t.Fatalf("slug of a deleted article not free: %q", got)
		}
	}
}

var iso8601ms = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func keys(t *testing.T, doc any, path ...any) []string {
	t.Helper()
	m := field[map[string]any](t, doc, path...)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestShapes checks every document's exact keys, timestamps, tag order,
// list order and pagination.
func TestShapes(t *testing.T) {
	a := newAPI(t)
	r := a.must(http.StatusCreated, "POST", "/users", "", map[string]any{"user": map[string]any{
		"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}})
	if got := keys(t, r.doc, "user"); !slices.Equal(got, []string{"bio", "email", "image", "token", "username"}) {
		t.Fatalf("user keys %v", got)
	}
	jake := user{name: "jake", token: field[string](t, r.doc, "user", "token")}
	r = a.must(http.StatusOK, "POST", "/users/login", "", map[string]any{"user": map[string]any{"email": "JAKE@jake.jake", "password": "jakejake"}})
	if field[string](t, r.doc, "user", "email") != "jake@jake.jake" {
		t.Fatalf("login: %s", r.raw)
	}
	celeb := a.register("celeb")

	r = a.must(http.StatusCreated, "POST", "/articles", jake.token, map[string]any{"article": map[string]any{
		"title": "How to train your dragon", "description": "Ever wonder how?", "body": "You have to believe",
		"tagList": []string{"training", "dragons", "dragons", " "}}})
	art := field[map[string]any](t, r.doc, "article")
	if got := keys(t, r.doc, "article"); !slices.Equal(got, []string{"author", "body", "createdAt", "description",
		"favorited", "favoritesCount", "slug", "tagList", "title", "updatedAt"}) {
		t.Fatalf("article keys %v", got)
	}
	if got := keys(t, r.doc, "article", "author"); !slices.Equal(got, []string{"bio", "following", "image", "username"}) {
		t.Fatalf("profile keys %v", got)
	}
	if !iso8601ms.MatchString(art["createdAt"].(string)) || art["createdAt"] != art["updatedAt"] {
		t.Fatalf("timestamps %v %v", art["createdAt"], art["updatedAt"])
	}
	if fmt.Sprint(art["tagList"]) != "[dragons training]" || art["slug"] != "how-to-train-your-dragon" || art["favoritesCount"] != 0.0 {
		t.Fatalf("article %v", art)
	}

	r = a.must(http.StatusOK, "PUT", "/articles/how-to-train-your-dragon", jake.token, map[string]any{"article": map[string]any{"body": "With two hands"}})
	if field[string](t, r.doc, "article", "body") != "With two hands" || field[string](t, r.doc, "article", "updatedAt") <= art["createdAt"].(string) {
		t.Fatalf("update: %s", r.raw)
	}

	r = a.must(http.StatusOK, "POST", "/articles/how-to-train-your-dragon/comments", celeb.token, map[string]any{"comment": map[string]any{"body": "Thank you so much!"}})
	if got := keys(t, r.doc, "comment"); !slices.Equal(got, []string{"author", "body", "createdAt", "id", "updatedAt"}) {
		t.Fatalf("comment keys %v", got)
	}
	if id := field[float64](t, r.doc, "comment", "id"); id != float64(int64(id)) || id <= 0 {
		t.Fatalf("comment id %v", id)
	}

	// 25 more articles: lists are newest first, 20 by default, without bodies.
	for i := range 25 {
		a.publish(celeb, fmt.Sprint("Article ", i), "many")
	}
	r = a.must(http.StatusOK, "GET", "/articles", "", nil)
	if got := keys(t, r.doc); !slices.Equal(got, []string{"articles", "articlesCount"}) {
		t.Fatalf("list keys %v", got)
	}
	list := field[[]any](t, r.doc, "articles")
	if len(list) != 20 || field[float64](t, r.doc, "articlesCount") != 26 {
		t.Fatalf("default page: %d of %v", len(list), r.doc["articlesCount"])
	}
	if _, ok := list[0].(map[string]any)["body"]; ok {
		t.Fatal("list items carry a body")
	}
	if field[string](t, list, 0, "slug") != "article-24" || field[string](t, list, 19, "slug") != "article-5" {
		t.Fatalf("order: %v ... %v", field[string](t, list, 0, "slug"), field[string](t, list, 19, "slug"))
	}
	r = a.must(http.StatusOK, "GET", "/articles?limit=3&offset=24", "", nil)
	if got := field[[]any](t, r.doc, "articles"); len(got) != 2 || field[string](t, got, 1, "slug") != "how-to-train-your-dragon" {
		t.Fatalf("last page: %s", r.raw)
	}
	r = a.must(http.StatusOK, "GET", "/articles/feed", jake.token, nil)
	if len(field[[]any](t, r.doc, "articles")) != 0 || field[float64](t, r.doc, "articlesCount") != 0 {
		t.Fatalf("empty feed: %s", r.raw)
	}
	r = a.must(http.StatusOK, "GET", "/tags", "", nil)
	if fmt.Sprint(r.doc["tags"]) != "[dragons many training]" {
		t.Fatalf("tags: %s", r.raw)
	}
	r = a.must(http.StatusOK, "DELETE", "/articles/how-to-train-your-dragon/favorite", jake.token, nil)
	if field[bool](t, r.doc, "article", "favorited") {
		t.Fatalf("unfavorite: %s", r.raw)
	}
	// The follow request of the RealWorld collection carries a body; it is ignored.
	a.must(http.StatusOK, "POST", "/profiles/celeb/follow", jake.token, map[string]any{"user": map[string]any{"email": "jake@jake.jake"}})
}

// TestCORS: browser front ends on other origins may call the API.
func TestCORS(t *testing.T) {
	a := newAPI(t)
	req, _ := http.NewRequest("OPTIONS", a.url+"/articles", nil)
	req.Header.Set("Origin", "http://localhost:4100")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		res.Header.Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
}
