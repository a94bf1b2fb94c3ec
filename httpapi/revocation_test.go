package httpapi_test

import (
	"net/http"
	"testing"
)

// TestPasswordChangeRevokesTokens: a change of password invalidates the
// tokens issued before it; the answer to the change carries a fresh
// token, and so does the next login; other changes keep the token.
func TestPasswordChangeRevokesTokens(t *testing.T) {
	a := newAPI(t)
	jake := a.register("jake")
	other := a.register("other")
	login := func(password string) string {
		t.Helper()
		r := a.must(http.StatusOK, "POST", "/users/login", "",
			map[string]any{"user": map[string]any{"email": "jake@example.com", "password": password}})
		return field[string](t, r.doc, "user", "token")
	}
	before := login("password")

	// A change of bio keeps the token.
	r := a.must(http.StatusOK, "PUT", "/user", jake.token, map[string]any{"user": map[string]any{"bio": "hi"}})
	if got := field[string](t, r.doc, "user", "token"); got != jake.token {
		t.Fatalf("a change of bio answered another token")
	}
	a.must(http.StatusOK, "GET", "/user", jake.token, nil)

	r = a.must(http.StatusOK, "PUT", "/user", jake.token, map[string]any{"user": map[string]any{"password": "new-password"}})
	fresh := field[string](t, r.doc, "user", "token")
	if fresh == jake.token {
		t.Fatalf("the password change answered the old token")
	}
	for name, tok := range map[string]string{"registration's": jake.token, "login's": before} {
		if r := a.do("GET", "/user", tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("the %s token issued before the change: status %d, want 401", name, r.status)
		}
		if r := a.do("GET", "/articles", tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("the %s token on an endpoint of optional authentication: status %d, want 401", name, r.status)
		}
	}
	r = a.must(http.StatusOK, "GET", "/user", fresh, nil)
	if field[string](t, r.doc, "user", "username") != "jake" {
		t.Fatalf("fresh token: %s", r.raw)
	}
	a.must(http.StatusOK, "GET", "/user", login("new-password"), nil)
	// Another user's tokens are not affected.
	a.must(http.StatusOK, "GET", "/user", other.token, nil)
}
