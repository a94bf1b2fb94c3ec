package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forge signs claims for subject with method and key.
func forge(t *testing.T, method jwt.SigningMethod, key any, subject string, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, jwt.RegisteredClaims{Issuer: "conduit", Subject: subject,
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(exp)}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUnauthorized(t *testing.T) {
	a := newAPI(t)
	jake := a.register("jake")
	r := a.must(http.StatusOK, "GET", "/user", jake.token, nil)
	id := "" // jake's id is the subject of his token
	if claims, err := jwt.ParseWithClaims(jake.token, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return secret, nil }); err == nil {
		id, _ = claims.Claims.GetSubject()
	}
	if id == "" || field[string](t, r.doc, "user", "username") != "jake" {
		t.Fatalf("valid token: %s", r.raw)
	}
	parts := strings.Split(jake.token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"sub":"`, `"sub":"x`, 1))) + "." + parts[2]
	none := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, id, time.Now().Add(time.Hour))

	tokens := []struct{ name, header string }{
		{"garbage", "Token not-a-jwt"},
		{"empty token", "Token "},
		{"other scheme", "Basic " + jake.token},
		{"forged with another secret", "Token " + forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), id, time.Now().Add(time.Hour))},
		{"tampered payload", "Token " + tampered},
		{"alg none", "Token " + none},
		{"wrong algorithm (HS512)", "Token " + forge(t, jwt.SigningMethodHS512, secret, id, time.Now().Add(time.Hour))},
		{"expired", "Token " + forge(t, jwt.SigningMethodHS256, secret, id, time.Now().Add(-time.Hour))},
		{"unknown user", "Token " + forge(t, jwt.SigningMethodHS256, secret, "no-such-user", time.Now().Add(time.Hour))},
	}
	for _, tt := range tokens {
		for _, ep := range []struct{ method, path string }{
			{"GET", "/user"},     // needs auth
			{"GET", "/articles"}, // optional auth
			{"POST", "/articles/x/favorite"},
		} {
			t.Run(tt.name+" "+ep.method+" "+ep.path, func(t *testing.T) {
				req, _ := http.NewRequest(ep.method, a.url+ep.path, nil)
				req.Header.Set("Authorization", tt.header)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", res.StatusCode)
				}
			})
		}
	}
	for _, ep := range []struct{ method, path string }{
		{"GET", "/user"}, {"PUT", "/user"}, {"GET", "/articles/feed"}, {"POST", "/articles"},
		{"POST", "/profiles/jake/follow"}, {"DELETE", "/profiles/jake/follow"},
		{"PUT", "/articles/x"}, {"DELETE", "/articles/x"}, {"POST", "/articles/x/favorite"},
		{"DELETE", "/articles/x/favorite"}, {"POST", "/articles/x/comments"}, {"DELETE", "/articles/x/comments/1"},
	} {
		a.must(http.StatusUnauthorized, ep.method, ep.path, "", nil)
	}
	// A wrong password is a 401 too, and does not say which part is wrong.
	r = a.must(http.StatusUnauthorized, "POST", "/users/login", "", map[string]any{"user": map[string]any{"email": "jake@example.com", "password": "wrong-password"}})
	if errorsOf(t, r, "email or password") != "is invalid" {
		t.Fatalf("login error %s", r.raw)
	}
	a.must(http.StatusUnauthorized, "POST", "/users/login", "", map[string]any{"user": map[string]any{"email": "nobody@example.com", "password": "password"}})
}

func TestForbiddenAndNotFound(t *testing.T) {
	a := newAPI(t)
	jake, celeb := a.register("jake"), a.register("celeb")
	slug := a.publish(jake, "Jake's article")
	r := a.must(http.StatusOK, "POST", "/articles/"+slug+"/comments", jake.token, map[string]any{"comment": map[string]any{"body": "mine"}})
	comment := int(field[float64](t, r.doc, "comment", "id"))

	tests := []struct {
		name, method, path string
		token              string
		body               any
		want               int
	}{
		{"update another's article", "PUT", "/articles/" + slug, celeb.token, map[string]any{"article": map[string]any{"body": "x"}}, http.StatusForbidden},
		{"delete another's article", "DELETE", "/articles/" + slug, celeb.token, nil, http.StatusForbidden},
		{"delete another's comment", "DELETE", "/articles/" + slug + "/comments/" + itoa(comment), celeb.token, nil, http.StatusForbidden},
		{"unknown article", "GET", "/articles/no-such-article", "", nil, http.StatusNotFound},
		{"update unknown article", "PUT", "/articles/no-such-article", jake.token, map[string]any{"article": map[string]any{"body": "x"}}, http.StatusNotFound},
		{"delete unknown article", "DELETE", "/articles/no-such-article", jake.token, nil, http.StatusNotFound},
		{"favorite unknown article", "POST", "/articles/no-such-article/favorite", jake.token, nil, http.StatusNotFound},
		{"comments of unknown article", "GET", "/articles/no-such-article/comments", "", nil, http.StatusNotFound},
		{"comment on unknown article", "POST", "/articles/no-such-article/comments", jake.token, map[string]any{"comment": map[string]any{"body": "x"}}, http.StatusNotFound},
		{"delete unknown comment", "DELETE", "/articles/" + slug + "/comments/999999", jake.token, nil, http.StatusNotFound},
		{"delete comment with a bad id", "DELETE", "/articles/" + slug + "/comments/abc", jake.token, nil, http.StatusNotFound},
		{"unknown profile", "GET", "/profiles/nobody", "", nil, http.StatusNotFound},
		{"follow unknown profile", "POST", "/profiles/nobody/follow", jake.token, nil, http.StatusNotFound},
		{"unknown route", "GET", "/nothing-here", "", nil, http.StatusNotFound},
		{"method not allowed", "PATCH", "/user", jake.token, nil, http.StatusMethodNotAllowed},
		{"follow yourself", "POST", "/profiles/jake/follow", jake.token, nil, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.on(t).must(tt.want, tt.method, tt.path, tt.token, tt.body)
			if _, ok := r.doc["errors"]; !ok {
				t.Fatalf("no errors object: %s", r.raw)
			}
		})
	}
	// Nothing changed.
	r = a.must(http.StatusOK, "GET", "/articles/"+slug+"/comments", "", nil)
	if n := len(field[[]any](t, r.doc, "comments")); n != 1 {
		t.Fatalf("%d comments", n)
	}
}

func TestInvalidInput(t *testing.T) {
	a := newAPI(t)
	jake := a.register("jake")
	slug := a.publish(jake, "An article")
	huge := `{"user":{"username":"` + strings.Repeat("a", 100<<10) + `"}}`

	tests := []struct {
		name, method, path, body string
		want                     int
		field, msg               string // expected error, if any
	}{
		{"malformed JSON", "POST", "/users", `{"user":`, 422, "body", "is not valid JSON"},
		{"not JSON", "POST", "/users", `user=jake`, 422, "body", "is not valid JSON"},
		{"empty body", "POST", "/users", ``, 422, "body", "can't be blank"},
		{"array body", "POST", "/users", `[]`, 422, "body", "must be a JSON object"},
		{"trailing data", "POST", "/users", `{"user":{}} {}`, 422, "body", "is not valid JSON"},
		{"no wrapper", "POST", "/users", `{}`, 422, "user", "can't be blank"},
		{"null wrapper", "POST", "/users", `{"user":null}`, 422, "user", "can't be blank"},
		{"wrapper of wrong type", "POST", "/users", `{"user":[]}`, 422, "user", "must be a JSON object"},
		{"number for a string", "POST", "/users", `{"user":{"username":5,"email":"a@b.c","password":"password"}}`, 422, "username", "must be a string"},
		{"blank fields", "POST", "/users", `{"user":{}}`, 422, "username", "can't be blank"},
		{"username with spaces", "POST", "/users", `{"user":{"username":"a b","email":"a@b.c","password":"password"}}`, 422, "username", "is invalid"},
		{"invalid email", "POST", "/users", `{"user":{"username":"ab","email":"ab","password":"password"}}`, 422, "email", "is invalid"},
		{"short password", "POST", "/users", `{"user":{"username":"ab","email":"a@b.c","password":"pass"}}`, 422, "password", "is too short (minimum is 8 characters)"},
		{"password over 1024 bytes", "POST", "/users", `{"user":{"username":"ab","email":"a@b.c","password":"` + strings.Repeat("p", 1025) + `"}}`, 422, "password", "is too long (maximum is 1024 bytes)"},
		{"taken username", "POST", "/users", `{"user":{"username":"jake","email":"other@b.c","password":"password"}}`, 422, "username", "has already been taken"},
		{"NUL in bio", "PUT", "/user", `{"user":{"bio":"a\u0000b"}}`, 422, "bio", "contains invalid characters"},
		{"oversized body", "POST", "/users", huge, 413, "body", "request body too large"},
		{"tagList of wrong type", "POST", "/articles", `{"article":{"title":"t","description":"d","body":"b","tagList":"x"}}`, 422, "tagList", "must be an array"},
		{"blank title", "POST", "/articles", `{"article":{"title":" ","description":"d","body":"b"}}`, 422, "title", "can't be blank"},
		{"blank comment", "POST", "/articles/" + slug + "/comments", `{"comment":{"body":""}}`, 422, "body", "can't be blank"},
		{"blank body in update", "PUT", "/articles/" + slug, `{"article":{"body":""}}`, 422, "body", "can't be blank"},
		{"limit not a number", "GET", "/articles?limit=abc", ``, 422, "limit", "must be a positive integer"},
		{"limit zero", "GET", "/articles?limit=0", ``, 422, "limit", "must be a positive integer"},
		{"negative offset", "GET", "/articles?offset=-1", ``, 422, "offset", "must be a non-negative integer"},
		{"injection in limit", "GET", "/articles?limit=1%3BDROP%20TABLE%20articles", ``, 422, "limit", "must be a positive integer"},
		{"malformed query", "GET", "/articles?limit=1;DROP%20TABLE%20articles", ``, 422, "query", "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := a.on(t).must(tt.want, tt.method, tt.path, jake.token, body)
			if got := errorsOf(t, r, tt.field); got != tt.msg {
				t.Fatalf("errors.%s = %q, want %q (%s)", tt.field, got, tt.msg, r.raw)
			}
		})
	}
}

// TestVerbatim: strings that look like injections or odd Unicode are
// stored and returned exactly as sent.
func TestVerbatim(t *testing.T) {
	a := newAPI(t)
	jake := a.register("jake")
	for _, s := range []string{
		`'; DROP TABLE articles; --`,
		`<script>alert("x")</script>`,
		`{{.}} ${jndi:ldap://x} %s %n \x00`,
		"RTL \u202e override, zero\u200bwidth, combining e\u0301, emoji 🐉👩‍👩‍👧, CJK 日本語",
		"\U0010FFFF private use and \uFFFD replacement",
		`" OR 1=1 --`,
	} {
		r := a.must(http.StatusCreated, "POST", "/articles", jake.token, map[string]any{"article": map[string]any{
			"title": s, "description": s, "body": s, "tagList": []string{s}}})
		slug := field[string](t, r.doc, "article", "slug")
		r = a.must(http.StatusOK, "GET", "/articles/"+slug, "", nil)
		for _, f := range []string{"title", "description", "body"} {
			if got := field[string](t, r.doc, "article", f); got != s {
				t.Fatalf("%s stored as %q, sent %q", f, got, s)
			}
		}
		if got := field[string](t, r.doc, "article", "tagList", 0); got != s {
			t.Fatalf("tag stored as %q, sent %q", got, s)
		}
		r = a.must(http.StatusOK, "PUT", "/user", jake.token, map[string]any{"user": map[string]any{"bio": s}})
		if got := field[string](t, r.doc, "user", "bio"); got != s {
			t.Fatalf("bio stored as %q, sent %q", got, s)
		}
		r = a.must(http.StatusOK, "GET", "/articles?tag="+urlQuery(s), "", nil)
		if n := field[float64](t, r.doc, "articlesCount"); n != 1 {
			t.Fatalf("filter by tag %q: %v articles", s, n)
		}
	}
	a.must(http.StatusOK, "GET", "/articles?author="+urlQuery(`' OR '1'='1`), "", nil)
	a.must(http.StatusNotFound, "GET", "/profiles/"+urlPath(`' OR '1'='1`), "", nil)

	// Text PostgreSQL cannot hold (NUL, invalid UTF-8) in paths, queries
	// and logins matches nothing.
	for _, bad := range []string{"%00", "%FF", "a%00b", "%C3%28"} {
		a.must(http.StatusNotFound, "GET", "/profiles/"+bad, jake.token, nil)
		a.must(http.StatusNotFound, "GET", "/articles/"+bad, "", nil)
		a.must(http.StatusNotFound, "GET", "/articles/"+bad+"/comments", "", nil)
		a.must(http.StatusNotFound, "POST", "/profiles/"+bad+"/follow", jake.token, nil)
		for _, q := range []string{"tag", "author", "favorited"} {
			r := a.must(http.StatusOK, "GET", "/articles?"+q+"="+bad, "", nil)
			if field[float64](t, r.doc, "articlesCount") != 0 {
				t.Fatalf("filter %s=%s matched: %s", q, bad, r.raw)
			}
		}
	}
	a.must(http.StatusUnauthorized, "POST", "/users/login", "", `{"user":{"email":"jake\u0000@example.com","password":"password"}}`)
	a.must(http.StatusUnprocessableEntity, "POST", "/users", "", `{"user":{"username":"nul\u0000","email":"n\u0000@example.com","password":"pass\u0000word"}}`)
}
