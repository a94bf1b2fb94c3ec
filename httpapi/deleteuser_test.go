package httpapi_test

import (
	"net/http"
	"testing"
)

// TestDeleteUser: DELETE /api/user (beyond the RealWorld spec) forgets
// the caller: 204 with no body, their token stops working at once (a
// second DELETE is 401), their profile is gone, their follows too, their
// articles and comments stay under the placeholder author name, and
// their username and email can be registered again by someone else.
func TestDeleteUser(t *testing.T) {
	a := newAPI(t)
	jake := a.register("jake")
	other := a.register("other")
	slug := a.publish(jake, "Dragons")
	a.must(http.StatusOK, "POST", "/articles/"+slug+"/comments", jake.token,
		map[string]any{"comment": map[string]any{"body": "my own comment"}})
	a.must(http.StatusOK, "POST", "/profiles/jake/follow", other.token, nil)
	a.must(http.StatusOK, "POST", "/profiles/other/follow", jake.token, nil)
	if n := field[float64](t, a.must(http.StatusOK, "GET", "/articles/feed", other.token, nil).doc, "articlesCount"); n != 1 {
		t.Fatalf("other's feed holds %v articles before, want 1", n)
	}

	a.must(http.StatusUnauthorized, "DELETE", "/user", "", nil)
	if r := a.must(http.StatusNoContent, "DELETE", "/user", jake.token, nil); r.raw != "" {
		t.Fatalf("DELETE /user answered a body: %q", r.raw)
	}
	a.must(http.StatusUnauthorized, "GET", "/user", jake.token, nil)
	a.must(http.StatusUnauthorized, "DELETE", "/user", jake.token, nil)
	a.must(http.StatusUnauthorized, "GET", "/articles", jake.token, nil)
	a.must(http.StatusNotFound, "GET", "/profiles/jake", "", nil)
	a.must(http.StatusNotFound, "POST", "/profiles/jake/follow", other.token, nil)

	r := a.must(http.StatusOK, "GET", "/articles/"+slug, other.token, nil)
	if got := field[string](t, r.doc, "article", "author", "username"); got != "[deleted]" {
		t.Errorf("the deleted user's article is by %q, want [deleted]", got)
	}
	if field[bool](t, r.doc, "article", "author", "following") {
		t.Errorf("other still follows the deleted user")
	}
	r = a.must(http.StatusOK, "GET", "/articles/"+slug+"/comments", "", nil)
	if got := field[string](t, r.doc, "comments", 0, "author", "username"); got != "[deleted]" {
		t.Errorf("the deleted user's comment is by %q, want [deleted]", got)
	}
	if n := field[float64](t, a.must(http.StatusOK, "GET", "/articles?author=jake", "", nil).doc, "articlesCount"); n != 0 {
		t.Errorf("the deleted user's name still lists %v articles", n)
	}
	if n := field[float64](t, a.must(http.StatusOK, "GET", "/articles/feed", other.token, nil).doc, "articlesCount"); n != 0 {
		t.Errorf("other's feed holds %v articles of the deleted user, want 0", n)
	}

	again := a.register("jake") // the same name and email
	r = a.must(http.StatusOK, "GET", "/profiles/jake", again.token, nil)
	if field[string](t, r.doc, "profile", "username") != "jake" {
		t.Fatalf("the new jake's profile: %s", r.raw)
	}
	r = a.must(http.StatusOK, "GET", "/articles/"+slug, "", nil)
	if got := field[string](t, r.doc, "article", "author", "username"); got != "[deleted]" {
		t.Errorf("the new jake took over the deleted user's article: author %q", got)
	}
	a.must(http.StatusUnauthorized, "GET", "/user", jake.token, nil)
}
